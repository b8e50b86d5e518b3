"""Hyperparameter search with Optuna: the autoencoder's search space, TPE with pruning against random
and grid search, and studies stored in a real database, resumable up to a trial budget.

The search selects at the final budget, in two stages, so that neither short trials nor a small data set
decide the choice. Stage 1: four Optuna searches (TPE with median or Hyperband pruning, random, grid) on
a class-balanced subset of the training split; a trial that is never pruned trains as many epochs as the
final model (section 1's `ae_epochs`, its cosine schedule over that horizon), and every search starts from
section 1's hand-set configuration (enqueued as trial 0). Stage 2 (successive halving along the data): the
best few configurations of stage 1 are trained exactly like the final model, on the whole training split,
and the lowest validation MSE there, the hand-set model included, is the tuned configuration. Stage 1
alone is not enough: a subset rewards regularization (dropout, weight decay) that stops paying on more data.

Trials are cached runs: a configuration trained by one search is reused, not retrained, by another (TPE's
first random trials are random search's, same seed), and each trial is charged its own training seconds
whoever trained it, so sharing does not flatter any search's time.

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
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from .autoencoder import HAND_SET, hand_set_spec, mse, train_autoencoder
from .config import Profile, resolve_profile, results_dir
from .data import ImageSet, Splits, fingerprint, search_train, study_splits
from .models import AEConfig, AutoEncoder
from .results import config_hash, forced, markdown_table, slug
from .runtime import select_device
from .training import (LossFn, NonFiniteLossError, Run, TrainSpec, cross_validate, reconstruction_loss, train_model,
                       training_speed)

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
               pruner: optuna.pruners.BasePruner | None = None, direction: str = "minimize",
               on_create: Callable[[optuna.Study], None] | None = None) -> optuna.Study:
    """Create the study, or load it (trials and all) when it already exists in the storage.

    `on_create(study)` runs in the one process that creates the study: creation is atomic in the database
    (study names are unique), so of several workers starting on a new study exactly one runs it.
    Workers that start at the same moment on a new database can collide while creating its tables;
    the loser waits briefly and tries again."""
    from sqlalchemy.exc import SQLAlchemyError

    url = storage_url(run_dir)
    sqlite = url.startswith("sqlite")
    # concurrent workers wait for SQLite's lock; pysqlite leaves transactions to _serialize_sqlite
    engine_kwargs = {"connect_args": {"timeout": 60, "isolation_level": None}} if sqlite else None

    def connect() -> optuna.Study:
        with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
            warnings.simplefilter("ignore", ExperimentalWarning)
            storage = RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_SECONDS,
                                 grace_period=GRACE_SECONDS,
                                 heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
        if sqlite:
            _serialize_sqlite(storage.engine)
        try:
            study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                        direction=direction)
        except optuna.exceptions.DuplicatedStudyError:
            return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        if on_create is not None:
            on_create(study)
        return study

    for attempt in range(4):
        try:
            return connect()
        except SQLAlchemyError:
            time.sleep(0.5 * (attempt + 1))
    return connect()  # a fifth and last try; its error, if any, is the one to see


def _serialize_sqlite(engine) -> None:
    """Begin every transaction with BEGIN IMMEDIATE, SQLite's write lock.

    Optuna hands a waiting trial (an enqueued one, or a stale one queued again) to one worker by reading it
    with SELECT ... FOR UPDATE and then marking it running; SQLite ignores FOR UPDATE, so two workers could
    both read it as waiting and both run it (the second then fails to report: "Cannot tell a COMPLETE
    trial"). Taking the lock when the transaction begins makes the read and the write one step. Other
    databases (PostgreSQL) honour FOR UPDATE and need nothing."""
    from sqlalchemy import event

    @event.listens_for(engine, "begin")
    def begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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



# ----------------------------------------------------------------------------- the search space

# The code size stays at the hand-set model's 32: reconstruction error only falls as the code grows, so
# a free code size would simply be pushed to its largest value, and a fixed one keeps the tuned and the
# hand-set models comparable. Everything else that shapes training is searched. Weight decay takes
# decades with 0 (off) among them, so the hand-set configuration (no weight decay) is a point of the space.
LATENT_DIM = 32
LR_RANGE = (1e-4, 1e-2)
WEIGHT_DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)
BATCH_SIZES = (32, 64, 128)
OPTIMIZER_CHOICES = ("adam", "adamw", "rmsprop", "nesterov")
BASE_CHANNELS = (16, 32, 48)
DROPOUT_RANGE = (0.0, 0.3)
GRID = {"lr": [1e-3, 2e-3, 4e-3], "weight_decay": [0.0, 1e-3], "batch_size": [32, 128],
        "optimizer": ["adam", "adamw"], "base_channels": [16, 32], "dropout": [0.0, 0.1]}
SPACE_VERSION = 2  # bump when the space or the objective changes: stored studies of the old one are not continued

# name -> (sampler, pruner); the study in the database is called "ae-<slug of the name>-<settings key>"
SEARCHES = {"TPE + median pruning": ("tpe", "median"), "TPE + Hyperband pruning": ("tpe", "hyperband"),
            "random search": ("random", None), "grid search": ("grid", None)}


def study_name(search: str) -> str:
    return f"ae-{slug(search)}"


def suggest(trial: optuna.Trial, epochs: int, seed: int) -> tuple[AEConfig, TrainSpec]:
    """One point of the search space (log scale for the learning rate), trained for `epochs` with a cosine
    schedule over them."""
    lr = trial.suggest_float("lr", *LR_RANGE, log=True)
    weight_decay = trial.suggest_categorical("weight_decay", WEIGHT_DECAYS)
    batch_size = trial.suggest_categorical("batch_size", BATCH_SIZES)
    optimizer = trial.suggest_categorical("optimizer", OPTIMIZER_CHOICES)
    base = trial.suggest_categorical("base_channels", BASE_CHANNELS)
    dropout = trial.suggest_float("dropout", *DROPOUT_RANGE)
    cfg = AEConfig(channels=(base, 2 * base), latent_dim=LATENT_DIM, dropout=dropout)
    spec = TrainSpec(epochs=epochs, optimizer=optimizer, lr=lr, weight_decay=weight_decay, batch_size=batch_size,
                     scheduler="cosine", seed=seed)
    return cfg, spec


def configuration(params: dict, epochs: int, seed: int) -> tuple[AEConfig, TrainSpec]:
    """The (config, spec) of a trial's parameters."""
    return suggest(optuna.trial.FixedTrial(params), epochs, seed)


def start_params(cfg: AEConfig, spec: TrainSpec) -> dict:
    """The search-space point of a configuration (for `enqueue_trial`); a clear error when it is not one."""
    params = {"lr": spec.lr, "weight_decay": spec.weight_decay, "batch_size": spec.batch_size,
              "optimizer": spec.optimizer, "base_channels": cfg.channels[0], "dropout": cfg.dropout}
    problems = [f"{name} = {params[name]!r} is not one of {choices}"
                for name, choices in (("weight_decay", WEIGHT_DECAYS), ("batch_size", BATCH_SIZES),
                                      ("optimizer", OPTIMIZER_CHOICES), ("base_channels", BASE_CHANNELS))
                if params[name] not in choices]
    problems += [f"{name} = {params[name]!r} is outside {bounds}" for name, bounds in
                 (("lr", LR_RANGE), ("dropout", DROPOUT_RANGE)) if not bounds[0] <= params[name] <= bounds[1]]
    if not problems and configuration(params, spec.epochs, spec.seed) != (cfg, spec):
        problems.append("its other settings differ from what every trial uses (channels (b, 2b), code size "
                        f"{LATENT_DIM}, kernel 3, batch norm, cosine schedule, no augmentation)")
    if problems:
        raise ValueError("The start configuration is not a point of the search space: " + "; ".join(problems)
                         + ". Change the configuration, or the space in helpers/tuning.py.")
    return params


# ----------------------------------------------------------------------------- what the searches share


@dataclass(frozen=True)
class Search:
    """What every search of a run shares: the data, the start point (which also fixes the final budget: its
    epochs, on the whole training split), the trial budget, and where trials are cached."""

    splits: Splits
    train: ImageSet  # the training images of every trial of stage 1 (a subset of the training split)
    start: tuple[AEConfig, TrainSpec]
    trials: int  # trial budget of each search
    folds: int  # k of the cross-validated comparison of the start and the tuned configuration (whole training split)
    run_dir: Path | None = None  # trials are cached runs under run_dir/runs/ (None: not cached)
    eval_batch_size: int = 2000
    finalists: int = 2  # configurations of stage 1 trained at the final budget in stage 2

    @property
    def epochs(self) -> int:
        """The final budget: epochs of an unpruned trial, of each fold, and of the final model."""
        return self.start[1].epochs

    @property
    def seed(self) -> int:
        return self.start[1].seed

    @cached_property
    def start_params(self) -> dict:
        return start_params(*self.start)

    @cached_property
    def key(self) -> str:
        """Settings a stored study belongs to: a study made with other data, budget, start or training precision is not
        continued."""
        return config_hash("ae-search", SPACE_VERSION, fingerprint(self.train), fingerprint(self.splits.val),
                           self.splits.mean, self.splits.std, self.epochs, self.seed, self.start_params,
                           training_speed(self.train.device))


def make_search(profile: Profile, splits: Splits, run_dir: str | Path | None,
                start: tuple[AEConfig, TrainSpec] | None = None) -> Search:
    """The searches of a profile: its search images, trial budget and folds, from section 1's hand-set model."""
    start = start or (HAND_SET, hand_set_spec(profile))
    return Search(splits, search_train(splits, profile), start, profile.trials, profile.search_folds,
                  Path(run_dir) if run_dir is not None else None, profile.eval_batch_size, profile.search_finalists)


def objective(search: Search, loss_fn: LossFn = reconstruction_loss) -> Callable[[optuna.Trial], float]:
    """Validation MSE after the final budget's epochs, reported every epoch so a pruner can stop a poor trial.

    Each trial records the epochs it trained and their seconds (user attributes `epochs`, `seconds`): a trial
    reused from the run cache is charged the seconds it cost when it was trained. A trial whose loss goes
    non-finite is recorded as pruned (its last finite report stands)."""
    def run(trial: optuna.Trial) -> float:
        cfg, spec = suggest(trial, search.epochs, search.seed)

        def report(row: dict) -> None:
            trial.set_user_attr("epochs", row["epoch"])
            trial.set_user_attr("seconds", row["seconds"])
            trial.report(row["val_loss"], row["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {row['epoch']}")

        try:
            _, history = train_model(lambda: AutoEncoder(cfg), loss_fn, search.train, search.splits.val, spec,
                                     model_key=("search trial", cfg.as_dict(), getattr(loss_fn, "__qualname__", "")),
                                     run_dir=search.run_dir, desc="search trial", mean=search.splits.mean,
                                     std=search.splits.std, eval_batch_size=search.eval_batch_size, progress=False,
                                     announce=False, on_epoch=report)
        except NonFiniteLossError as err:
            trial.set_user_attr("non_finite", str(err))
            raise optuna.TrialPruned() from err
        return history.rows[-1]["val_loss"]
    return run


def make_sampler(kind: str, seed: int, budget: int = 40) -> optuna.samplers.BaseSampler:
    """Seeded samplers; TPE (multivariate, Optuna's default for one objective) starts from random trials for a
    quarter of the budget (3 to 10), the enqueued start trial included."""
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, budget // 4)))
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler(GRID, seed=seed)
    raise ValueError(f"Unknown sampler {kind!r}; choose tpe, random or grid.")


def make_pruner(kind: str | None, epochs: int) -> optuna.pruners.BasePruner:
    """Median pruning from the fourth trial on, from the first epoch; Hyperband from one epoch up to the final
    budget, keeping a third at each rung."""
    if kind is None:
        return optuna.pruners.NopPruner()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    raise ValueError(f"Unknown pruner {kind!r}; choose median, hyperband or None.")


def open_search(name: str, search: Search) -> optuna.Study:
    """The stored study of one of `SEARCHES` for these settings, with its sampler and pruner, its first trial
    the start configuration (enqueued once, by whichever process creates the study)."""
    if name not in SEARCHES:
        raise ValueError(f"Unknown search {name!r}; choose one of: {', '.join(SEARCHES)}.")
    if search.run_dir is None and not os.environ.get(STORAGE_ENV):
        raise ValueError("A stored search needs a run_dir (or HW2_OPTUNA_STORAGE) for its database.")
    sampler, pruner = SEARCHES[name]
    return open_study(f"{study_name(name)}-{search.key}", search.run_dir or ".",
                      sampler=make_sampler(sampler, search.seed, search.trials), pruner=make_pruner(pruner, search.epochs),
                      on_create=lambda study: study.enqueue_trial(search.start_params))


def run_searches(search: Search) -> dict[str, optuna.Study]:
    """Every search of `SEARCHES` at the same trial budget and final budget (continued where stored;
    `HW2_FORCE=1` starts them anew)."""
    studies = {}
    for name in SEARCHES:
        if forced():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    optuna.delete_study(study_name=f"{study_name(name)}-{search.key}",
                                        storage=storage_url(search.run_dir or "."))
                except KeyError:
                    pass
        study = open_search(name, search)
        ran = run_to_budget(study, objective(search), search.trials)
        print(f"[cache] {name}: {'reused' if ran == 0 else f'ran {ran} trials'}, "
              f"{finished_trials(study)} finished, best validation MSE {study.best_value:.5f}")
        studies[name] = study
    return studies


# ----------------------------------------------------------------------------- reading a study


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return sorted(study.get_trials(deepcopy=False, states=FINISHED), key=lambda t: t.number)


def trial_seconds(trial: optuna.trial.FrozenTrial) -> float:
    """Training seconds of the epochs a trial ran (its wall-clock duration for a trial that did not record them)."""
    if "seconds" in trial.user_attrs:
        return float(trial.user_attrs["seconds"])
    return trial.duration.total_seconds() if trial.duration else 0.0


def trial_epochs(trial: optuna.trial.FrozenTrial) -> int:
    """Epochs a trial trained before it completed or was pruned."""
    return int(trial.user_attrs.get("epochs", len(trial.intermediate_values)))


def progress(study: optuna.Study) -> dict[str, list]:
    """Per finished trial, in order: best value so far, cumulative training seconds and epochs, the trial's own
    value (a pruned trial's last report; None when it reported nothing) and whether it was pruned."""
    curve = {"best": [], "seconds": [], "epochs": [], "value": [], "pruned": []}
    low, elapsed, trained = math.inf, 0.0, 0
    for t in _finished(study):
        elapsed += trial_seconds(t)
        trained += trial_epochs(t)
        pruned = t.state == TrialState.PRUNED
        if not pruned:
            low = min(low, t.value)
        last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
        for key, item in zip(curve, (low, elapsed, trained, last if pruned else t.value, pruned)):
            curve[key].append(item)
    return curve


def seconds_to_reach(study: optuna.Study, target: float) -> float | None:
    """Cumulative trial seconds at which the study's best value first reached `target` (None: never)."""
    curve = progress(study)
    return next((s for b, s in zip(curve["best"], curve["seconds"]) if b <= target), None)


def summary(study: optuna.Study) -> dict:
    """Best value, parameters and trial; trials completed (trained to the final budget), pruned and failed;
    epochs and training seconds spent on finished trials."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    curve = progress(study)
    best = study.best_trial
    return {"best_value": best.value, "best_params": best.params, "best_trial": best.number,
            "complete": states.count(TrialState.COMPLETE), "pruned": states.count(TrialState.PRUNED),
            "failed": states.count(TrialState.FAIL), "epochs": curve["epochs"][-1] if curve["epochs"] else 0,
            "seconds": curve["seconds"][-1] if curve["seconds"] else 0.0}


def choose(rows: dict[str, dict], among: list[str] | None = None) -> str:
    """The search with the lowest best value; ties go to fewer epochs trained, then to the order of `rows`.
    Nothing here depends on timing, so identical results always make the same choice."""
    names = list(rows) if among is None else among
    return min(names, key=lambda n: (rows[n]["best_value"], rows[n]["epochs"], list(rows).index(n)))


def start_value(study: optuna.Study, params: dict) -> float | None:
    """Validation MSE of the start configuration in a study (None: it has not completed there)."""
    return next((t.value for t in _finished(study) if t.params == params and t.state == TrialState.COMPLETE), None)


def compare_searches(studies: dict[str, optuna.Study], search: Search) -> dict:
    """Everything section 2 reports about the searches, for `metrics.json` → `search`."""
    rows = {name: summary(study) for name, study in studies.items()}
    kept = choose(rows, [n for n in rows if SEARCHES[n][0] == "tpe"])
    random_best, random_seconds = rows["random search"]["best_value"], rows["random search"]["seconds"]
    reach = seconds_to_reach(studies[kept], random_best)
    start = start_value(studies["random search"], search.start_params)
    return {"trials": search.trials, "epochs_per_trial": search.epochs, "images": len(search.train),
            "unpruned_epochs": search.trials * search.epochs, "start_value": start, "start_params": search.start_params,
            **{slug(name): row for name, row in rows.items()}, "names": {slug(n): n for n in rows},
            "kept": kept, "chosen": choose(rows), "tpe_seconds_to_random_best": reach, "random_seconds": random_seconds,
            "tpe_time_ratio": reach / random_seconds if reach is not None and random_seconds else None,
            "random_improved_on_start": start is not None and random_best < start,
            "any_improved_on_start": start is not None and any(r["best_value"] < start for r in rows.values())}


def search_table(found: dict) -> str:
    """Markdown table: per search, best value and trial, how its trials ended, epochs and seconds spent."""
    rows = [(name, found[key]["best_value"], found[key]["best_trial"], found[key]["complete"], found[key]["pruned"],
             found[key]["failed"], f"{found[key]['epochs']} / {found['unpruned_epochs']}", f"{found[key]['seconds']:.0f}")
            for key, name in found["names"].items()]
    return markdown_table(["search", "best validation MSE", "best trial", "trained to the end", "pruned", "failed",
                           "epochs trained / unpruned", "seconds"], rows)


def search_findings(found: dict) -> str:
    """The "Measured:" paragraph on how the budget was spent and how the searches compare."""
    names, kept = found["names"], found["kept"]
    spent = "; ".join(f"{n} trained {found[k]['epochs']} epochs ({found[k]['pruned']} of its trials pruned)"
                      for k, n in names.items())
    start = found["start_value"]
    text = (f"**Measured:** each search had {found['trials']} trials of up to {found['epochs_per_trial']} epochs on "
            f"{found['images']:,} images, {found['unpruned_epochs']} epochs if nothing were pruned: {spent}. "
            f"The hand-set start (trial 0 of every search) scores {start:.5f}. ")
    if not found["any_improved_on_start"]:
        return text + "No search found a configuration better than the hand-set start at this budget."
    ratio, reach = found["tpe_time_ratio"], found["tpe_seconds_to_random_best"]
    text += (f"*{kept}* is the TPE search kept (lower best value; ties: fewer epochs). Random search's final best, "
             f"{found[slug('random search')]['best_value']:.5f}, took it {found['random_seconds']:.0f} s of trials; ")
    if reach is None:
        text += f"{kept} does not reach it within its budget."
    else:
        text += f"{kept} reaches it after {reach:.0f} s, {ratio:.2f} of random search's time."
    if not found["random_improved_on_start"]:
        text += " (Random search never improved on the start, so that comparison is only about the start trial.)"
    return text


# ----------------------------------------------------------------------------- stage 2: the final budget


def finalists(studies: dict[str, optuna.Study], search: Search) -> list[dict]:
    """The best `search.finalists` distinct configurations of all searches (completed trials, lowest value
    first; ties: order of `SEARCHES`, then trial number), the start configuration left out (it is in anyway)."""
    seen, ranked = [search.start_params], []
    trials = [(t.value, i, t.number, name, t.params) for i, (name, study) in enumerate(studies.items())
              for t in _finished(study) if t.state == TrialState.COMPLETE]
    for value, _, number, name, params in sorted(trials, key=lambda item: item[:3]):
        if params not in seen and len(ranked) < search.finalists:
            seen.append(params)
            ranked.append({"params": params, "search": name, "trial": number, "search_value": value})
    return ranked


def promote(studies: dict[str, optuna.Study], search: Search) -> tuple[dict, dict[str, Run]]:
    """Stage 2: every finalist is trained like the final model (the whole training split, the final budget's
    epochs, the start's seed) and scored on the validation split beside the start configuration's run at that
    budget (section 1's model: the same cached run). The tuned configuration is the lowest there; the start
    wins ties. Returns the rows (for `metrics.json`) and the runs by name ("hand-set", "finalist 1", ...)."""
    splits = search.splits
    runs = {"hand-set": train_autoencoder(*search.start, splits, eval_batch_size=search.eval_batch_size,
                                          desc="autoencoder", run_dir=search.run_dir)}
    rows = {"hand-set": {"params": search.start_params, "search": "start", "trial": 0,
                         "search_value": start_value(next(iter(studies.values())), search.start_params)}}
    for rank, finalist in enumerate(finalists(studies, search), start=1):
        name = f"finalist {rank}"
        runs[name] = train_autoencoder(*configuration(finalist["params"], search.epochs, search.seed), splits,
                                       eval_batch_size=search.eval_batch_size, desc="finalist", run_dir=search.run_dir)
        rows[name] = finalist
    for name, run in runs.items():
        rows[name].update(val_mse=run.history.kept["val_loss"], seconds=run.history.rows[-1]["seconds"])
    chosen = min(rows, key=lambda n: (rows[n]["val_mse"], list(rows).index(n)))
    return {"epochs": search.epochs, "images": len(splits.train), "finalists": len(rows) - 1, "rows": rows,
            "chosen": chosen, "tuned_is_hand_set": chosen == "hand-set"}, runs


def promotion_table(promoted: dict) -> str:
    """Markdown table: the start and each finalist, on the search images and at the final budget."""
    rows = [(name, "section 1" if name == "hand-set" else f"{r['search']}, trial {r['trial']}", r["search_value"],
             r["val_mse"], f"{r['seconds']:.0f}", "chosen" if name == promoted["chosen"] else "")
            for name, r in promoted["rows"].items()]
    return markdown_table(["configuration", "found by", "validation MSE in the search",
                           f"validation MSE at the final budget ({promoted['images']:,} images)", "seconds", ""], rows,
                          digits=5)


def final_comparison(search: Search, promoted: dict, runs: dict[str, Run]) -> dict:
    """The start (hand-set) and tuned configurations at the final budget: k-fold cross-validated MSE on the
    whole training split (`search.folds` folds, the final budget's epochs each) and the test MSE of each
    trained on the whole training split (the runs of `promote`). When the search kept the start
    configuration, nothing is trained twice."""
    chosen = promoted["chosen"]
    tuned_params = promoted["rows"][chosen]["params"]
    tuned_model = configuration(tuned_params, search.epochs, search.seed)
    candidates = {"hand-set": search.start} if chosen == "hand-set" else {"hand-set": search.start,
                                                                          "tuned": tuned_model}
    splits = search.splits
    cv = {name: cross_validate(lambda cfg=cfg: AutoEncoder(cfg), reconstruction_loss, splits.train, spec,
                               k=search.folds, seed=search.seed, mean=splits.mean, std=splits.std,
                               name=f"CV {name}", model_key=cfg.as_dict(), run_dir=search.run_dir,
                               eval_batch_size=search.eval_batch_size)
          for name, (cfg, spec) in candidates.items()}
    cv.setdefault("tuned", cv["hand-set"])
    test = {"hand-set": mse(runs["hand-set"].model, splits.test, splits, search.eval_batch_size),
            "tuned": mse(runs[chosen].model, splits.test, splits, search.eval_batch_size)}
    stats = {name: {"mean": float(np.mean(s)), "std": float(np.std(s)), "folds": s} for name, s in cv.items()}
    return {"folds": search.folds, "epochs": search.epochs, "images": len(splits.train), "chosen": chosen,
            "tuned_is_hand_set": chosen == "hand-set", "tuned_config": tuned_model[0].as_dict(),
            "tuned_params": tuned_params, "chosen_from": promoted["rows"][chosen]["search"],
            "hand_set_mean": stats["hand-set"]["mean"], "hand_set_std": stats["hand-set"]["std"],
            "tuned_mean": stats["tuned"]["mean"], "tuned_std": stats["tuned"]["std"], "cv": stats,
            "tuned_beats_hand_set": stats["tuned"]["mean"] < stats["hand-set"]["mean"],
            "folds_tuned_lower": sum(t < h for t, h in zip(cv["tuned"], cv["hand-set"])),  # the same folds: paired
            "tuned_test_mse": test["tuned"], "hand_set_test_mse": test["hand-set"],
            "tuned_beats_hand_set_test": test["tuned"] < test["hand-set"],
            "hand_set_val_mse": promoted["rows"]["hand-set"]["val_mse"],
            "tuned_val_mse": promoted["rows"][chosen]["val_mse"]}


def final_table(found: dict) -> str:
    return markdown_table(
        ["configuration", f"{found['folds']}-fold CV MSE (mean)", "std", "test MSE (whole training split)"],
        [("hand-set (section 1)", found["hand_set_mean"], found["hand_set_std"], found["hand_set_test_mse"]),
         ("tuned", found["tuned_mean"], found["tuned_std"], found["tuned_test_mse"])], digits=5)


def final_findings(found: dict, promoted: dict) -> str:
    """The "Measured:" sentences of stage 2 and of the comparison at the final budget."""
    rows = promoted["rows"]
    others = [n for n in rows if n != "hand-set"]
    if not others:
        return ("**Measured:** no search found a configuration other than the hand-set start, so the tuned model "
                f"is section 1's (test MSE {found['hand_set_test_mse']:.6f}).")
    if found["tuned_is_hand_set"]:
        beaten = ", ".join(f"{n} ({rows[n]['val_mse']:.6f})" for n in others)
        return (f"**Measured:** at the final budget no finalist beats the hand-set configuration on the validation "
                f"split ({rows['hand-set']['val_mse']:.6f} against {beaten}), although "
                f"{'they' if len(others) > 1 else 'it'} scored better on the search images: the search's advantage "
                f"did not carry over to the whole training split, and the tuned model is section 1's "
                f"(test MSE {found['hand_set_test_mse']:.6f}).")
    cv_word = "lower" if found["tuned_beats_hand_set"] else "higher"
    test_word = "lower" if found["tuned_beats_hand_set_test"] else "higher"
    change = 100 * (found["tuned_test_mse"] / found["hand_set_test_mse"] - 1)
    cv_change = 100 * (found["tuned_mean"] / found["hand_set_mean"] - 1)
    return (f"**Measured:** at the final budget {found['chosen']} (found by {found['chosen_from']}) has the lowest "
            f"validation MSE ({found['tuned_val_mse']:.6f} against {found['hand_set_val_mse']:.6f} for the hand-set "
            f"configuration) and becomes the tuned model. Its {found['folds']}-fold cross-validated MSE at that "
            f"budget is {cv_word} ({found['tuned_mean']:.6f} ± {found['tuned_std']:.6f} against "
            f"{found['hand_set_mean']:.6f} ± {found['hand_set_std']:.6f}, {cv_change:+.1f}%; lower in "
            f"{found['folds_tuned_lower']} of {found['folds']} folds), and its test MSE is {test_word} "
            f"({found['tuned_test_mse']:.6f} against {found['hand_set_test_mse']:.6f}, {change:+.1f}%)."
            + (f" The cross-validated difference ({abs(found['tuned_mean'] - found['hand_set_mean']):.6f}) is smaller "
               f"than the spread between folds: at this budget the search confirms the hand-set configuration more "
               f"than it improves on it." if abs(found["tuned_mean"] - found["hand_set_mean"]) <
               max(found["tuned_std"], found["hand_set_std"]) else ""))


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
    search = make_search(profile, splits, results_dir(profile))
    study = open_search(searches[args.study], search)
    study.optimize(objective(search), n_trials=args.trials, catch=(NonFiniteLossError,))
    print(f"{args.study}: {finished_trials(study)} finished trials, best {study.best_value:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
