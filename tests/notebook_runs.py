"""Running the notebook in a subprocess, killing it, and waiting on files: shared by the tests that need a
real smoke run (the session fixture `smoke_run` in conftest.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from helpers import config

REPO = config.REPO_ROOT


@dataclass(frozen=True)
class SmokeRun:
    """A smoke notebook run that was killed once and then completed: its results root (holding `smoke/`), the
    checkpoints stored at the kill (name -> (mtime, epochs)) and the completed executed notebook."""

    results: Path
    stored: dict
    notebook: Path


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def epochs_in(checkpoint: Path) -> int:
    try:
        return len(torch.load(checkpoint, weights_only=False)["history"]["rows"])
    except Exception:
        return 0


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a process and everything it started (papermill and its kernel)."""
    import psutil

    parent = psutil.Process(process.pid)
    for proc in [*parent.children(recursive=True), parent]:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=30)


def notebook(results_dir: Path, output: Path) -> subprocess.Popen:
    env = {**os.environ, "HW2_RESULTS": str(results_dir), "HW2_PROFILE": "smoke", "PYTHONUNBUFFERED": "1"}
    env.pop("HW2_FORCE", None)
    return subprocess.Popen([sys.executable, "-m", "papermill", "homework2.ipynb", str(output), "-p", "PROFILE",
                             "smoke", "--cwd", str(REPO)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def killed_and_rerun(root: Path) -> SmokeRun:
    """Run the smoke notebook under `root`, kill it after six run checkpoints, run it again to the end."""
    runs = root / "smoke" / "runs"
    first = notebook(root, root / "first.ipynb")
    wait_until(lambda: runs.exists() and len(list(runs.glob("*.pt"))) >= 6, 300, "six run checkpoints")
    kill_tree(first)
    stored = {p.name: (p.stat().st_mtime_ns, epochs_in(p)) for p in runs.glob("*.pt")}
    second = notebook(root, root / "second.ipynb")
    assert second.wait(timeout=600) == 0, "the re-run smoke notebook failed"
    return SmokeRun(root, stored, root / "second.ipynb")
