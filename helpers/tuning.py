"""Hyperparameter search with Optuna: the autoencoder's search space around section 1's hand-set configuration,
a measured fidelity, TPE against random search (both with Hyperband pruning) and grid search over several
sampler seeds, studies stored on disk and resumable up to a trial budget, and a paired cross-validation of the
search's best against the hand-set configuration.

The fidelity check comes first: the hand-set configuration and configurations spread over the space are trained
as stage-1 trials (a class-balanced subset, a short horizon) and at the final budget, and Spearman's rank
correlation between the two is measured after each epoch of a trial. Hyperband's first rung is the first epoch
that ranks configurations as the final budget does (rho >= `FIDELITY_TARGET`); a trial is never stopped earlier.

Stage 1: TPE and random search, each with Hyperband and each run once per sampler seed (the profile's
`sampler_seeds`), and grid search, run once (it has no seed to vary) without pruning. Every study has the same
trial budget and starts from the hand-set configuration (enqueued as trial 0). A trial that is not pruned trains
the trial horizon (the profile's `search_epochs`) and is scored by its validation MSE at the end. Stage 2: the
best few configurations of all studies are trained exactly like the final model (section 1's `ae_epochs` on the
whole training split), and the lowest validation MSE there, the hand-set model included, is the configuration
the later sections use. Then the best of them other than the hand-set one and the hand-set one are compared in a
paired k-fold cross-validation at the final budget (the same folds for both) and on the test set.

Several sampler seeds show how much a search's result owes to its luck: the searches are compared by the
median of their best values over seeds, with the range.

Trials are cached runs: a configuration trained by one study (or by the fidelity check) is reused, not retrained,
by another (the start in every study; TPE's first random trials are random search's with the same sampler seed;
the order of the training data is the start's seed in all of them, only the sampler's seed differs), and each
trial is charged its own training seconds whoever trained it, so sharing does not flatter any search's time.

Run a worker on a stored study (several at once work on one study; `--decoder resize` when section 1 chose
that decoder, since the start configuration is part of a study's settings):
    python -m helpers.tuning --study ae-random-search-hyperband --seed 1 --trials 5 [--profile quick]
        [--decoder resize] [--min-resource N]

Where the studies live and how a killed worker's trial is retried: `helpers.studies`.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from .autoencoder import AUGMENTATION, HAND_SET, Autoencoder, hand_set_spec, mse, train_autoencoder
from .config import ConfigError, Profile, int_option, resolve_dataset, resolve_profile, results_dir
from .context import Context, Shown
from .data import DataError, ImageSet, Splits, balanced_train, fingerprint, search_train, study_splits
from .findings import search as search_text
from .findings.words import plus_minus, sig
from .models import DECODERS, AEConfig, AutoEncoder, count_parameters
from .results import ResultsError, config_hash, forced, load_metrics, markdown_table, slug
from .runtime import select_device
from .studies import (FINISHED, STORAGE_ENV, finished_trials, importances, open_study, reported_trial,
                      run_to_budget, run_trials, study_cost, study_storage, trial_value)
from .statistics import paired_difference, rank_correlation
from .training import (Arm, LossFn, NonFiniteLossError, Run, TrainSpec, paired_cross_validate, reconstruction_loss,
                       train_model, training_speed)


# ----------------------------------------------------------------------------- the search space

# How the autoencoder trains and how wide it is are searched, around section 1's hand-set configuration, which is an
# interior point: every numeric start value lies strictly inside its range and every categorical choice offers other
# values (`check_interior`). The code size (the study's variable, not a knob: the reconstruction error only falls as
# the code grows), the kernel, batch norm and the decoder are the start's. The learning rate is Adam's step at the
# start's batch size, scaled by the square root of the batch-size factor. AdamW always decays its weights (AdamW at
# weight decay 0 would be Adam, the same update twice). Dropout, which did not lower section 1's validation loss, is
# not searched; augmentation, which did, is.
LR_RANGE = (4e-4, 1e-2)
BATCH_FACTORS = (0.5, 1.0, 2.0, 4.0)  # x the start's batch size
SCHEDULES = ("cosine", "warmup_cosine", "onecycle")  # over each run's own epochs
OPTIMIZER_CHOICES = ("adam", "adamw")
WEIGHT_DECAY_RANGE = (1e-4, 1e-1)  # AdamW's decoupled weight decay, log scale
BASE_CHANNELS = (16, 32, 48, 64)  # channels (b, 2b)
AUGMENTATIONS = {"off": None, "flip + shift 2 px": AUGMENTATION}
NUMERIC = {"lr": LR_RANGE, "batch_factor": (min(BATCH_FACTORS), max(BATCH_FACTORS)),
           "base_channels": (min(BASE_CHANNELS), max(BASE_CHANNELS)), "weight_decay": WEIGHT_DECAY_RANGE}
CATEGORICAL = {"schedule": SCHEDULES, "optimizer": OPTIMIZER_CHOICES, "augment": tuple(AUGMENTATIONS)}
GRID = {"lr": [1e-3, 2e-3, 4e-3], "batch_factor": [0.5, 1.0, 2.0], "schedule": ["cosine", "warmup_cosine"],
        "optimizer": ["adam"], "base_channels": [32, 48], "augment": ["off", "flip + shift 2 px"]}
SPACE_VERSION = 4  # bump when the space or the objective changes: stored studies of the old one are not continued
HYPERBAND_REDUCTION = 3  # Hyperband keeps about a third of the trials at each rung
FIDELITY_TARGET = 0.7  # the rank correlation a trial's epoch must reach to stand in for the final budget

# name -> (sampler, pruner). The sampler names the search's kind, the key of `compare_searches`. Both seeded searches
# share Hyperband, so the sampler is their only difference; grid search trains every trial to the end. Each seeded
# search runs once per sampler seed; its study in the storage is called "ae-<slug of the name>-seed<i>-<settings
# key>", grid search's "ae-grid-search-<settings key>".
SEARCHES = {"TPE + Hyperband": ("tpe", "hyperband"), "random search + Hyperband": ("random", "hyperband"),
            "grid search": ("grid", None)}
FIXED = "fixed"  # the scale column of `space_rows` for a setting that is not searched


def _known(search: str) -> str:
    if search not in SEARCHES:
        raise ValueError(f"Unknown search {search!r}; choose one of: {', '.join(SEARCHES)}.")
    return search


def kind(search: str) -> str:
    """The kind of a search: its sampler, "tpe", "random" or "grid"."""
    return SEARCHES[_known(search)][0]


def seeded(search: str) -> bool:
    """Whether a search runs once per sampler seed (grid search has no seed to vary: it runs once)."""
    return kind(search) != "grid"


def study_name(search: str, seed: int | None = None) -> str:
    """"ae-<slug of the search>", and "-seed<i>" for sampler seed `i` of a seeded search (the settings key follows
    in the database); without a seed, the name the worker command's `--study` takes."""
    return f"ae-{slug(_known(search))}" + ("" if seed is None else f"-seed{seed}")


