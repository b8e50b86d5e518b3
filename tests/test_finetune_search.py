"""The search that tunes the fine-tuning (section 2's second study): label smoothing and its cache key, the
space and its interior start, the stored study resumed, the paired cross-validation of the tuned and the
default fine-tuning, the step that runs it all, section 3 built on its choice, and its sentences."""
from __future__ import annotations

from dataclasses import replace

import optuna
import pytest
import torch
import torch.nn.functional as F

from helpers import autoencoder as ae, config, data, finetune, results, statistics, studies, training
from helpers.context import Context
from helpers.findings import finetune as ft_text
from helpers.findings.words import plus_minus, points
from helpers.models import AEConfig, AutoEncoder

from .tiny import banded_set

optuna.logging.set_verbosity(optuna.logging.ERROR)
CFG = AEConfig(channels=(8, 16), latent_dim=8)
START = {"lr": 1e-3, "encoder_lr_scale": 0.1, "weight_decay": 1e-4, "label_smoothing": 0.0}


def _splits() -> data.Splits:
    return data.Splits(banded_set(20, 0), banded_set(6, 1), banded_set(6, 2), 0.3, 0.3)


def _encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return AutoEncoder(CFG).encoder


def _default(epochs: int = 1, encoder: torch.nn.Module | None = None) -> finetune.Strategy:
    """Section 3's default fine-tuning of a tiny encoder under Homework 1's recipe."""
    chosen = finetune.strategies(CFG, encoder or _encoder(), finetune.hw1_recipe(epochs, seed=0))
    return chosen[finetune.DEFAULT_FINE_TUNING]


def _search(run_dir, trials: int = 2, epochs: int = 2) -> finetune.ClfSearch:
    splits = _splits()
    return finetune.ClfSearch(splits, splits.train.subset(range(100)), _default(), trials, epochs, run_dir,
                              eval_batch_size=500)


# ----------------------------------------------------------------------------- label smoothing


def test_no_label_smoothing_is_the_plain_classification_loss_and_some_smooths_the_targets():
    assert training.smoothed_classification_loss(0.0) is training.classification_loss
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    batch = data.Batch(torch.randn(8, 1, 28, 28), torch.rand(8, 1, 28, 28), torch.arange(8))
    smoothed = training.smoothed_classification_loss(0.1)(model, batch)
    plain = training.classification_loss(model, batch)
    logits = model(batch.inputs)
    targets = F.one_hot(batch.labels, 10).float() * 0.9 + 0.1 / 10
    expected = -(targets * logits.log_softmax(1)).sum(1).mean()
    assert smoothed["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert smoothed["loss"].item() != pytest.approx(plain["loss"].item())
    assert smoothed["accuracy"].item() == plain["accuracy"].item()
    with pytest.raises(ValueError, match="label smoothing"):
        training.smoothed_classification_loss(1.0)


def test_no_label_smoothing_keeps_a_strategy_s_cache_key_and_some_changes_it(tmp_path):
    default = _default()
    assert default.label_smoothing == 0.0 and default.loss is training.classification_loss
    assert default.key == (default.arch, finetune.weights_digest(default.pretrained))  # as before smoothing
    smoothed = replace(default, label_smoothing=0.05)
    assert smoothed.key != default.key and smoothed.key[:2] == default.key
    assert replace(default, label_smoothing=0.0).key == default.key
    splits = _splits()
    for strategy in (default, smoothed, default):  # the third run reuses the first: two runs stored
        finetune.train_strategy("fine", strategy, splits, splits.train.subset(range(60)), run_dir=tmp_path,
                                eval_batch_size=500)
    assert len(list((tmp_path / "runs").glob("fine-*.pt"))) == 2


# ----------------------------------------------------------------------------- the space and its start


def test_the_default_fine_tuning_is_an_interior_point_of_the_space():
    default = _default()
    assert finetune.fine_tuning_params(default) == START
    assert finetune.check_start(dict(START)) == START
    assert finetune.start_point(default) == START
    for name, (low, high) in finetune.CLF_RANGES.items():
        assert low < START[name] < high
    for name, choices in finetune.CLF_CHOICES.items():
        assert START[name] in choices and len(set(choices)) > 1


@pytest.mark.parametrize("name, value, says", [
    ("lr", finetune.CLF_LR_RANGE[0], "lr = 0.0002 is not strictly inside"),
    ("encoder_lr_scale", finetune.ENCODER_LR_SCALE_RANGE[1], "encoder_lr_scale = 2.0 is not strictly inside"),
    ("weight_decay", 1e-2, "weight_decay = 0.01 is not strictly inside"),
    ("label_smoothing", 0.2, "label_smoothing = 0.2 is not one of")])
def test_a_start_at_a_range_end_or_outside_the_choices_is_refused(name, value, says):
    with pytest.raises(ValueError, match=says):
        finetune.check_start({**START, name: value})


def test_a_start_whose_categorical_has_no_other_choice_or_a_missing_setting_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="weight_decay is missing"):
        finetune.check_start({k: v for k, v in START.items() if k != "weight_decay"})
    monkeypatch.setitem(finetune.CLF_CHOICES, "label_smoothing", (0.0,))
    with pytest.raises(ValueError, match="no choice besides"):
        finetune.check_start(dict(START))


