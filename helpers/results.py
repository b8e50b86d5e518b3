"""A run's outputs under `results/<profile>/`: `metrics.json` (merged per section), atomic writes,
and the keys that let a re-run reuse finished work (`HW2_FORCE=1` recomputes on purpose)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

METRICS_FILE = "metrics.json"
FORCE_ENV = "HW2_FORCE"
CODE_VERSION = 1  # bump when a code change alters what a stored result means


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
    path = Path(run_dir) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def merge_metrics(run_dir: str | Path, section: str, entries: dict) -> dict:
    """Merge `entries` into `section` of `run_dir/metrics.json`, keeping every other entry; atomic."""
    metrics = load_metrics(run_dir)
    metrics[section] = {**metrics.get(section, {}), **plain(entries)}
    write_text(Path(run_dir) / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


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
    """True when `HW2_FORCE=1`: stored results are recomputed instead of reused."""
    return os.environ.get(FORCE_ENV, "") == "1"


def slug(name: str) -> str:
    """A file-name-safe form of a run name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "run"


def keyed_path(run_dir: str | Path, kind: str, name: str, key: str, suffix: str) -> Path:
    """`run_dir/<kind>/<name>-<key><suffix>`; with `HW2_FORCE=1` any stored file there is removed first."""
    path = Path(run_dir) / kind / f"{slug(name)}-{key}{suffix}"
    if forced():
        path.unlink(missing_ok=True)
    return path


def cached_json(run_dir: str | Path, name: str, key_parts: Any, compute: Callable[[], Any]) -> Any:
    """Reuse a stored JSON result for this exact configuration, or compute and store it atomically."""
    path = keyed_path(run_dir, "cache", name, config_hash(name, key_parts), ".json")
    if path.exists():
        try:
            value = json.loads(path.read_text())
            print(f"[cache] {name}: reused {path.name}")
            return value
        except (OSError, ValueError) as err:
            warnings.warn(f"{path} is unreadable ({err}); computing it again.")
    value = plain(compute())
    write_text(path, json.dumps(value))
    print(f"[cache] {name}: computed and stored {path.name}")
    return value


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