def display_name(search: str, seed: int | None = None) -> str:
    """How a study is named in results: "random search, seed 1"; grid search's is "grid search"."""
    return _known(search) if seed is None else f"{search}, seed {seed}"


def suggest(trial: optuna.Trial, start: tuple[AEConfig, TrainSpec], epochs: int | None = None
            ) -> tuple[AEConfig, TrainSpec]:
    """One point of the search space: the searched hyperparameters from `trial` (log scale for the learning rate
    and the weight decay), the rest from the start configuration (code size, kernel size, batch norm, decoder,
    dropout, and the seed that orders the training data), trained for `epochs` (default: the start's)."""
    start_cfg, start_spec = start
    lr = trial.suggest_float("lr", *LR_RANGE, log=True)
    factor = trial.suggest_categorical("batch_factor", BATCH_FACTORS)
    schedule = trial.suggest_categorical("schedule", SCHEDULES)
    optimizer = trial.suggest_categorical("optimizer", OPTIMIZER_CHOICES)
    weight_decay = (trial.suggest_float("weight_decay", *WEIGHT_DECAY_RANGE, log=True) if optimizer == "adamw"
                    else 0.0)
    base = trial.suggest_categorical("base_channels", BASE_CHANNELS)
    augment = trial.suggest_categorical("augment", tuple(AUGMENTATIONS))
    cfg = replace(start_cfg, channels=(base, 2 * base))
    spec = TrainSpec(epochs=epochs or start_spec.epochs, optimizer=optimizer, lr=lr * math.sqrt(factor),
                     weight_decay=weight_decay, batch_size=max(1, round(start_spec.batch_size * factor)),
                     scheduler=schedule, augment=AUGMENTATIONS[augment], seed=start_spec.seed)
    return cfg, spec


def configuration(params: dict, start: tuple[AEConfig, TrainSpec], epochs: int | None = None
                  ) -> tuple[AEConfig, TrainSpec]:
    """The (config, spec) of a trial's parameters, the rest as in `start`; `epochs` default: the start's."""
    return suggest(optuna.trial.FixedTrial(params), start, epochs)


def check_interior(params: dict) -> None:
    """Raise ValueError unless `params` is an interior point of the space: each numeric value strictly inside its
    range (a start at an edge lets a short search favour it by construction), each categorical one among choices
    that offer others."""
    problems = [f"{name} = {params[name]!r} is not strictly inside {low:g} to {high:g}"
                for name, (low, high) in NUMERIC.items() if name in params and not low < params[name] < high]
    problems += [f"{name} = {params[name]!r} is not one of {_values(choices)}"
                 for name, choices in (("batch_factor", BATCH_FACTORS), ("base_channels", BASE_CHANNELS))
                 if name in params and params[name] not in choices]
    problems += [f"{name} = {params.get(name)!r} is not one of {', '.join(map(str, choices))}"
                 for name, choices in CATEGORICAL.items() if params.get(name) not in choices]
    problems += [f"{name} offers no value beside {params[name]!r}" for name, choices in CATEGORICAL.items()
                 if len(set(choices) - {params.get(name)}) == 0]
    if problems:
        raise ValueError("The start configuration is not an interior point of the search space: " + "; ".join(problems)
                         + ". Change the configuration, or the ranges in helpers/tuning.py.")


def start_params(cfg: AEConfig, spec: TrainSpec) -> dict:
    """The search-space point of a configuration (for `enqueue_trial`), checked to be interior (`check_interior`)
    and to rebuild exactly the configuration given; a clear error otherwise."""
    augment = next((name for name, a in AUGMENTATIONS.items() if a == spec.augment), spec.augment)
    params = {"lr": spec.lr, "batch_factor": 1.0, "schedule": spec.scheduler, "optimizer": spec.optimizer,
              "base_channels": cfg.channels[0], "augment": augment}
    if spec.optimizer == "adamw":
        params["weight_decay"] = spec.weight_decay
    check_interior(params)
    point = configuration(params, (cfg, spec))
    differ = [f"{field} = {getattr(mine, field)!r} (every trial: {getattr(theirs, field)!r})"
              for mine, theirs in zip((cfg, spec), point) for field in (f.name for f in fields(mine))
              if getattr(mine, field) != getattr(theirs, field)]
    if differ:
        raise ValueError("The start configuration is not a point of the search space: its other settings differ from "
                         "what every trial uses (channels (b, 2b), no early stopping, TrainSpec's defaults "
                         "otherwise): " + ", ".join(differ) + ". Change the configuration, or the space in "
                         "helpers/tuning.py.")
    return params


def _values(values: Iterable) -> str:
    """Choices as a list: "0, 1e-5, 0.0001"."""
    return ", ".join(f"{v:g}".replace("e-0", "e-") if isinstance(v, float) else str(v) for v in values)


def augment_choices(mirror: bool = True) -> str:
    """The augmentation's choices as they train: on images a flip would relabel (`ImageSet.mirror` false: digits)
    the training loop drops the flip (`data.fitted`), so there the choice named with a flip is the shift alone."""
    choices = _values(AUGMENTATIONS)
    return choices if mirror else f"{choices}: on this collection without the flip (a mirrored digit is no digit)"


def space_rows(search: Search | None = None) -> list[tuple[str, str, str]]:
    """(name, range or choices, scale) of every searched hyperparameter (named as Optuna's trials name them),
    then the settings every trial shares (scale "fixed"): the architecture the start configuration sets (section
    1's hand-set model without `search`) and, with `search`, the epochs of each stage. The augmentation's choices
    say where the search's images drop its flip (`augment_choices`)."""
    cfg = search.start[0] if search is not None else HAND_SET
    mirror = search.train.mirror if search is not None else True
    rows = [("lr", f"{_values(LR_RANGE[:1])} to {_values(LR_RANGE[1:])}", "continuous, log scale"),
            ("batch_factor", f"{_values(BATCH_FACTORS)}: times the start's batch size, the learning rate times its "
                             f"square root", "categorical"),
            ("schedule", _values(SCHEDULES), "categorical"),
            ("optimizer", _values(OPTIMIZER_CHOICES), "categorical"),
            ("weight_decay", f"{_values(WEIGHT_DECAY_RANGE[:1])} to {_values(WEIGHT_DECAY_RANGE[1:])}: AdamW only",
             "continuous, log scale"),
            ("base_channels", f"{_values(BASE_CHANNELS)}: channels (b, 2b)", "categorical"),
            ("augment", augment_choices(mirror), "categorical"),
            ("code size", str(cfg.latent_dim), FIXED),
            ("decoder", cfg.decoder, FIXED),
            ("kernel size", str(cfg.kernel_size), FIXED),
            ("batch norm", "on" if cfg.batch_norm else "off", FIXED),
            ("dropout", f"{cfg.dropout:g}", FIXED)]
    if search is not None:
        rows.append(("epochs", f"{search.horizon} per trial (stage 1, Hyperband from {search.min_resource}), "
                               f"{search.epochs} at the final budget (stage 2 and cross-validation)", FIXED))
    return rows


