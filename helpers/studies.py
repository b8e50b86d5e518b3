"""Optuna studies stored on disk, shared by the searches of sections 2 and 3: where they live (a journal file, or
a database server), opening or continuing one, running it up to a trial budget, and failing and retrying once
the trials whose worker died.

By default a study lives in `results/<profile>/optuna.journal` (Optuna's journal file, no server);
`HW2_OPTUNA_STORAGE` names another journal file or a database server (see `study_storage`). A killed
worker leaves its finished trials stored; the trial it was running is marked failed and run again once,
with the same parameters, by the next worker that starts on the study on that machine (`fail_dead_trials`),
or on a database server by any worker once the trial's heartbeats have stopped for `GRACE_SECONDS`.
"""
from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Callable, TypeVar

import optuna
import psutil
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage
from optuna.trial import TrialState

from .config import ConfigError
from .results import DamagedFileError, cost_note
from .training import NonFiniteLossError

T = TypeVar("T")

optuna.logging.set_verbosity(optuna.logging.WARNING)

STORAGE_ENV = "HW2_OPTUNA_STORAGE"
JOURNAL_NAME = "optuna.journal"  # the default study file in a run's folder
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_SECONDS = 10  # a database server's trials beat this often; one silent for GRACE_SECONDS has died
GRACE_SECONDS = 30
WORKER = "worker"  # the user attribute naming the process that runs a trial (`fail_dead_trials`)
optuna.logging.set_verbosity(optuna.logging.WARNING)


def study_storage(run_dir: str | Path) -> optuna.storages.BaseStorage:
    """Where the studies of a run live: Optuna's journal file `optuna.journal` in the run's folder, or what
    `HW2_OPTUNA_STORAGE` names.

    `HW2_OPTUNA_STORAGE` takes a file path (absolute, or relative to the working folder): a journal file like
    the default one, which the workers of one machine append to under its lock file (`<path>.lock`, held only
    while one entry is written). Or it takes the SQLAlchemy URL of a database server (e.g.
    postgresql://user:password@host/hw2), which workers on several machines share through Optuna's RDBStorage,
    with heartbeats: a trial silent for `GRACE_SECONDS` has lost its worker, and is failed and retried once.
    Anything else stops with `ConfigError`; a file that is not a journal, with `DamagedFileError`."""
    value = os.environ.get(STORAGE_ENV, "").strip()
    if not value:
        return _journal(Path(run_dir).resolve() / JOURNAL_NAME)
    setting = f"{STORAGE_ENV}={os.environ[STORAGE_ENV]!r}"
    if "://" not in value:
        path = Path(value).expanduser().resolve()
        if path.is_dir():
            raise ConfigError(f"{setting} is a folder; allowed: {_STORAGE_VALUES}")
        return _journal(path)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
        url.get_dialect()  # names a database SQLAlchemy knows (its driver is loaded only on connecting)
    except (ArgumentError, NoSuchModuleError, ValueError) as err:
        raise ConfigError(f"{setting} is not a database URL ({err}); allowed: {_STORAGE_VALUES}") from None
    if url.get_backend_name() == "sqlite":  # it ignores SELECT ... FOR UPDATE: two workers may run one trial
        raise ConfigError(f"{setting} is an SQLite database, which concurrent workers cannot share safely; "
                          f"allowed: {_STORAGE_VALUES}")
    with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
        warnings.simplefilter("ignore", ExperimentalWarning)
        return optuna.storages.RDBStorage(value, heartbeat_interval=HEARTBEAT_SECONDS,
                                          grace_period=GRACE_SECONDS, heartbeat_stale_trial_callback=_retry_once())


_STORAGE_VALUES = (f"the path of a journal file (e.g. /absolute/path/{JOURNAL_NAME}), the URL of a database "
                   f"server (e.g. postgresql://user:password@host/hw2), or unset for "
                   f"results/<profile>/{JOURNAL_NAME}.")


def _journal(path: Path) -> JournalStorage:
    """The journal file at `path` (created when missing); `DamagedFileError` when it is not one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = JournalFileOpenLock(str(path))
    lock.acquire()  # a worker may be appending: its entry is whole once the lock is free
    try:
        with open(path, "rb") as f:
            first = f.read(1)
            f.seek(-1 if first else 0, os.SEEK_END)
            last = f.read(1)
    except FileNotFoundError:
        first = last = b""
    except OSError as err:
        raise DamagedFileError(_damaged_study(path, f"cannot be read ({err})")) from None
    finally:
        lock.release()
    # Optuna's reader passes such a file (an unfinished last line is skipped), appends to it, and then fails
    if first not in (b"", b"{"):
        raise DamagedFileError(_damaged_study(path, "is not an Optuna journal (it does not start with a JSON "
                                                    "object)"))
    if last not in (b"", b"\n"):
        raise DamagedFileError(_damaged_study(path, "is damaged (its last entry is cut short)"))
    try:
        return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
    except (ValueError, KeyError, TypeError, AssertionError) as err:  # a line that is not an entry
        raise DamagedFileError(_damaged_study(path, f"is damaged ({type(err).__name__}: {err})")) from None


def _damaged_study(path: Path | str, problem: str) -> str:
    return (f"The Optuna study journal {path} {problem}. Move it aside (e.g. mv {path} {path}.damaged) and "
            f"run again: the searches start their studies anew, and every configuration already trained is "
            f"reused from runs/ beside it instead of trained again.")


def open_study(name: str, run_dir: str | Path, *, sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None, direction: str = "minimize",
               on_create: Callable[[optuna.Study], None] | None = None) -> optuna.Study:
    """Create the study, or load it (trials and all) when it already exists in the storage.

    `on_create(study)` runs in the one process that creates the study: of several workers creating it at the
    same moment the storage lets one succeed, and the others load that one."""
    storage = study_storage(run_dir)
    try:
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                    direction=direction)
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    if on_create is not None:
        on_create(study)
    return study


def finished_trials(study: optuna.Study) -> int:
    """Trials that ran to the end, completed or pruned (failed and still-running ones do not count)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def study_cost(study: optuna.Study) -> str:
    """The `[cache]` line's tail for a study: the seconds its trials trained in all, each as it cost when it
    was trained (`reported_trial`'s `seconds`; failed and pruned trials included), see `cost_note`."""
    seconds = sum(float(t.user_attrs.get("seconds", 0.0)) for t in study.get_trials(deepcopy=False))
    return cost_note(seconds, f"study {study.study_name}")


