"""The search: objective, non-finite trials, resumed studies, concurrent workers, k-fold, progress."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import optuna
import pytest
import torch

from helpers import config, data, training, tuning
from helpers.models import AEConfig, AutoEncoder

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _splits() -> tuple[data.Splits, data.ImageSet]:
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(360, 1, 28, 28, generator=g), 5, 1, 2)
    full = data.ImageSet((x * 255).to(torch.uint8), torch.arange(360) % 10, tuple("abcdefghij"))
    train, val = full.subset(range(300)), full.subset(range(300, 360))
    return data.Splits(train, val, val, 0.3, 0.3), train


def test_objective_on_a_tiny_subset_returns_a_finite_value(tmp_path):
    splits, train = _splits()
    study = tuning.open_study("tiny", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(splits, train, epochs=1), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and np.isfinite(trial.value)
    assert set(trial.params) == {"lr", "weight_decay", "batch_size", "optimizer", "base_channels", "dropout"}
    assert trial.intermediate_values == {1: pytest.approx(trial.value)}  # reported every epoch


def test_non_finite_trial_is_pruned_and_the_study_goes_on(tmp_path):
    splits, train = _splits()

    def nan_loss(model, batch):
        return {"loss": training.reconstruction_loss(model, batch)["loss"] * float("nan")}

    study = tuning.open_study("nan", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.objective(splits, train, epochs=1, loss_fn=nan_loss), n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert "became nan" in study.trials[0].user_attrs["non_finite"]


def test_rerunning_the_searches_continues_the_stored_studies(tmp_path):
    splits, train = _splits()
    profile = replace(config.PROFILES["smoke"], trials=2, trial_epochs=1)
    first = tuning.run_searches(profile, splits, train, tmp_path)
    assert all(tuning.finished_trials(s) == 2 for s in first.values())
    second = tuning.run_searches(replace(profile, trials=3), splits, train, tmp_path)
    for study in second.values():
        assert tuning.finished_trials(study) == 3
        assert sorted(t.number for t in study.trials) == [0, 1, 2]


def test_two_workers_at_once_share_one_study_without_losing_or_doubling_trials(tmp_path, real_root):
    env = {**os.environ, "HW2_RESULTS": str(tmp_path), "PYTHONPATH": str(config.REPO_ROOT)}
    command = [sys.executable, "-m", "helpers.tuning", "--study", "ae-random-search", "--trials", "2",
               "--profile", "smoke"]
    workers = [subprocess.Popen(command, env=env, cwd=config.REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stdout.read()
    study = tuning.open_study("ae-random-search", tmp_path / "smoke")
    assert tuning.finished_trials(study) == 4
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]


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


def _trial(number: int, value: float | None, seconds: float, state=optuna.trial.TrialState.COMPLETE):
    start = dt.datetime(2026, 1, 1)
    return optuna.trial.FrozenTrial(
        number=number, state=state, value=value, datetime_start=start,
        datetime_complete=start + dt.timedelta(seconds=seconds), params={}, distributions={}, user_attrs={},
        system_attrs={}, intermediate_values={}, trial_id=number)


def test_progress_and_time_to_reach_on_a_made_up_study():
    study = optuna.create_study()
    for trial in (_trial(0, 0.5, 10), _trial(1, 0.7, 10), _trial(2, None, 2, optuna.trial.TrialState.PRUNED),
                  _trial(3, 0.2, 10)):
        study.add_trial(trial)
    curve = tuning.progress(study)
    assert curve == {"best": [0.5, 0.5, 0.5, 0.2], "seconds": [10.0, 20.0, 22.0, 32.0]}
    assert tuning.seconds_to_reach(study, 0.5) == 10.0
    assert tuning.seconds_to_reach(study, 0.3) == 32.0
    assert tuning.seconds_to_reach(study, 0.1) is None


def test_best_model_rebuilds_the_best_trial():
    study = optuna.create_study()
    params = {"lr": 2e-3, "weight_decay": 1e-4, "batch_size": 64, "optimizer": "adamw", "base_channels": 16,
              "dropout": 0.1}
    study.enqueue_trial(params)
    study.optimize(lambda t: tuning.suggest(t, 1, 0)[1].lr, n_trials=1)
    cfg, spec = tuning.best_model(study, epochs=7, seed=0)
    assert cfg.channels == (16, 32) and cfg.latent_dim == tuning.LATENT_DIM and cfg.dropout == 0.1
    assert (spec.epochs, spec.optimizer, spec.lr, spec.batch_size) == (7, "adamw", 2e-3, 64)
