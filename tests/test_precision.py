"""Training precision: the hardware's choice and its override, bf16 training of every model kind, exact resume in
bf16, precision in the cache key, and fp32 evaluation whatever the training precision."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import contrastive, data, gan, runtime, training, vae
from helpers.models import DCGAN, VAE, AEConfig, AutoEncoder, Encoder, EncoderClassifier, GANConfig, HW1Net, SimCLRNet

SMALL = AEConfig(channels=(8, 16), latent_dim=8)
CPU = torch.device("cpu")
AVX2 = {"avx2": True, "fma3": True, "avx512_f": False, "avx512_bf16": False, "amx_bf16": False}


@pytest.fixture(autouse=True)
def no_override(monkeypatch):
    monkeypatch.delenv(runtime.PRECISION_ENV, raising=False)


def _images(n: int, seed: int = 0) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)  # smooth blobs: structure to learn
    return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


# ----------------------------------------------------------------------------- the choice


@pytest.mark.parametrize("flags, expected", [
    (AVX2, "fp32"),
    ({**AVX2, "avx512_f": True}, "fp32"),  # AVX512 without its bf16 instructions: bf16 would be emulated
    ({**AVX2, "avx512_f": True, "avx512_bf16": True}, "bf16"),
    ({**AVX2, "amx_bf16": True}, "bf16"),
])
def test_the_cpu_trains_in_bf16_only_with_native_bf16(flags, expected):
    assert runtime.native_bf16(flags) == (expected == "bf16")
    assert runtime.training_precision(CPU, flags) == expected


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_cuda_trains_in_bf16_where_the_card_has_it_and_apple_mps_in_fp32(monkeypatch, native, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native)
    assert runtime.training_precision(torch.device("cuda"), AVX2) == expected
    assert runtime.training_precision(torch.device("mps"), {**AVX2, "amx_bf16": True}) == "fp32"


@pytest.mark.parametrize("forced, flags", [("fp32", {**AVX2, "amx_bf16": True}), ("bf16", AVX2)])
def test_the_override_wins_over_the_hardware(monkeypatch, forced, flags):
    monkeypatch.setenv(runtime.PRECISION_ENV, forced)
    assert runtime.training_precision(CPU, flags) == forced
    assert training.training_speed(CPU).precision == forced


@pytest.mark.parametrize("bad", ["fp16", "BF16", "float32", "1"])
def test_a_bad_override_is_one_clear_error(monkeypatch, bad):
    monkeypatch.setenv(runtime.PRECISION_ENV, bad)
    with pytest.raises(ValueError, match=r"HW2_PRECISION=.*fp32, bf16"):
        runtime.training_precision(CPU)


def test_training_follows_the_machine_and_evaluation_is_always_fp32(monkeypatch):
    for forced in ("fp32", "bf16"):
        monkeypatch.setenv(runtime.PRECISION_ENV, forced)
        speed = training.training_speed(CPU, training.TrainSpec(epochs=1))
        assert speed.precision == forced and speed.channels_last
        assert training.training_speed(CPU, training.TrainSpec(epochs=1, amp=False)).precision == "fp32"
        assert training.evaluation_speed(CPU).precision == "fp32"
    with pytest.raises(ValueError, match="precision='fp16'"):
        training.training_speed(CPU, precision="fp16")


def test_the_header_and_run_info_name_the_cpu_and_the_precision(monkeypatch):
    monkeypatch.setenv(runtime.PRECISION_ENV, "fp32")
    info = runtime.run_info(CPU)
    assert info["precision"] == "training fp32, channels-last; evaluation fp32"
    assert info["cpu"] == runtime.cpu_summary()
    assert ("no native bf16" in info["cpu"]) == (not runtime.native_bf16())
    assert "precision: training fp32" in runtime.header("smoke", CPU)


# ----------------------------------------------------------------------------- bf16 training


def _losses(model: nn.Module, loss_fn, epochs: int, *, mean=0.0, std=1.0, lr=3e-3, n=64, batch=32) -> list[float]:
    spec = training.TrainSpec(epochs=epochs, lr=lr, batch_size=batch, seed=0)
    history = training.fit(model, loss_fn, _images(n), None, spec, mean=mean, std=std, progress=False,
                           precision="bf16")
    return history.column("train_loss")


@pytest.mark.parametrize("kind", ["autoencoder", "hw1", "classifier", "vae", "simclr"])
def test_every_model_kind_trains_in_bf16_with_a_finite_falling_loss(kind):
    torch.manual_seed(0)
    if kind == "autoencoder":
        losses = _losses(AutoEncoder(SMALL), training.reconstruction_loss, 6, mean=0.3, std=0.2)
    elif kind == "hw1":
        losses = _losses(HW1Net(), training.classification_loss, 6, mean=0.3, std=0.2, n=32, batch=16)
    elif kind == "classifier":
        losses = _losses(EncoderClassifier(Encoder(SMALL)), training.classification_loss, 6, mean=0.3, std=0.2)
    elif kind == "vae":
        losses = _losses(VAE(SMALL), vae.vae_loss, 6)
    else:
        loss = contrastive.contrastive_loss(contrastive.DEFAULT_VIEWS, mean=0.3, std=0.2)
        losses = _losses(SimCLRNet(SMALL, projection_dim=16, hidden=32), loss, 6)
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert losses[-1] < losses[0], losses


def test_the_gan_trains_in_bf16_with_finite_losses_and_its_step_gets_bf16_autocast(monkeypatch):
    """A GAN's losses need not fall (two players): both stay finite, and its own step runs under bf16 autocast."""
    torch.manual_seed(0)
    model = DCGAN(GANConfig(z_dim=8, width=4, snapshot_count=2), snapshots=2)
    seen, step = [], model.training_step

    def watched(batch, optimizers, autocast):
        with autocast():
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return step(batch, optimizers, autocast)

    monkeypatch.setattr(model, "training_step", watched)
    history = training.fit(model, gan.losses, _images(64), None, gan.spec(2, 16, seed=0), mean=gan.MEAN,
                           std=gan.STD, progress=False, precision="bf16")
    assert seen and set(seen) == {(True, torch.bfloat16)}
    for row in history.rows:
        values = {k: v for k, v in row.items() if k.startswith("train_")}
        assert {"train_d_loss", "train_g_loss"} <= values.keys(), values
        assert all(torch.isfinite(torch.tensor(list(values.values()))))


