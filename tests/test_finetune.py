"""Section 3: classifiers on the pretrained encoder, freezing, learning rates, label sweep, error analysis."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers import data, finetune, models, statistics, training
from helpers.findings import finetune as ft_text
from helpers.findings.words import plus_minus
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
    table = finetune.sweep_table(stats)  # each cell the mean ± std over draws, in percent
    assert all(plus_minus(s["mean"], s["std"], 100, "%") in table
               for by_n in stats.values() for s in by_n.values())


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


# ----------------------------------------------------------------------------- Homework 1's network, pretrained


def _hw1_family(epochs: int = 1) -> tuple[models.HW1Autoencoder, dict[str, finetune.Strategy]]:
    torch.manual_seed(3)
    pretrained = models.HW1Autoencoder()
    return pretrained, finetune.hw1_family(pretrained.encoder, epochs, seed=0)


def test_hw1_autoencoder_rebuilds_an_image_from_the_networks_own_pooled_features():
    model = models.HW1Autoencoder().eval()
    x = torch.randn(3, 1, 28, 28)
    out = model(x)
    assert out.shape == (3, 1, 28, 28) and 0.0 <= out.min() and out.max() <= 1.0
    assert model.encoder(x).shape == (3, 128)  # the vector the classification head reads
    net = models.HW1Net()
    assert [(k, v.shape) for k, v in net.features.state_dict().items()] == \
        [(k, v.shape) for k, v in model.encoder.state_dict().items()]


def test_the_pretrained_hw1_network_is_the_hw1_network_started_from_the_pretrained_blocks():
    pretrained, family = _hw1_family()
    scratch, fine = family[finetune.HW1_SCRATCH].build(), family[finetune.HW1_FINETUNED].build()
    assert type(fine) is type(scratch) is models.HW1Net
    every = count_parameters(fine, trainable=False)
    assert count_parameters(fine) == count_parameters(scratch) == every  # every parameter trains
    assert [(k, v.shape) for k, v in fine.state_dict().items()] == [(k, v.shape) for k, v in scratch.state_dict().items()]
    for key, value in pretrained.encoder.state_dict().items():  # weights and batch-norm statistics
        assert torch.equal(fine.features.state_dict()[key], value), key
    assert not torch.equal(scratch.features[0].weight, pretrained.encoder[0].weight)
    fine.features[0].weight.data.add_(1.0)  # a copy: fine-tuning never changes the pretrained blocks
    assert not torch.equal(fine.features[0].weight, pretrained.encoder[0].weight)
    keys = {finetune.weights_digest(pretrained.encoder)}
    assert family[finetune.HW1_FINETUNED].key[1] in keys and family[finetune.HW1_SCRATCH].key[1] is None


def test_fine_tuning_the_pretrained_hw1_network_starts_from_the_pretrained_weights():
    pretrained, family = _hw1_family()
    seen = {}
    original = finetune.build_classifier

    def spy(arch, encoder=None):
        model = original(arch, encoder)
        seen["first"] = model.features[0].weight.detach().clone()
        return model

    strategy = family[finetune.HW1_FINETUNED]
    run = finetune.train_model(lambda: spy(strategy.arch, strategy.pretrained), training.classification_loss,
                               _set(64, 0), _set(32, 1), strategy.spec, model_key="t", progress=False)[0]
    assert torch.equal(seen["first"], pretrained.encoder[0].weight)  # the run's starting point ...
    assert not torch.equal(run.features[0].weight, pretrained.encoder[0].weight)  # ... which it then trained


def test_the_frozen_hw1_variant_trains_only_its_last_linear_layer():
    pretrained, family = _hw1_family(epochs=2)
    strategy = family[finetune.HW1_FROZEN]
    model = strategy.build()
    assert count_parameters(model) == 1290 and count_parameters(model, trainable=False) == count_parameters(
        models.HW1Net())
    before = {k: v.clone() for k, v in model.features.state_dict().items()}
    training.fit(model, training.classification_loss, _set(64, 0), None, strategy.spec, progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.features.state_dict().items())
    assert all(torch.equal(before[k], v) for k, v in pretrained.encoder.state_dict().items())


def test_pretraining_the_hw1_network_lowers_its_reconstruction_error():
    splits = _splits()
    spec = training.TrainSpec(epochs=3, lr=2e-3, batch_size=16)
    run = finetune.pretrain_hw1(spec, splits)
    assert isinstance(run.model, models.HW1Autoencoder)
    assert run.history.rows[-1]["val_loss"] < run.history.rows[0]["val_loss"]


def test_the_whole_cost_column_adds_the_pretraining_seconds():
    splits = _splits()
    strategy = _strategies(epochs=3)["fine-tuned (one lr)"]
    run = finetune.train_strategy("fine", strategy, splits)
    run.history.rows[1]["val_accuracy"] = 0.95  # reached at epoch 2 whatever the tiny run learned
    rows = finetune.summary({"fine": run, "again": run}, splits, pretrain_seconds={"fine": 100.0})
    first = next(r for r in run.history.rows if r["val_accuracy"] >= 0.9)
    assert rows["fine"]["seconds_to_90"] == first["seconds"]
    assert rows["fine"]["whole_seconds_to_90"] == pytest.approx(first["seconds"] + 100.0)
    assert rows["again"]["whole_seconds_to_90"] == rows["again"]["seconds_to_90"]  # no pretraining: nothing added
    assert rows["fine"]["pretrain_seconds"] == 100.0 and rows["again"]["pretrain_seconds"] == 0.0
    for r in run.history.rows:
        r["val_accuracy"] = 0.1
    never = finetune.summary({"fine": run}, splits, pretrain_seconds={"fine": 100.0})["fine"]
    assert never["seconds_to_90"] is None and never["whole_seconds_to_90"] is None
    table = finetune.summary_table(rows)
    assert "with pretraining" in table and f"{rows['fine']['whole_seconds_to_90']:.0f} s" in table
    assert f"{count_parameters(run.model):,} / {count_parameters(run.model, trainable=False):,}" in table


def test_paired_difference_and_its_interval():
    within = statistics.paired_difference([0.90, 0.92, 0.91], [0.89, 0.90, 0.90])  # differences .01, .02, .01
    assert within["mean"] == pytest.approx(0.04 / 3)
    assert within["std"] == pytest.approx(0.005773503, rel=1e-6)
    half = 4.302652730 * 0.005773503 / 3 ** 0.5  # Student t, 2 degrees of freedom, 97.5%
    assert (within["low"], within["high"]) == (pytest.approx(0.04 / 3 - half), pytest.approx(0.04 / 3 + half))
    assert within["within_spread"] is True
    beyond = statistics.paired_difference([0.92, 0.921, 0.919], [0.90, 0.90, 0.90])
    assert beyond["within_spread"] is False and beyond["low"] > 0
    single = statistics.paired_difference([0.92], [0.90])
    assert single["within_spread"] is None and single["std"] is None
    with pytest.raises(ValueError, match="equally long"):
        statistics.paired_difference([0.9, 0.8], [0.9])
    assert "within the spread" in ft_text.difference_sentence("A", "B", within)  # the interval holds 0: a tie
    assert "A is ahead" in ft_text.difference_sentence("A", "B", beyond)
    same = statistics.paired_difference([5, 6, 4], [4, 5, 3])  # one epoch sooner in every seed: no spread at all
    assert same["same_every_seed"] and same["std"] == 0.0 and not within["same_every_seed"]


def test_seed_runs_pair_the_strategies_by_seed_and_their_statistics(tmp_path):
    splits = _splits()
    chosen = {k: v for k, v in _strategies(epochs=1).items() if k in (finetune.HW1_SCRATCH, "frozen + linear probe")}
    per_seed = finetune.seed_runs(chosen, splits, seeds=2, epochs=2, run_dir=tmp_path)
    assert {n: [r["seed"] for r in rows] for n, rows in per_seed.items()} == {n: [0, 1] for n in chosen}
    assert all(r["epochs"] == 2 for rows in per_seed.values() for r in rows)
    # seed 0 carries the strategy's own name: the same cached run as training the strategy itself at that budget
    again = finetune.train_strategy("frozen + linear probe", replace(chosen["frozen + linear probe"],
                                    spec=replace(chosen["frozen + linear probe"].spec, epochs=2)), splits, run_dir=tmp_path)
    assert again.history.reused_epochs == 2
    stats = finetune.seed_stats(per_seed)
    acc = [r["test_accuracy"] for r in per_seed[finetune.HW1_SCRATCH]]
    assert stats[finetune.HW1_SCRATCH]["test_accuracy"] == {"mean": pytest.approx(sum(acc) / 2),
                                                            "std": pytest.approx(abs(acc[0] - acc[1]) / 2 ** 0.5),
                                                            "n": 2}
    found = finetune.seed_comparison(per_seed, finetune.HW1_SCRATCH, epochs=2,
                                     roles={finetune.HW1_SCRATCH: "hw1", "frozen + linear probe": "probe"})
    text = ft_text.seeds_finding(found)
    assert set(found["stats"]) == {"hw1", "probe"} and found["baseline"] == "hw1"
    diff = found["differences"]["probe"]["test_accuracy"]
    other = [r["test_accuracy"] for r in per_seed["frozen + linear probe"]]
    assert diff["mean"] == pytest.approx((other[0] - acc[0] + other[1] - acc[1]) / 2)
    assert "2 seeds at 2 epochs" in text and "frozen + linear probe" in text and finetune.HW1_SCRATCH in text
    assert f"{100 * diff['mean']:+.1f} points" in text
    assert "±" in finetune.seed_table(found["stats"])


def test_seed_statistics_as_text_are_the_shared_mean_plus_minus_spread():
    row = lambda seed, acc, epochs: {"seed": seed, "test_accuracy": acc, "epochs_to_90": epochs,  # noqa: E731
                                     "whole_seconds_to_90": None if epochs is None else 10.0 * epochs,
                                     "trainable_parameters": 5, "total_parameters": 9}
    stats = finetune.seed_stats({"a": [row(0, 0.9041, 3), row(1, 0.9071, None)], "b": [row(0, 0.88, None)]})
    a, b = stats["a"], stats["b"]
    accuracy = a["test_accuracy"]
    assert a["text"]["test_accuracy"] == plus_minus(accuracy["mean"], accuracy["std"], 100, "%")
    assert a["text"]["epochs_to_90"] == plus_minus(3.0, None) + " (1 of 2 seeds)" and a["reached_90"] == 1
    assert b["text"]["test_accuracy"] == plus_minus(0.88, None, 100, "%")
    assert b["test_accuracy"]["std"] is None
    assert b["text"]["epochs_to_90"] == b["text"]["whole_seconds_to_90"] == "not reached"
