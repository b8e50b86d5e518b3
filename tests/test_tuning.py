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

from helpers import autoencoder, config, data, plots, results, studies, training, tuning
from helpers.findings import search as search_text
from helpers.findings.words import plus_minus, sig
from helpers.models import AEConfig, AutoEncoder

optuna.logging.set_verbosity(optuna.logging.ERROR)
START = (AEConfig(channels=(32, 64), latent_dim=32),
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
    monkeypatch.setattr(tuning, "balanced_train", lambda splits, limit, seed: splits.train)
    profile = config.PROFILES["quick"]
    splits, _ = _splits()
    search = tuning.make_search(profile, splits, None, start=START)
    assert (search.horizon, search.epochs, search.sampler_seeds, search.trials) == (
        profile.search_epochs, START[1].epochs, profile.sampler_seeds, profile.trials)
    assert list(tuning.plan(search)) == [f"TPE + Hyperband, seed {i}" for i in range(3)] + [
        f"random search + Hyperband, seed {i}" for i in range(3)] + ["grid search"]
    assert (search.fidelity_configs, search.min_resource) == (profile.fidelity_configs, 1)
    with pytest.raises(ValueError, match="Search.sampler_seeds = 0 is not allowed"):
        replace(search, sampler_seeds=0)


@pytest.mark.parametrize("change, named", [
    (lambda c, s: (c, replace(s, weight_decay=0.5)), "other settings.*weight_decay"),  # Adam takes no decay
    (lambda c, s: (replace(c, channels=(24, 48)), s), "base_channels = 24 is not one of"),
    (lambda c, s: (c, replace(s, lr=0.5)), "lr = 0.5 is not strictly inside"),
    (lambda c, s: (c, replace(s, lr=tuning.LR_RANGE[0])), "lr = 0.0004 is not strictly inside"),  # an edge
    (lambda c, s: (replace(c, channels=(16, 32)), s), "base_channels = 16 is not strictly inside"),  # the narrowest
    (lambda c, s: (c, replace(s, optimizer="adamw", weight_decay=0.1)), "weight_decay = 0.1 is not strictly"),
    (lambda c, s: (replace(c, channels=(32, 96)), s), "other settings"),
    (lambda c, s: (c, replace(s, patience=3)), "other settings"),
    (lambda c, s: (c, replace(s, scheduler="plateau")), "schedule = 'plateau' is not one of")])
def test_a_start_outside_the_space_or_on_its_edge_is_refused_with_the_reason(change, named):
    with pytest.raises(ValueError, match=f"not (a|an interior) point of the search space.*{named}"):
        tuning.start_params(*change(*START))


def test_the_start_is_an_interior_point_and_every_choice_offers_another_value():
    params = tuning.start_params(*START)
    tuning.check_interior(params)  # passes
    for name, (low, high) in tuning.NUMERIC.items():
        if name in params:
            assert low < params[name] < high
    assert all(len(choices) >= 2 for choices in tuning.CATEGORICAL.values())
    adamw = tuning.start_params(START[0], replace(START[1], optimizer="adamw", weight_decay=1e-2))
    assert adamw["weight_decay"] == 1e-2 and adamw["optimizer"] == "adamw"
    with pytest.raises(ValueError, match="augment = 'blur' is not one of"):
        tuning.check_interior({**params, "augment": "blur"})


def test_the_space_table_names_every_searched_parameter_and_the_start_s_fixed_settings():
    search = _search(trial_epochs=1)
    rows = tuning.space_rows(search)
    trial = optuna.trial.create_trial(params=search.start_params, distributions=_DISTRIBUTIONS, value=0.5)
    searched = [name for name, _, scale in rows if scale != tuning.FIXED]
    # every suggested parameter, in the order suggested, and nothing else (AdamW's decay: not at the start)
    assert [name for name in searched if name != "weight_decay"] == list(trial.params)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sampled = study.ask()
    tuning.suggest(sampled, START)
    assert set(sampled.params) | {"weight_decay"} == set(searched)
    fixed = {name: value for name, value, scale in rows if scale == tuning.FIXED}
    assert fixed["code size"] == "32" and fixed["decoder"] == "transposed" and fixed["kernel size"] == "3"
    assert fixed["batch norm"] == "on" and fixed["dropout"] == "0"
    assert fixed["epochs"].startswith("1 per trial") and "2 at the final budget" in fixed["epochs"]
    resize = tuning.space_rows(_search(start=(replace(START[0], decoder="resize"), START[1])))
    assert dict((n, v) for n, v, _ in resize)["decoder"] == "resize"
    table = tuning.space_table(search)
    assert "| lr | 0.0004 to 0.01 | continuous, log scale | 0.002 | 0.001, 0.002, 0.004 |" in table
    assert "| base_channels | 16, 32, 48, 64: channels (b, 2b) | categorical | 32 | 32, 48 |" in table
    assert "| weight_decay | 0.0001 to 0.1: AdamW only | continuous, log scale |  |  |" in table


def test_the_space_table_says_where_the_augmentation_trains_without_its_flip():
    search = _search(trial_epochs=1)
    digits = replace(search, train=replace(search.train, mirror=False))
    clothing_row, digits_row = (dict((n, v) for n, v, _ in tuning.space_rows(s))["augment"] for s in (search, digits))
    assert clothing_row == "off, flip + shift 2 px"  # the choices as Optuna names them, unchanged for clothing
    assert digits_row.startswith(clothing_row) and "without the flip" in digits_row
    assert data.fitted(tuning.AUGMENTATIONS["flip + shift 2 px"], digits.train).flip is False  # as the loop trains it


def test_a_start_with_the_resize_decoder_is_a_point_of_the_space_and_its_trials_resize(tmp_path):
    start = (replace(START[0], decoder="resize"), START[1])
    search = _search(start=start, trial_epochs=1)
    assert tuning.configuration(search.start_params, start) == start
    assert search.key != _search(trial_epochs=1).key  # the decoder is part of the settings of a stored study
    decoders = []

    def recording_loss(model, batch):
        decoders.append(any(isinstance(m, torch.nn.Upsample) for m in model.modules()))
        return training.reconstruction_loss(model, batch)

    study = studies.open_study("resize", tmp_path, sampler=optuna.samplers.RandomSampler(seed=1))
    study.enqueue_trial(search.start_params)
    study.optimize(tuning.objective(search, loss_fn=recording_loss), n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.trials[1].params != search.start_params and decoders and all(decoders)
    assert tuning.configuration(study.trials[1].params, start)[0].decoder == "resize"


# ----------------------------------------------------------------------------- trials


def test_objective_reports_every_epoch_and_records_epochs_and_seconds(tmp_path):
    search = _search()
    study = studies.open_study("tiny", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(search), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and np.isfinite(trial.value)
    assert set(trial.params) - {"weight_decay"} == {"lr", "batch_factor", "schedule", "optimizer", "base_channels",
                                                    "augment"}
    assert sorted(trial.intermediate_values) == [1, 2]  # reported every epoch; no trial_epochs: the start's epochs
    assert trial.intermediate_values[2] == pytest.approx(trial.value)
    assert trial.user_attrs["epochs"] == 2 and trial.user_attrs["seconds"] > 0


def test_a_trial_trains_the_trial_horizon_not_the_final_budget(tmp_path):
    search = _search(trial_epochs=1)
    assert (search.horizon, search.epochs) == (1, 2)
    study = studies.open_study("short", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(search.start_params)
    study.optimize(tuning.objective(search), n_trials=1)
    trial = study.trials[0]
    assert sorted(trial.intermediate_values) == [1] and trial.user_attrs["epochs"] == 1
    assert trial.state == optuna.trial.TrialState.COMPLETE


def test_a_trial_that_trained_its_whole_horizon_is_never_pruned(tmp_path):
    class Always(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    study = studies.open_study("always", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0), pruner=Always())
    study.optimize(tuning.objective(_search(trial_epochs=1)), n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE  # the pruner is asked before the last epoch only


def test_non_finite_trial_is_pruned_and_the_study_goes_on(tmp_path):
    def nan_loss(model, batch):
        return {"loss": training.reconstruction_loss(model, batch)["loss"] * float("nan")}

    study = studies.open_study("nan", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(_search(), loss_fn=nan_loss), n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert "became nan" in study.trials[0].user_attrs["non_finite"]


def test_every_seed_is_its_own_study_starting_from_the_start_point_and_grid_search_runs_once(tmp_path, capsys):
    search = _search(tmp_path, trials=2, trial_epochs=1, sampler_seeds=2)
    made = tuning.run_searches(search)
    # each study's line gives what its trials cost when trained (a cost note per study, in order)
    notes = [results.COST_NOTE.search(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("[cache]")]
    assert [m.group(2) for m in notes] == [f"study {study.study_name}" for study in made.values()]
    assert [m.group(1) for m in notes] == [f"{sum(t.user_attrs['seconds'] for t in study.trials):,.1f}"
                                           for study in made.values()]
    assert list(made) == ["TPE + Hyperband, seed 0", "TPE + Hyperband, seed 1", "random search + Hyperband, seed 0",
                          "random search + Hyperband, seed 1", "grid search"]
    assert len({study.study_name for study in made.values()}) == 5
    assert all(studies.finished_trials(study) == 2 for study in made.values())
    firsts = [study.trials[0] for study in made.values()]
    assert all(t.params == search.start_params and t.state == optuna.trial.TrialState.COMPLETE for t in firsts)
    # trained once at the trial horizon, reused by every other study: same value, same recorded cost, one checkpoint
    assert len({t.value for t in firsts}) == 1 and len({t.user_attrs["seconds"] for t in firsts}) == 1
    short = replace(START[1], epochs=1)
    key = training.config_hash(("search trial", START[0].as_dict(), "reconstruction_loss"), short,
                               data.fingerprint(search.train), data.fingerprint(search.splits.val),
                               search.splits.mean, search.splits.std,
                               training.training_speed(search.train.device, short))
    assert (tmp_path / "runs" / f"search-trial-{key}.pt").exists()
    second = {name: study.trials[1] for name, study in made.items()}
    # the sampler seed differs between seeds; TPE's first trials are random search's with the same sampler seed
    assert second["random search + Hyperband, seed 0"].params != second["random search + Hyperband, seed 1"].params
    for seed in (0, 1):
        tpe, rand = second[f"TPE + Hyperband, seed {seed}"], second[f"random search + Hyperband, seed {seed}"]
        assert tpe.params == rand.params and tpe.value == rand.value
        assert tpe.user_attrs["seconds"] == rand.user_attrs["seconds"]  # reused, and charged what it cost
    assert made["grid search"].trials[1].params["lr"] in tuning.GRID["lr"]


def test_a_trial_resumed_from_the_cache_reports_its_stored_epochs_to_the_pruner(tmp_path):
    search = _search(tmp_path)
    first = studies.open_study("first", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    first.enqueue_trial(search.start_params)
    first.optimize(tuning.objective(search), n_trials=1)
    seen = []

    class Recorder(optuna.pruners.BasePruner):  # prunes at once: nothing may be trained after the replay
        def prune(self, study, trial):
            seen.append(max(trial.intermediate_values))
            return True

    second = studies.open_study("second", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0), pruner=Recorder())
    second.enqueue_trial(search.start_params)
    second.optimize(tuning.objective(search), n_trials=1)
    trial = second.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED and seen == [1]
    assert trial.intermediate_values[1] == first.trials[0].intermediate_values[1]


def test_rerunning_the_searches_continues_the_stored_studies(tmp_path):
    search = _search(tmp_path, trials=2)
    first = tuning.run_searches(search)
    assert all(studies.finished_trials(s) == 2 for s in first.values())
    second = tuning.run_searches(replace(search, trials=3))
    for study in second.values():
        assert studies.finished_trials(study) == 3
        assert sorted(t.number for t in study.trials) == [0, 1, 2]


def test_a_study_made_with_other_settings_is_not_continued(tmp_path):
    search = _search(tmp_path, trials=1)
    tuning.run_searches(search)
    longer = replace(search, start=(START[0], replace(START[1], epochs=3)))
    assert longer.key != search.key
    study = tuning.open_search("random search + Hyperband", longer)
    assert studies.finished_trials(study) == 0  # a new study: the stored one was scored at two epochs


def test_only_the_trial_horizon_not_the_final_budget_decides_whether_a_study_is_continued(tmp_path):
    search = _search(tmp_path, trials=1, trial_epochs=1)
    longer_final = replace(search, start=(START[0], replace(START[1], epochs=3)))
    assert longer_final.key == search.key and replace(search, trial_epochs=2).key != search.key
    assert tuning.open_search("random search + Hyperband", search, 1).study_name != tuning.open_search(
        "random search + Hyperband", search, 0).study_name


def test_open_search_refuses_a_seed_for_grid_search_and_an_unknown_search(tmp_path):
    search = _search(tmp_path)
    with pytest.raises(ValueError, match="grid search has no sampler seed"):
        tuning.open_search("grid search", search, 1)
    with pytest.raises(ValueError, match="Unknown search 'TPE \\+ Hyperband pruning'"):
        tuning.open_search("TPE + Hyperband pruning", search)


def test_only_the_process_that_creates_a_study_runs_its_set_up(tmp_path):
    calls = []
    first = studies.open_study("shared", tmp_path, on_create=lambda study: calls.append(study.study_name))
    second = studies.open_study("shared", tmp_path, on_create=lambda study: calls.append("again"))
    assert calls == ["shared"] and first._study_id == second._study_id


def test_two_workers_at_once_share_one_study_without_losing_or_doubling_trials(tmp_path, real_root):
    env = {**os.environ, "HW2_RESULTS": str(tmp_path), "PYTHONPATH": str(config.REPO_ROOT)}
    command = [sys.executable, "-m", "helpers.tuning", "--study", "ae-random-search-hyperband", "--seed", "1", "--trials", "2",
               "--profile", "smoke"]
    workers = [subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stdout.read()
    profile = config.PROFILES["smoke"]
    search = tuning.make_search(profile, data.study_splits(profile, "cpu"), tmp_path / "smoke")
    study = tuning.open_search("random search + Hyperband", search, 1)
    assert studies.finished_trials(study) == 4 and search.horizon == profile.search_epochs
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert sum(t.params == search.start_params for t in study.trials) == 1  # the start, enqueued once


RUNNING, WAITING, FAIL = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING,
                          optuna.trial.TrialState.FAIL)


def test_a_running_trial_whose_process_died_on_this_host_is_failed_and_queued_again_once(tmp_path):
    study = studies.open_study("owned", tmp_path)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(ended.stdout)

    def running(**worker) -> optuna.Trial:
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.set_user_attr(studies.WORKER, {**studies._this_worker(trial.number), **worker})
        return trial

    gone, reused = running(pid=dead_pid), running(started=0.0)  # reused: this pid, another process's start
    elsewhere, alive = running(pid=dead_pid, host="another-host"), running()
    assert studies.fail_dead_trials(study) == [gone.number, reused.number]
    states = {t.number: t.state for t in study.trials}
    assert states[gone.number] == states[reused.number] == FAIL
    assert states[elsewhere.number] == states[alive.number] == RUNNING  # another host's, and a live one
    queued = [t for t in study.trials if t.state == WAITING]
    assert [(t.system_attrs["failed_trial"], t.params) for t in queued] == [(gone.number, gone.params),
                                                                           (reused.number, reused.params)]
    assert studies.fail_dead_trials(study) == []
    retry = study.ask()  # the first queued trial: its stored `worker` is its failed trial's, not its own yet
    assert retry.params == gone.params and studies.fail_dead_trials(study) == []
    retry.set_user_attr(studies.WORKER, {**studies._this_worker(retry.number), "pid": dead_pid})
    assert studies.fail_dead_trials(study) == [retry.number]  # failed, but not queued a second time
    assert [t.system_attrs["failed_trial"] for t in study.trials if t.state == WAITING] == [reused.number]


def test_a_database_server_retries_once_a_trial_whose_heartbeats_stopped(monkeypatch):
    made = {}
    monkeypatch.setattr(optuna.storages, "RDBStorage", lambda url, **settings: made.update(url=url, **settings))
    monkeypatch.setenv(studies.STORAGE_ENV, "postgresql://user@host/hw2")
    studies.study_storage(".")
    assert made["url"] == "postgresql://user@host/hw2"
    assert 0 < made["heartbeat_interval"] < made["grace_period"]
    retry = made["heartbeat_stale_trial_callback"]
    assert isinstance(retry, optuna.storages.RetryHeartbeatStaleTrialCallback) and retry._max_retry == 1


def _kill_mid_trial(worker: subprocess.Popen, run_dir) -> optuna.trial.FrozenTrial:
    """SIGKILL `worker` while it runs a trial that records it as its worker, and outside the journal's lock
    (checked while the worker is stopped); returns that trial as stored after the kill."""
    storage, lock = studies.study_storage(run_dir), run_dir / f"{studies.JOURNAL_NAME}.lock"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.stdout.read()
        worker.send_signal(signal.SIGSTOP)
        trials = [t for s in storage.get_all_studies() for t in storage.get_all_trials(s._study_id)]
        running = [t for t in trials
                   if t.state == RUNNING and t.user_attrs.get(studies.WORKER, {}).get("trial") == t.number]
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
    command = [sys.executable, "-m", "helpers.tuning", "--study", "ae-random-search-hyperband", "--seed", "1",
               "--trials", "3", "--profile", "smoke"]
    worker = subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    killed = _kill_mid_trial(worker, tmp_path / "smoke")
    assert killed.state == RUNNING  # no process left to end it
    profile = config.PROFILES["smoke"]
    search = tuning.make_search(profile, data.study_splits(profile, "cpu"), tmp_path / "smoke")
    study = tuning.open_search("random search + Hyperband", search, 1)
    studies.run_to_budget(study, tuning.objective(search), 3)  # the next worker
    assert study.trials[killed.number].state == FAIL and studies.finished_trials(study) == 3
    retries = [t for t in study.trials if "failed_trial" in t.system_attrs]
    assert [t.system_attrs["failed_trial"] for t in retries] == [killed.number]
    # the retry draws again every value the killed trial had drawn (the kill may land between two draws)
    assert killed.params and {name: retries[0].params.get(name) for name in killed.params} == killed.params
    assert retries[0].state in studies.FINISHED
    assert sum(t.params == search.start_params for t in study.trials if t.state in studies.FINISHED) == 1


GRID_WORKER = """
import sys, time
import optuna
from helpers import studies
sampler = optuna.samplers.GridSampler({"x": [0, 1, 2, 3]}, seed=0)
study = studies.open_study("grid", sys.argv[1], sampler=sampler)
def objective(trial):
    x = trial.suggest_categorical("x", [0, 1, 2, 3])
    if trial.number == 1:
        time.sleep(600)  # killed here
    return x
studies.run_to_budget(study, objective, 4)
"""


def test_a_grid_search_killed_mid_trial_and_resumed_evaluates_every_grid_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(config.REPO_ROOT)}
    env.pop(studies.STORAGE_ENV, None)
    command = [sys.executable, "-c", GRID_WORKER, str(tmp_path)]
    worker = subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    killed = _kill_mid_trial(worker, tmp_path)
    assert killed.number == 1 and killed.state == RUNNING
    sampler = optuna.samplers.GridSampler({"x": [0, 1, 2, 3]}, seed=0)
    study = studies.open_study("grid", tmp_path, sampler=sampler)
    studies.run_to_budget(study, lambda trial: trial.suggest_categorical("x", [0, 1, 2, 3]), 4)
    assert study.trials[1].state == FAIL
    assert sorted(t.params["x"] for t in study.trials if t.state in studies.FINISHED) == [0, 1, 2, 3]
    assert [t.params for t in study.trials if t.system_attrs.get("failed_trial") == 1] == [killed.params]


@pytest.mark.parametrize("argv, says", [
    (["--study", "ae-everything", "--trials", "1"], "--study 'ae-everything' is not a search; choose one of: "
                                                    "ae-tpe-hyperband, ae-random-search-hyperband, ae-grid-search"),
    (["--study", "ae-tpe-hyperband-pruning", "--trials", "1"], "is not a search"),
    (["--study", "ae-random-search-hyperband", "--trials", "0"],
     "argument --trials: 0 is out of range; allowed: an integer >= 1"),
    (["--study", "ae-grid-search", "--seed", "1", "--trials", "1", "--profile", "smoke"],
     "grid search has no sampler seed (it runs once): leave out --seed"),
    (["--study", "ae-random-search-hyperband", "--seed", "2", "--trials", "1", "--profile", "smoke"],
     "--seed must be in 0..1 (the smoke profile runs 2 sampler seeds per search), got 2"),
    (["--study", "ae-random-search-hyperband", "--trials", "1", "--profile", "huge"], "Unknown profile 'huge'"),
    (["--study", "ae-random-search-hyperband", "--trials", "1", "--decoder", "fancy"], "invalid choice: 'fancy'")])
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
    params = {"lr": 2e-3, "batch_factor": 2.0, "schedule": "onecycle", "optimizer": "adamw", "weight_decay": 1e-3,
              "base_channels": 48, "augment": "flip + shift 2 px"}
    start = (replace(START[0], latent_dim=16, kernel_size=5, batch_norm=False), replace(START[1], seed=3))
    cfg, spec = tuning.configuration(params, start, epochs=7)
    assert cfg == AEConfig(channels=(48, 96), kernel_size=5, latent_dim=16, batch_norm=False)
    assert (spec.epochs, spec.optimizer, spec.weight_decay, spec.batch_size, spec.seed, spec.scheduler) == (
        7, "adamw", 1e-3, 64, 3, "onecycle")
    assert spec.lr == pytest.approx(2e-3 * 2 ** 0.5)  # twice the batch: the step grows by its square root
    assert spec.augment == autoencoder.AUGMENTATION
    assert tuning.configuration(params, start)[1].epochs == START[1].epochs  # default: the start's epochs
    adam = tuning.configuration({**params, "optimizer": "adam"}, start)[1]
    assert adam.weight_decay == 0.0  # Adam takes no weight decay: AdamW at 0 would be the same update


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
    made = {}
    for label in tuning.plan(search):
        study = optuna.create_study()
        trials = [(search.start_params, 0.5, 10.0)] + [({**search.start_params, "lr": 5e-3 + 1e-3 * i}, value, seconds)
                                                        for i, (value, seconds) in enumerate(values.get(label, []))]
        for params, value, seconds in trials:
            study.add_trial(optuna.trial.create_trial(params=params, distributions=_DISTRIBUTIONS, value=value,
                                                      user_attrs={"epochs": 1, "seconds": seconds}))
        made[label] = study
    return made


def test_compare_searches_summarizes_each_search_over_its_seeds():
    search = _search(trials=3, trial_epochs=1, sampler_seeds=3)
    made = _made_up(search, {
        "TPE + Hyperband, seed 0": [(0.3, 5.0), (0.2, 5.0)], "TPE + Hyperband, seed 1": [(0.4, 5.0)],
        "TPE + Hyperband, seed 2": [(0.45, 5.0), (0.25, 5.0)],
        "random search + Hyperband, seed 0": [(0.6, 5.0), (0.4, 10.0)],
        "random search + Hyperband, seed 1": [(0.45, 5.0)],
        "grid search": [(0.35, 8.0)]})
    found = tuning.compare_searches(made, search)
    assert found["names"] == {"tpe": "TPE + Hyperband", "random": "random search + Hyperband", "grid": "grid search"}
    tpe, rand, grid = found["tpe"], found["random"], found["grid"]
    assert tpe["best"] == [0.2, 0.4, 0.25] and tpe["median_best"] == 0.25 and (tpe["min_best"], tpe["max_best"]) == (
        0.2, 0.4)
    assert tpe["spread"] == pytest.approx(0.2) and tpe["improvement"] == pytest.approx(0.25)
    assert tpe["below_start_beyond_spread"] and tpe["improved_seeds"] == 3 and tpe["sampler_seeds"] == [0, 1, 2]
    assert rand["best"] == [0.4, 0.45, 0.5] and rand["improved_seeds"] == 2 and not rand["below_start_beyond_spread"]
    assert (rand["complete"], rand["pruned"], rand["epochs"], rand["seconds"]) == (2.0, 0.0, 2.0, 15.0)
    assert grid["runs"] == 1 and grid["sampler_seeds"] is None and grid["spread"] == 0.0
    assert found["start_value"] == 0.5 and found["trial_epochs"] == 1 and found["final_epochs"] == 2
    assert found["kept"] == "TPE + Hyperband, seed 0" and found["chosen"] == "TPE + Hyperband, seed 0"
    # random search's median curve: 0.5 until 25 s, then 0.45; TPE's median is 0.4 at 15 s already
    assert found["curves"]["random"]["by_seconds"] == {"x": [10.0, 15.0, 25.0], "median": [0.5, 0.5, 0.45],
                                                       "min": [0.5, 0.45, 0.4], "max": [0.5, 0.5, 0.5]}
    assert found["random_improved_on_start"] and found["race"]["target"] == 0.45
    assert (found["random_seconds"], found["tpe_seconds_to_random_best"]) == (25.0, 15.0)
    assert found["tpe_time_ratio"] == pytest.approx(0.6)
    assert list(tuning.search_curves(found)) == ["TPE + Hyperband", "random search + Hyperband", "grid search"]
    assert list(tuning.search_values(found)) == list(tuning.search_curves(found))
    assert sorted(found["values"]["tpe"]["value"]) == [0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.5, 0.5]  # every trial
    assert not any(found["values"]["tpe"]["pruned"])
    table = tuning.search_table(found)
    assert "| TPE + Hyperband | 0.2500 [0.2000–0.4000] | 3 | 3 | 3 | 0 | 3 / 3 | 20.0 |" in table
    assert "| random search + Hyperband | 0.4500 [0.4000–0.5000] | 3 | 3 | 2 | 0 | 2 / 3 | 15.0 |" in table
    assert "| grid search | 0.3500 | 1 | 3 | 2 | 0 | 2 / 3 | 18.0 |" in table
    text = search_text.stage_one_finding(found)  # the notebook's sentences on this section, facts only
    assert "(median over 3 sampler seeds, with its range)" in text and "TPE + Hyperband 0.250 (0.200 to 0.400)" in text
    assert "grid search 0.350 (one run)" in text and "scores 0.500" in text
    assert "TPE + Hyperband ends 50% below it, more than its range over seeds (40%)" in text  # a win
    assert "random search + Hyperband ends 10% below it, within its range over seeds (20%)" in text  # a tie
    assert "0.450, after 25.0 s of trials" in text and "reaches it after 15.0 s, 0.60 times" in text
    assert "_" not in text and "True" not in text and "False" not in text  # words, not keys
    with pytest.raises(ValueError, match="Not studies of this search: 'random search'"):
        tuning.compare_searches({"random search": made["random search + Hyperband, seed 0"]}, search)


def test_search_findings_say_when_no_search_went_below_the_start():
    search = _search(trials=2, trial_epochs=1, sampler_seeds=3)
    found = tuning.compare_searches(_made_up(search, {"random search + Hyperband, seed 0": [(0.4, 5.0)],
                                                      "random search + Hyperband, seed 1": [(0.7, 5.0)]}), search)
    assert found["race"]["tpe_seconds"] is None and not found["any_improved_on_start"]
    assert found["random"]["improved_seeds"] == 1 and found["random"]["median_best"] == 0.5
    text = search_text.stage_one_finding(found)
    assert "(only single seeds did: 1 of the 3 seeds of random search + Hyperband)" in text and "TPE + Hyp" in text
    assert "no time to compare" in text and "s of trials" not in text


# ----------------------------------------------------------------------------- stage 2: the final budget


def _with_trials(search, values: dict[int, float]) -> dict[str, optuna.Study]:
    """Made-up studies: the start (trial 0) and other configurations (lr = 1e-3 * key) with given values."""
    made = {}
    for name in ("random search, seed 0", "random search, seed 1"):
        study = optuna.create_study()
        study.add_trial(optuna.trial.create_trial(params=search.start_params, distributions=_DISTRIBUTIONS,
                                                  value=0.5))
        for key, value in values.items():
            params = {**search.start_params, "lr": 1e-3 * key}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=_DISTRIBUTIONS, value=value))
        made[name] = study
    return made


_DISTRIBUTIONS = {"lr": optuna.distributions.FloatDistribution(*tuning.LR_RANGE, log=True),
                  "batch_factor": optuna.distributions.CategoricalDistribution(tuning.BATCH_FACTORS),
                  "schedule": optuna.distributions.CategoricalDistribution(tuning.SCHEDULES),
                  "optimizer": optuna.distributions.CategoricalDistribution(tuning.OPTIMIZER_CHOICES),
                  "base_channels": optuna.distributions.CategoricalDistribution(tuning.BASE_CHANNELS),
                  "augment": optuna.distributions.CategoricalDistribution(tuple(tuning.AUGMENTATIONS))}


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
    promoted, runs = tuning.promote(_with_trials(search, {}), search)  # nothing but the start
    assert promoted["chosen"] == "hand-set" and set(runs) == {"hand-set"}
    assert tuning.tuned(search, promoted, runs) == (*START, runs["hand-set"])
    with pytest.raises(ValueError, match="has no row or run here"):
        tuning.tuned(search, {**promoted, "chosen": "finalist 1"}, runs)


def test_without_a_finalist_nothing_is_compared_and_nothing_is_trained_twice(tmp_path, capsys):
    search = _search(tmp_path)
    promoted, runs = tuning.promote(_with_trials(search, {}), search)
    capsys.readouterr()
    found = tuning.final_comparison(search, promoted, runs)
    assert "CV" not in capsys.readouterr().out and found["compared"] is None and found["tuned_is_hand_set"]
    assert found["hand_set_test_mse"] == pytest.approx(
        autoencoder.mse(runs["hand-set"].model, search.splits.test, search.splits))
    assert search_text.search_verdict(found) is None
    text = search_text.final_finding(found, promoted)
    assert sig(found["hand_set_test_mse"]) in text and "±" not in text  # the start not compared with itself
    assert "|" in tuning.final_table(found)


def test_the_paired_cross_validation_trains_both_arms_on_the_same_folds(tmp_path, monkeypatch):
    seen = []
    real = training.train_model

    def recording(build, loss_fn, train, val, spec, **kwargs):
        seen.append((kwargs["desc"], data.fingerprint(train)))
        return real(build, loss_fn, train, val, spec, **kwargs)

    monkeypatch.setattr(training, "train_model", recording)
    _, train = _splits()
    tiny = lambda width: training.Arm(lambda: AutoEncoder(AEConfig(channels=(width,), latent_dim=4)),  # noqa: E731
                                      training.reconstruction_loss, training.TrainSpec(epochs=1, batch_size=50),
                                      width)
    found = training.paired_cross_validate({"narrow": tiny(4), "wide": tiny(8)}, train, k=3, seed=0, mean=0.3,
                                           std=0.3, run_dir=tmp_path)
    assert list(found["scores"]) == ["narrow", "wide"] and all(len(v) == 3 for v in found["scores"].values())
    by_arm = {arm: [f for d, f in seen if d.startswith(f"CV {arm} fold")] for arm in ("narrow", "wide")}
    assert len(by_arm["narrow"]) == 3 and by_arm["narrow"] == by_arm["wide"]  # fold i: the same images for both
    assert len(set(by_arm["narrow"])) == 3 and len(set(found["folds"])) == 3 and sum(found["held_out"]) == len(train)
    assert found["scores"]["narrow"] != found["scores"]["wide"]


def test_final_comparison_pairs_the_search_s_best_with_the_start_fold_by_fold(tmp_path, capsys):
    search = _search(tmp_path, cv_train=_splits()[1].subset(range(200)))
    promoted, runs = tuning.promote(_with_trials(search, {5: 0.1}), search)
    found = tuning.final_comparison(search, promoted, runs)
    assert "[cache] CV tuned fold 2/2: trained 2 epochs" in capsys.readouterr().out
    assert found["compared"] == "finalist 1" and found["tuned_params"]["lr"] == 5e-3 and found["epochs"] == 2
    assert found["images"] == 200 and len(found["fold_digests"]) == 2
    tuned, hand = found["cv"]["tuned"]["folds"], found["cv"]["hand-set"]["folds"]
    assert tuned != hand and found["difference"]["mean"] == pytest.approx(np.mean(np.subtract(tuned, hand)))
    assert found["folds_tuned_lower"] == sum(t < h for t, h in zip(tuned, hand))
    assert found["tuned_beats_hand_set_beyond_spread"] == (found["difference"]["high"] < 0)
    assert found["tuned_test_mse"] == pytest.approx(
        autoencoder.mse(runs["finalist 1"].model, search.splits.test, search.splits))
    assert found["tuned_parameters"] == found["hand_set_parameters"]  # the same widths: only the lr differs
    assert found["continuous_ranges"] == {"lr": list(tuning.LR_RANGE), "weight_decay": list(tuning.WEIGHT_DECAY_RANGE)}
    text = search_text.final_finding(found, promoted)
    assert f"found by {found['compared_from']}" in text and sig(found["tuned_test_mse"]) in text
    assert "finalist" not in text  # a stage-2 name, not a reader's word
    assert plus_minus(found["tuned_mean"], found["tuned_std"]) in text


def test_the_search_verdict_follows_the_paired_interval():
    cv = {"compared": "finalist 1", "hand_set_mean": 0.01, "folds": 5, "folds_tuned_lower": 5,
          "difference": {"mean": -0.001, "low": -0.0015, "high": -0.0005}}
    assert search_text.search_verdict(cv) == -1 and "more than the folds vary" in search_text.search_finding(cv)
    tie = {**cv, "difference": {"mean": -0.001, "low": -0.003, "high": 0.001}}
    assert search_text.search_verdict(tie) == 0 and "does not improve" in search_text.search_finding(tie)
    worse = {**cv, "difference": {"mean": 0.001, "low": 0.0005, "high": 0.0015}}
    assert search_text.search_verdict(worse) == 1 and "worse than the hand-set" in search_text.search_finding(worse)
    assert "10% lower" in search_text.search_finding(cv)  # the mean difference in percent of the hand-set mean


# ----------------------------------------------------------------------------- the fidelity check


def test_spread_configurations_are_distinct_points_other_than_the_start_and_repeat_for_a_seed():
    search = _search()
    points = tuning.spread_configurations(search, 6)
    assert len(points) == 6 and search.start_params not in points
    assert len({tuple(sorted(p.items())) for p in points}) == 6
    assert points == tuning.spread_configurations(search, 6)
    lrs = sorted(p["lr"] for p in points)
    assert lrs[0] < 2e-3 < lrs[-1]  # spread on both sides of the start


def test_the_fidelity_check_ranks_trials_against_the_final_budget_and_shares_the_trials_cache(tmp_path):
    search = _search(tmp_path, trial_epochs=1, fidelity_configs=2)
    found = tuning.fidelity(search)
    assert found["configs"] == 3 and found["points"][0]["start"] and len(found["by_epoch"]) == 1
    assert all(len(p["trial_curve"]) == 1 and p["final"] is not None for p in found["points"])
    rho = found["by_epoch"][0]
    assert -1 <= rho["rho"] <= 1 and found["rho"] == rho["rho"]
    assert found["min_resource"] == 1  # with one epoch, the horizon is the only rung
    assert found["met"] == (rho["rho"] >= tuning.FIDELITY_TARGET)
    before = sorted((tmp_path / "runs").iterdir())
    study = studies.open_study("after", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(search.start_params)
    study.optimize(tuning.objective(search), n_trials=1)
    assert sorted((tmp_path / "runs").iterdir()) == before  # the fidelity check trained the start's trial: reused
    assert study.trials[0].value == found["points"][0]["trial_curve"][-1]
    text = search_text.fidelity_finding(found)
    assert f"{found['configs']} configurations" in text and sig(rho["rho"], 2) in text


def test_hyperband_starts_at_the_measured_rung_and_the_rung_is_part_of_a_study_s_settings():
    search = _search(trial_epochs=4)
    pruner = tuning.make_pruner("hyperband", 2, search.horizon)
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource) == (2, 4)
    assert replace(search, min_resource=2).key != search.key
    with pytest.raises(ValueError, match="Search.min_resource = 5 is not allowed"):
        replace(search, min_resource=5)
    with pytest.raises(ValueError, match="Unknown pruner 'median'"):
        tuning.make_pruner("median")


def test_the_fidelity_sentence_says_when_the_short_trial_misranks():
    row = lambda e, rho: {"epoch": e, "rho": rho, "low": rho - 0.2, "high": min(1.0, rho + 0.2)}  # noqa: E731
    found = {"configs": 13, "trial_epochs": 4, "trial_images": 1000, "final_epochs": 8, "final_images": 2000,
             "target": 0.7, "by_epoch": [row(1, 0.3), row(2, 0.75), row(3, 0.8), row(4, 0.85)], "met": True,
             "min_resource": 2}
    text = search_text.fidelity_finding(found)
    assert "0.85" in text and "0.30" in text and "first rung is 2 epochs" in text
    assert "though its interval reaches down to 0.55" in text  # the rung's rho passes, its interval does not
    sure = {**found, "by_epoch": [row(1, 0.3), {**row(2, 0.95), "low": 0.8}, row(3, 0.9), row(4, 0.9)]}
    assert "interval reaches down" not in search_text.fidelity_finding(sure)
    low = {**found, "by_epoch": [row(1, 0.1), row(2, 0.2), row(3, 0.3), row(4, 0.4)], "met": False,
           "min_resource": 4}
    assert "below 0.70" in search_text.fidelity_finding(low) and "misranks" in search_text.fidelity_finding(low)


# ----------------------------------------------------------------------------- figures


def test_search_progress_draws_a_median_line_and_a_range_band_per_search():
    curves = {"TPE + Hyperband": tuning.progress_over_seeds(
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
        assert labels == ["TPE + Hyperband: median and range over 2 seeds", "grid search (one run)",
                          "hand-set start"]
        assert matplotlib.colors.to_hex(by_trial.lines[0].get_color()) != matplotlib.colors.to_hex(
            by_trial.lines[1].get_color())
        assert min(ax.title.get_fontsize() for ax in fig.axes) >= 8 and by_trial.get_yscale() == "log"
        fig.canvas.draw()  # plain numbers on the log axis, no '3.2 × 10^-2' minor labels
        shown = [t.get_text() for t in by_trial.get_yticklabels() if t.get_text()]
        assert shown and not any("10^" in t or "times" in t for t in shown)
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


def test_the_fidelity_figure_rings_the_start_and_draws_the_target():
    row = lambda e, rho: {"epoch": e, "rho": rho, "low": rho - 0.2, "high": min(1.0, rho + 0.2)}  # noqa: E731
    points = [{"start": i == 0, "trial_curve": [0.03 + 0.01 * i, 0.02 + 0.01 * i], "final": 0.01 + 0.005 * i}
              for i in range(5)] + [{"start": False, "trial_curve": [None, None], "final": None}]  # diverged
    found = {"points": points, "by_epoch": [row(1, 0.4), row(2, 0.9)], "trial_epochs": 2, "trial_images": 1000,
             "final_epochs": 8, "final_images": 1500, "target": 0.7}
    fig = plots.fidelity(found)
    try:
        scatter, rho = fig.axes
        dots, ring = scatter.collections
        assert len(dots.get_offsets()) == 4 and len(ring.get_offsets()) == 1  # the diverged run left out
        assert list(ring.get_offsets()[0]) == pytest.approx([0.02, 0.01])
        assert list(rho.lines[0].get_ydata()) == [0.4, 0.9] and rho.lines[-1].get_ydata()[0] == 0.7
        assert plots.smallest_font(fig) >= plots.MIN_FONT and scatter.get_xscale() == "log"
    finally:
        plt.close(fig)


def test_the_trial_values_figure_draws_every_trial_with_pruned_ones_open():
    values = {"TPE + Hyperband": {"value": [0.02, 0.03, 0.05], "pruned": [False, True, True], "epochs": [4, 1, 1]},
              "grid search": {"value": [0.025, 0.04], "pruned": [False, False], "epochs": [4, 4]}}
    fig = plots.trial_values(values, start=0.03)
    try:
        ax = fig.axes[0]
        sizes = [len(c.get_offsets()) for c in ax.collections]
        assert sizes == [1, 2, 2, 0]  # completed and pruned per search, in order
        assert [t.get_text() for t in ax.get_xticklabels()] == list(values)
        assert ax.lines[-1].get_ydata()[0] == 0.03 and plots.smallest_font(fig) >= plots.MIN_FONT
    finally:
        plt.close(fig)
