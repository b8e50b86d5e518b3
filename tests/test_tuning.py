"""The search: space and start point, objective, caching across searches, resumed studies, concurrent workers,
deterministic choices, k-fold, the comparison at the final budget, and the style of Optuna's figures."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import replace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import optuna
import pytest
import torch

from helpers import autoencoder, config, data, plots, training, tuning
from helpers.models import AEConfig, AutoEncoder

optuna.logging.set_verbosity(optuna.logging.ERROR)
START = (AEConfig(channels=(16, 32), latent_dim=tuning.LATENT_DIM),
         training.TrainSpec(epochs=2, optimizer="adam", lr=2e-3, batch_size=32, scheduler="cosine"))


def _splits() -> tuple[data.Splits, data.ImageSet]:
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(360, 1, 28, 28, generator=g), 5, 1, 2)
    full = data.ImageSet((x * 255).to(torch.uint8), torch.arange(360) % 10, tuple("abcdefghij"))
    train, val = full.subset(range(300)), full.subset(range(300, 360))
    return data.Splits(train, val, val, 0.3, 0.3), train


def _search(run_dir=None, trials: int = 3, start=START) -> tuning.Search:
    splits, train = _splits()
    return tuning.Search(splits, train, start, trials=trials, folds=2, run_dir=run_dir, eval_batch_size=100)


# ----------------------------------------------------------------------------- the space and its start


@pytest.mark.parametrize("name", list(config.PROFILES))
def test_the_hand_set_model_of_every_profile_is_a_point_of_the_space(name):
    profile = config.PROFILES[name]
    start = (autoencoder.HAND_SET, autoencoder.hand_set_spec(profile))
    params = tuning.start_params(*start)
    assert tuning.configuration(params, profile.ae_epochs, profile.seed) == start


@pytest.mark.parametrize("change, named", [
    (lambda c, s: (c, replace(s, weight_decay=0.5)), "weight_decay"),
    (lambda c, s: (replace(c, channels=(24, 48)), s), "base_channels"),
    (lambda c, s: (c, replace(s, lr=0.5)), "lr"),
    (lambda c, s: (replace(c, channels=(16, 64)), s), "other settings"),
    (lambda c, s: (c, replace(s, scheduler="plateau")), "other settings")])
def test_a_start_outside_the_space_is_refused_with_the_reason(change, named):
    with pytest.raises(ValueError, match=f"not a point of the search space.*{named}"):
        tuning.start_params(*change(*START))


# ----------------------------------------------------------------------------- trials


def test_objective_trains_to_the_final_budget_and_records_epochs_and_seconds(tmp_path):
    search = _search()
    study = tuning.open_study("tiny", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(search), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and np.isfinite(trial.value)
    assert set(trial.params) == {"lr", "weight_decay", "batch_size", "optimizer", "base_channels", "dropout"}
    assert sorted(trial.intermediate_values) == [1, 2]  # reported every epoch, up to the start's epochs
    assert trial.intermediate_values[2] == pytest.approx(trial.value)
    assert trial.user_attrs["epochs"] == 2 and trial.user_attrs["seconds"] > 0


def test_non_finite_trial_is_pruned_and_the_study_goes_on(tmp_path):
    def nan_loss(model, batch):
        return {"loss": training.reconstruction_loss(model, batch)["loss"] * float("nan")}

    study = tuning.open_study("nan", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(_search(), loss_fn=nan_loss), n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert "became nan" in study.trials[0].user_attrs["non_finite"]


def test_every_search_starts_from_the_start_point_and_shares_its_cached_run(tmp_path):
    search = _search(tmp_path, trials=2)
    studies = tuning.run_searches(search)
    firsts = [study.trials[0] for study in studies.values()]
    assert all(t.params == search.start_params and t.state == optuna.trial.TrialState.COMPLETE for t in firsts)
    # trained once, reused by the three other searches: same value, same recorded cost, one checkpoint
    assert len({t.value for t in firsts}) == 1 and len({t.user_attrs["seconds"] for t in firsts}) == 1
    key = training.config_hash(("search trial", START[0].as_dict(), "reconstruction_loss"), START[1],
                               data.fingerprint(search.train), data.fingerprint(search.splits.val),
                               search.splits.mean, search.splits.std,
                               training.training_speed(search.train.device, START[1]))
    assert (tmp_path / "runs" / f"search-trial-{key}.pt").exists()


def test_a_trial_resumed_from_the_cache_reports_its_stored_epochs_to_the_pruner(tmp_path):
    search = _search(tmp_path)
    first = tuning.open_study("first", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    first.enqueue_trial(search.start_params)
    first.optimize(tuning.objective(search), n_trials=1)
    seen = []

    class Recorder(optuna.pruners.BasePruner):  # prunes at once: nothing may be trained after the replay
        def prune(self, study, trial):
            seen.append(max(trial.intermediate_values))
            return True

    second = tuning.open_study("second", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0), pruner=Recorder())
    second.enqueue_trial(search.start_params)
    second.optimize(tuning.objective(search), n_trials=1)
    trial = second.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED and seen == [1]
    assert trial.intermediate_values[1] == first.trials[0].intermediate_values[1]


def test_rerunning_the_searches_continues_the_stored_studies(tmp_path):
    search = _search(tmp_path, trials=2)
    first = tuning.run_searches(search)
    assert all(tuning.finished_trials(s) == 2 for s in first.values())
    second = tuning.run_searches(replace(search, trials=3))
    for study in second.values():
        assert tuning.finished_trials(study) == 3
        assert sorted(t.number for t in study.trials) == [0, 1, 2]


def test_a_study_made_with_other_settings_is_not_continued(tmp_path):
    search = _search(tmp_path, trials=1)
    tuning.run_searches(search)
    longer = replace(search, start=(START[0], replace(START[1], epochs=3)))
    assert longer.key != search.key
    study = tuning.open_search("random search", longer)
    assert tuning.finished_trials(study) == 0  # a new study: the stored one was scored at two epochs


def test_only_the_process_that_creates_a_study_runs_its_set_up(tmp_path):
    calls = []
    first = tuning.open_study("shared", tmp_path, on_create=lambda study: calls.append(study.study_name))
    second = tuning.open_study("shared", tmp_path, on_create=lambda study: calls.append("again"))
    assert calls == ["shared"] and first._study_id == second._study_id


def test_two_workers_at_once_share_one_study_without_losing_or_doubling_trials(tmp_path, real_root):
    env = {**os.environ, "HW2_RESULTS": str(tmp_path), "PYTHONPATH": str(config.REPO_ROOT)}
    command = [sys.executable, "-m", "helpers.tuning", "--study", "ae-random-search", "--trials", "2",
               "--profile", "smoke"]
    workers = [subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stdout.read()
    profile = config.PROFILES["smoke"]
    search = tuning.make_search(profile, data.study_splits(profile, "cpu"), tmp_path / "smoke")
    study = tuning.open_search("random search", search)
    assert tuning.finished_trials(study) == 4
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert sum(t.params == search.start_params for t in study.trials) == 1  # the start, enqueued once


def test_worker_command_rejects_an_unknown_study():
    with pytest.raises(SystemExit) as exit_:
        tuning.main(["--study", "ae-everything", "--trials", "1"])
    assert exit_.value.code == 2


def test_kfold_scorer_returns_k_scores_and_caches_its_folds(tmp_path, capsys):
    splits, train = _splits()
    spec = training.TrainSpec(epochs=1, batch_size=50)
    run = lambda: training.cross_validate(  # noqa: E731
        lambda: AutoEncoder(AEConfig(channels=(8,), latent_dim=4)), training.reconstruction_loss, train, spec,
        k=3, seed=0, mean=0.3, std=0.3, model_key="small", run_dir=tmp_path)
    scores = run()
    assert len(scores) == 3 and all(np.isfinite(scores)) and len(set(scores)) == 3
    assert run() == scores
    assert capsys.readouterr().out.count("reused a finished run") == 3


def test_a_fold_scored_once_after_training_gets_the_number_per_epoch_validation_would_give(tmp_path):
    splits, train = _splits()
    spec = training.TrainSpec(epochs=2, batch_size=50, scheduler="cosine")
    build = lambda: AutoEncoder(AEConfig(channels=(8,), latent_dim=4, dropout=0.1))  # noqa: E731
    scores = training.cross_validate(build, training.reconstruction_loss, train, spec, k=2, seed=0, mean=0.3, std=0.3)
    train_idx, val_idx = data.kfold_splits(train.labels, 2, 0)[1]
    _, history = training.train_model(build, training.reconstruction_loss, train.subset(train_idx),
                                      train.subset(val_idx), spec, model_key=None, mean=0.3, std=0.3, progress=False)
    assert scores[1] == pytest.approx(history.rows[-1]["val_loss"], rel=1e-6)


# ----------------------------------------------------------------------------- reading the studies


def _trial(number: int, value: float | None, seconds: float, state=optuna.trial.TrialState.COMPLETE,
           epochs: int | None = None, params: dict | None = None):
    start = dt.datetime(2026, 1, 1)
    dist = {"x": optuna.distributions.FloatDistribution(0, 10)}
    attrs = {} if epochs is None else {"epochs": epochs, "seconds": seconds / 2}
    return optuna.trial.FrozenTrial(
        number=number, state=state, value=value, datetime_start=start,
        datetime_complete=start + dt.timedelta(seconds=seconds), params=params or {"x": float(number)},
        distributions=dist, user_attrs=attrs, system_attrs={}, intermediate_values={}, trial_id=number)


def test_progress_and_time_to_reach_on_a_made_up_study():
    study = optuna.create_study()
    for trial in (_trial(0, 0.5, 10), _trial(1, 0.7, 10), _trial(2, None, 2, optuna.trial.TrialState.PRUNED),
                  _trial(3, 0.2, 10)):
        study.add_trial(trial)
    curve = tuning.progress(study)
    assert curve["best"] == [0.5, 0.5, 0.5, 0.2] and curve["seconds"] == [10.0, 20.0, 22.0, 32.0]
    assert tuning.seconds_to_reach(study, 0.5) == 10.0
    assert tuning.seconds_to_reach(study, 0.3) == 32.0
    assert tuning.seconds_to_reach(study, 0.1) is None


def test_a_trial_is_charged_its_recorded_training_seconds_not_its_duration():
    study = optuna.create_study()
    study.add_trial(_trial(0, 0.5, 10, epochs=8))  # recorded: 5 s over 8 epochs (e.g. reused from the cache)
    study.add_trial(_trial(1, None, 4, optuna.trial.TrialState.PRUNED, epochs=1))
    assert tuning.progress(study) == {"best": [0.5, 0.5], "seconds": [5.0, 7.0], "epochs": [8, 9],
                                      "value": [0.5, None], "pruned": [False, True]}
    row = tuning.summary(study)
    assert (row["complete"], row["pruned"], row["epochs"], row["seconds"], row["best_trial"]) == (1, 1, 9, 7.0, 0)


def test_choices_break_ties_by_epochs_then_order_never_by_time():
    rows = {"a": {"best_value": 0.1, "epochs": 30, "seconds": 1.0},
            "b": {"best_value": 0.1, "epochs": 20, "seconds": 99.0},
            "c": {"best_value": 0.1, "epochs": 20, "seconds": 5.0},
            "d": {"best_value": 0.2, "epochs": 1, "seconds": 0.1}}
    assert tuning.choose(rows) == "b"
    assert tuning.choose(rows, ["a", "c"]) == "c"
    faster = {n: {**r, "seconds": 0.0} for n, r in rows.items()}
    assert tuning.choose(faster) == tuning.choose(rows)


def test_configuration_rebuilds_a_trial():
    params = {"lr": 2e-3, "weight_decay": 1e-4, "batch_size": 64, "optimizer": "adamw", "base_channels": 16,
              "dropout": 0.1}
    cfg, spec = tuning.configuration(params, epochs=7, seed=3)
    assert cfg.channels == (16, 32) and cfg.latent_dim == tuning.LATENT_DIM and cfg.dropout == 0.1
    assert (spec.epochs, spec.optimizer, spec.lr, spec.weight_decay, spec.batch_size, spec.seed, spec.scheduler) == (
        7, "adamw", 2e-3, 1e-4, 64, 3, "cosine")
    assert tuning.start_params(cfg, spec) == params


def test_findings_say_when_no_search_beat_the_start():
    row = {"best_value": 0.01, "best_trial": 0, "complete": 3, "pruned": 0, "failed": 0, "epochs": 6, "seconds": 3.0}
    found = {"trials": 3, "epochs_per_trial": 2, "images": 300, "unpruned_epochs": 6, "start_value": 0.01,
             "names": {"random-search": "random search"}, "random-search": row, "kept": "random search",
             "any_improved_on_start": False}
    text = tuning.search_findings(found)
    assert "No search found a configuration better than the hand-set start" in text and "0.01000" in text
    assert "| random search | 0.01 | 0 | 3 | 0 | 0 | 6 / 6 | 3 |" in tuning.search_table(found)


# ----------------------------------------------------------------------------- stage 2: the final budget


def _with_trials(search, values: dict[int, float]) -> dict[str, optuna.Study]:
    """Made-up studies: the start (trial 0) and other configurations (lr = 1e-3 * key) with given values."""
    studies = {}
    for name in ("random search", "grid search"):
        study = optuna.create_study()
        study.add_trial(optuna.trial.create_trial(params=search.start_params, distributions=_DISTRIBUTIONS,
                                                  value=0.5))
        for key, value in values.items():
            params = {**search.start_params, "lr": 1e-3 * key}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=_DISTRIBUTIONS, value=value))
        studies[name] = study
    return studies


_DISTRIBUTIONS = {"lr": optuna.distributions.FloatDistribution(*tuning.LR_RANGE, log=True),
                  "weight_decay": optuna.distributions.CategoricalDistribution(tuning.WEIGHT_DECAYS),
                  "batch_size": optuna.distributions.CategoricalDistribution(tuning.BATCH_SIZES),
                  "optimizer": optuna.distributions.CategoricalDistribution(tuning.OPTIMIZER_CHOICES),
                  "base_channels": optuna.distributions.CategoricalDistribution(tuning.BASE_CHANNELS),
                  "dropout": optuna.distributions.FloatDistribution(*tuning.DROPOUT_RANGE)}


def test_finalists_are_the_best_distinct_configurations_other_than_the_start():
    search = _search()
    picked = tuning.finalists(_with_trials(search, {5: 0.3, 3: 0.1, 4: 0.2}), search)
    assert [f["params"]["lr"] for f in picked] == [3e-3, 4e-3]  # both searches hold them: each counted once
    assert [f["search"] for f in picked] == ["random search", "random search"]
    assert all(f["params"] != search.start_params for f in picked)


def test_stage_two_trains_the_finalists_on_the_whole_split_and_keeps_the_best_on_validation(tmp_path, capsys):
    search = _search(tmp_path)
    promoted, runs = tuning.promote(_with_trials(search, {5: 0.3, 3: 0.1}), search)
    assert set(runs) == {"hand-set", "finalist 1", "finalist 2"} and promoted["images"] == len(search.splits.train)
    assert all(len(run.history.rows) == search.epochs for run in runs.values())
    rows = promoted["rows"]
    assert rows["hand-set"]["search_value"] == 0.5 and rows["finalist 1"]["params"]["lr"] == 3e-3
    best = min(rows, key=lambda n: rows[n]["val_mse"])
    assert promoted["chosen"] == best and promoted["tuned_is_hand_set"] == (best == "hand-set")
    again, _ = tuning.promote(_with_trials(search, {5: 0.3, 3: 0.1}), search)
    assert again == promoted and capsys.readouterr().out.count("reused a finished run") == 3


def test_the_start_wins_a_tie_at_the_final_budget(tmp_path):
    search = _search(tmp_path)
    studies = _with_trials(search, {})  # nothing but the start
    promoted, runs = tuning.promote(studies, search)
    assert promoted["chosen"] == "hand-set" and set(runs) == {"hand-set"}


def test_final_comparison_of_the_start_with_itself_trains_nothing_twice(tmp_path, capsys):
    search = _search(tmp_path)
    promoted, runs = tuning.promote(_with_trials(search, {}), search)
    capsys.readouterr()
    found = tuning.final_comparison(search, promoted, runs)
    out = capsys.readouterr().out
    assert out.count("[cache] CV hand-set fold") == 2 and "CV tuned" not in out
    assert found["tuned_is_hand_set"] and found["tuned_test_mse"] == found["hand_set_test_mse"]
    assert found["cv"]["tuned"] == found["cv"]["hand-set"] and not found["tuned_beats_hand_set_test"]
    assert "so the tuned model is section 1's" in tuning.final_findings(found, promoted)


def test_final_comparison_cross_validates_both_on_the_whole_split_at_the_final_budget(tmp_path, capsys):
    search = _search(tmp_path)
    promoted, runs = tuning.promote(_with_trials(search, {5: 0.1}), search)
    promoted = {**promoted, "chosen": "finalist 1", "tuned_is_hand_set": False}  # force a different tuned model
    found = tuning.final_comparison(search, promoted, runs)
    assert "[cache] CV tuned fold 2/2: trained 2 epochs" in capsys.readouterr().out
    assert not found["tuned_is_hand_set"] and found["tuned_params"]["lr"] == 5e-3 and found["epochs"] == 2
    assert found["cv"]["tuned"]["folds"] != found["cv"]["hand-set"]["folds"]
    assert found["folds_tuned_lower"] == sum(t < h for t, h in zip(found["cv"]["tuned"]["folds"],
                                                                   found["cv"]["hand-set"]["folds"]))
    assert found["tuned_test_mse"] == pytest.approx(
        autoencoder.mse(runs["finalist 1"].model, search.splits.test, search.splits))
    text = tuning.final_findings(found, promoted)
    assert "finalist 1" in text and f"{found['tuned_test_mse']:.6f}" in text


# ----------------------------------------------------------------------------- figures


def test_optuna_figures_leave_the_global_style_alone_and_use_the_house_style():
    plots.use_style()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=6)
    before = dict(matplotlib.rcParams)
    figures = plots.optuna_figures(study)
    after = dict(matplotlib.rcParams)
    assert {k: v for k, v in after.items() if before[k] != v} == {}
    for fig in figures.values():
        assert matplotlib.colors.to_hex(fig.axes[0].get_facecolor()) == "#ffffff"  # ggplot's would be #e5e5e5
        plt.close(fig)