def space_table(search: Search | None = None) -> str:
    """Markdown table of `space_rows`, with the start's value of each searched hyperparameter (with `search`)
    and the values grid search takes."""
    start = search.start_params if search is not None else {}
    return markdown_table(["hyperparameter", "range or choices", "scale", "start (section 1)", "grid search's values"],
                          [(*row, _values([start[row[0]]]) if row[0] in start else "",
                            _values(GRID.get(row[0], ()))) for row in space_rows(search)])


# ----------------------------------------------------------------------------- what the searches share


@dataclass(frozen=True)
class Search:
    """What every study of a run shares: the data, the start point (which also fixes the final budget: its epochs,
    on the whole training split), the trial horizon and Hyperband's smallest rung, the trial budget, the sampler
    seeds, the fidelity check's and the paired cross-validation's images, and where trials are cached."""

    splits: Splits
    train: ImageSet  # the training images of every trial of stage 1 (a subset of the training split)
    start: tuple[AEConfig, TrainSpec]
    trials: int  # trial budget of each study
    folds: int  # k of the paired cross-validation of the start and the tuned configuration
    run_dir: Path | None = None  # trials are cached runs under run_dir/runs/ (None: not cached)
    eval_batch_size: int = 2000
    finalists: int = 2  # configurations of stage 1 trained at the final budget in stage 2
    trial_epochs: int | None = None  # epochs of a stage-1 trial that is not pruned; None: the final budget
    sampler_seeds: int = 1  # studies of each seeded search (sampler seed = the start's seed + 0, 1, ...)
    min_resource: int = 1  # Hyperband's first rung (epochs); `fidelity` measures which epoch ranks well enough
    fidelity_configs: int = 12  # configurations spread over the space in the fidelity check (the start besides)
    fidelity_train: ImageSet | None = None  # the fidelity check's final-budget images; None: the training split
    cv_train: ImageSet | None = None  # the paired cross-validation's images; None: the training split

    def __post_init__(self) -> None:
        checks = [("trials", isinstance(self.trials, int) and self.trials >= 1, "an integer >= 1"),
                  ("folds", isinstance(self.folds, int) and self.folds >= 2, "an integer >= 2"),
                  ("finalists", isinstance(self.finalists, int) and self.finalists >= 0, "an integer >= 0"),
                  ("trial_epochs", self.trial_epochs is None or (isinstance(self.trial_epochs, int)
                                                                 and self.trial_epochs >= 1),
                   "None (the final budget) or an integer >= 1"),
                  ("sampler_seeds", isinstance(self.sampler_seeds, int) and self.sampler_seeds >= 1,
                   "an integer >= 1"),
                  ("min_resource", isinstance(self.min_resource, int) and 1 <= self.min_resource <= self.horizon,
                   f"an integer in [1, {self.horizon}] (the trial horizon)"),
                  ("fidelity_configs", isinstance(self.fidelity_configs, int) and self.fidelity_configs >= 2,
                   "an integer >= 2")]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"Search.{name} = {getattr(self, name)!r} is not allowed; allowed: {allowed}.")

    @property
    def epochs(self) -> int:
        """The final budget: epochs of each stage-2 run, of each fold and of the final model (the start's)."""
        return self.start[1].epochs

    @property
    def horizon(self) -> int:
        """Epochs of a stage-1 trial that is not pruned (its schedule runs over them)."""
        return self.trial_epochs or self.epochs

    @property
    def seed(self) -> int:
        """The start's seed: the order of the training data in every run, and the first sampler seed."""
        return self.start[1].seed

    @cached_property
    def start_params(self) -> dict:
        return start_params(*self.start)

    @cached_property
    def key(self) -> str:
        """Settings a stored study belongs to: a study made with other data, trial horizon, Hyperband rung, start
        or training precision is not continued."""
        return config_hash("ae-search", SPACE_VERSION, fingerprint(self.train), fingerprint(self.splits.val),
                           self.splits.mean, self.splits.std, self.horizon, self.min_resource, self.seed,
                           self.start_params, self.start[0].as_dict(), training_speed(self.train.device))


def make_search(profile: Profile, splits: Splits, run_dir: str | Path | None,
                start: tuple[AEConfig, TrainSpec] | None = None, min_resource: int = 1) -> Search:
    """The searches of a profile: its search images, trial horizon (`search_epochs`), trial budget, sampler seeds,
    finalists, folds, fidelity check and paired cross-validation images, from section 1's hand-set model (whose
    epochs are the final budget)."""
    start = start or (HAND_SET, hand_set_spec(profile))
    return Search(splits, search_train(splits, profile), start, profile.trials, profile.search_folds,
                  Path(run_dir) if run_dir is not None else None, profile.eval_batch_size, profile.search_finalists,
                  trial_epochs=profile.search_epochs, sampler_seeds=profile.sampler_seeds, min_resource=min_resource,
                  fidelity_configs=profile.fidelity_configs,
                  fidelity_train=balanced_train(splits, profile.fidelity_limit, profile.seed),
                  cv_train=balanced_train(splits, profile.search_cv_limit, profile.seed))


def plan(search: Search) -> dict[str, tuple[str, int | None]]:
    """Every study of a run, in order: display name -> (search, seed index; None for grid search). The index i
    is sampler seed `search.seed + i`."""
    return {display_name(name, seed): (name, seed) for name in SEARCHES
            for seed in (range(search.sampler_seeds) if seeded(name) else [None])}


def trial_run(search: Search, cfg: AEConfig, spec: TrainSpec, loss_fn: LossFn = reconstruction_loss,
              on_epoch: Callable[[dict], None] | None = None):
    """A stage-1 run of a configuration: trained on the search images for `spec.epochs`, validated every epoch,
    cached under the trials' key (a configuration trained by one study, or by the fidelity check, is reused by
    every other). Returns `train_model`'s (model, history)."""
    return train_model(lambda: AutoEncoder(cfg), loss_fn, search.train, search.splits.val, spec,
                       model_key=("search trial", cfg.as_dict(), getattr(loss_fn, "__qualname__", "")),
                       run_dir=search.run_dir, desc="search trial", mean=search.splits.mean, std=search.splits.std,
                       eval_batch_size=search.eval_batch_size, progress=False, announce=False, on_epoch=on_epoch)


