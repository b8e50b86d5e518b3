"""The search: space and start point, trial horizon, objective, studies per sampler seed, caching across studies,
resumed studies, concurrent workers, summaries over seeds, deterministic choices, k-fold, the comparison at the
final budget, findings in words, and the figures."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import optuna
import pytest
import torch

from helpers import autoencoder, config, data, plots, training, tuning
from helpers.findings import search as search_text
from helpers.findings.words import plus_minus, sig
from helpers.models import AEConfig, AutoEncoder

optuna.logging.set_verbosity(optuna.logging.ERROR)
START = (AEConfig(channels=(16, 32), latent_dim=32),
         training.TrainSpec(epochs=2, optimizer="adam", lr=2e-3, batch_size=32, scheduler="cosine"))


def _splits() -> tuple[data.Splits, data.ImageSet]:
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(360, 1, 28, 28, generator=g), 5, 1, 2)
    full = data.ImageSet((x * 255).to(torch.uint8), torch.arange(360) % 10, tuple("abcdefghij"))
    train, val = full.subset(range(300)), full.subset(range(300, 360))
    return data.Splits(train, val, val, 0.3, 0.3), train


def _search(run_dir=None, trials: int = 3, start=START, **settings) -> tuning.Search:
    splits, train = _splits()
    return tuning.Search(splits, train, start, trials=trials, folds=2, run_dir=run_dir, eval_batch_size=100,
                         **settings)


# ----------------------------------------------------------------------------- the space and its start


@pytest.mark.parametrize("name", list(config.PROFILES))
def test_the_hand_set_model_of_every_profile_is_a_point_of_the_space(name):
    profile = config.PROFILES[name]
    start = (autoencoder.HAND_SET, autoencoder.hand_set_spec(profile))
    params = tuning.start_params(*start)
    assert tuning.configuration(params, start) == start
    assert tuning.configuration(params, start, profile.search_epochs)[1].epochs == profile.search_epochs


def test_make_search_takes_the_trial_horizon_and_the_seeds_from_the_profile(monkeypatch):
    monkeypatch.setattr(tuning, "search_train", lambda splits, profile: splits.train)  # the tiny split is all there is
    profile = config.PROFILES["quick"]
    splits, _ = _splits()
    search = tuning.make_search(profile, splits, None, start=START)
    assert (search.horizon, search.epochs, search.sampler_seeds, search.trials) == (
        profile.search_epochs, START[1].epochs, profile.sampler_seeds, profile.trials)
    assert list(tuning.plan(search)) == [f"TPE + median pruning, seed {i}" for i in range(3)] + [
        f"random search, seed {i}" for i in range(3)] + ["grid search"]
    with pytest.raises(ValueError, match="Search.sampler_seeds = 0 is not allowed"):
        replace(search, sampler_seeds=0)


@pytest.mark.parametrize("change, named", [
    (lambda c, s: (c, replace(s, weight_decay=0.5)), "weight_decay"),
    (lambda c, s: (replace(c, channels=(24, 48)), s), "base_channels"),
    (lambda c, s: (c, replace(s, lr=0.5)), "lr"),
    (lambda c, s: (replace(c, channels=(16, 64)), s), "other settings"),
    (lambda c, s: (c, replace(s, scheduler="plateau")), "other settings")])
def test_a_start_outside_the_space_is_refused_with_the_reason(change, named):
    with pytest.raises(ValueError, match=f"not a point of the search space.*{named}"):
        tuning.start_params(*change(*START))


def test_the_space_table_names_every_searched_parameter_and_the_start_s_fixed_settings():
    search = _search(trial_epochs=1)
    rows = tuning.space_rows(search)
    trial = optuna.trial.create_trial(params=search.start_params, distributions=_DISTRIBUTIONS, value=0.5)
    searched = [name for name, _, scale in rows if scale != tuning.FIXED]
    assert searched == list(trial.params)  # every suggested parameter, in the order suggested, and nothing else
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sampled = study.ask()
    tuning.suggest(sampled, START)
    assert set(sampled.params) == set(searched)
    fixed = {name: value for name, value, scale in rows if scale == tuning.FIXED}
    assert fixed["code size"] == "32" and fixed["decoder"] == "transposed" and fixed["kernel size"] == "3"
    assert fixed["batch norm"] == "on" and "cosine" in fixed["learning-rate schedule"]
    assert fixed["epochs"].startswith("1 per trial") and "2 at the final budget" in fixed["epochs"]
    resize = tuning.space_rows(_search(start=(replace(START[0], decoder="resize"), START[1])))
    assert dict((n, v) for n, v, _ in resize)["decoder"] == "resize"
    table = tuning.space_table(search)
    assert "| lr | 0.0001 to 0.01 | continuous, log scale | 0.001, 0.002, 0.004 |" in table
    assert "| weight_decay | 0, 1e-5, 0.0001, 0.001, 0.01 |" in table


def test_a_start_with_the_resize_decoder_is_a_point_of_the_space_and_its_trials_resize(tmp_path):
    start = (replace(START[0], decoder="resize"), START[1])
    search = _search(start=start, trial_epochs=1)
    assert tuning.configuration(search.start_params, start) == start
    assert search.key != _search(trial_epochs=1).key  # the decoder is part of the settings of a stored study
    decoders = []

    def recording_loss(model, batch):
        decoders.append(any(isinstance(m, torch.nn.Upsample) for m in model.modules()))
        return training.reconstruction_loss(model, batch)

    study = tuning.open_study("resize", tmp_path, sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial(search.start_params)
    study.optimize(tuning.objective(search, loss_fn=recording_loss), n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.trials[1].params != search.start_params and decoders and all(decoders)
    assert tuning.configuration(study.trials[1].params, start)[0].decoder == "resize"


# ----------------------------------------------------------------------------- trials


def test_objective_reports_every_epoch_and_records_epochs_and_seconds(tmp_path):
    search = _search()
    study = tuning.open_study("tiny", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(search), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and np.isfinite(trial.value)
    assert set(trial.params) == {"lr", "weight_decay", "batch_size", "optimizer", "base_channels", "dropout"}
    assert sorted(trial.intermediate_values) == [1, 2]  # reported every epoch; no trial_epochs: the start's epochs
    assert trial.intermediate_values[2] == pytest.approx(trial.value)
    assert trial.user_attrs["epochs"] == 2 and trial.user_attrs["seconds"] > 0


def test_a_trial_trains_the_trial_horizon_not_the_final_budget(tmp_path):
    search = _search(trial_epochs=1)
    assert (search.horizon, search.epochs) == (1, 2)
    study = tuning.open_study("short", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(search.start_params)
    study.optimize(tuning.objective(search), n_trials=1)
    trial = study.trials[0]
    assert sorted(trial.intermediate_values) == [1] and trial.user_attrs["epochs"] == 1
    assert trial.state == optuna.trial.TrialState.COMPLETE


def test_a_trial_that_trained_its_whole_horizon_is_never_pruned(tmp_path):
    class Always(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    study = tuning.open_study("always", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0), pruner=Always())
    study.optimize(tuning.objective(_search(trial_epochs=1)), n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE  # the pruner is asked before the last epoch only


def test_non_finite_trial_is_pruned_and_the_study_goes_on(tmp_path):
    def nan_loss(model, batch):
        return {"loss": training.reconstruction_loss(model, batch)["loss"] * float("nan")}

    study = tuning.open_study("nan", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(_search(), loss_fn=nan_loss), n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert "became nan" in study.trials[0].user_attrs["non_finite"]


def test_every_seed_is_its_own_study_starting_from_the_start_point_and_grid_search_runs_once(tmp_path):
    search = _search(tmp_path, trials=2, trial_epochs=1, sampler_seeds=2)
    studies = tuning.run_searches(search)
    assert list(studies) == ["TPE + median pruning, seed 0", "TPE + median pruning, seed 1", "random search, seed 0",
                             "random search, seed 1", "grid search"]
    assert len({study.study_name for study in studies.values()}) == 5
    assert all(tuning.finished_trials(study) == 2 for study in studies.values())
    firsts = [study.trials[0] for study in studies.values()]
    assert all(t.params == search.start_params and t.state == optuna.trial.TrialState.COMPLETE for t in firsts)
    # trained once at the trial horizon, reused by every other study: same value, same recorded cost, one checkpoint
    assert len({t.value for t in firsts}) == 1 and len({t.user_attrs["seconds"] for t in firsts}) == 1
    short = replace(START[1], epochs=1)
    key = training.config_hash(("search trial", START[0].as_dict(), "reconstruction_loss"), short,
                               data.fingerprint(search.train), data.fingerprint(search.splits.val),
                               search.splits.mean, search.splits.std,
                               training.training_speed(search.train.device, short))
    assert (tmp_path / "runs" / f"search-trial-{key}.pt").exists()
    second = {name: study.trials[1] for name, study in studies.items()}
    # the sampler seed differs between seeds; TPE's first trials are random search's with the same sampler seed
    assert second["random search, seed 0"].params != second["random search, seed 1"].params
    for seed in (0, 1):
        tpe, rand = second[f"TPE + median pruning, seed {seed}"], second[f"random search, seed {seed}"]
        assert tpe.params == rand.params and tpe.value == rand.value
        assert tpe.user_attrs["seconds"] == rand.user_attrs["seconds"]  # reused, and charged what it cost
    assert studies["grid search"].trials[1].params["lr"] in tuning.GRID["lr"]


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


def test_only_the_trial_horizon_not_the_final_budget_decides_whether_a_study_is_continued(tmp_path):
    search = _search(tmp_path, trials=1, trial_epochs=1)
    longer_final = replace(search, start=(START[0], replace(START[1], epochs=3)))
    assert longer_final.key == search.key and replace(search, trial_epochs=2).key != search.key
    assert tuning.open_search("random search", search, 1).study_name != tuning.open_search(
        "random search", search, 0).study_name


def test_open_search_refuses_a_seed_for_grid_search_and_an_unknown_search(tmp_path):
    search = _search(tmp_path)
    with pytest.raises(ValueError, match="grid search has no sampler seed"):
        tuning.open_search("grid search", search, 1)
    with pytest.raises(ValueError, match="Unknown search 'TPE \\+ Hyperband pruning'"):
        tuning.open_search("TPE + Hyperband pruning", search)


def test_only_the_process_that_creates_a_study_runs_its_set_up(tmp_path):
    calls = []
    first = tuning.open_study("shared", tmp_path, on_create=lambda study: calls.append(study.study_name))
    second = tuning.open_study("shared", tmp_path, on_create=lambda study: calls.append("again"))
    assert calls == ["shared"] and first._study_id == second._study_id


def test_two_workers_at_once_share_one_study_without_losing_or_doubling_trials(tmp_path, real_root):
    env = {**os.environ, "HW2_RESULTS": str(tmp_path), "PYTHONPATH": str(config.REPO_ROOT)}
    command = [sys.executable, "-m", "helpers.tuning", "--study", "ae-random-search", "--seed", "1", "--trials", "2",
               "--profile", "smoke"]
    workers = [subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stdout.read()
    profile = config.PROFILES["smoke"]
    search = tuning.make_search(profile, data.study_splits(profile, "cpu"), tmp_path / "smoke")
    study = tuning.open_search("random search", search, 1)
    assert tuning.finished_trials(study) == 4 and search.horizon == profile.search_epochs
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert sum(t.params == search.start_params for t in study.trials) == 1  # the start, enqueued once


RUNNING, WAITING, FAIL = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING,
                          optuna.trial.TrialState.FAIL)


def test_a_running_trial_whose_process_died_on_this_host_is_failed_and_queued_again_once(tmp_path):
    study = tuning.open_study("owned", tmp_path)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(ended.stdout)

    def running(**worker) -> optuna.Trial:
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr(tuning.WORKER, {**tuning._this_worker(trial.number), **worker})
        return trial

    gone, reused = running(pid=dead_pid), running(started=0.0)  # reused: this pid, another process's start
    elsewhere, alive = running(pid=dead_pid, host="another-host"), running()
    assert tuning.fail_dead_trials(study) == [gone.number, reused.number]
    states = {t.number: t.state for t in study.trials}
    assert states[gone.number] == states[reused.number] == FAIL
    assert states[elsewhere.number] == states[alive.number] == RUNNING  # another host's, and a live one
    queued = [t for t in study.trials if t.state == WAITING]
    assert [(t.system_attrs["failed_trial"], t.params) for t in queued] == [(gone.number, gone.params),
                                                                           (reused.number, reused.params)]
    assert tuning.fail_dead_trials(study) == []
    retry = study.ask()  # the first queued trial: its stored `worker` is its failed trial's, not its own yet
    assert retry.params == gone.params and tuning.fail_dead_trials(study) == []
    retry.set_user_attr(tuning.WORKER, {**tuning._this_worker(retry.number), "pid": dead_pid})
    assert tuning.fail_dead_trials(study) == [retry.number]  # failed, but not queued a second time
    assert [t.system_attrs["failed_trial"] for t in study.trials if t.state == WAITING] == [reused.number]


def test_a_database_server_retries_once_a_trial_whose_heartbeats_stopped(monkeypatch):
    made = {}
    monkeypatch.setattr(optuna.storages, "RDBStorage", lambda url, **settings: made.update(url=url, **settings))
    monkeypatch.setenv(tuning.STORAGE_ENV, "postgresql://user@host/hw2")
    tuning.study_storage(".")
    assert made["url"] == "postgresql://user@host/hw2"
    assert 0 < made["heartbeat_interval"] < made["grace_period"]
    retry = made["heartbeat_stale_trial_callback"]
    assert isinstance(retry, optuna.storages.RetryHeartbeatStaleTrialCallback) and retry._max_retry == 1


def _kill_mid_trial(worker: subprocess.Popen, run_dir) -> optuna.trial.FrozenTrial:
    """SIGKILL `worker` while it runs a trial that records it as its worker, and outside the journal's lock
    (checked while the worker is stopped); returns that trial as stored after the kill."""
    storage, lock = tuning.study_storage(run_dir), run_dir / f"{tuning.JOURNAL_NAME}.lock"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.stdout.read()
        worker.send_signal(signal.SIGSTOP)
        trials = [t for s in storage.get_all_studies() for t in storage.get_all_trials(s._study_id)]
        running = [t for t in trials
                   if t.state == RUNNING and t.user_attrs.get(tuning.WORKER, {}).get("trial") == t.number]
        if running and not lock.exists():
            worker.kill()
            worker.wait()
            return storage.get_trial(running[0]._trial_id)
        worker.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    worker.kill()
    raise AssertionError("the worker ran no trial in 300 s")


def test_the_trial_of_a_killed_worker_is_run_again_by_the_next_and_the_study_reaches_its_budget(tmp_path,
                                                                                               real_root):
    env = {**os.environ, "HW2_RESULTS": str(tmp_path), "PYTHONPATH": str(config.REPO_ROOT)}
    command = [sys.executable, "-m", "helpers.tuning", "--study", "ae-random-search", "--seed", "1",
               "--trials", "3", "--profile", "smoke"]
    worker = subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    killed = _kill_mid_trial(worker, tmp_path / "smoke")
    assert killed.state == RUNNING  # no process left to end it
    profile = config.PROFILES["smoke"]
    search = tuning.make_search(profile, data.study_splits(profile, "cpu"), tmp_path / "smoke")
    study = tuning.open_search("random search", search, 1)
    tuning.run_to_budget(study, tuning.objective(search), 3)  # the next worker
    assert study.trials[killed.number].state == FAIL and tuning.finished_trials(study) == 3
    retries = [t for t in study.trials if "failed_trial" in t.system_attrs]
    assert [(t.system_attrs["failed_trial"], t.params) for t in retries] == [(killed.number, killed.params)]
    assert retries[0].state in tuning.FINISHED
    assert sum(t.params == search.start_params for t in study.trials if t.state in tuning.FINISHED) == 1


GRID_WORKER = """
import sys, time
import optuna
from helpers import tuning
sampler = optuna.samplers.GridSampler({"x": [0, 1, 2, 3]}, seed=0)
study = tuning.open_study("grid", sys.argv[1], sampler=sampler)
def objective(trial):
    x = trial.suggest_categorical("x", [0, 1, 2, 3])
    if trial.number == 1:
        time.sleep(600)  # killed here
    return x