def test_the_start_rebuilds_the_default_strategy_exactly_and_another_point_differs_only_where_searched():
    profile = config.PROFILES["quick"]
    encoder = _encoder()
    default = finetune.strategies(CFG, encoder, finetune.hw1_recipe(profile.clf_epochs, profile.seed))[
        finetune.DEFAULT_FINE_TUNING]
    rebuilt = finetune.fine_tuning(finetune.start_point(default), default)
    assert rebuilt.spec == default.spec and rebuilt.key == default.key and rebuilt.arch == default.arch
    assert rebuilt.pretrained is default.pretrained and rebuilt.label_smoothing == 0.0
    other = finetune.fine_tuning({"lr": 3e-3, "encoder_lr_scale": 0.5, "weight_decay": 2e-5,
                                  "label_smoothing": 0.1}, default, epochs=2)
    assert other.spec == replace(default.spec, epochs=2, lr=3e-3, weight_decay=2e-5,
                                 lr_scales=(("encoder.", 0.5),))
    assert other.label_smoothing == 0.1 and other.tag == finetune.TUNED_TAG and other.key != default.key
    groups = training.param_groups(other.build(), other.spec.lr, other.spec.lr_scales)
    assert sorted(g["lr"] for g in groups) == pytest.approx([1.5e-3, 3e-3])  # the encoder at half the head's
    assert [row[0] for row in finetune.clf_space_rows(default)][:4] == list(START)
    clothing, digits = (finetune.clf_space_rows(default, mirror)[-1][1] for mirror in (True, False))
    assert "flip + rotation" in clothing and "flip +" not in digits and "no flip" in digits


# ----------------------------------------------------------------------------- the study


def test_the_study_starts_from_the_default_reports_every_epoch_and_resumes_from_its_storage(tmp_path):
    search = _search(tmp_path, trials=2, epochs=2)
    study = finetune.run_clf_study(search)
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1] and trials[0].params == START
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert isinstance(study.pruner, optuna.pruners.HyperbandPruner)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    first = trials[0]
    assert first.user_attrs["epochs"] == 2 and first.user_attrs["seconds"] > 0
    reports = first.intermediate_values
    assert sorted(reports) == [1, 2] and first.value == max(reports.values())  # the kept (best) epoch
    again = finetune.open_clf_study(replace(search, trials=3))  # the budget is not a setting of the study
    assert again.study_name == study.study_name and len(again.trials) == 2
    assert studies.run_to_budget(again, finetune.clf_objective(search), 3) == 1
    assert [t.number for t in again.trials] == [0, 1, 2] and again.trials[0].params == START
    assert studies.run_to_budget(again, finetune.clf_objective(search), 3) == 0


def test_a_changed_setting_starts_a_new_study(tmp_path):
    search = _search(tmp_path)
    assert replace(search, trials=9).key == search.key
    assert replace(search, epochs=3).key != search.key
    assert replace(search, train=search.train.subset(range(90))).key != search.key
    encoder = _encoder()
    with torch.no_grad():
        next(encoder.parameters()).add_(1.0)
    assert replace(search, default=_default(encoder=encoder)).key != search.key


def test_forcing_starts_the_study_anew(tmp_path, monkeypatch):
    search = _search(tmp_path, trials=1, epochs=1)
    finetune.run_clf_study(search)
    monkeypatch.setenv(results.FORCE_ENV, "1")
    study = finetune.run_clf_study(search)
    assert len(study.trials) == 1 and study.trials[0].params == START


