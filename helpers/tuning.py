"""Hyperparameter search with Optuna: the autoencoder's search space, TPE with pruning against random
and grid search, and studies stored in a real database, resumable up to a trial budget.

Run a worker on a stored study (several at once work on one study):
    python -m helpers.tuning --study ae-random-search --trials 5 [--profile quick]

By default a study lives in `results/<profile>/optuna.db` (SQLite, no server); `HW2_OPTUNA_STORAGE`
names any other database (e.g. a PostgreSQL server shared by several machines). A killed worker
leaves its finished trials in the database; its unfinished trial stops sending heartbeats and is
marked failed (and retried once) when a later worker starts on the study.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from .config import Profile, resolve_profile, results_dir
from .data import ImageSet, Splits, comparison_train, study_splits
from .models import AEConfig, AutoEncoder
from .results import slug
from .runtime import select_device
from .training import LossFn, NonFiniteLossError, TrainSpec, reconstruction_loss, train_model

STORAGE_ENV = "HW2_OPTUNA_STORAGE"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_SECONDS = 10
optuna.logging.set_verbosity(optuna.logging.WARNING)
GRACE_SECONDS = 30


def storage_url(run_dir: str | Path) -> str:
    """`HW2_OPTUNA_STORAGE`, else an SQLite file in the run's folder."""
    if os.environ.get(STORAGE_ENV):
        return os.environ[STORAGE_ENV]
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(run_dir).resolve() / 'optuna.db'}"


def open_study(name: str, run_dir: str | Path, *, sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None, direction: str = "minimize") -> optuna.Study:
    """Create the study, or load it (trials and all) when it already exists in the storage.

    Workers that start at the same moment on a new database can collide while creating its tables;
    the loser waits briefly and tries again."""
    from sqlalchemy.exc import SQLAlchemyError

    url = storage_url(run_dir)
    sqlite_wait = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None  # concurrent workers

    def connect() -> optuna.Study:
        with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
            warnings.simplefilter("ignore", ExperimentalWarning)
            storage = RDBStorage(url, engine_kwargs=sqlite_wait, heartbeat_interval=HEARTBEAT_SECONDS,
                                 grace_period=GRACE_SECONDS,
                                 heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
        return optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                   direction=direction, load_if_exists=True)

    for attempt in range(4):
        try:
            return connect()
        except SQLAlchemyError:
            time.sleep(0.5 * (attempt + 1))
    return connect()  # a fifth and last try; its error, if any, is the one to see


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



# ----------------------------------------------------------------------------- the search

# The code size stays at the hand-set model's 32: reconstruction error only falls as the code grows, so
# a free code size would simply be pushed to its largest value, and a fixed one keeps the tuned and the
# hand-set models comparable. Everything else that shapes training is searched.
LATENT_DIM = 32
BATCH_SIZES = (32, 64, 128)
OPTIMIZER_CHOICES = ("adam", "adamw", "rmsprop", "nesterov")
BASE_CHANNELS = (16, 32, 48)
GRID = {"lr": [3e-4, 1e-3, 3e-3], "weight_decay": [1e-6, 1e-3], "batch_size": [32, 128],
        "optimizer": ["adam", "adamw"], "base_channels": [16, 32], "dropout": [0.0, 0.1]}

# name -> (sampler, pruner); the study in the database is called "ae-<slug of the name>"
SEARCHES = {"TPE + median pruning": ("tpe", "median"), "TPE + Hyperband pruning": ("tpe", "hyperband"),
            "random search": ("random", None), "grid search": ("grid", None)}


def study_name(search: str) -> str:
    return f"ae-{slug(search)}"


def suggest(trial: optuna.Trial, epochs: int, seed: int) -> tuple[AEConfig, TrainSpec]:
    """One point of the search space (log scales for the learning rate and the weight decay)."""
    lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
    weight_decay = trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
    batch_size = trial.suggest_categorical("batch_size", BATCH_SIZES)
    optimizer = trial.suggest_categorical("optimizer", OPTIMIZER_CHOICES)
    base = trial.suggest_categorical("base_channels", BASE_CHANNELS)
    dropout = trial.suggest_float("dropout", 0.0, 0.3)
    cfg = AEConfig(channels=(base, 2 * base), latent_dim=LATENT_DIM, dropout=dropout)
    spec = TrainSpec(epochs=epochs, optimizer=optimizer, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
                     scheduler="cosine", seed=seed)
    return cfg, spec


