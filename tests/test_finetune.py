"""Section 3: classifiers on the pretrained encoder, freezing, learning rates, label sweep, error analysis."""
from __future__ import annotations

import pytest
import torch

from helpers import data, finetune, training
from helpers.models import AEConfig, AutoEncoder, EncoderClassifier, count_parameters

CFG = AEConfig(channels=(8, 16), latent_dim=8)


def _set(n: int, seed: int) -> data.ImageSet:
    """Two easy classes: dark images (label 0) and bright ones (label 1), with noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = (torch.rand(n, 1, 28, 28, generator=g) * 80 + labels.view(-1, 1, 1, 1) * 150).to(torch.uint8)
    return data.ImageSet(images, labels, ("dark", "bright"))


def _splits() -> data.Splits:
    return data.Splits(_set(64, 0), _set(32, 1), _set(32, 2), 0.4, 0.3)


def _pretrained() -> AutoEncoder:
    torch.manual_seed(0)
    return AutoEncoder(CFG)


def _strategies(epochs: int = 1) -> dict[str, finetune.Strategy]:
    spec = training.TrainSpec(epochs=epochs, lr=1e-2, batch_size=16, monitor="accuracy", mode="max", patience=5)
    return finetune.strategies(CFG, _pretrained().encoder, spec)


def test_hw1_network_has_the_reported_parameter_count():
    assert count_parameters(finetune.build_classifier({"kind": "hw1"})) == 94410


@pytest.mark.parametrize("name", ["frozen + two-layer head", "frozen + linear probe",
                                  "frozen + two-layer head on the code"])
def test_frozen_strategies_keep_the_encoder_and_its_batch_norm_statistics(name):
    strategy = _strategies(epochs=2)[name]
    model = strategy.build()
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    head_before = [p.detach().clone() for p in model.head.parameters()]
    assert any("running_mean" in k for k in before)  # batch-norm statistics are part of what must not move
    training.fit(model, training.classification_loss, _set(64, 0), None, strategy.spec, progress=False)
    after = model.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(a, b) for a, b in zip(head_before, model.head.parameters()))
    model.train()
    assert not model.encoder.training and model.head.training  # the frozen encoder stays in eval mode


def test_frozen_encoder_gets_no_optimizer_state():
    model = _strategies()["frozen + two-layer head"].build()
    optimizer = training.make_optimizer("adam", training.param_groups(model, 1e-3), 1e-3)
    batch = data.Batch(torch.randn(8, 1, 28, 28), torch.rand(8, 1, 28, 28), torch.arange(8) % 2)
    training.classification_loss(model, batch)["loss"].backward()
    optimizer.step()
    optimised = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert all(id(p) not in optimised and p.grad is None for p in model.encoder.parameters())
    assert set(map(id, optimizer.state)) == {id(p) for p in model.head.parameters()}


def test_the_pretrained_strategies_start_from_the_autoencoder_and_the_scratch_one_does_not():
    pretrained = _pretrained()
    built = _strategies()
    fine = built["fine-tuned (one lr)"].build()
    scratch = built["encoder + head (scratch)"].build()
    first = pretrained.encoder.features[0].weight
    assert torch.equal(fine.encoder[0].weight, first)
    assert not torch.equal(scratch.encoder[0].weight, first)
    fine.encoder[0].weight.data.add_(1.0)  # a copy: training a strategy never changes the autoencoder
    assert torch.equal(pretrained.encoder.features[0].weight, first)


def test_slow_encoder_variant_puts_the_encoder_in_a_group_with_a_tenth_of_the_lr():
    strategy = _strategies()["fine-tuned (encoder lr x0.1)"]
    model = strategy.build()
    groups = training.param_groups(model, 1e-3, strategy.spec.lr_scales)
    assert sorted(g["lr"] for g in groups) == [pytest.approx(1e-4), 1e-3]
    slow, fast = sorted(groups, key=lambda g: g["lr"])
    assert {id(p) for p in slow["params"]} == {id(p) for p in model.encoder.parameters()}
    assert {id(p) for p in fast["params"]} == {id(p) for p in model.head.parameters()}


def test_time_to_accuracy_on_a_made_up_history():
    rows = [{"epoch": 1, "seconds": 2.0, "val_accuracy": 0.85}, {"epoch": 2, "seconds": 4.5, "val_accuracy": 0.91},
            {"epoch": 3, "seconds": 7.0, "val_accuracy": 0.89}, {"epoch": 4, "seconds": 9.0, "val_accuracy": 0.925}]
    assert finetune.time_to_accuracy(rows, 0.90) == (2, 4.5)
    assert finetune.time_to_accuracy(rows, 0.92) == (4, 9.0)
    assert finetune.time_to_accuracy(rows, 0.85) == (1, 2.0)  # reaching counts, not only exceeding
    assert finetune.time_to_accuracy(rows, 0.95) is None


def test_label_budget_and_draws():
    assert finetune.label_budget(100, 64, 400) == (50, 200)  # at most half the set per batch: 2 steps per epoch
    assert finetune.label_budget(3000, 64, 400) == (64, 9)  # 46 steps per epoch
    assert [finetune.draws_for(n, 3) for n in (100, 600, 1000, 3000)] == [3, 3, 3, 1]


def test_label_sweep_and_its_statistics():
    splits = _splits()
    chosen = {k: v for k, v in _strategies().items() if k in ("frozen + linear probe", "encoder + head (scratch)")}
    sweep = finetune.label_sweep(chosen, splits, [10, 20], draws=2, steps=4, seed=0)
    assert {n: len(a) for n, a in sweep["frozen + linear probe"].items()} == {10: 2, 20: 2}
    assert all(0.0 <= acc <= 1.0 for by_n in sweep.values() for a in by_n.values() for acc in a)
    stats = finetune.sweep_stats(sweep)
    a = sweep["frozen + linear probe"][10]
    assert stats["frozen + linear probe"][10]["mean"] == pytest.approx(sum(a) / 2)
    assert "±" in finetune.sweep_table(stats)


def test_errors_and_the_most_confidently_wrong():
    labels = torch.tensor([0, 0, 1, 1, 2])
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.05, 0.9, 0.05], [0.01, 0.01, 0.98],
                          [0.6, 0.2, 0.2]])
    found = finetune.errors(probs, labels)
    assert found["confusion"].tolist() == [[1, 1, 0], [0, 1, 1], [1, 0, 0]]
    assert found["per_class_accuracy"].tolist() == [0.5, 0.5, 0.0]
    assert found["accuracy"] == pytest.approx(0.4)
    assert finetune.confidently_wrong(probs, labels, 2).tolist() == [3, 1]  # 0.98 on class 2, then 0.7


def test_a_saved_classifier_loads_back_with_the_same_outputs(tmp_path):
    strategy = _strategies()["fine-tuned (encoder lr x0.1)"]
    model = strategy.build().eval()
    finetune.save_classifier(tmp_path / "best.pt", strategy.arch, model, {"test_accuracy": 0.5})
    loaded, info = finetune.load_classifier(tmp_path / "best.pt")
    x = torch.randn(4, 1, 28, 28)
    assert isinstance(loaded, EncoderClassifier) and info == {"test_accuracy": 0.5}
    assert torch.equal(loaded(x), model(x))
    with pytest.raises(FileNotFoundError, match="run section 3"):
        finetune.load_classifier(tmp_path / "missing.pt")


def test_summary_reports_accuracies_gap_and_time_to_threshold():
    splits = _splits()
    strategy = _strategies(epochs=3)["encoder + head (scratch)"]
    run = finetune.train_strategy("scratch", strategy, splits)
    row = finetune.summary({"scratch": run}, splits)["scratch"]
    assert row["val_accuracy"] == run.history.kept["val_accuracy"]
    assert row["gap"] == pytest.approx(row["train_accuracy"] - row["val_accuracy"])
    assert row["test_accuracy"] == finetune.accuracy(run.model, splits.test, splits)
    reached = finetune.time_to_accuracy(run.history.rows, 0.9)
    assert (row["epochs_to_90"], row["seconds_to_90"]) == (reached or (None, None))