def test_the_study_summary_keeps_the_default_when_no_trial_beats_it(tmp_path):
    search = _search(tmp_path, trials=1, epochs=1)
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(params=START, distributions=_distributions(), value=0.8))
    study.add_trial(optuna.trial.create_trial(params={**START, "lr": 3e-3}, distributions=_distributions(),
                                              value=0.8))  # a tie: the default, first, wins it
    summary = finetune.clf_study_summary(study, search)
    assert summary["default_kept"] and summary["best_trial"] == 0 and summary["default_value"] == 0.8
    study.add_trial(optuna.trial.create_trial(params={**START, "lr": 2e-3}, distributions=_distributions(),
                                              value=0.85))
    summary = finetune.clf_study_summary(study, search)
    assert not summary["default_kept"] and summary["best_trial"] == 2 and summary["best_value"] == 0.85
    assert summary["best_params"]["lr"] == 2e-3 and summary["complete"] == 3 and summary["finished"] == 3
    assert summary["importances"] is not None and set(summary["importances"]) <= set(START)
    assert studies.importances(finetune.open_clf_study(_search(tmp_path / "other"))) is None  # no trials


def _distributions() -> dict:
    trial = optuna.trial.FixedTrial(START)
    finetune.suggest_fine_tuning(trial, _default())
    return trial.distributions


# ----------------------------------------------------------------------------- the paired comparison


def test_the_paired_cross_validation_gives_both_fine_tunings_the_same_folds(tmp_path, capsys):
    splits, default = _splits(), _default()
    tuned = finetune.fine_tuning({**START, "lr": 3e-3, "label_smoothing": 0.05}, default)
    cv = finetune.compare_fine_tunings(tuned, default, splits.train, splits, k=2, seed=0, run_dir=tmp_path,
                                       eval_batch_size=500)
    folds = data.kfold_splits(splits.train.labels, 2, 0)
    assert cv["fold_digests"] == [results.config_hash("fold", held.tolist()) for _, held in folds]
    assert cv["held_out"] == [len(held) for _, held in folds] and cv["images"] == len(splits.train)
    a, b = cv["tuned"]["folds"], cv["default"]["folds"]
    assert len(a) == len(b) == 2 and cv["tuned"]["mean"] == pytest.approx(sum(a) / 2)
    assert cv["difference"]["mean"] == pytest.approx(sum(a) / 2 - sum(b) / 2)
    assert cv["folds_tuned_higher"] == sum(x > y for x, y in zip(a, b))
    assert cv["target_met"] == (cv["difference"]["mean"] >= finetune.CLF_TARGET)
    capsys.readouterr()
    for name, strategy in ((finetune.TUNED_FINE_TUNING, tuned), (finetune.DEFAULT_FINE_TUNING, default)):
        again = training.cross_validate(strategy.build, strategy.loss, splits.train, strategy.spec, k=2,
                                        seed=0, mean=splits.mean, std=splits.std, metric="accuracy",
                                        name=f"CV {name}", model_key=strategy.key, run_dir=tmp_path,
                                        eval_batch_size=500)
        assert again == cv["tuned" if strategy is tuned else "default"]["folds"]
    assert capsys.readouterr().out.count("reused a finished run") == 4  # each arm's folds: the standard folds


def test_a_kept_default_is_not_compared_with_itself(tmp_path, capsys):
    splits, default = _splits(), _default()
    cv = finetune.compare_fine_tunings(default, default, splits.train, splits, k=2, seed=0, run_dir=tmp_path,
                                       eval_batch_size=500, kept_default=True)
    assert cv["kept_default"] and cv["difference"] is None and cv["folds_tuned_higher"] is None
    assert cv["tuned"] == cv["default"] and not cv["target_met"]
    assert len(list((tmp_path / "runs").glob("*.pt"))) == 2  # one arm, two folds


# ----------------------------------------------------------------------------- the steps

TINY = replace(config.PROFILES["smoke"], name="tiny", clf_trials=2, clf_search_limit=100, clf_search_epochs=1,
               clf_cv_limit=100, search_folds=2, clf_epochs=1, compare_limit=None, eval_batch_size=500)


def _context(run_dir) -> tuple[Context, ae.Autoencoder]:
    ctx = Context(TINY, torch.device("cpu"), _splits(), run_dir, results.SectionClock(run_dir))
    torch.manual_seed(0)
    model = AutoEncoder(CFG)
    run = training.Run(model, training.History(rows=[{"epoch": 1, "seconds": 1.0}]))
    return ctx, ae.Autoencoder(CFG, ae.hand_set_spec(TINY), run, 0.01)


