"""Section 1's ablations: the decoder's upsampling, optimizers at their best rate, regularization that has
something to regularize, and the profile fields that size them."""
from __future__ import annotations

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import torch

from helpers import autoencoder as ae, config, data, models, plots, training
from helpers.findings import autoencoder as ae_text
from helpers.models import AEConfig

matplotlib.use("Agg")


def _set(n: int, seed: int) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 7, 1, 3)
    return data.ImageSet((images * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


def test_resize_decoder_has_the_same_parameters_and_no_transposed_convolution():
    for channels in ((32, 64), (16, 32, 64), (8,)):
        old, new = AEConfig(channels=channels), AEConfig(channels=channels, decoder="resize")
        a, b = models.AutoEncoder(old), models.AutoEncoder(new)
        assert models.count_parameters(a) == models.count_parameters(b)
        with torch.no_grad():
            out = b(torch.rand(3, 1, 28, 28))
        assert out.shape == (3, 1, 28, 28) and 0 <= float(out.min()) and float(out.max()) <= 1
        assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in b.modules())
        assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in a.modules())
    assert models.VAE(AEConfig(decoder="resize")).decoder(torch.randn(2, 32)).shape == (2, 1, 28, 28)


def test_decoder_field_keeps_old_cache_keys_and_rejects_unknown_values():
    assert "decoder" not in AEConfig().as_dict()  # runs cached before the field existed keep their keys
    assert AEConfig(decoder="resize").as_dict()["decoder"] == "resize"
    assert AEConfig(**AEConfig(decoder="resize").as_dict()) == AEConfig(decoder="resize")
    with pytest.raises(ValueError, match="decoder"):
        AEConfig(decoder="bilinear")


def test_resize_decoder_spreads_a_point_evenly_where_the_transposed_one_makes_a_checkerboard():
    """One code through a decoder whose every weight is 1: the resize decoder's output is flat inside the image, the
    transposed one alternates between pixels (the uneven kernel overlap, Odena et al. 2016)."""
    def interior_spread(cfg: AEConfig) -> float:
        decoder = models.Decoder(cfg, logits=True)
        for p in decoder.parameters():
            torch.nn.init.constant_(p, 0.01)
        out = decoder(torch.ones(1, cfg.latent_dim))[0, 0, 6:22, 6:22]
        return float(out.std() / out.mean())
    cfg = AEConfig(channels=(4, 8), latent_dim=2, batch_norm=False)
    assert interior_spread(replace(cfg, decoder="resize")) < 1e-3 < interior_spread(cfg)


def test_choose_decoder_keeps_resize_unless_it_is_worse_on_validation():
    rows = {"transposed": {"val_mse": 0.010, "test_mse": 0.011, "parameters": 5, "seconds": 1.0},
            "resize": {"val_mse": 0.010, "test_mse": 0.009, "parameters": 5, "seconds": 1.0}}
    assert ae.choose_decoder(rows) == "resize"  # a tie keeps the artifact-free one
    rows["resize"]["val_mse"] = 0.0101
    assert ae.choose_decoder(rows) == "transposed"


def test_optimizer_grid_and_best_rate_chosen_on_validation():
    variants = ae.optimizer_variants(AEConfig(), dict(epochs=1, batch_size=8, seed=0))
    assert len(variants) == sum(len(lrs) for _, _, lrs in ae.OPTIMIZER_GRID.values())
    assert {spec.optimizer for _, spec in variants.values()} == {k for k, _, _ in ae.OPTIMIZER_GRID.values()}
    rows = {name: {"val_mse": 1.0 + i % 3 * (-0.1 if "Adam," in name else 0.1), "train_mse": 0.5, "seconds": 2.0}
            for i, name in enumerate(variants)}
    best = ae.best_per_optimizer(rows)
    assert best["Adam"]["lr"] == ae.OPTIMIZER_GRID["Adam"][2][2] and best["Adam"]["best_lr_at_edge"]
    assert best["RMSprop"]["lr"] == ae.OPTIMIZER_GRID["RMSprop"][2][0]
    assert best["Adam"]["val_mse"] == pytest.approx(0.8)
    assert ae.optimizer_table(best).count("\n") == len(best) + 1