def objective(search: Search, loss_fn: LossFn = reconstruction_loss) -> Callable[[optuna.Trial], float]:
    """Validation MSE after the trial horizon's epochs, reported every epoch so a pruner can stop a poor trial
    before its last one (a trial that has trained all its epochs is not pruned: it is complete).

    Each trial records the epochs it trained and their seconds (user attributes `epochs`, `seconds`): a trial
    reused from the run cache is charged the seconds it cost when it was trained. A trial whose loss goes
    non-finite is recorded as pruned (its last finite report stands)."""
    horizon = search.horizon

    def run(trial: optuna.Trial) -> float:
        cfg, spec = suggest(trial, search.start, horizon)
        _, history = reported_trial(trial, horizon, "val_loss",
                                    lambda report: trial_run(search, cfg, spec, loss_fn, on_epoch=report))
        return history.rows[-1]["val_loss"]
    return run


def make_sampler(kind: str, seed: int, budget: int = 40) -> optuna.samplers.BaseSampler:
    """Seeded samplers; TPE (multivariate, Optuna's default otherwise) starts from random trials for a quarter of
    the budget (3 to 10), the enqueued start trial included. Grid search's seed only shuffles the grid's order."""
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, budget // 4)))
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler(GRID, seed=seed)
    raise ValueError(f"Unknown sampler {kind!r}; choose tpe, random or grid.")


def make_pruner(kind: str | None, min_resource: int = 1, horizon: int = 1) -> optuna.pruners.BasePruner:
    """Hyperband over the epochs of a trial (its first rung `min_resource`, the horizon its last, a third kept at
    each rung); None: no pruning."""
    if kind is None:
        return optuna.pruners.NopPruner()
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=horizon,
                                              reduction_factor=HYPERBAND_REDUCTION)
    raise ValueError(f"Unknown pruner {kind!r}; choose hyperband or None.")


def _seed_index(search: str, seed: int | None) -> int | None:
    """The seed index of a study: 0 by default for a seeded search; grid search takes none."""
    if not seeded(search):
        if seed is not None:
            raise ValueError(f"{search} has no sampler seed (it runs once); got seed {seed!r}: leave it None.")
        return None
    if seed is None:
        return 0
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"The seed of {search} is an index >= 0 (sampler seed = start seed + index); got {seed!r}.")
    return seed


def _stored_name(search: str, seed: int | None, settings: Search) -> str:
    return f"{study_name(search, seed)}-{settings.key}"


def open_search(name: str, search: Search, seed: int | None = None) -> optuna.Study:
    """The stored study of one of `SEARCHES` and one sampler seed (index `seed`, default 0; None for grid search)
    for these settings, with its sampler and pruner, its first trial the start configuration (enqueued once, by
    whichever process creates the study)."""
    seed = _seed_index(name, seed)
    if search.run_dir is None and not os.environ.get(STORAGE_ENV):
        raise ValueError("A stored search needs a run_dir (or HW2_OPTUNA_STORAGE) for its database.")
    sampler, pruner = SEARCHES[name]
    return open_study(_stored_name(name, seed, search), search.run_dir or ".",
                      sampler=make_sampler(sampler, search.seed + (seed or 0), search.trials),
                      pruner=make_pruner(pruner, search.min_resource, search.horizon),
                      on_create=lambda study: study.enqueue_trial(search.start_params))


def run_searches(search: Search) -> dict[str, optuna.Study]:
    """Every study of `plan(search)` (each seeded search once per sampler seed, grid search once), at the same
    trial budget, keyed by display name ("TPE + Hyperband, seed 0", ..., "grid search"); continued where
    stored, `HW2_FORCE=1` starts them anew."""
    studies = {}
    for label, (name, seed) in plan(search).items():
        if forced():
            try:
                optuna.delete_study(study_name=_stored_name(name, seed, search),
                                    storage=study_storage(search.run_dir or "."))
            except KeyError:  # no such study stored
                pass
        study = open_search(name, search, seed)
        ran = run_to_budget(study, objective(search), search.trials)
        print(f"[cache] {label}: {'reused' if ran == 0 else f'ran {ran} trials'}, "
              f"{finished_trials(study)} finished, best validation MSE {study.best_value:.5f}"
              f"{study_cost(study)}")
        studies[label] = study
    return studies


# ----------------------------------------------------------------------------- the fidelity check


def spread_configurations(search: Search, n: int) -> list[dict]:
    """`n` distinct points of the space other than the start, spread over it: Optuna's scrambled Sobol sequence
    over the numeric hyperparameters (seeded by the start's seed), the categorical ones and the weight decay (which
    only AdamW has) drawn at random."""
    with warnings.catch_warnings():  # QMCSampler is marked experimental; independent sampling is expected here
        warnings.simplefilter("ignore")
        sampler = optuna.samplers.QMCSampler(seed=search.seed, scramble=True, warn_independent_sampling=False)
        study = optuna.create_study(sampler=sampler)
        points: list[dict] = []
        for _ in range(20 * n):
            trial = study.ask()
            suggest(trial, search.start)
            study.tell(trial, 0.0)
            if trial.params != search.start_params and trial.params not in points:
                points.append(trial.params)
            if len(points) == n:
                break
    return points


def _score(value: float | None) -> float:
    """A validation MSE for ranking: a run whose loss went non-finite ranks last."""
    return math.inf if value is None or not math.isfinite(value) else float(value)


def fidelity(search: Search) -> dict:
    """Does a stage-1 trial rank configurations as the final budget does? The start and `search.fidelity_configs`
    configurations spread over the space (`spread_configurations`) are each trained as a stage-1 trial (the search
    images, the trial horizon; the same cached runs the studies reuse) and at the final budget (the final epochs on
    the fidelity images). Per epoch e of the trials: Spearman's rank correlation between the validation MSE after
    e epochs and the final budget's, with a bootstrap interval. Hyperband's first rung (`min_resource`) is the
    first epoch whose correlation reaches `FIDELITY_TARGET`; the horizon when none does (no early stop is trusted)."""
    points = [search.start_params, *spread_configurations(search, search.fidelity_configs)]
    data = search.fidelity_train or search.splits.train
    rows = []
    for params in tqdm(points, desc="fidelity check"):
        row = {"params": params, "start": params == search.start_params}
        cfg, spec = configuration(params, search.start, search.horizon)
        try:
            _, history = trial_run(search, cfg, spec)
            row["trial_curve"] = [h["val_loss"] for h in history.rows]
            row["trial_seconds"] = history.rows[-1]["seconds"]
        except NonFiniteLossError:
            row["trial_curve"], row["trial_seconds"] = [None] * search.horizon, None
        cfg, spec = configuration(params, search.start)
        try:
            run = train_autoencoder(cfg, spec, search.splits, train=data, eval_batch_size=search.eval_batch_size,
                                    desc="fidelity check, final budget", run_dir=search.run_dir)
            row["final"], row["final_seconds"] = run.history.kept["val_loss"], run.history.rows[-1]["seconds"]
        except NonFiniteLossError:
            row["final"], row["final_seconds"] = None, None
        row["parameters"] = count_parameters(AutoEncoder(cfg))
        rows.append(row)
    final = [_score(r["final"]) for r in rows]
    by_epoch = [{"epoch": e, **rank_correlation([_score(r["trial_curve"][e - 1]) for r in rows], final,
                                                seed=search.seed)}
                for e in range(1, search.horizon + 1)]
    reached = [r["epoch"] for r in by_epoch if r["rho"] >= FIDELITY_TARGET]
    horizon = by_epoch[-1]
    return {"configs": len(rows), "trial_images": len(search.train), "trial_epochs": search.horizon,
            "final_images": len(data), "final_epochs": search.epochs, "target": FIDELITY_TARGET, "points": rows,
            "by_epoch": by_epoch, "rho": horizon["rho"], "rho_low": horizon["low"], "rho_high": horizon["high"],
            "met": horizon["rho"] >= FIDELITY_TARGET, "min_resource": reached[0] if reached else search.horizon,
            "trial_seconds": sum(r["trial_seconds"] or 0.0 for r in rows),
            "final_seconds": sum(r["final_seconds"] or 0.0 for r in rows)}


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
        for key, item in zip(curve, (low, elapsed, trained, trial_value(t), pruned)):
            curve[key].append(item)
    return curve