tuning.run_to_budget(study, objective, 4)
"""


def test_a_grid_search_killed_mid_trial_and_resumed_evaluates_every_grid_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(config.REPO_ROOT)}
    env.pop(tuning.STORAGE_ENV, None)
    command = [sys.executable, "-c", GRID_WORKER, str(tmp_path)]
    worker = subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    killed = _kill_mid_trial(worker, tmp_path)
    assert killed.number == 1 and killed.state == RUNNING
    sampler = optuna.samplers.GridSampler({"x": [0, 1, 2, 3]}, seed=0)
    study = tuning.open_study("grid", tmp_path, sampler=sampler)
    tuning.run_to_budget(study, lambda trial: trial.suggest_categorical("x", [0, 1, 2, 3]), 4)
    assert study.trials[1].state == FAIL
    assert sorted(t.params["x"] for t in study.trials if t.state in tuning.FINISHED) == [0, 1, 2, 3]
    assert [t.params for t in study.trials if t.system_attrs.get("failed_trial") == 1] == [killed.params]


@pytest.mark.parametrize("argv, says", [
    (["--study", "ae-everything", "--trials", "1"], "--study 'ae-everything' is not a search; choose one of: "
                                                    "ae-tpe-median-pruning, ae-random-search, ae-grid-search"),
    (["--study", "ae-tpe-hyperband-pruning", "--trials", "1"], "is not a search"),
    (["--study", "ae-random-search", "--trials", "0"],
     "argument --trials: 0 is out of range; allowed: an integer >= 1"),
    (["--study", "ae-grid-search", "--seed", "1", "--trials", "1", "--profile", "smoke"],
     "grid search has no sampler seed (it runs once): leave out --seed"),
    (["--study", "ae-random-search", "--seed", "2", "--trials", "1", "--profile", "smoke"],
     "--seed must be in 0..1 (the smoke profile runs 2 sampler seeds per search), got 2"),
    (["--study", "ae-random-search", "--trials", "1", "--profile", "huge"], "Unknown profile 'huge'"),
    (["--study", "ae-random-search", "--trials", "1", "--decoder", "fancy"], "invalid choice: 'fancy'")])
def test_worker_command_rejects_bad_arguments_with_a_clear_message(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        tuning.main(argv)
    assert exit_.value.code == 2 and says in capsys.readouterr().err


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


def test_configuration_rebuilds_a_trial_with_the_rest_from_the_start():
    params = {"lr": 2e-3, "weight_decay": 1e-4, "batch_size": 64, "optimizer": "adamw", "base_channels": 16,
              "dropout": 0.1}
    start = (replace(START[0], latent_dim=16, kernel_size=5, batch_norm=False), replace(START[1], seed=3))
    cfg, spec = tuning.configuration(params, start, epochs=7)
    assert cfg == AEConfig(channels=(16, 32), kernel_size=5, latent_dim=16, batch_norm=False, dropout=0.1)
    assert (spec.epochs, spec.optimizer, spec.lr, spec.weight_decay, spec.batch_size, spec.seed, spec.scheduler) == (
        7, "adamw", 2e-3, 1e-4, 64, 3, "cosine")
    assert tuning.configuration(params, start)[1].epochs == START[1].epochs  # default: the start's epochs
    assert tuning.start_params(cfg, spec) == params


def _curve(best: list[float], seconds: list[float]) -> dict:
    return {"best": best, "seconds": seconds}


def test_progress_over_seeds_takes_median_min_and_max_per_trial_and_on_a_common_grid_of_seconds():
    curves = [_curve([0.5, 0.4, 0.4, 0.1], [10.0, 14.0, 20.0, 30.0]),
              _curve([0.5, 0.5, 0.3], [10.0, 12.0, 25.0]),  # one trial fewer: keeps its last best
              _curve([0.5, 0.2, 0.2, 0.2], [10.0, 13.0, 16.0, 40.0])]
    found = tuning.progress_over_seeds(curves)
    assert found["seeds"] == 3
    assert found["by_trial"] == {"x": [1, 2, 3, 4], "median": [0.5, 0.4, 0.3, 0.2], "min": [0.5, 0.2, 0.2, 0.1],
                                 "max": [0.5, 0.5, 0.4, 0.3]}
    seconds = found["by_seconds"]
    assert seconds["x"] == [10.0, 12.0, 13.0, 14.0, 16.0, 20.0, 25.0, 30.0, 40.0]
    assert seconds["median"] == [0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.3, 0.2, 0.2]
    assert seconds["min"] == [0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2, 0.1, 0.1]
    assert seconds["max"] == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.3, 0.3]
    late = tuning.progress_over_seeds([_curve([0.5, 0.1], [10.0, 20.0]), _curve([0.4], [15.0])])
    assert late["by_seconds"] == {"x": [15.0, 20.0], "median": [0.45, 0.25], "min": [0.4, 0.1], "max": [0.5, 0.4]}
    with pytest.raises(ValueError, match="a finished trial in each"):
        tuning.progress_over_seeds([_curve([0.5], [1.0]), _curve([], [])])


def test_the_race_times_only_improvements_on_the_start():
    tpe = tuning.progress_over_seeds([_curve([0.5, 0.3, 0.2], [10.0, 15.0, 20.0])])
    random = tuning.progress_over_seeds([_curve([0.5, 0.4, 0.3], [10.0, 20.0, 40.0])])
    timed = tuning.race(tpe, random, start=0.5)
    assert timed == {"target": 0.3, "random_improved_on_start": True, "random_seconds": 40.0, "tpe_seconds": 15.0,
                     "ratio": 15.0 / 40.0}
    never = tuning.race(random, tpe, start=0.5)  # the roles swapped: "TPE" never reaches 0.2
    assert never["tpe_seconds"] is None and never["random_seconds"] == 20.0
    flat = tuning.progress_over_seeds([_curve([0.5, 0.5], [10.0, 20.0]), _curve([0.5], [10.0])])
    stuck = tuning.race(tpe, flat, start=0.5)  # random search never went below the start: nothing to time
    assert stuck["random_improved_on_start"] is False
    assert stuck["tpe_seconds"] is None and stuck["random_seconds"] is None and stuck["ratio"] is None


def _made_up(search, values: dict[str, list[tuple[float, float]]]) -> dict[str, optuna.Study]:
    """Made-up studies of every study of `plan(search)`: the start (trial 0, value 0.5, 10 s), then the given
    (value, seconds) of other configurations (lr = 5e-3, 6e-3, ... in their order)."""
    studies = {}
    for label in tuning.plan(search):
        study = optuna.create_study()
        trials = [(search.start_params, 0.5, 10.0)] + [({**search.start_params, "lr": 5e-3 + 1e-3 * i}, value, seconds)
                                                        for i, (value, seconds) in enumerate(values.get(label, []))]
        for params, value, seconds in trials:
            study.add_trial(optuna.trial.create_trial(params=params, distributions=_DISTRIBUTIONS, value=value,
                                                      user_attrs={"epochs": 1, "seconds": seconds}))
        studies[label] = study
    return studies


def test_compare_searches_summarizes_each_search_over_its_seeds():
    search = _search(trials=3, trial_epochs=1, sampler_seeds=3)
    studies = _made_up(search, {
        "TPE + median pruning, seed 0": [(0.3, 5.0), (0.2, 5.0)], "TPE + median pruning, seed 1": [(0.4, 5.0)],
        "TPE + median pruning, seed 2": [(0.45, 5.0), (0.25, 5.0)],
        "random search, seed 0": [(0.6, 5.0), (0.4, 10.0)], "random search, seed 1": [(0.45, 5.0)],
        "grid search": [(0.35, 8.0)]})
    found = tuning.compare_searches(studies, search)
    assert found["names"] == {"tpe": "TPE + median pruning", "random": "random search", "grid": "grid search"}
    tpe, rand, grid = found["tpe"], found["random"], found["grid"]
    assert tpe["best"] == [0.2, 0.4, 0.25] and tpe["median_best"] == 0.25 and (tpe["min_best"], tpe["max_best"]) == (
        0.2, 0.4)
    assert tpe["spread"] == pytest.approx(0.2) and tpe["improvement"] == pytest.approx(0.25)
    assert tpe["below_start_beyond_spread"] and tpe["improved_seeds"] == 3 and tpe["sampler_seeds"] == [0, 1, 2]
    assert rand["best"] == [0.4, 0.45, 0.5] and rand["improved_seeds"] == 2 and not rand["below_start_beyond_spread"]
    assert (rand["complete"], rand["pruned"], rand["epochs"], rand["seconds"]) == (2.0, 0.0, 2.0, 15.0)
    assert grid["runs"] == 1 and grid["sampler_seeds"] is None and grid["spread"] == 0.0
    assert found["start_value"] == 0.5 and found["trial_epochs"] == 1 and found["final_epochs"] == 2
    assert found["kept"] == "TPE + median pruning, seed 0" and found["chosen"] == "TPE + median pruning, seed 0"
    # random search's median curve: 0.5 until 25 s, then 0.45; TPE's median is 0.4 at 15 s already
    assert found["curves"]["random"]["by_seconds"] == {"x": [10.0, 15.0, 25.0], "median": [0.5, 0.5, 0.45],
                                                       "min": [0.5, 0.45, 0.4], "max": [0.5, 0.5, 0.5]}
    assert found["random_improved_on_start"] and found["race"]["target"] == 0.45
    assert (found["random_seconds"], found["tpe_seconds_to_random_best"]) == (25.0, 15.0)
    assert found["tpe_time_ratio"] == pytest.approx(0.6)
    assert list(tuning.search_curves(found)) == ["TPE + median pruning", "random search", "grid search"]
    table = tuning.search_table(found)
    assert "| TPE + median pruning | 0.2500 [0.2000–0.4000] | 3 | 3 | 3 | 0 | 3 / 3 | 20.0 |" in table
    assert "| random search | 0.4500 [0.4000–0.5000] | 3 | 3 | 2 | 0 | 2 / 3 | 15.0 |" in table
    assert "| grid search | 0.3500 | 1 | 3 | 2 | 0 | 2 / 3 | 18.0 |" in table
    text = search_text.stage_one_finding(found)  # the notebook's sentences on this section, facts only
    assert "TPE + median pruning median over 3 sampler seeds 0.250, range 0.200 to 0.400" in text
    assert "grid search 0.350, one run" in text and "scores 0.500" in text
    assert "TPE + median pruning ends 50% below it, more than its range over seeds (40%)" in text  # a win
    assert "random search ends 10% below it, within its range over seeds (20%)" in text  # a tie
    assert "0.450, after 25.0 s of trials" in text and "reaches it after 15.0 s, 0.60 times" in text
    assert "_" not in text and "True" not in text and "False" not in text  # words, not keys
    with pytest.raises(ValueError, match="Not studies of this search: 'random search'"):
        tuning.compare_searches({"random search": studies["random search, seed 0"]}, search)


def test_search_findings_say_when_no_search_went_below_the_start():
    search = _search(trials=2, trial_epochs=1, sampler_seeds=3)
    found = tuning.compare_searches(_made_up(search, {"random search, seed 0": [(0.4, 5.0)],
                                                      "random search, seed 1": [(0.7, 5.0)]}), search)
    assert found["race"]["tpe_seconds"] is None and not found["any_improved_on_start"]
    assert found["random"]["improved_seeds"] == 1 and found["random"]["median_best"] == 0.5
    text = search_text.stage_one_finding(found)
    assert "(only single seeds did: 1 of the 3 seeds of random search)" in text and "TPE + median" in text
    assert "no time to compare" in text and "s of trials" not in text


# ----------------------------------------------------------------------------- stage 2: the final budget


def _with_trials(search, values: dict[int, float]) -> dict[str, optuna.Study]:
    """Made-up studies: the start (trial 0) and other configurations (lr = 1e-3 * key) with given values."""
    studies = {}
    for name in ("random search, seed 0", "random search, seed 1"):
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
    assert [f["search"] for f in picked] == ["random search, seed 0", "random search, seed 0"]
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
    cfg, spec, run = tuning.tuned(search, promoted, runs)
    assert run is runs[best] and spec.epochs == search.epochs
    assert (cfg, spec) == (search.start if best == "hand-set" else tuning.configuration(rows[best]["params"], START))


def test_the_start_wins_a_tie_at_the_final_budget(tmp_path):
    search = _search(tmp_path)
    studies = _with_trials(search, {})  # nothing but the start
    promoted, runs = tuning.promote(studies, search)
    assert promoted["chosen"] == "hand-set" and set(runs) == {"hand-set"}
    assert tuning.tuned(search, promoted, runs) == (*START, runs["hand-set"])
    with pytest.raises(ValueError, match="has no row or run here"):
        tuning.tuned(search, {**promoted, "chosen": "finalist 1"}, runs)


def test_final_comparison_of_the_start_with_itself_trains_nothing_twice(tmp_path, capsys):
    search = _search(tmp_path)
    promoted, runs = tuning.promote(_with_trials(search, {}), search)
    capsys.readouterr()
    found = tuning.final_comparison(search, promoted, runs)
    out = capsys.readouterr().out
    assert out.count("[cache] CV hand-set fold") == 2 and "CV tuned" not in out
    assert found["tuned_is_hand_set"] and found["tuned_test_mse"] == found["hand_set_test_mse"]
    assert found["cv"]["tuned"] == found["cv"]["hand-set"] and not found["tuned_beats_hand_set_test"]
    text = search_text.final_finding(found, promoted)
    assert sig(found["hand_set_test_mse"]) in text and "±" not in text  # the start not compared with itself


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
    text = search_text.final_finding(found, promoted)
    assert "finalist 1" in text and sig(found["tuned_test_mse"]) in text
    assert plus_minus(found["tuned_mean"], found["tuned_std"]) in text


# ----------------------------------------------------------------------------- figures


def test_search_progress_draws_a_median_line_and_a_range_band_per_search():
    curves = {"TPE + median pruning": tuning.progress_over_seeds(
        [_curve([0.5, 0.3, 0.2], [10.0, 15.0, 20.0]), _curve([0.5, 0.4, 0.4], [10.0, 12.0, 30.0])]),
        "grid search": tuning.progress_over_seeds([_curve([0.5, 0.45], [10.0, 18.0])])}
    fig = plots.search_progress(curves, start=0.5)
    try:
        by_trial, by_time = fig.axes
        assert [len(ax.collections) for ax in (by_trial, by_time)] == [1, 1]  # a band for the seeded search only
        assert list(by_trial.lines[0].get_ydata()) == pytest.approx([0.5, 0.35, 0.3])
        assert list(by_time.lines[0].get_xdata()) == [10.0, 12.0, 15.0, 20.0, 30.0]
        assert by_trial.lines[-1].get_linestyle() == ":" and by_trial.lines[-1].get_ydata()[0] == 0.5
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert labels == ["TPE + median pruning: median and range over 2 seeds", "grid search (one run)",
                          "hand-set start"]
        assert matplotlib.colors.to_hex(by_trial.lines[0].get_color()) != matplotlib.colors.to_hex(
            by_trial.lines[1].get_color())
        assert min(ax.title.get_fontsize() for ax in fig.axes) >= 8 and by_trial.get_yscale() == "log"
    finally:
        plt.close(fig)


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