def test_the_optimizer_grid_grows_past_an_edge_until_its_best_is_inside_or_the_next_rate_diverges():
    grid = {"Adam": [1e-3, 3e-3, 1e-2], "RMSprop": [5e-4, 1.5e-3, 5e-3], "SGD + momentum": [0.1, 0.3, 1.0]}
    rows = {ae.optimizer_run(n, lr): {"val_mse": v, "train_mse": v / 2, "seconds": 1.0} for n, values in
            (("Adam", (0.02, 0.015, 0.01)), ("RMSprop", (0.01, 0.02, 0.03)), ("SGD + momentum", (0.03, 0.01, 0.02)))
            for lr, v in zip(grid[n], values)}
    beyond = ae.rates_beyond(grid, rows)
    assert beyond == {"Adam": pytest.approx(0.033), "RMSprop": pytest.approx(1.7e-4)}  # the grid's own factor
    variants = ae.optimizer_variants(AEConfig(), dict(epochs=1, batch_size=8, seed=0), {"Adam": [beyond["Adam"]]})
    assert list(variants) == ["Adam, lr 0.033"] and variants["Adam, lr 0.033"][1].lr == pytest.approx(0.033)
    grid["Adam"].append(0.033)
    rows["Adam, lr 0.033"] = {"val_mse": None, "diverged": True}  # too large a step
    grid["RMSprop"].append(1.7e-4)
    rows[ae.optimizer_run("RMSprop", 1.7e-4)] = {"val_mse": 0.015, "train_mse": 0.01, "seconds": 1.0}  # 5e-4 inside
    assert ae.rates_beyond(grid, rows) == {}
    best = ae.best_per_optimizer(rows, grid)
    assert best["Adam"]["lr"] == 1e-2 and best["Adam"]["diverged_beyond"] and not best["Adam"]["best_lr_at_edge"]
    assert best["Adam"]["val_mse_by_lr"]["0.033"] is None and best["Adam"]["rates_added"] == 1
    assert best["RMSprop"]["lr"] == 5e-4 and not best["RMSprop"]["best_lr_at_edge"]
    assert list(best["RMSprop"]["val_mse_by_lr"]) == ["0.00017", "0.0005", "0.0015", "0.005"]
    assert not best["SGD + momentum"]["best_lr_at_edge"] and best["SGD + momentum"]["rates_added"] == 0
    assert "0.033: diverged" in ae.optimizer_table(best)


def test_regularization_variants_each_change_one_thing_and_are_their_own_runs():
    profile = config.PROFILES["quick"]
    variants = ae.regularization_variants(profile)
    base_cfg, base_spec = variants["none"]
    assert base_cfg.latent_dim > ae.HAND_SET.latent_dim and not base_cfg.batch_norm
    keys = set()
    for name, (cfg, spec) in variants.items():
        changed = [f for f in ("dropout", "channels", "latent_dim", "batch_norm") if getattr(cfg, f) != getattr(base_cfg, f)]
        changed += [f for f in ("weight_decay", "augment", "patience", "lr", "epochs") if getattr(spec, f) != getattr(base_spec, f)]
        assert len(changed) == (0 if name == "none" else 1), (name, changed)
        assert spec.epochs == profile.reg_epochs
        keys.add((tuple(sorted(cfg.as_dict().items())), repr(spec)))
    assert len(keys) == len(variants)
    optimizer_runs = ae.optimizer_variants(ae.HAND_SET, dict(epochs=profile.compare_epochs, batch_size=profile.batch_size,
                                                             seed=profile.seed))
    optimizer_keys = {(tuple(sorted(cfg.as_dict().items())), repr(spec)) for cfg, spec in optimizer_runs.values()}
    assert not keys & optimizer_keys  # no run shared with the optimizer table
    digits = ae.regularization_variants(profile, mirror=False)  # MNIST: no flip, and the name says so
    assert list(digits)[:4] == list(variants)[:4] and "augmentation (shift 2 px)" in digits
    assert digits["augmentation (shift 2 px)"][1].augment == replace(ae.AUGMENTATION, flip=False)


def test_early_stopping_restores_its_best_epoch_and_findings_follow_the_gaps():
    train, val, test = _set(100, 0), _set(60, 1), _set(20, 2)
    splits = data.Splits(train, val, test, 0.3, 0.3)
    cfg = AEConfig(channels=(4,), latent_dim=64, batch_norm=False)
    spec = training.TrainSpec(epochs=25, optimizer="adam", lr=3e-2, batch_size=10, seed=0)
    runs = ae.compare({"none": (cfg, spec), "early stopping (patience 1)": (cfg, replace(spec, patience=1))},
                      splits, train)
    rows = ae.summary(runs, splits, train)
    stopped = rows["early stopping (patience 1)"]
    assert stopped["stopped_early"] and stopped["epochs"] < 25
    assert stopped["kept_epoch"] == stopped["best_val_epoch"] and stopped["val_mse"] == pytest.approx(stopped["best_val_mse"])
    text = ae_text.regularization_finding({"images": len(train), **rows})
    assert f"kept epoch {stopped['kept_epoch']}" in text and "100 training images" in text


def test_regularization_images_are_a_balanced_subset_of_the_training_split():
    train, val, test = _set(400, 0), _set(50, 1), _set(50, 2)
    splits = data.Splits(train, val, test, 0.3, 0.3)
    profile = replace(config.PROFILES["smoke"], reg_limit=200)
    picked = data.regularization_train(splits, profile)
    assert len(picked) == 200 and torch.bincount(picked.labels, minlength=10).tolist() == [20] * 10


