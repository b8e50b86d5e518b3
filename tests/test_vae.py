"""Section 5: the VAE's mathematics on cases with known answers, its training on the shared loop, and the
few-label protocol's isolation from labels it must not see."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import data, fewlabels, training, vae
from helpers.models import AEConfig, VAE

SMALL = AEConfig(channels=(8, 16), latent_dim=4)


def test_kl_matches_its_closed_form_for_known_means_and_variances():
    mean = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    var = torch.tensor([[1.0, 1.0], [0.25, 4.0]])
    found = vae.kl_divergence(mean, var.log())
    by_hand = [0.0, sum(0.5 * (m * m + v - 1 - math.log(v)) for m, v in ((1.0, 0.25), (-2.0, 4.0)))]
    assert torch.allclose(found, torch.tensor(by_hand), atol=1e-6)
    p = torch.distributions.Normal(mean[1], var[1].sqrt())
    q = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    assert found[1].item() == pytest.approx(torch.distributions.kl_divergence(p, q).sum().item(), abs=1e-6)


def test_the_reparameterized_sample_has_the_right_mean_and_variance():
    mean, log_var = torch.full((200000, 1), 3.0), torch.full((200000, 1), math.log(0.49))
    z = vae.reparameterize(mean, log_var, torch.Generator().manual_seed(0))
    assert z.mean().item() == pytest.approx(3.0, abs=0.01) and z.var().item() == pytest.approx(0.49, rel=0.02)


def _images(n: int, seed: int = 0) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)
    return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


def test_the_vae_loss_is_finite_and_falls_when_it_overfits_one_small_batch():
    torch.manual_seed(0)
    model = VAE(SMALL)
    images = (_images(16).images > 127).float()  # binary images: their binarization is themselves
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        out = vae.vae_loss(model, data.Batch(images, images, torch.zeros(16, dtype=torch.long)))
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        losses.append(out["loss"].item())
    assert all(math.isfinite(v) for v in losses)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    assert out["nelbo"].item() == pytest.approx(out["recon"].item() + out["kl"].item(), rel=1e-5)


def test_the_importance_weighted_bound_is_at_least_the_elbo_and_tightens_with_samples():
    torch.manual_seed(0)
    model = VAE(SMALL).eval()
    x = vae.binarize(_images(8).images.float() / 255, torch.Generator().manual_seed(0))
    with torch.no_grad():
        few = vae.log_weights(model, x, 5, torch.Generator().manual_seed(1))
        many = vae.log_weights(model, x, 500, torch.Generator().manual_seed(1), chunk=64)
    elbo, iw = vae.bounds(few)
    assert torch.all(iw >= elbo - 1e-4)  # Jensen, on the same samples
    _, iw_many = vae.bounds(many)
    assert iw_many.mean() > iw.mean()  # more samples: a tighter (higher) bound on log p(x)


def test_the_warm_up_weight_rises_to_beta_through_the_loop_and_is_logged(tmp_path):
    torch.manual_seed(0)
    seen = []
    model = VAE(SMALL, beta=2.0, warmup_epochs=2)
    original = model.before_step
    model.before_step = lambda done: (seen.append(done), original(done))
    spec = training.TrainSpec(epochs=3, batch_size=8, seed=0)
    history = training.fit(model, vae.vae_loss, _images(32), _images(16, seed=1), spec)
    assert seen[0] == 0.0 and seen[4] == 1.0 and len(seen) == 12  # 4 steps per epoch, fractions of epochs
    assert model.kl_weight == 2.0 and {"train_recon", "train_kl", "val_nelbo"} <= history.rows[0].keys()
    model.before_step = original
    model.before_step(0.5)
    assert model.kl_weight == pytest.approx(0.5)


def test_vae_runs_resume_exactly(tmp_path):
    train, val = _images(32), _images(16, seed=1)
    splits = data.Splits(train, val, val, 0.3, 0.3)
    spec = training.TrainSpec(epochs=2, batch_size=8, seed=0)
    whole = vae.train_vae(SMALL, spec, splits, warmup_epochs=1, run_dir=tmp_path / "a", desc="v")
    vae.train_vae(SMALL, training.TrainSpec(epochs=1, batch_size=8, seed=0), splits, warmup_epochs=1,
                  run_dir=tmp_path / "b", desc="v")  # a different spec: its own run
    again = vae.train_vae(SMALL, spec, splits, warmup_epochs=1, run_dir=tmp_path / "a", desc="v")
    assert again.history.reused_epochs == 2 and again.history.rows == whole.history.rows


def test_the_2d_manifold_grid_covers_both_axes():
    model = VAE(AEConfig(channels=(8,), latent_dim=2))
    grid = vae.latent_grid(model, 5, device="cpu")
    assert grid.shape == (25, 1, 28, 28) and grid.min() >= 0 and grid.max() <= 1
    with pytest.raises(ValueError, match="2-D latent"):
        vae.latent_grid(VAE(SMALL), 5, device="cpu")


# ----------------------------------------------------------------------------- the few-label protocol


def _problem(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    angle = y * np.pi / 2 + rng.normal(0, 0.25, n)
    x = np.c_[np.cos(angle), np.sin(angle)] * (1 + rng.normal(0, 0.1, n)[:, None])
    return np.c_[x, rng.normal(0, 0.1, (n, 3))].astype(np.float32), y


def test_few_label_protocol_reads_only_drawn_labels_and_scores_after_predicting():
    x, y = _problem(0)
    xt, yt = _problem(1, 200)
    draws = fewlabels.label_draws(y, [40, 80], 2, seed=0)
    found = fewlabels.evaluate(x, y, xt, yt, draws, folds=3)
    corrupted = y.copy()
    drawn = np.unique(np.concatenate([i for d in draws.values() for i in d]))
    others = np.setdiff1d(np.arange(len(y)), drawn)
    corrupted[others] = (y[others] + 1) % 4  # every label outside the draws made wrong
    assert fewlabels.evaluate(x, corrupted, xt, yt, draws, folds=3) == found
    shuffled = np.random.default_rng(0).permutation(yt)  # other test labels: same predictions, other scores
    again = fewlabels.evaluate(x, y, xt, shuffled, draws, folds=3)
    for method in fewlabels.METHODS:
        for n in draws:
            assert [r["params"] for r in again[method][n]] == [r["params"] for r in found[method][n]]
            assert [r["accuracy"] for r in again[method][n]] != [r["accuracy"] for r in found[method][n]]
    assert min(r["accuracy"] for r in found["svm"][80]) > 0.9
    assert [len(found["svm"][n]) for n in draws] == [2, 2]


def test_cross_validation_picks_a_sensible_c():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 20)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)  # one informative feature among 20 noisy ones: regularize
    search = fewlabels.fit_draw(x, y, "logreg", folds=5)
    assert search.best_params_["logisticregression__C"] in (0.01, 0.1, 1.0)
    noisy = fewlabels.fit_draw(x, rng.integers(0, 2, 120), "logreg", folds=5)  # nothing to learn: strongest
    assert noisy.best_params_["logisticregression__C"] <= search.best_params_["logisticregression__C"]
    with pytest.raises(ValueError, match="fewer than 2 examples"):
        fewlabels.fit_draw(x[:3], np.array([0, 1, 1]), "svm")


def test_few_label_folds_and_metrics_follow_the_protocol():
    assert [fewlabels.folds_for(n) for n in (100, 1000, 3000)] == [5, 5, 3]
    draws = {100: [np.arange(100)] * 3, 3000: [np.arange(3000)]}
    stats = {"svm": {"raw pixels": fewlabels.stats({100: [0.6, 0.7, 0.8], 3000: [0.85]})}}
    found = fewlabels.metrics(stats, {"raw pixels": "raw"}, draws)
    assert found["raw"]["svm"]["n100"]["mean"] == pytest.approx(0.7) and found["raw"]["svm"]["n3000"]["std"] == 0
    assert found["protocol"]["draws"] == {"n100": 3, "n3000": 1} and found["protocol"]["folds"]["n3000"] == 3


def test_a_random_encoder_control_is_read_per_initialization_on_the_same_draws_and_pooled(tmp_path):
    x, y = _problem(0)
    xt, yt = _problem(1, 200)
    registry = fewlabels.Registry.of(tmp_path, y, yt, [40], 2, seed=0)
    registry.control_of["code"] = "code_random"
    registry.add("code", "code", x, xt)
    inits = [(x + np.random.default_rng(s).normal(0, 1.0, x.shape).astype(np.float32), xt) for s in range(3)]
    registry.add_control("code_random", "random code", inits)
    one = [fewlabels.evaluate(a, y, b, yt, registry.draws, methods=("svm",)) for a, b in inits]
    pooled = registry.found["random code"]["svm"][40]
    assert pooled == [row for run in one for row in run["svm"][40]] and len(pooled) == 3 * 2
    assert "logreg" not in registry.found["random code"]  # controls are read by the SVM alone
    found = registry.metrics()
    assert found["code_random"]["inits"] == 3 and found["code"]["random_control"] == "code_random"
    assert "random code" in registry.statistics()["svm"] and "random code" not in registry.statistics()["logreg"]
