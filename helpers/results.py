"""A run's outputs under `results/<profile>/`: `metrics.json` (merged per section, under a short lock), atomic
writes, the keys that let a re-run reuse finished work (`HW2_FORCE=1` recomputes on purpose), and the lock that
gives one notebook run a results folder to itself."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import socket
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from filelock import FileLock, Timeout

from .config import RESULTS_ENV, ConfigError

METRICS_FILE = "metrics.json"
METRICS_LOCK = "metrics.json.lock"  # held only while metrics.json is read, changed and written back
METRICS_LOCK_SECONDS = 120  # a merge takes milliseconds; a writer that waits this long is stuck, and says so
RUN_LOCK = "run.lock"  # held by the one notebook run that uses the folder, for the kernel's life
RUN_LOCK_INFO = "run.lock.info"  # who holds it: process id, host, start time (JSON)
FORCE_ENV = "HW2_FORCE"
CODE_VERSION = 1  # bump when a code change alters what a stored result means
_HELD: dict[Path, FileLock] = {}  # results folders this process holds (re-running the set-up cell keeps them)


class ResultsError(RuntimeError):
    """A results folder or a file in it cannot be used as it is; the message says why and what to do."""


class RunDirBusyError(ResultsError):
    """Another notebook run holds the results folder."""


class DamagedFileError(ResultsError):
    """A stored file that cannot be read (and cannot simply be recomputed without losing something)."""


def hold_run_dir(run_dir: str | Path) -> FileLock:
    """Take `run_dir` for this process until it ends (the notebook's kernel): a second notebook run on the
    same folder stops at once with `RunDirBusyError`, naming the holder. Calling it again in the holding process
    (re-running the set-up cell) returns the lock it holds. The operating system releases the lock when the
    holder ends, killed or not, so a crashed run never blocks the next one. Optuna workers
    (`python -m helpers.tuning`) do not take it: they write only the study database and `runs/`, which
    are safe to share. Also checks `HW2_FORCE`, which says how this run treats what the folder holds."""
    forced()
    run_dir = Path(run_dir).resolve()
    if run_dir in _HELD:
        return _HELD[run_dir]
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(run_dir / RUN_LOCK, thread_local=False)  # held by the process, whichever thread runs a cell
    try:
        lock.acquire(blocking=False)
    except Timeout:
        raise RunDirBusyError(f"The results folder {run_dir} is in use by another run ({_holder(run_dir)}); one "
                         f"notebook run per folder at a time. Wait for that run to finish (or stop it), or give "
                         f"this run its own folder: set {RESULTS_ENV} to another folder.") from None
    write_text(run_dir / RUN_LOCK_INFO, json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}) + "\n")
    _HELD[run_dir] = lock
    return lock


def release_run_dir(run_dir: str | Path) -> None:
    """Give `run_dir` back before this process ends (nothing happens where it is not held)."""
    lock = _HELD.pop(Path(run_dir).resolve(), None)
    if lock is not None:
        lock.release(force=True)


def _holder(run_dir: Path) -> str:
    """"process 123 on host h, started ..." from the lock's info file, as far as it can be read."""
    try:
        info = json.loads((run_dir / RUN_LOCK_INFO).read_text())
        return f"process {info['pid']} on host {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"holder unknown: {run_dir / RUN_LOCK_INFO} is missing or unreadable"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # never *.pt, *.json
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def plain(value: Any) -> Any:
    """Convert tensors, NumPy values, tuples and dataclasses into JSON-ready Python values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return plain(value.detach().cpu().tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf
    return value


def load_metrics(run_dir: str | Path) -> dict:
    """`run_dir/metrics.json` ({} when there is none yet); `DamagedFileError` when it cannot be read."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return {}
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError) as err:  # ValueError: not JSON, or not UTF-8
        problem = f"is not readable JSON ({err})"
    else:
        bad = [k for k, v in metrics.items() if not isinstance(v, dict)] if isinstance(metrics, dict) else None
        if bad == []:
            return metrics
        problem = (f"holds a JSON {type(metrics).__name__}, not an object of sections" if bad is None else
                   f"has sections that are not JSON objects: {', '.join(bad)}")
    raise DamagedFileError(f"{path} is damaged: it {problem}. Move it aside (e.g. mv {path} {path}.damaged) and "
                           f"run the notebook again: finished runs are reused from {path.parent / 'runs'}, so it "
                           f"is refilled without training them again.")