def test_profiles_size_the_new_comparisons_and_reject_bad_values():
    full = config.PROFILES["full"]
    assert full.trials >= 20 and full.sampler_seeds >= 3 and full.search_epochs < full.ae_epochs
    for profile in config.PROFILES.values():
        assert profile.reg_limit <= profile.train_size
    with pytest.raises(config.ConfigError, match="reg_limit"):
        replace(config.PROFILES["smoke"], reg_limit=10 ** 6)
    with pytest.raises(config.ConfigError, match="search_epochs"):
        replace(config.PROFILES["smoke"], search_epochs=0)
    with pytest.raises(config.ConfigError, match="sampler_seeds"):
        replace(config.PROFILES["smoke"], sampler_seeds=0)


def test_train_val_panels_show_one_panel_per_run():
    h = training.History()
    for e in range(1, 6):
        h.rows.append({"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.0 / e + 0.1 * e, "seconds": float(e)})
    fig = plots.train_val_panels({"a": h, "b": h, "c": h, "d": h}, "title")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 4



def test_the_regularizers_share_two_panels_zoomed_to_where_they_differ_with_early_stopping_marked():
    def history(offset: float, epochs: int, kept: int | None = None) -> training.History:
        h = training.History()
        h.rows = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 0.01 + offset + 0.1 / e, "seconds": float(e)}
                  for e in range(1, epochs + 1)]
        if kept is not None:
            h.best_epoch, h.restored_best = kept, True
        return h
    runs = {"none": [history(0.0, 10), history(0.001, 10)], "stopped": history(0.002, 8, kept=5)}
    fig = plots.regularizers(runs, "title")
    val_ax, train_ax = fig.axes
    assert len(val_ax.collections) == 1 and len(train_ax.collections) == 1  # a band only for the run over seeds
    low, high = val_ax.get_ylim()
    assert high < 0.08 and low < 0.01 + 0.1 / 10  # the first epoch (0.11) is cut, the last ones shown
    marks = [line for line in val_ax.lines if line.get_marker() == "v"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [5]  # the epoch early stopping kept
    assert train_ax.get_yscale() == "log"


def test_a_run_over_seeds_is_drawn_as_its_mean_inside_a_band_of_its_seeds():
    def history(scale: float, epochs: int) -> training.History:
        h = training.History()
        h.rows = [{"epoch": e, "train_loss": scale / e, "val_loss": scale / e + 0.1, "seconds": float(e)}
                  for e in range(1, epochs + 1)]
        return h
    seeds = [history(1.0, 5), history(2.0, 5), history(3.0, 4)]  # the last stopped early
    xs, mean, low, high = plots.seed_band(seeds, "train_loss")
    assert list(xs) == [1, 2, 3, 4] and mean[0] == pytest.approx(2.0) and (low[0], high[0]) == (1.0, 3.0)
    assert mean[3] == pytest.approx(6.0 / 4 / 3)  # the band ends where the early-stopped seed ended
    fig = plots.train_val_panels({"none": seeds, "one seed": seeds[0]}, "title")
    assert len(fig.axes[0].collections) == 2 and not fig.axes[1].collections  # a band per curve over seeds only
    tails = [line for line in fig.axes[0].lines if len(line.get_xdata()) == 2]  # epochs 4 to 5, per longer seed
    assert len(tails) == 2 * 2 and all(list(t.get_xdata()) == [4, 5] for t in tails)


def test_seeded_variants_start_from_their_own_run_and_pool_over_seeds():
    train, val, test = _set(60, 0), _set(30, 1), _set(20, 2)
    splits = data.Splits(train, val, test, 0.3, 0.3)
    cfg = AEConfig(channels=(4,), latent_dim=8)
    spec = training.TrainSpec(epochs=1, optimizer="adam", lr=1e-2, batch_size=20, seed=7)
    runs = ae.seeded_runs({"a": (cfg, spec)}, splits, train, seeds=3)
    single = ae.compare({"a": (cfg, spec)}, splits, train)["a"]
    assert len(runs["a"]) == 3
    assert runs["a"][0].history.kept["val_loss"] == pytest.approx(single.history.kept["val_loss"])  # seed 7 itself
    values = [r.history.kept["val_loss"] for r in runs["a"]]
    assert len(set(values)) == 3  # seeds 8 and 9 start elsewhere
    pooled = ae.seeded_summary(runs, splits, train)["a"]
    assert pooled["seeds"] == 3 and pooled["val_mse_seeds"] == pytest.approx(values)
    assert pooled["val_mse"] == pytest.approx(np.mean(values))
    assert pooled["val_mse_std"] == pytest.approx(np.std(values, ddof=1))


def test_the_decoder_is_changed_only_for_a_loss_beyond_the_seeds_spread():
    def rows(resize, transposed):
        return {d: {"val_mse": float(np.mean(v)), "val_mse_seeds": v} for d, v in
                (("resize", resize), ("transposed", transposed))}
    base = [0.0100, 0.0104, 0.0096]
    assert ae.choose_decoder(rows([0.0101, 0.0095, 0.0110], base)) == "resize"  # higher mean, within the spread
    assert ae.choose_decoder(rows([v + 0.001 for v in base], base)) == "transposed"  # higher in every seed
    assert ae.choose_decoder({"resize": {"val_mse": 0.011}, "transposed": {"val_mse": 0.010}}) == "transposed"
