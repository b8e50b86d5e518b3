"""Section 7: the DCGAN on the shared loop (its own alternating step, checkpoints, resume, snapshots) and the
side-by-side tables."""
from __future__ import annotations

import pytest
import torch

from helpers import data, gan, sidebyside, training
from helpers.models import DCGAN, GANConfig

TINY = GANConfig(z_dim=8, width=4, snapshot_count=4)


def _images(n: int, seed: int = 0) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)
    return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


def _fit(checkpoint=None, epochs=3, on_epoch=None, model=None):
    torch.manual_seed(0)
    model = model or DCGAN(TINY, snapshots=epochs)
    spec = gan.spec(epochs, 16, seed=0)
    history = training.fit(model, gan.losses, _images(64), None, spec, mean=gan.MEAN, std=gan.STD, progress=False,
                           checkpoint=checkpoint, monitor=gan.snapshot_monitor, on_epoch=on_epoch)
    return model, history


def test_one_gan_step_changes_both_networks_with_their_own_optimizers():
    torch.manual_seed(0)
    model = DCGAN(TINY)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizers = training._optimizers(model, gan.spec(1, 8, seed=0))
    assert set(optimizers.named) == {"discriminator", "generator"}
    assert all(g["betas"] == (0.5, 0.999) for g in optimizers.param_groups)
    batch = next(iter(data.Batches(_images(8), 8, mean=gan.MEAN, std=gan.STD)))
    out = model.training_step(batch, optimizers, lambda: torch.autocast("cpu", enabled=False))
    assert {"loss", "d_loss", "g_loss", "d_real", "d_fake"} <= out.keys() and torch.isfinite(out["loss"])
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("generator.") for k in changed) and any(k.startswith("discriminator.") for k in changed)


def test_a_gan_run_gets_history_snapshots_and_resumes_to_the_identical_history(tmp_path):
    whole_model, whole = _fit()
    assert [set(r) >= {"train_d_loss", "train_g_loss", "train_d_real", "train_d_fake"} for r in whole.rows] == [True] * 3
    assert int(whole_model.snapshots_taken) == 3 and whole_model.snapshots[2].float().std() > 0

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "gan.pt", on_epoch=stop_after_two)
    resumed_model, resumed = _fit(tmp_path / "gan.pt")
    assert resumed.reused_epochs == 2
    drop_time = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h.rows]  # noqa: E731
    assert drop_time(resumed) == drop_time(whole)
    assert torch.equal(resumed_model.snapshots, whole_model.snapshots)
    for (name, a), b in zip(whole_model.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    rows, epochs = gan.strip(resumed_model, columns=2, epochs=2)
    assert epochs == [1, 3] and rows[0].shape == (2, 1, 28, 28)


def test_a_model_with_its_own_step_takes_no_scheduler():
    with pytest.raises(ValueError, match="own step"):
        training._optimizers(DCGAN(TINY), training.TrainSpec(epochs=1, scheduler="cosine"))


def test_gan_samples_are_seeded_images_on_the_unit_interval():
    model = DCGAN(TINY)
    images = gan.sample(model, 10, seed=0, device="cpu")
    assert images.shape == (10, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, gan.sample(model, 10, seed=0, device="cpu"))
    assert not torch.equal(images, gan.sample(model, 10, seed=1, device="cpu"))


def test_the_representation_table_marks_the_supervised_row():
    structure = {"raw": {"knn_accuracy": 0.8, "silhouette": 0.04, "linear_probe_accuracy": 0.82},
                 "code": {"knn_accuracy": 0.85, "silhouette": 0.07, "linear_probe_accuracy": 0.83},
                 "clf": {"knn_accuracy": 0.9, "silhouette": 0.2, "linear_probe_accuracy": 0.9}}
    few = {"raw": {100: {"mean": 0.65}, 1000: {"mean": 0.8}}, "code": {100: {"mean": 0.7}, 1000: {"mean": 0.82}}}
    reps = [sidebyside.Representation("raw pixels", "raw", "raw", "raw"),
            sidebyside.Representation("code", "ae", "code", "code"),
            sidebyside.Representation("classifier", "classifier", "clf", None, supervised=True)]
    found = sidebyside.rows(reps, structure, few)
    assert found["ae"]["few_n100"] == 0.7 and found["classifier"]["few_n1000"] is None
    text = sidebyside.table(found)
    assert "classifier (saw every label)" in text and "–" in text
    assert sidebyside.summary_metrics(found, "**Measured:** x") == {
        "closing": "Measured: x", "best_few_n100": 0.7, "best_few_n1000": 0.82}



def test_a_random_encoder_row_carries_its_spread_and_never_counts_as_the_best():
    structure = {"code": {"knn_accuracy": 0.85, "silhouette": 0.07, "linear_probe_accuracy": 0.83,
                          "random_control": "ae_random"},
                 "random": {"knn_accuracy": 0.9, "knn_accuracy_std": 0.01, "silhouette": 0.1, "silhouette_std": 0.02,
                            "linear_probe_accuracy": 0.9, "linear_probe_accuracy_std": 0.003, "inits": 3}}
    few = {"code": {100: {"mean": 0.7, "std": 0.01}}, "random": {100: {"mean": 0.75, "std": 0.02}}}
    reps = [sidebyside.Representation("code", "ae", "code", "code"),
            sidebyside.Representation("random encoder", "ae_random", "random", "random")]
    found = sidebyside.rows(reps, structure, few)
    assert found["ae_random"]["control"] and found["ae_random"]["few_n100_std"] == 0.02
    assert found["ae"]["random_control"] == "ae_random" and not found["ae"]["control"]
    assert "90.0 ± 1.0%" in sidebyside.table(found)
    assert sidebyside.summary_metrics(found, "x")["best_few_n100"] == 0.7  # the control is higher but learned nothing


def test_the_gan_can_take_the_loops_channels_last_format():
    # on CUDA the loop moves every model to channels-last, which converts each 4-D and 5-D tensor of the model
    model = DCGAN(TINY, snapshots=3).to(memory_format=torch.channels_last)
    model.snapshot()
    assert model.snapshots.shape == (3, TINY.snapshot_count, 784) and int(model.snapshots_taken) == 1
