"""Hyperparameter search with Optuna: studies stored in a real database, resumable up to a trial budget.

By default a study lives in `results/<profile>/optuna.db` (SQLite, no server); `HW2_OPTUNA_STORAGE`
names any other database (e.g. a PostgreSQL server shared by several machines). A killed worker
leaves its finished trials in the database; its unfinished trial stops sending heartbeats and is
marked failed (and retried once) when a later worker starts on the study.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from .training import NonFiniteLossError

STORAGE_ENV = "HW2_OPTUNA_STORAGE"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 30


def storage_url(run_dir: str | Path) -> str:
    """`HW2_OPTUNA_STORAGE`, else an SQLite file in the run's folder."""
    if os.environ.get(STORAGE_ENV):
        return os.environ[STORAGE_ENV]
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(run_dir).resolve() / 'optuna.db'}"


def open_study(name: str, run_dir: str | Path, *, sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None, direction: str = "minimize") -> optuna.Study:
    """Create the study, or load it (trials and all) when it already exists in the storage."""
    url = storage_url(run_dir)
    sqlite_wait = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None  # concurrent workers
    with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
        warnings.simplefilter("ignore", ExperimentalWarning)
        storage = RDBStorage(url, engine_kwargs=sqlite_wait, heartbeat_interval=HEARTBEAT_SECONDS,
                             grace_period=GRACE_SECONDS,
                             heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    return optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                               direction=direction, load_if_exists=True)


def finished_trials(study: optuna.Study) -> int:
    """Trials that ran to the end, completed or pruned (failed and still-running ones do not count)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def run_to_budget(study: optuna.Study, objective: Callable[[optuna.Trial], float], budget: int) -> int:
    """Run trials until the study holds `budget` finished ones; returns how many this call ran.

    A trial whose loss goes non-finite is recorded as failed and the search goes on.
    """
    before = finished_trials(study)
    for _ in range(3):  # failed trials do not count: make up for them, a bounded number of times
        missing = budget - finished_trials(study)
        if missing <= 0:
            break
        study.optimize(objective, n_trials=missing, catch=(NonFiniteLossError,))
    return finished_trials(study) - before