def test_tune_fine_tuning_merges_the_study_and_its_check(tmp_path):
    ctx, ae_final = _context(tmp_path)
    found = finetune.tune_fine_tuning(ctx, ae_final)
    merged = ctx.metrics()["clf_search"]
    assert merged == found.found and merged["finding"] == found.finding
    assert merged["budget"] == merged["finished"] == 2 and merged["trial_images"] == 100
    assert merged["trial_epochs"] == 1 and merged["start_params"] == START
    assert merged["cv"]["folds"] == 2 and merged["cv"]["images"] == 100 and merged["cv"]["epochs"] == 1
    assert found.default.spec == replace(finetune.hw1_recipe(1, TINY.seed), lr_scales=(("encoder.", 0.1),))
    if merged["default_kept"]:
        assert found.tuned is found.default and merged["cv"]["difference"] is None
    else:
        assert found.tuned.spec.epochs == TINY.clf_epochs
        assert finetune.fine_tuning_params(found.tuned) == merged["best_params"] == merged["tuned_params"]
        assert merged["cv"]["difference"]["n"] == 2
    assert found.table.count("\n") == (2 if merged["default_kept"] else 3)


def _hw1() -> finetune.HW1Network:
    return finetune.HW1Network({}, {}, {}, {}, found={}, table="", finding="")


def _tuned(default: finetune.Strategy, kept: bool) -> finetune.FineTuningSearch:
    tuned = default if kept else finetune.fine_tuning({**START, "lr": 2e-3, "label_smoothing": 0.1}, default)
    return finetune.FineTuningSearch(None, tuned, default, {}, found={"default_kept": kept}, table="",
                                     finding="")


@pytest.mark.parametrize("kept", [False, True])
def test_section_3_keeps_the_tuned_fine_tuning_or_the_default_the_search_kept(tmp_path, kept):
    ctx, ae_final = _context(tmp_path)
    default = finetune.strategies(CFG, ae_final.run.model.encoder, finetune.hw1_recipe(1, TINY.seed))[
        finetune.DEFAULT_FINE_TUNING]
    clfs = finetune.classifiers(ctx, ae_final, _hw1(), tuned=_tuned(default, kept))
    names = list(finetune.strategies(CFG, ae_final.run.model.encoder, clfs.spec))
    if kept:
        assert list(clfs.strategies) == names and clfs.fine_kept == finetune.DEFAULT_FINE_TUNING
    else:
        assert list(clfs.strategies) == [*names, finetune.TUNED_FINE_TUNING]
        assert clfs.fine_kept == finetune.TUNED_FINE_TUNING
        tuned = clfs.strategies[finetune.TUNED_FINE_TUNING]
        assert tuned.tag == "finetuned_tuned" and tuned.label_smoothing == 0.1
        assert ctx.metrics()["finetune"]["finetuned_tuned"]["name"] == finetune.TUNED_FINE_TUNING
    assert clfs.roles[clfs.fine_kept] == "finetuned"
    assert ctx.metrics()["finetune"]["finetune_kept"] == clfs.fine_kept
    other = AutoEncoder(CFG).encoder
    moved = finetune.on_encoder(clfs.strategies[clfs.fine_kept], CFG, other)
    assert moved.pretrained is other and moved.spec == clfs.strategies[clfs.fine_kept].spec
    assert moved.label_smoothing == clfs.strategies[clfs.fine_kept].label_smoothing


@pytest.mark.parametrize("name", [finetune.DEFAULT_FINE_TUNING, "fine-tuned (one lr)"])
def test_a_variant_on_another_encoder_is_what_strategies_gives_there(name):
    spec, small = finetune.hw1_recipe(1, 0), AEConfig(channels=(8, 16), latent_dim=4)
    other = AutoEncoder(small).encoder
    there = finetune.strategies(small, other, spec)[name]
    moved = finetune.on_encoder(finetune.strategies(CFG, _encoder(), spec)[name], small, other)
    assert moved.key == there.key and moved.spec == there.spec and moved.tag == there.tag


def test_section_3_refuses_a_search_made_on_another_encoder(tmp_path):
    ctx, ae_final = _context(tmp_path)
    encoder = _encoder()
    with torch.no_grad():
        next(encoder.parameters()).add_(1.0)
    with pytest.raises(ValueError, match="another encoder or recipe"):
        finetune.classifiers(ctx, ae_final, _hw1(), tuned=_tuned(_default(encoder=encoder), False))


# ----------------------------------------------------------------------------- the sentences