def merge_metrics(run_dir: str | Path, section: str, entries: dict) -> dict:
    """Merge `entries` into `section` of `run_dir/metrics.json`, keeping every other entry; atomic, and under a
    lock of its own, so writers in other processes (or threads) never lose each other's updates."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    lock = FileLock(Path(run_dir) / METRICS_LOCK, timeout=METRICS_LOCK_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise ResultsError(f"{lock.lock_file} was held by another writer for {METRICS_LOCK_SECONDS} s; a merge "
                           f"takes milliseconds, so that writer is stuck: stop it and run again.") from None
    try:
        metrics = load_metrics(run_dir)
        metrics[section] = {**metrics.get(section, {}), **plain(entries)}
        write_text(Path(run_dir) / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    finally:
        lock.release()
    return metrics


def metric_at(metrics: Any, path: str) -> Any:
    """The value at the dotted `path` of `metrics` ("vae.likelihood.nll"), None where any part is missing."""
    value: Any = metrics
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def initialization_name(name: str, i: int) -> str:
    """The name under which the random-encoder control `name` is measured and cached for its initialization
    `i` (counted from 0; the name counts from 1)."""
    return f"{name}, initialization {i + 1}"


def is_control(entry: dict) -> bool:
    """Whether a metrics entry of a representation is a random-encoder control's: pooled over its random
    initializations, it says over how many (`inits`)."""
    return bool(entry.get("inits"))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
    """A small Markdown table; floats shown with `digits` significant digits."""
    def cell(v: Any) -> str:
        return f"{v:.{digits}g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def config_hash(*parts: Any) -> str:
    """A short, stable hash of everything that determines a result (and the code version)."""
    text = json.dumps(plain([CODE_VERSION, *parts]), sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def array_digest(*arrays: Any) -> str:
    """A short hash of arrays' shapes, types and bytes: the cache key of results computed from them."""
    h = hashlib.blake2b(digest_size=8)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def forced() -> bool:
    """True when `HW2_FORCE=1`: stored results are recomputed instead of reused (`0` or unset: reused)."""
    value = os.environ.get(FORCE_ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ConfigError(f"{FORCE_ENV}={os.environ[FORCE_ENV]!r} is not allowed; allowed: 1 (recompute every "
                          f"stored result), 0 or unset (reuse them).")
    return value == "1"


def slug(name: str) -> str:
    """A file-name-safe form of a run name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "run"


def keyed_path(run_dir: str | Path, kind: str, name: str, key: str, suffix: str) -> Path:
    """`run_dir/<kind>/<name>-<key><suffix>`; with `HW2_FORCE=1` any stored file there is removed first."""
    path = Path(run_dir) / kind / f"{slug(name)}-{key}{suffix}"
    if forced():
        path.unlink(missing_ok=True)
    return path


# The tail of a `[cache]` line: what a stored result cost when it was computed and which one it is, so that the
# executed notebook of a run resumed across sessions still gives its cost from nothing (`scripts/record_times.py`
# sums each stored result once).
COST_NOTE = re.compile(r"; ([\d,]+(?:\.\d+)?) s to compute \(([^()]+)\)$")


def cost_note(seconds: float | None, ident: str) -> str:
    """'; 12.3 s to compute (ident)', or '' when the cost is not known (a result stored before costs were)."""
    return "" if seconds is None else f"; {seconds:,.1f} s to compute ({ident})"


def cached_json(run_dir: str | Path | None, name: str, key_parts: Any, compute: Callable[[], Any]) -> Any:
    """Reuse a stored JSON result for this exact configuration, or compute and store it atomically. Without a
    `run_dir`, compute it and store nothing (the value as `compute` returns it). The seconds it took to compute
    are stored beside it (`<name>.seconds`) and printed with it, reused or not (`cost_note`)."""
    if run_dir is None:
        return compute()
    path = keyed_path(run_dir, "cache", name, config_hash(name, key_parts), ".json")
    cost = path.with_suffix(".seconds")
    if path.exists():
        try:
            value = json.loads(path.read_text())
            print(f"[cache] {name}: reused {path.name}{cost_note(_stored_seconds(cost), path.stem)}")
            return value
        except (OSError, ValueError) as err:
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(path, aside)
            warnings.warn(f"{path} is unreadable ({err}); moved it aside to {aside.name} and computing it again "
                          f"(a cache file: nothing is lost).")
    start = time.perf_counter()
    value = plain(compute())
    seconds = time.perf_counter() - start
    write_text(cost, f"{seconds!r}\n")  # before the value: a stored value always has its cost
    write_text(path, json.dumps(value))
    print(f"[cache] {name}: computed and stored {path.name}{cost_note(seconds, path.stem)}")
    return value


def _stored_seconds(path: Path) -> float | None:
    """The seconds stored in `path`, or None when it is missing or unreadable (the cost is then not printed)."""
    try:
        return float(path.read_text())
    except (OSError, ValueError):
        return None


class SectionClock:
    """Wall-clock seconds of each notebook section (time since the previous section ended), and the
    running total, recorded in `metrics.json` under `seconds`."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.start = self.mark = time.perf_counter()

    def done(self, section: str) -> float:
        now = time.perf_counter()
        seconds, self.mark = now - self.mark, now
        merge_metrics(self.run_dir, "seconds", {section: seconds, "total": now - self.start})
        print(f"section '{section}': {seconds:.1f} s (notebook so far: {now - self.start:.1f} s)")
        return seconds