def run_to_budget(study: optuna.Study, objective: Callable[[optuna.Trial], float], budget: int) -> int:
    """Run trials until the study holds `budget` finished ones; returns how many this call ran.

    A trial whose loss goes non-finite is recorded as failed and the search goes on.
    """
    before = finished_trials(study)
    for _ in range(3):  # failed trials do not count: make up for them, a bounded number of times
        missing = budget - finished_trials(study)
        if missing <= 0:
            break
        run_trials(study, objective, missing)
    return finished_trials(study) - before


def run_trials(study: optuna.Study, objective: Callable[[optuna.Trial], float], n_trials: int) -> None:
    """`fail_dead_trials`, then `n_trials` trials of `objective`, each recording the process that runs it
    (user attribute `worker`) before it starts."""
    fail_dead_trials(study)

    def recorded(trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER, _this_worker(trial.number))
        return objective(trial)
    study.optimize(recorded, n_trials=n_trials, catch=(NonFiniteLossError,))


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Mark failed every running trial whose process on this machine has died, and queue its parameters to
    run again, once (Optuna's RetryHeartbeatStaleTrialCallback: a retried trial whose process dies is not
    retried); returns the numbers of the trials failed. A database server's heartbeats do the same
    (`study_storage`)."""
    retry, host = _retry_once(), socket.gethostname()
    failed = []
    for trial in study.get_trials(states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER)
        # A trial run on another host is left alone: whether its process lives cannot be seen from here.
        # A retry carries its failed trial's attributes: a `worker` of another trial number is not its own.
        if not worker or worker["trial"] != trial.number or worker["host"] != host or _alive(worker):
            continue
        try:  # through the storage, as Optuna's own fail_stale_trials does
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:  # another worker failed it first (and queued its retry)
            continue
        retry(study, trial)
        failed.append(trial.number)
    return failed


def _retry_once() -> RetryHeartbeatStaleTrialCallback:
    with warnings.catch_warnings():  # marked experimental in Optuna
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback(max_retry=1)


def _this_worker(trial_number: int) -> dict:
    """This process as the worker of a trial: the host, the process id and the process's start time, which
    tells it from a later process given the same id."""
    me = psutil.Process()
    return {"trial": trial_number, "host": socket.gethostname(), "pid": me.pid, "started": me.create_time()}


def _alive(worker: dict) -> bool:
    """Whether the process of `_this_worker` still runs on this host (one hidden by its rights counts as
    alive)."""
    try:
        process = psutil.Process(worker["pid"])
        return abs(process.create_time() - worker["started"]) < 1 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # a zombie too, on some systems
        return False
    except psutil.AccessDenied:
        return True


def importances(study: optuna.Study, seed: int = 0) -> dict[str, float] | None:
    """Optuna's fANOVA importance of each hyperparameter over the study's completed trials (the share of their
    variance each explains, largest first, seeded; a hyperparameter only some trials have is left out); None with
    fewer than 2 completed trials, or when they do not vary."""
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return None
    try:
        found = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
    except (RuntimeError, ValueError, ZeroDivisionError):  # e.g. every completed trial scored the same
        return None
    return {name: float(value) for name, value in found.items()}


def reported_trial(trial: optuna.Trial, horizon: int, value: str, train: Callable[[Callable[[dict], None]], T]) -> T:
    """`train(on_epoch)` run for an Optuna trial: after every epoch the trial records the epochs trained and their
    seconds (user attributes `epochs`, `seconds`; a run reused from the run cache is charged what it cost when it
    was trained) and reports the epoch row's `value`, so the pruner can stop it before its `horizon`-th epoch (a
    trial that has trained all its epochs is complete, not pruned). A non-finite loss is recorded (`non_finite`)
    and prunes the trial (its last finite report stands)."""
    def report(row: dict) -> None:
        trial.set_user_attr("epochs", row["epoch"])
        trial.set_user_attr("seconds", row["seconds"])
        trial.report(row[value], row["epoch"])
        if row["epoch"] < horizon and trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {row['epoch']}")

    try:
        return train(report)
    except NonFiniteLossError as err:
        trial.set_user_attr("non_finite", str(err))
        raise optuna.TrialPruned() from err


def trial_value(trial: optuna.trial.FrozenTrial) -> float | None:
    """A finished trial's value: a complete trial's own, a pruned trial's last report (None: it reported nothing)."""
    if trial.state == TrialState.PRUNED:
        return trial.intermediate_values[max(trial.intermediate_values)] if trial.intermediate_values else None
    return trial.value