def trial_values(studies: Iterable[optuna.Study]) -> dict[str, list]:
    """Every finished trial of `studies`: its value (a pruned trial's last report), whether it was pruned, and the
    epochs it trained; trials that reported nothing are left out."""
    found = {"value": [], "pruned": [], "epochs": []}
    for study in studies:
        for t in _finished(study):
            value = trial_value(t)
            if value is not None and math.isfinite(value):
                for key, item in zip(found, (float(value), t.state == TrialState.PRUNED, trial_epochs(t))):
                    found[key].append(item)
    return found


def seconds_to_reach(study: optuna.Study, target: float) -> float | None:
    """Cumulative trial seconds at which the study's best value first reached `target` (None: never)."""
    curve = progress(study)
    return next((s for b, s in zip(curve["best"], curve["seconds"]) if b <= target), None)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _band(x: list, values: np.ndarray) -> dict[str, list]:
    """Median, min and max over the rows of `values` (seeds) at each x; None where no trial had completed yet."""
    return {"x": list(x), **{name: [_finite(v) for v in reduce(values, axis=0)]
                             for name, reduce in (("median", np.median), ("min", np.min), ("max", np.max))}}


def progress_over_seeds(studies: Iterable[optuna.Study | dict]) -> dict:
    """Best value so far of one search over its sampler seeds (studies, or their `progress` curves): median, min
    and max over seeds against finished trials (1, 2, ...) and against cumulative training seconds.

    A seed with fewer finished trials keeps its last best value. The seconds axis is a common grid, every second
    at which some seed finished a trial, from the moment every seed has finished one (trial 0, the shared start,
    costs each seed the same); each seed's value at a second is its best among the trials finished by then (a
    step function). Returns {"seeds": k, "by_trial": band, "by_seconds": band}, each band {"x", "median", "min",
    "max"} (None where no trial had completed yet)."""
    curves = [progress(s) if isinstance(s, optuna.Study) else s for s in studies]
    if not curves or not all(c["best"] for c in curves):
        raise ValueError("progress_over_seeds needs at least one study, and a finished trial in each.")
    n = max(len(c["best"]) for c in curves)
    by_trial = np.array([c["best"] + [c["best"][-1]] * (n - len(c["best"])) for c in curves], dtype=float)
    first = max(c["seconds"][0] for c in curves)
    grid = sorted({float(s) for c in curves for s in c["seconds"] if s >= first})
    by_seconds = np.array([[c["best"][int(np.searchsorted(c["seconds"], t, side="right")) - 1] for t in grid]
                           for c in curves], dtype=float)
    return {"seeds": len(curves), "by_trial": _band(range(1, n + 1), by_trial), "by_seconds": _band(grid, by_seconds)}


def _by_search(studies: dict[str, optuna.Study], search: Search) -> dict[str, dict[str, optuna.Study]]:
    """The studies grouped by search, in the order of `SEARCHES`; a clear error for a study not of `plan(search)`."""
    runs = plan(search)
    unknown = [label for label in studies if label not in runs]
    if unknown:
        raise ValueError(f"Not studies of this search: {', '.join(map(repr, unknown))}; the studies are keyed as "
                         f"run_searches keys them ({', '.join(map(repr, list(runs)[:2]))}, ...).")
    grouped = {name: {} for name in SEARCHES}
    for label, study in studies.items():
        grouped[runs[label][0]][label] = study
    return {name: members for name, members in grouped.items() if members}


def _first_reach(band: dict[str, list], target: float) -> float | None:
    return next((x for x, m in zip(band["x"], band["median"]) if m is not None and m <= target), None)


def race(tpe: dict | None, random: dict | None, start: float | None) -> dict:
    """A fair time comparison of TPE and random search over seeds (`progress_over_seeds` of each): the seconds at
    which random search's median best-so-far curve reaches its final value, and at which TPE's median curve first
    reaches it (None: never). Only an improvement on the start counts: when random search's median final best is
    not below the start value (or either search or the start value is missing), there is nothing to time, and
    every time is None."""
    target = random["by_seconds"]["median"][-1] if random is not None else None
    improved = None not in (target, start) and target < start
    found = {"target": target, "random_improved_on_start": improved, "random_seconds": None, "tpe_seconds": None,
             "ratio": None}
    if improved:
        found["random_seconds"] = _first_reach(random["by_seconds"], target)
        found["tpe_seconds"] = _first_reach(tpe["by_seconds"], target) if tpe is not None else None
        if found["tpe_seconds"] is not None and found["random_seconds"]:
            found["ratio"] = found["tpe_seconds"] / found["random_seconds"]
    return found


def summary(study: optuna.Study) -> dict:
    """Best value, parameters and trial; trials completed (trained to the trial horizon), pruned and failed;
    epochs and training seconds spent on finished trials."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    curve = progress(study)
    best = study.best_trial
    return {"best_value": best.value, "best_params": best.params, "best_trial": best.number,
            "complete": states.count(TrialState.COMPLETE), "pruned": states.count(TrialState.PRUNED),
            "failed": states.count(TrialState.FAIL), "epochs": curve["epochs"][-1] if curve["epochs"] else 0,
            "seconds": curve["seconds"][-1] if curve["seconds"] else 0.0}


def choose(rows: dict[str, dict], among: list[str] | None = None) -> str:
    """The study with the lowest best value; ties go to fewer epochs trained, then to the order of `rows`.
    Nothing here depends on timing, so identical results always make the same choice."""
    names = list(rows) if among is None else among
    return min(names, key=lambda n: (rows[n]["best_value"], rows[n]["epochs"], list(rows).index(n)))


def start_value(study: optuna.Study, params: dict) -> float | None:
    """Validation MSE of the start configuration in a study (None: it has not completed there)."""
    return next((t.value for t in _finished(study) if t.params == params and t.state == TrialState.COMPLETE), None)


def _start_value(studies: Iterable[optuna.Study], params: dict) -> float | None:
    """The start's value in the first study where it completed (the same cached run in every study)."""
    return next((v for v in (start_value(s, params) for s in studies) if v is not None), None)


