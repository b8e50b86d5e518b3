"""The shared training loop: learning, early stopping, checkpoints, non-finite losses, factories."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import data, training
from helpers.models import AEConfig, AutoEncoder

SMALL = AEConfig(channels=(8, 16), latent_dim=16)


def _images(n: int, seed: int = 0, label: int = 0) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = (torch.rand(n, 1, 28, 28, generator=g) * 255).to(torch.uint8)
    # smooth blobs, so that an autoencoder has structure to learn
    images = nn.functional.avg_pool2d(images.float(), 5, 1, 2).to(torch.uint8)
    return data.ImageSet(images, torch.full((n,), label), tuple(str(i) for i in range(10)))


def test_loop_overfits_one_small_batch():
    torch.manual_seed(0)
    model = AutoEncoder(SMALL)
    batch = _images(32)
    spec = training.TrainSpec(epochs=80, lr=3e-3, batch_size=32)
    history = training.fit(model, training.reconstruction_loss, batch, None, spec, progress=False)
    losses = history.column("train_loss")
    assert losses[-1] < 0.25 * losses[0]
    assert [row["epoch"] for row in history.rows] == list(range(1, 81))


class Scalar(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(value))


def _pull_to_label(model: Scalar, batch: data.Batch) -> dict[str, torch.Tensor]:
    """Loss (w - label)^2: training labels 0 pull w down while validation labels 1 want it up."""
    return {"loss": ((model.w - batch.labels.float()) ** 2).mean()}


def test_early_stopping_fires_and_restores_the_best_weights():
    train, val = _images(8, label=0), _images(8, label=1)
    spec = training.TrainSpec(epochs=20, optimizer="sgd", lr=0.1, batch_size=8, patience=3)
    model = Scalar(0.9)
    history = training.fit(model, _pull_to_label, train, val, spec, progress=False)
    assert history.stopped_early and history.best_epoch == 1 and len(history.rows) == 4
    val_losses = history.column("val_loss")
    assert val_losses == sorted(val_losses)  # it only got worse after epoch 1
    after_one = Scalar(0.9)
    training.fit(after_one, _pull_to_label, train, val, training.TrainSpec(
        epochs=1, optimizer="sgd", lr=0.1, batch_size=8), progress=False)
    assert model.w.item() == pytest.approx(after_one.w.item())  # best (epoch-1) weights restored


def _resumable_run(checkpoint, loss_fn=training.reconstruction_loss):
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=16, dropout=0.2))
    spec = training.TrainSpec(epochs=5, lr=2e-3, batch_size=16, scheduler="cosine",
                              augment=data.Augment(flip=True, rotate=5, noise=0.1), seed=3)
    return training.fit(model, loss_fn, _images(64), _images(32, seed=1), spec, checkpoint=checkpoint,
                        eval_batch_size=16, progress=False)


def test_on_epoch_sees_restored_epochs_first_and_can_stop_a_resumed_run_before_it_trains(tmp_path):
    checkpoint = tmp_path / "run.pt"
    spec = training.TrainSpec(epochs=2, lr=2e-3, batch_size=16)
    training.fit(AutoEncoder(SMALL), training.reconstruction_loss, _images(32), _images(16, seed=1), spec,
                 checkpoint=checkpoint, progress=False)
    seen = []
    history = training.fit(AutoEncoder(SMALL), training.reconstruction_loss, _images(32), _images(16, seed=1),
                           training.TrainSpec(epochs=3, lr=2e-3, batch_size=16), checkpoint=checkpoint,
                           progress=False, on_epoch=lambda row: seen.append(row["epoch"]))
    assert seen == [1, 2, 3] and history.reused_epochs == 2

    class Stop(Exception):
        pass

    def stop(row):
        raise Stop

    stored = checkpoint.read_bytes()
    with pytest.raises(Stop):
        training.fit(AutoEncoder(SMALL), training.reconstruction_loss, _images(32), _images(16, seed=1),
                     training.TrainSpec(epochs=5, lr=2e-3, batch_size=16), checkpoint=checkpoint, progress=False,
                     on_epoch=stop)
    assert checkpoint.read_bytes() == stored  # stopped during the replay: nothing trained, nothing saved


def test_resumed_checkpoint_gives_the_same_history_as_an_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "CHECKPOINT_SECONDS", 0.0)  # every epoch saved: the crash comes mid epoch 3
    reference = _resumable_run(None)
    calls = {"n": 0}

    def crashing_loss(model, batch):
        calls["n"] += 1
        if calls["n"] == 15:  # 6 calls an epoch (4 training, 2 validation batches): mid epoch 3
            raise KeyboardInterrupt
        return training.reconstruction_loss(model, batch)

    checkpoint = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        _resumable_run(checkpoint, crashing_loss)
    saved = torch.load(checkpoint, weights_only=False)
    assert len(saved["history"]["rows"]) == 2
    resumed = _resumable_run(checkpoint)
    drop_time = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h.rows]  # noqa: E731
    assert drop_time(resumed) == drop_time(reference)


def test_non_finite_loss_raises_the_dedicated_error():
    def exploding(model, batch):
        return {"loss": training.reconstruction_loss(model, batch)["loss"] * float("nan")}

    spec = training.TrainSpec(epochs=2, batch_size=16)
    with pytest.raises(training.NonFiniteLossError, match="became nan in epoch 1"):
        training.fit(AutoEncoder(SMALL), exploding, _images(32), None, spec, progress=False)


@pytest.mark.parametrize("name, cls", [("sgd", torch.optim.SGD), ("nesterov", torch.optim.SGD),
                                       ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                       ("rmsprop", torch.optim.RMSprop)])
def test_optimizer_factory(name, cls):
    optimizer = training.make_optimizer(name, nn.Linear(2, 2).parameters(), lr=0.01, weight_decay=1e-4)
    assert isinstance(optimizer, cls)
    assert optimizer.param_groups[0]["weight_decay"] == 1e-4
    assert optimizer.param_groups[0].get("nesterov", False) == (name == "nesterov")


def test_optimizer_factory_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="Unknown optimizer 'adagrad'; choose one of sgd, nesterov, adam"):
        training.make_optimizer("adagrad", nn.Linear(2, 2).parameters(), lr=0.01)


def test_scheduler_factory():
    optimizer = training.make_optimizer("adam", nn.Linear(2, 2).parameters(), lr=0.01)
    assert training.make_scheduler(None, optimizer, 3, 10) is None
    assert isinstance(training.make_scheduler("onecycle", optimizer, 3, 10), torch.optim.lr_scheduler.OneCycleLR)
    with pytest.raises(ValueError, match="Unknown scheduler 'step'"):
        training.make_scheduler("step", optimizer, 3, 10)


@pytest.mark.parametrize("kwargs, field", [({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"),
                                           ({"optimizer": "lion"}, "optimizer"), ({"epochs": 0}, "epochs"),
                                           ({"scheduler": "step"}, "scheduler"), ({"patience": 0}, "patience")])
def test_train_spec_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=f"TrainSpec.{field}"):
        training.TrainSpec(**{"epochs": 1, **kwargs})


def test_psnr_of_known_error():
    target = torch.zeros(2, 1, 4, 4)
    assert training.psnr(target + 0.1, target).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)


def test_classification_loss_is_cross_entropy_and_accuracy_the_share_of_right_top_classes():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [0.5, 0.0, 0.0], [0.0, 4.0, 0.0]])
    labels = torch.tensor([0, 2, 1, 1])  # the third is wrong: its top class is 0
    batch = data.Batch(logits, logits, labels)
    out = training.classification_loss(nn.Identity(), batch)
    picked = logits.log_softmax(1)[torch.arange(4), labels]
    assert out["loss"].item() == pytest.approx(-picked.mean().item())
    assert out["accuracy"].item() == 0.75


@pytest.mark.parametrize("drop_last", [True, False])
def test_a_whole_pass_prepared_in_chunks_gives_the_same_batches_as_one_at_a_time(monkeypatch, drop_last):
    # The GPU path of Batches (chunks of PASS_CHUNK images, then views) must cut the same pass as the CPU path.
    monkeypatch.setattr(data, "PASS_CHUNK", 48)  # several chunks, and a chunk that is not a multiple of the batch
    images = _images(230)
    images = data.ImageSet(images.images, torch.arange(230) % 10, images.classes)
    batches = data.Batches(images, 20, shuffle=True, drop_last=drop_last, mean=0.3, std=0.5, seed=1)
    order = torch.randperm(230, generator=torch.Generator().manual_seed(7))
    chunked = list(batches._whole_pass(order))
    one_by_one = [batches._prepare(order[i:i + 20]) for i in range(0, 230, 20)]
    if drop_last:
        one_by_one = one_by_one[:-1]
    assert [len(b.labels) for b in chunked] == [len(b.labels) for b in one_by_one] and len(chunked) == len(batches)
    for a, b in zip(chunked, one_by_one):
        assert torch.equal(a.labels, b.labels) and torch.allclose(a.inputs, b.inputs) and torch.equal(a.images, b.images)


def test_graphs_are_not_used_off_a_gpu():
    spec = training.TrainSpec(epochs=1, batch_size=8)
    batches = data.Batches(_images(32), 8, drop_last=True)
    assert not training.graphable(AutoEncoder(SMALL), spec, batches)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")


def _cuda_run(graphs: bool, epochs: int = 3, checkpoint=None, on_epoch=None):
    from helpers.models import HW1Net
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(512, 1, 28, 28, generator=g) * 255).to(torch.uint8)
    train = data.ImageSet(x, torch.randint(0, 10, (512,), generator=g), tuple("0123456789")).to("cuda")
    spec = training.TrainSpec(epochs=epochs, batch_size=64, scheduler="cosine", amp=False, seed=0,
                              augment=data.Augment(flip=True, rotate=5.0))
    torch.manual_seed(0)
    torch.backends.cudnn.deterministic = True
    model = HW1Net()
    history = training.fit(model, training.classification_loss, train, train, spec, progress=False,
                           checkpoint=checkpoint, graphs=graphs, on_epoch=on_epoch)
    return model, history


@CUDA
def test_the_graphed_step_trains_like_the_eager_one(monkeypatch):
    used = {"n": 0}
    original = training._GraphedStep.epoch

    def counting(self, *args):
        used["n"] += 1
        return original(self, *args)
    monkeypatch.setattr(training._GraphedStep, "epoch", counting)
    eager_model, eager = _cuda_run(graphs=False)
    assert used["n"] == 0
    graph_model, graphed = _cuda_run(graphs=True)
    assert used["n"] == 3
    for a, b in zip(eager.rows, graphed.rows):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=2e-3)
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=0.02)
        assert a["lr"] == pytest.approx(b["lr"])
    probe = torch.rand(64, 1, 28, 28, device="cuda", generator=torch.Generator("cuda").manual_seed(5))
    with torch.no_grad():
        a, b = eager_model.eval()(probe), graph_model.eval()(probe)
    assert torch.allclose(a, b, rtol=1e-2, atol=1e-2) and (a.argmax(1) == b.argmax(1)).float().mean() > 0.95


@CUDA
def test_a_graphed_run_resumes_to_the_same_history(tmp_path):
    _, whole = _cuda_run(graphs=True)

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _cuda_run(graphs=True, checkpoint=tmp_path / "run.pt", on_epoch=stop_after_two)
    _, resumed = _cuda_run(graphs=True, checkpoint=tmp_path / "run.pt")
    assert resumed.reused_epochs == 2
    for a, b in zip(whole.rows, resumed.rows):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)


def test_checkpoints_are_written_at_most_every_few_seconds_and_always_when_a_run_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "CHECKPOINT_SECONDS", 3600.0)
    writes = []
    original = training._save
    monkeypatch.setattr(training, "_save", lambda path, *a: (writes.append(len(a[-2].rows)), original(path, *a)))
    _resumable_run(tmp_path / "whole.pt")
    assert writes == [5]  # only after the last epoch

    def stop_at_two(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt
    writes.clear()
    spec = training.TrainSpec(epochs=5, batch_size=16)
    with pytest.raises(KeyboardInterrupt):
        training.fit(AutoEncoder(SMALL), training.reconstruction_loss, _images(32), None, spec,
                     checkpoint=tmp_path / "stopped.pt", progress=False, on_epoch=stop_at_two)
    assert writes == [2]  # the interruption keeps both finished epochs
    history = training.fit(AutoEncoder(SMALL), training.reconstruction_loss, _images(32), None, spec,
                           checkpoint=tmp_path / "stopped.pt", progress=False)
    assert history.reused_epochs == 2 and len(history.rows) == 5


def test_seeded_specs_keep_the_first_run_s_name_and_count_seeds_up_from_the_spec_s():
    spec = training.TrainSpec(epochs=2, lr=1e-2, seed=7)
    found = training.seeded_specs("a", spec, 3, "{name}, seed {seed}")
    assert [name for name, _ in found] == ["a", "a, seed 8", "a, seed 9"]  # the cache names the runs carry
    assert [s.seed for _, s in found] == [7, 8, 9] and found[0][1] == spec
    assert all(s.epochs == 2 and s.lr == 1e-2 for _, s in found)
    assert [n for n, _ in training.seeded_specs("b", spec, 2, "{name} (seed {seed})")] == ["b", "b (seed 8)"]
    assert training.seeded_specs("a", spec, 1, "{name}, seed {seed}") == [("a", spec)]