def _found(tuned: list[float], default: list[float], kept: bool = False) -> dict:
    diff = None if kept else statistics.paired_difference(tuned, default)
    return {"space": {n: list(r) for n, r in finetune.CLF_RANGES.items()},
            "choices": {n: list(c) for n, c in finetune.CLF_CHOICES.items()},
            "finished": 12, "pruned": 5, "trial_epochs": 4, "trial_images": 1500, "start_params": START,
            "default_value": 0.901, "default_kept": kept, "best_trial": 0 if kept else 7,
            "best_params": START if kept else {**START, "lr": 2.5e-3, "label_smoothing": 0.1},
            "best_value": 0.901 if kept else 0.912,
            "importances": {"lr": 0.6, "encoder_lr_scale": 0.3, "weight_decay": 0.07,
                            "label_smoothing": 0.03},
            "cv": {"folds": len(default), "images": 2000, "epochs": 8,
                   "tuned": statistics.mean_std(tuned), "default": statistics.mean_std(default),
                   "difference": diff, "folds_tuned_higher": None if kept else sum(
                       a > b for a, b in zip(tuned, default)),
                   "target": finetune.CLF_TARGET,
                   "target_met": diff is not None and diff["mean"] >= finetune.CLF_TARGET}}


def test_the_search_finding_carries_the_numbers_and_calls_a_win_a_loss_and_a_tie():
    default = [0.90, 0.91, 0.89, 0.90, 0.92]
    win = _found([d + 0.01 + 0.001 * i for i, d in enumerate(default)], default)
    loss = _found([d - 0.01 - 0.001 * i for i, d in enumerate(default)], default)
    tie = _found([d + (0.004 if i % 2 else -0.003) for i, d in enumerate(default)], default)
    assert [ft_text.clf_search_verdict(f) for f in (win, loss, tie)] == [1, -1, 0]
    assert win["cv"]["target_met"] and not loss["cv"]["target_met"]
    for found in (win, loss, tie):
        text = ft_text.clf_search_finding(found)
        cv = found["cv"]
        assert plus_minus(cv["tuned"]["mean"], cv["tuned"]["std"], 100, "%") in text
        assert plus_minus(cv["default"]["mean"], cv["default"]["std"], 100, "%") in text
        assert points(cv["difference"]["mean"]) in text
        assert f"{cv['folds_tuned_higher']} of 5 folds" in text and "trial 7" in text
        assert "12 trials" in text and "1,500 images" in text and "91.20%" in text and "90.10%" in text
        assert "0.0025" in text and "label smoothing 0.1" in text  # the winner's settings
        assert "0.6" in text  # the importances


def test_the_search_finding_of_a_kept_default_compares_nothing():
    found = _found([0.90, 0.91], [0.90, 0.91], kept=True)
    assert ft_text.clf_search_verdict(found) is None
    text = ft_text.clf_search_finding(found)
    assert plus_minus(found["cv"]["default"]["mean"], found["cv"]["default"]["std"], 100, "%") in text
    assert "+" not in text and "−" not in text and "trial 0" not in text  # no difference, no winner
    no_importance = ft_text.clf_search_finding({**found, "importances": None})
    assert "importance" not in no_importance


def _row(name: str, val: float) -> dict:
    return {"name": name, "val_accuracy": val, "test_accuracy": val - 0.01, "trainable_parameters": 1000,
            "epochs_to_90": None, "seconds_to_90": None}


def test_the_strategies_sentence_says_validates_best_only_when_the_kept_variant_does():
    rows = {"hw1": _row(finetune.HW1_SCRATCH, 0.90), "finetuned_onelr": _row("fine-tuned (one lr)", 0.915),
            "finetuned_slow": _row(finetune.DEFAULT_FINE_TUNING, 0.905),
            "finetuned_tuned": _row(finetune.TUNED_FINE_TUNING, 0.91)}
    by_search = ft_text.strategies_sentence({**rows, "finetune_kept": finetune.TUNED_FINE_TUNING})
    assert "validates best" not in by_search and "fine-tuned (one lr) 91.5%" in by_search
    assert finetune.DEFAULT_FINE_TUNING + " 90.5%" not in by_search  # only the variants above the kept one
    best = ft_text.strategies_sentence({**rows, "finetune_kept": "fine-tuned (one lr)"})
    assert "fine-tuned (one lr) validates best" in best


def test_the_trial_and_fold_images_are_class_balanced_subsets_or_the_comparison_images():
    splits = _splits()
    profile = replace(TINY, compare_limit=150)
    assert data.limited_train(splits, profile, None).digest == data.comparison_train(splits, profile).digest
    subset = data.limited_train(splits, profile, 100)
    assert len(subset) == 100 and torch.bincount(subset.labels).tolist() == [10] * 10