def _kind_row(name: str, members: dict[str, optuna.Study], rows: dict[str, dict], start: float | None,
              search: Search) -> dict:
    """One search over its seeds: best per seed, their median, range and spread, the median cost of a study."""
    labels = list(members)
    best = [rows[label]["best_value"] for label in labels]
    low, high = min(best), max(best)
    median = float(np.median(best))
    improvement = None if start is None else start - median

    def med(key: str) -> float:
        return float(np.median([rows[label][key] for label in labels]))

    return {"search": name, "runs": len(labels), "studies": labels,
            "sampler_seeds": [search.seed + plan(search)[label][1] for label in labels] if seeded(name) else None,
            "best": best, "best_trial": [rows[label]["best_trial"] for label in labels],
            "median_best": median, "min_best": low, "max_best": high, "spread": high - low,
            "improved_seeds": 0 if start is None else sum(b < start for b in best),
            "complete": med("complete"), "pruned": med("pruned"), "failed": med("failed"), "epochs": med("epochs"),
            "seconds": med("seconds"), "improvement": improvement,
            "below_start": improvement is not None and improvement > 0,
            "below_start_beyond_spread": improvement is not None and improvement > high - low}


def compare_searches(studies: dict[str, optuna.Study], search: Search) -> dict:
    """Everything section 2 reports about stage 1, for `metrics.json` → `search`.

    Per kind of search ("tpe", "random", "grid"; its display name under "names"): the best value of each seed
    and their median, min, max and spread (max - min), seeds that improved on the start, and the median over
    seeds of trials completed, pruned and failed, epochs and seconds; whether the median best is below the start
    value by more than the spread over seeds. "curves": `progress_over_seeds` per kind. The time comparison of
    `race` ("race"; its times also as "tpe_seconds_to_random_best", "random_seconds", "tpe_time_ratio").
    "kept": the TPE study with the lowest best value (for Optuna's figures); "chosen": that of all studies."""
    grouped = _by_search(studies, search)
    rows = {label: summary(study) for label, study in studies.items()}
    start = _start_value(studies.values(), search.start_params)
    kinds = {kind(name): _kind_row(name, members, rows, start, search) for name, members in grouped.items()}
    curves = {kind(name): progress_over_seeds(members.values()) for name, members in grouped.items()}
    values = {kind(name): trial_values(members.values()) for name, members in grouped.items()}
    timed = race(curves.get("tpe"), curves.get("random"), start)
    tpe_studies = [label for label in rows if kind(plan(search)[label][0]) == "tpe"]
    kept = choose(rows, tpe_studies) if tpe_studies else None
    return {"trials": search.trials, "trial_epochs": search.horizon, "final_epochs": search.epochs,
            "images": len(search.train), "unpruned_epochs": search.trials * search.horizon,
            "sampler_seeds": search.sampler_seeds, "start_value": start, "start_params": search.start_params,
            "names": {kind(name): name for name in grouped}, **kinds, "curves": curves, "values": values,
            "race": timed, "min_resource": search.min_resource,
            "tpe_seconds_to_random_best": timed["tpe_seconds"], "random_seconds": timed["random_seconds"],
            "tpe_time_ratio": timed["ratio"], "random_improved_on_start": timed["random_improved_on_start"],
            "any_improved_on_start": any(row["below_start"] for row in kinds.values()),
            "kept": kept, "chosen": choose(rows),
            "importances": importances(studies[kept], search.seed) if kept else None}


def search_values(found: dict) -> dict[str, dict]:
    """`compare_searches`' trial values keyed by the searches' display names (for `plots.trial_values`)."""
    return {found["names"][k]: values for k, values in found["values"].items()}


def search_curves(found: dict) -> dict[str, dict]:
    """`compare_searches`' curves keyed by the searches' display names (for `plots.search_progress`)."""
    return {found["names"][k]: curve for k, curve in found["curves"].items()}


def search_table(found: dict) -> str:
    """Markdown table: per search, its best validation MSE (median [min-max] over seeds), the studies behind it,
    how trials ended, epochs and seconds spent (medians over seeds)."""
    rows = []
    for k in found["names"]:
        r = found[k]
        best = (sig(r["median_best"], 4) if r["runs"] == 1 else
                f"{sig(r['median_best'], 4)} [{sig(r['min_best'], 4)}–{sig(r['max_best'], 4)}]")
        rows.append((r["search"], best, r["runs"], found["trials"], f"{r['complete']:g}", f"{r['pruned']:g}",
                     f"{r['epochs']:g} / {found['unpruned_epochs']}", sig(r["seconds"])))
    return markdown_table(["search", "best validation MSE: median [min–max] over seeds", "seeds", "trials per study",
                           "trained to the end", "pruned", "epochs trained / unpruned", "seconds"], rows)


# ----------------------------------------------------------------------------- stage 2: the final budget


def finalists(studies: dict[str, optuna.Study], search: Search) -> list[dict]:
    """The best `search.finalists` distinct configurations of all studies (every search, every seed; completed
    trials, lowest value first; ties: order of the studies, then trial number), the start configuration left out
    (it is in anyway)."""
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
                         "search_value": _start_value(studies.values(), search.start_params)}}
    for rank, finalist in enumerate(finalists(studies, search), start=1):
        name = f"finalist {rank}"
        runs[name] = train_autoencoder(*configuration(finalist["params"], search.start), splits,
                                       eval_batch_size=search.eval_batch_size, desc="finalist", run_dir=search.run_dir)
        rows[name] = finalist
    for name, run in runs.items():
        rows[name].update(val_mse=run.history.kept["val_loss"], seconds=run.history.rows[-1]["seconds"])
    chosen = min(rows, key=lambda n: (rows[n]["val_mse"], list(rows).index(n)))
    return {"epochs": search.epochs, "trial_epochs": search.horizon, "images": len(splits.train),
            "finalists": len(rows) - 1, "rows": rows, "chosen": chosen, "tuned_is_hand_set": chosen == "hand-set"}, runs