def test_training_batches_run_in_bf16_and_validation_batches_in_fp32():
    seen = []

    def watched(model, batch):
        seen.append(("train" if model.training else "eval", torch.is_autocast_enabled("cpu")))
        return training.reconstruction_loss(model, batch)

    spec = training.TrainSpec(epochs=2, batch_size=16)
    training.fit(AutoEncoder(SMALL), watched, _images(32), _images(16, seed=1), spec, progress=False, precision="bf16")
    assert set(seen) == {("train", True), ("eval", False)}
    seen.clear()
    training.fit(AutoEncoder(SMALL), watched, _images(32), _images(16, seed=1), spec, progress=False, precision="fp32")
    assert set(seen) == {("train", False), ("eval", False)}


def test_validation_keeps_the_layout_a_run_trains_in():
    model = AutoEncoder(SMALL)
    training.fit(model, training.reconstruction_loss, _images(32), _images(16, seed=1),
                 training.TrainSpec(epochs=1, batch_size=16, channels_last=False), progress=False)
    weight = next(m for m in model.encoder.features if isinstance(m, nn.Conv2d) and m.in_channels > 1).weight
    assert weight.is_contiguous() and not weight.is_contiguous(memory_format=torch.channels_last)


def _resumable(checkpoint, loss_fn=training.reconstruction_loss) -> training.History:
    torch.manual_seed(0)
    spec = training.TrainSpec(epochs=4, lr=2e-3, batch_size=16, scheduler="cosine",
                              augment=data.Augment(flip=True, rotate=5, noise=0.1), seed=3)
    return training.fit(AutoEncoder(AEConfig(channels=(8, 16), latent_dim=8, dropout=0.2)), loss_fn, _images(48),
                        _images(16, seed=1), spec, checkpoint=checkpoint, eval_batch_size=16, progress=False,
                        precision="bf16")


def test_a_bf16_run_killed_mid_epoch_resumes_to_the_same_history(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "CHECKPOINT_SECONDS", 0.0)
    reference = _resumable(None)
    calls = {"n": 0}

    def crashing(model, batch):
        calls["n"] += 1
        if calls["n"] == 10:  # 4 calls an epoch (3 training batches, 1 validation batch): mid epoch 3
            raise KeyboardInterrupt
        return training.reconstruction_loss(model, batch)

    with pytest.raises(KeyboardInterrupt):
        _resumable(tmp_path / "run.pt", crashing)
    assert len(torch.load(tmp_path / "run.pt", weights_only=False)["history"]["rows"]) == 2
    drop_time = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h.rows]  # noqa: E731
    assert drop_time(_resumable(tmp_path / "run.pt")) == drop_time(reference)


def test_a_run_never_reuses_a_checkpoint_made_in_the_other_precision(tmp_path, capsys):
    spec = training.TrainSpec(epochs=1, batch_size=16)

    def run(precision):
        training.train_model(lambda: AutoEncoder(SMALL), training.reconstruction_loss, _images(32), None, spec,
                             model_key="ae", run_dir=tmp_path, desc="ae", precision=precision)
        return capsys.readouterr().out

    assert "trained 1 epochs" in run("fp32")
    assert "trained 1 epochs" in run("bf16")  # not the fp32 run's checkpoint
    assert "reused a finished run" in run("fp32") and "reused a finished run" in run("bf16")
    assert len(list((tmp_path / "runs").glob("ae-*.pt"))) == 2


# ----------------------------------------------------------------------------- reported numbers are fp32


def test_evaluation_is_fp32_whatever_the_training_precision(monkeypatch):
    torch.manual_seed(0)
    model = AutoEncoder(SMALL)
    test = _images(64, seed=2)
    found = {}
    for forced in ("fp32", "bf16"):
        monkeypatch.setenv(runtime.PRECISION_ENV, forced)
        found[forced] = (training.evaluate_set(model, training.reconstruction_loss, test, batch_size=32)["loss"],
                         training.outputs(model, test, lambda m, x: m.encode(x), batch_size=32))
    assert found["fp32"][0] == found["bf16"][0]
    assert torch.equal(found["fp32"][1], found["bf16"][1]) and found["bf16"][1].dtype == torch.float32


def test_a_tiny_autoencoder_trained_in_bf16_scores_within_tolerance_of_fp32():
    """The same run (seed, data, budget) in both precisions: its fp32 test MSE moves by less than 5% on this tiny
    run of random blobs (the issue's 2% for the quick profile needs a CPU with native bf16: not measured yet)."""
    train, test = _images(256), _images(64, seed=2)
    scores = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = AutoEncoder(SMALL)
        spec = training.TrainSpec(epochs=6, lr=3e-3, batch_size=32, seed=0)
        training.fit(model, training.reconstruction_loss, train, None, spec, progress=False, precision=precision)
        scores[precision] = training.evaluate_set(model, training.reconstruction_loss, test, batch_size=64)["loss"]
    assert scores["bf16"] == pytest.approx(scores["fp32"], rel=0.05), scores