def objective(splits: Splits, train: ImageSet, epochs: int, seed: int = 0, eval_batch_size: int = 2000,
              loss_fn: LossFn = reconstruction_loss) -> Callable[[optuna.Trial], float]:
    """Validation MSE after `epochs` epochs; reported every epoch so a pruner can stop a poor trial.

    A trial whose loss goes non-finite is recorded as pruned (its last finite report stands)."""
    def run(trial: optuna.Trial) -> float:
        cfg, spec = suggest(trial, epochs, seed)

        def report(row: dict) -> None:
            trial.report(row["val_loss"], row["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            _, history = train_model(lambda: AutoEncoder(cfg), loss_fn, train, splits.val, spec, model_key=None,
                                     mean=splits.mean, std=splits.std, eval_batch_size=eval_batch_size,
                                     progress=False, on_epoch=report)
        except NonFiniteLossError as err:
            trial.set_user_attr("non_finite", str(err))
            raise optuna.TrialPruned() from err
        return history.rows[-1]["val_loss"]
    return run


def make_sampler(kind: str, seed: int, budget: int = 40) -> optuna.samplers.BaseSampler:
    """Seeded samplers; TPE starts from random trials for a quarter of the budget (3 to 10)."""
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, budget // 4)))
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler(GRID, seed=seed)
    raise ValueError(f"Unknown sampler {kind!r}; choose tpe, random or grid.")


def make_pruner(kind: str | None, epochs: int) -> optuna.pruners.BasePruner:
    if kind is None:
        return optuna.pruners.NopPruner()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    raise ValueError(f"Unknown pruner {kind!r}; choose median, hyperband or None.")


def open_search(search: str, profile: Profile, run_dir: str | Path) -> optuna.Study:
    """The stored study of one of `SEARCHES`, with its sampler and pruner."""
    if search not in SEARCHES:
        raise ValueError(f"Unknown search {search!r}; choose one of: {', '.join(SEARCHES)}.")
    sampler, pruner = SEARCHES[search]
    return open_study(study_name(search), run_dir, sampler=make_sampler(sampler, profile.seed, profile.trials),
                      pruner=make_pruner(pruner, profile.trial_epochs))


def run_searches(profile: Profile, splits: Splits, train: ImageSet, run_dir: str | Path,
                 eval_batch_size: int = 2000) -> dict[str, optuna.Study]:
    """Every search of `SEARCHES` at the same trial budget and epochs per trial (resumed where stored)."""
    studies = {}
    for search in SEARCHES:
        study = open_search(search, profile, run_dir)
        ran = run_to_budget(study, objective(splits, train, profile.trial_epochs, profile.seed, eval_batch_size),
                            profile.trials)
        print(f"[cache] {search}: {'reused' if ran == 0 else f'ran {ran} trials'}, "
              f"{finished_trials(study)} finished, best validation MSE {study.best_value:.5f}")
        studies[search] = study
    return studies


# ----------------------------------------------------------------------------- reading a study


def progress(study: optuna.Study) -> dict[str, list[float]]:
    """Per finished trial, in order: best value so far and cumulative wall-clock seconds."""
    trials = sorted(study.get_trials(deepcopy=False, states=FINISHED), key=lambda t: t.number)
    best, seconds, elapsed, low = [], [], 0.0, math.inf
    for t in trials:
        elapsed += t.duration.total_seconds() if t.duration else 0.0
        if t.state == TrialState.COMPLETE:
            low = min(low, t.value)
        best.append(low)
        seconds.append(elapsed)
    return {"best": best, "seconds": seconds}


def seconds_to_reach(study: optuna.Study, target: float) -> float | None:
    """Cumulative trial seconds at which the study's best value first reached `target` (None: never)."""
    curve = progress(study)
    return next((s for b, s in zip(curve["best"], curve["seconds"]) if b <= target), None)


def summary(study: optuna.Study) -> dict:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    curve = progress(study)
    return {"best_value": study.best_value, "best_params": study.best_params,
            "complete": states.count(TrialState.COMPLETE), "pruned": states.count(TrialState.PRUNED),
            "failed": states.count(TrialState.FAIL), "seconds": curve["seconds"][-1] if curve["seconds"] else 0.0}


def best_model(study: optuna.Study, epochs: int, seed: int) -> tuple[AEConfig, TrainSpec]:
    """The configuration of the study's best trial, trained for `epochs`."""
    cfg, spec = suggest(optuna.trial.FixedTrial(study.best_params), epochs, seed)
    return cfg, replace(spec, epochs=epochs)


# ----------------------------------------------------------------------------- worker command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run trials of a stored autoencoder search.")
    parser.add_argument("--study", required=True, help=f"one of: {', '.join(study_name(s) for s in SEARCHES)}")
    parser.add_argument("--trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--profile", default=None, help="smoke, quick or full (default: as the notebook)")
    args = parser.parse_args(argv)
    searches = {study_name(s): s for s in SEARCHES}
    if args.study not in searches or args.trials < 1:
        parser.error(f"--study must be one of {', '.join(searches)} and --trials >= 1")
    profile = resolve_profile(args.profile)
    splits = study_splits(profile, select_device())
    study = open_search(searches[args.study], profile, results_dir(profile))
    study.optimize(objective(splits, comparison_train(splits, profile), profile.trial_epochs, profile.seed,
                             profile.eval_batch_size), n_trials=args.trials)
    print(f"{args.study}: {finished_trials(study)} finished trials, best {study.best_value:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