def tuned(search: Search, promoted: dict, runs: dict[str, Run]) -> tuple[AEConfig, TrainSpec, Run]:
    """The configuration stage 2 chose, at the final budget, and its run on the whole training split (the hand-set
    start's own run when it won): what later sections build on."""
    chosen = promoted["chosen"]
    if chosen not in runs or chosen not in promoted["rows"]:
        raise ValueError(f"The chosen configuration {chosen!r} has no row or run here; pass the rows and runs of the "
                         f"same promote(...) call (runs: {', '.join(runs)}).")
    if chosen == "hand-set":
        return (*search.start, runs[chosen])
    return (*configuration(promoted["rows"][chosen]["params"], search.start), runs[chosen])


def promotion_table(promoted: dict) -> str:
    """Markdown table: the start and each finalist, on the search images and at the final budget."""
    rows = [(name, "section 1" if name == "hand-set" else f"{r['search']}, trial {r['trial']}",
             sig(r["search_value"], 4), sig(r["val_mse"], 4), sig(r["seconds"]),
             "chosen" if name == promoted["chosen"] else "")
            for name, r in promoted["rows"].items()]
    final = f"validation MSE at the final budget ({promoted['images']:,} images)"
    return markdown_table(["configuration", "found by", "validation MSE in the search", final, "seconds", ""],
                          rows)


def final_comparison(search: Search, promoted: dict, runs: dict[str, Run]) -> dict:
    """The hand-set configuration against the search's best (stage 2's best finalist; `tuned`) at the final
    budget: a paired k-fold cross-validation on the cross-validation images (`search.folds` folds, the same folds
    for both, the final budget's epochs each; the difference fold by fold with its Student-t interval), and the
    test MSE of each trained on the whole training split (the runs of `promote`). Without a finalist there is
    nothing to compare: the entries say so and nothing is trained."""
    chosen, rows, splits = promoted["chosen"], promoted["rows"], search.splits
    others = [name for name in rows if name != "hand-set"]
    found = {"folds": search.folds, "epochs": search.epochs, "chosen": chosen, "chosen_from": rows[chosen]["search"],
             "continuous_ranges": {"lr": list(LR_RANGE), "weight_decay": list(WEIGHT_DECAY_RANGE)},  # for edge notes
             "tuned_is_hand_set": chosen == "hand-set", "hand_set_val_mse": rows["hand-set"]["val_mse"],
             "hand_set_test_mse": mse(runs["hand-set"].model, splits.test, splits, search.eval_batch_size),
             "compared": None}
    if not others:
        return found
    best = min(others, key=lambda name: (rows[name]["val_mse"], others.index(name)))
    configs = {"hand-set": search.start, "tuned": configuration(rows[best]["params"], search.start)}
    arms = {name: Arm(lambda cfg=cfg: AutoEncoder(cfg), reconstruction_loss, spec, cfg.as_dict())
            for name, (cfg, spec) in configs.items()}
    data = search.cv_train or splits.train
    cv = paired_cross_validate(arms, data, k=search.folds, seed=search.seed, mean=splits.mean, std=splits.std,
                               run_dir=search.run_dir, eval_batch_size=search.eval_batch_size)
    scores = cv["scores"]
    difference = paired_difference(scores["tuned"], scores["hand-set"])
    stats = {name: {"mean": float(np.mean(s)), "std": float(np.std(s, ddof=1)), "folds": s}
             for name, s in scores.items()}
    found.update({
        "compared": best, "compared_from": rows[best]["search"], "images": len(data), "fold_digests": cv["folds"],
        "tuned_config": configs["tuned"][0].as_dict(), "tuned_params": rows[best]["params"],
        "hand_set_mean": stats["hand-set"]["mean"], "hand_set_std": stats["hand-set"]["std"],
        "tuned_mean": stats["tuned"]["mean"], "tuned_std": stats["tuned"]["std"], "cv": stats,
        "difference": difference, "tuned_beats_hand_set": difference["mean"] < 0,
        "tuned_beats_hand_set_beyond_spread": difference["high"] is not None and difference["high"] < 0,
        "folds_tuned_lower": sum(t < h for t, h in zip(scores["tuned"], scores["hand-set"])),
        "tuned_val_mse": rows[best]["val_mse"],
        "tuned_test_mse": mse(runs[best].model, splits.test, splits, search.eval_batch_size),
        "tuned_parameters": count_parameters(AutoEncoder(configs["tuned"][0])),
        "hand_set_parameters": count_parameters(AutoEncoder(search.start[0]))})
    found["tuned_beats_hand_set_test"] = found["tuned_test_mse"] < found["hand_set_test_mse"]
    return found


def final_table(found: dict) -> str:
    """Markdown table: the hand-set configuration and the search's best, their k-fold cross-validated MSE (mean ±
    std over folds, paired), test MSE and parameters."""
    if found["compared"] is None:
        return markdown_table(["configuration", "test MSE (whole training split)"],
                              [("hand-set (section 1)", sig(found["hand_set_test_mse"]))])
    cv = f"{found['folds']}-fold CV MSE on {found['images']:,} images (mean ± std)"
    return markdown_table(
        ["configuration", cv, "test MSE (whole training split)", "parameters"],
        [("hand-set (section 1)", plus_minus(found["hand_set_mean"], found["hand_set_std"]),
          sig(found["hand_set_test_mse"]), f"{found['hand_set_parameters']:,}"),
         (f"the search's best ({found['compared']})", plus_minus(found["tuned_mean"], found["tuned_std"]),
          sig(found["tuned_test_mse"]), f"{found['tuned_parameters']:,}"),
         ("difference, paired by fold", _interval(found["difference"]), "", "")])


def _interval(difference: dict) -> str:
    """A paired difference as its mean and 95% interval ("-0.0012 (95% interval -0.0020 to -0.0004)")."""
    if difference["low"] is None:
        return sig(difference["mean"])
    return (f"{sig(difference['mean'])} (95% interval {sig(difference['low'])} to "
            f"{sig(difference['high'])})")


# ----------------------------------------------------------------------------- the notebook's steps


def search_settings(ctx: Context, ae_main: Autoencoder) -> Search:
    """The searches of this run (`make_search`), starting from section 1's main autoencoder: its configuration
    and recipe, whose epochs are the final budget."""
    return make_search(ctx.profile, ctx.splits, ctx.run_dir, start=(ae_main.config, ae_main.spec))


@dataclass(frozen=True)
class FidelityCheck(Shown):
    """The fidelity check (`fidelity`): the `search_fidelity` entries merged, the table and sentences, and the
    search settings with Hyperband's first rung set from it (`search`), which the studies run with."""

    search: Search


def fidelity_check(ctx: Context, search: Search) -> FidelityCheck:
    """Measure how well a stage-1 trial ranks configurations against the final budget (`fidelity`), merge it as
    `search_fidelity`, and return the search with Hyperband's first rung at the first epoch that ranks well."""
    found = ctx.merge("search_fidelity", fidelity(search))
    return FidelityCheck(replace(search, min_resource=found["min_resource"]), found=found,
                         table=fidelity_table(found), finding=search_text.fidelity_finding(found))


def fidelity_table(found: dict) -> str:
    """Markdown table: Spearman's rank correlation with the final budget after each epoch of a trial."""
    return markdown_table(
        ["epochs of the trial", f"Spearman's ρ with the final budget ({found['configs']} configurations)",
         "95% bootstrap interval"],
        [(r["epoch"], sig(r["rho"], 2), "" if r["low"] is None else f"{sig(r['low'], 2)} to {sig(r['high'], 2)}")
         for r in found["by_epoch"]])


@dataclass(frozen=True)
class StageOne:
    """Stage 1: the studies by display name, the `search` entries merged, their table and sentences, the
    best-so-far curves and the trial values by search (`plots.search_progress`, `plots.trial_values`), the start's
    value and the TPE study kept for Optuna's figures."""

    studies: dict[str, optuna.Study]
    found: dict
    table: str
    finding: str
    curves: dict[str, dict]
    values: dict[str, dict]
    start_value: float | None
    kept: optuna.Study


def stage_one(ctx: Context, search: Search) -> StageOne:
    """Run every study of `search` up to its trial budget (continuing stored ones) and merge their comparison
    as `search`."""
    studies = run_searches(search)
    found = ctx.merge("search", compare_searches(studies, search))
    return StageOne(studies, found, search_table(found), search_text.stage_one_finding(found),
                    search_curves(found), search_values(found), found["start_value"], studies[found["kept"]])


@dataclass(frozen=True)
class StageTwo:
    """Stage 2: the `search_promotion` entries merged, the runs at the final budget by name ("hand-set",
    "finalist 1", ...), their table, and the configuration chosen (`tuned`)."""

    found: dict
    runs: dict[str, Run]
    table: str
    tuned: Autoencoder


def stage_two(ctx: Context, search: Search, first: StageOne) -> StageTwo:
    """Train stage 1's finalists at the final budget beside the start (`promote`), keep the lowest validation
    MSE (the start wins ties) and merge `search_promotion`."""
    promoted, runs = promote(first.studies, search)
    found = ctx.merge("search_promotion", promoted)
    cfg, spec, run = tuned(search, found, runs)
    kept = Autoencoder(cfg, spec, run, mse(run.model, ctx.splits.test, ctx.splits))
    return StageTwo(found, runs, promotion_table(found), kept)


@dataclass(frozen=True)
class FinalComparison:
    """The hand-set and tuned configurations cross-validated at the final budget and on the test set: the
    `search_cv` entries merged, their table and sentences, and the autoencoder sections 3-7 build on (`kept`,
    the tuned one; section 1's model when the hand-set configuration won)."""

    found: dict
    table: str
    finding: str
    kept: Autoencoder


def compare_final(ctx: Context, search: Search, second: StageTwo) -> FinalComparison:
    """`final_comparison` of stage 2's choice with the start, merged as `search_cv` with what later sections
    use and its test MSE."""
    kept = second.tuned
    found = ctx.merge("search_cv", {**final_comparison(search, second.found, second.runs),
                                    "later_sections_use": "hand-set" if second.found["tuned_is_hand_set"]
                                    else "tuned", "later_sections_test_mse": kept.test_mse,
                                    "later_sections_seconds": kept.run.history.rows[-1]["seconds"],
                                    "later_sections_epochs": len(kept.run.history.rows),
                                    "later_sections_parameters": count_parameters(kept.run.model),
                                    "later_sections_images": second.found["images"]})
    return FinalComparison(found, final_table(found), search_text.final_finding(found, second.found), kept)


# ----------------------------------------------------------------------------- worker command


def main(argv: list[str] | None = None) -> int:
    names = {study_name(s): s for s in SEARCHES}
    parser = argparse.ArgumentParser(description="Run trials of a stored autoencoder search (section 2, stage 1).")
    parser.add_argument("--study", required=True, help=f"one of: {', '.join(names)}")
    parser.add_argument("--seed", type=int_option(0), default=None,
                        help="sampler seed index of a seeded search, 0 to the profile's sampler_seeds - 1 "
                             "(default 0); grid search takes none")
    parser.add_argument("--trials", type=int_option(1), required=True, help="trials this worker runs (>= 1)")
    parser.add_argument("--profile", default=None, help="smoke, quick or full (default: as the notebook)")
    parser.add_argument("--decoder", default=HAND_SET.decoder, choices=DECODERS,
                        help="the decoder of the start configuration, as section 1 chose it (default: %(default)s)")
    parser.add_argument("--min-resource", type=int_option(1), default=None,
                        help="Hyperband's first rung in epochs, as the fidelity check chose it (default: the "
                             "run's metrics.json, else 1)")
    args = parser.parse_args(argv)
    if args.study not in names:
        parser.error(f"--study {args.study!r} is not a search; choose one of: {', '.join(names)}")
    name = names[args.study]
    try:
        profile = resolve_profile(args.profile)
    except ConfigError as err:
        parser.error(str(err))
    if not seeded(name) and args.seed is not None:
        parser.error(f"{name} has no sampler seed (it runs once): leave out --seed")
    if seeded(name) and args.seed is not None and not 0 <= args.seed < profile.sampler_seeds:
        parser.error(f"--seed must be in 0..{profile.sampler_seeds - 1} (the {profile.name} profile runs "
                     f"{profile.sampler_seeds} sampler seeds per search), got {args.seed}")
    seed = _seed_index(name, args.seed)
    # A worker does not hold the results folder (results.hold_run_dir): it writes only the study database and
    # runs/, which a notebook run and other workers share safely.
    try:
        forced()  # HW2_FORCE: trials are cached runs, which obey it
        collection = resolve_dataset()  # HW2_DATASET, as the notebook run it helps
        splits = study_splits(profile, select_device(), collection.folder)
        start = (replace(HAND_SET, decoder=args.decoder), hand_set_spec(profile))
        rung = args.min_resource or load_metrics(results_dir(profile, collection)).get("search_fidelity", {}).get(
            "min_resource", 1)
        search = make_search(profile, splits, results_dir(profile, collection), start,
                             min_resource=min(rung, profile.search_epochs))
        study = open_search(name, search, seed)
    except ConfigError as err:  # a setting: HW2_DEVICE, HW2_DATA, HW2_RESULTS, HW2_OPTUNA_STORAGE, ...
        parser.error(str(err))
    except (DataError, ResultsError) as err:  # a data file or the study database that cannot be read
        print(f"error: {err}", file=sys.stderr)
        return 1
    run_trials(study, objective(search), args.trials)
    print(f"{display_name(name, seed)}: {finished_trials(study)} finished trials, best {study.best_value:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
