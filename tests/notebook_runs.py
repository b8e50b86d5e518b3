"""The test session's smoke run of homework2.ipynb, and the helpers for running, killing and waiting on it.

The run happens once per session and in this order: papermill starts the notebook and is killed after six
run checkpoints; nbval then executes the notebook to the end in the same results folder, picking up what the
killed run stored; only then do the tests that read the run (the `smoke_run` fixture) start. When pytest
collects the notebook (`make test`), nbval runs it among the session's tests and `SmokeNotebook` orders the
items and records the cells' outputs; otherwise the fixture runs nbval on it in a subprocess
(`python -m tests.notebook_runs OUTPUT`)."""
from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import torch

from helpers import config, data, results

REPO = config.REPO_ROOT
NOTEBOOK = REPO / "homework2.ipynb"
NBVAL_OPTIONS = ("--nbval-lax", "--nbval-current-env")  # every cell runs, no output compared, this .venv
FIXTURE = "smoke_run"  # the fixture of the tests that read the run (tests/conftest.py)
SMOKE_NOTEBOOK = "hw2-smoke-notebook"  # the name the root conftest.py registers `SmokeNotebook` under
KILL_AFTER_CHECKPOINTS = 6


@dataclass(frozen=True)
class SmokeRun:
    """A smoke notebook run that was killed once and then completed under nbval: its results root (holding
    `smoke/`), the checkpoints stored at the kill (name -> (mtime, epochs)) and the completed run as an
    executed notebook (the outputs nbval received)."""

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


def require_real_data() -> Path:
    """The folder with the real data files; skips the test (fails it, if HW2_REQUIRE_DATA=1) when they are
    absent."""
    root = data.data_root()
    if not all((root / "FashionMNIST" / "raw" / f).is_file() for f in data.split_files(True)):
        message = f"real Fashion-MNIST files not found under {root} (set HW2_DATA)"
        if os.environ.get("HW2_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return root


def _env(results_root: Path) -> dict:
    env = {**os.environ, "HW2_RESULTS": str(results_root), "HW2_PROFILE": "smoke", "PYTHONUNBUFFERED": "1"}
    env.pop(results.FORCE_ENV, None)
    return env


def killed_partial_run(results_root: Path) -> dict:
    """Run the smoke notebook with papermill under `results_root` and kill it after six run checkpoints.
    Returns the checkpoints it stored: name -> (mtime in ns, epochs)."""
    runs = results_root / "smoke" / "runs"
    output = results_root / "killed.ipynb"
    command = [sys.executable, "-m", "papermill", str(NOTEBOOK), str(output), "-p", "PROFILE", "smoke",
               "--cwd", str(REPO)]
    process = subprocess.Popen(command, cwd=REPO, env=_env(results_root), stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: (runs.exists() and len(list(runs.glob("*.pt"))) >= KILL_AFTER_CHECKPOINTS)
                   or process.poll() is not None, 300, f"{KILL_AFTER_CHECKPOINTS} run checkpoints")
    finally:
        if process.poll() is None:
            kill_tree(process)
    if process.returncode != -signal.SIGKILL:
        raise AssertionError(f"the smoke notebook ended (exit {process.returncode}) before it was killed; "
                             f"see {output}")
    return {p.name: (p.stat().st_mtime_ns, epochs_in(p)) for p in runs.glob("*.pt")}


def folder_released(results_root: Path, timeout: float = 30) -> None:
    """Wait until no notebook kernel holds the smoke results folder (`results.hold_run_dir`), then let go."""
    run_dir = results_root / "smoke"

    def free() -> bool:
        try:
            results.hold_run_dir(run_dir)
        except results.RunDirBusyError:
            return False
        results.release_run_dir(run_dir)
        return True

    wait_until(free, timeout, f"the notebook kernel to release {run_dir}")


def is_cell(item: pytest.Item) -> bool:
    """Whether `item` is nbval's test of one code cell of homework2.ipynb."""
    return hasattr(item, "cell_num") and Path(item.path).resolve() == NOTEBOOK


class Recorder:
    """A pytest plugin that keeps what nbval received from the kernel for each code cell of the notebook, so
    that the run can be written out as an executed notebook."""

    def __init__(self) -> None:
        self.source = None  # the notebook as nbval read it
        self.outputs: dict[int, list] = {}  # code cell number -> its outputs
        self.failed: list[int] = []  # code cells that raised, or whose setup failed

    def pytest_runtest_makereport(self, item, call):
        if not is_cell(item):
            return
        self.source = item.parent.nb
        skipped = call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception)
        if call.when == "call" and item.test_outputs is not None:
            self.outputs[item.cell_num] = list(item.test_outputs)
        if call.excinfo is not None and not skipped:
            self.failed.append(item.cell_num)

    def completed(self) -> bool:
        """Every code cell ran, and none failed."""
        cells = [c for c in self.source.cells if c.cell_type == "code"] if self.source else []
        return bool(cells) and not self.failed and len(self.outputs) == len(cells)

    def write(self, path: Path) -> Path:
        """The run as an executed notebook: each cell that ran with its outputs and its place in the run."""
        executed = copy.deepcopy(self.source)
        number = 0
        for index, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
            if index in self.outputs:
                number += 1
                cell.outputs, cell.execution_count = self.outputs[index], number
        nbformat.write(executed, str(path))
        return path


class SmokeNotebook(Recorder):
    """The session's smoke run when pytest collects the notebook: its cells run after the tests that precede
    the first `smoke_run` test, with the killed partial run just before the first cell."""

    def __init__(self, results_root: Path) -> None:
        super().__init__()
        self.results = results_root
        self.stored: dict | None = None
        self.attempted = False  # a cell of the notebook was set up to run in this session
        self.partial_error: str | None = None

    @pytest.hookimpl(trylast=True)  # after deselection (-k, -m)
    def pytest_collection_modifyitems(self, session, config, items):
        cells = [item for item in items if is_cell(item)]
        rest = [item for item in items if not is_cell(item)]
        users = [i for i, item in enumerate(rest) if FIXTURE in getattr(item, "fixturenames", ())]
        if cells and users:
            items[:] = rest[:users[0]] + cells + rest[users[0]:]

    @pytest.hookimpl(tryfirst=True)  # before nbval starts the kernel
    def pytest_runtest_setup(self, item):
        if not is_cell(item):
            return
        require_real_data()
        self.attempted = True
        if self.partial_error:
            pytest.skip(f"the killed partial run before the notebook failed: {self.partial_error}")
        first = next(i for i in item.session.items if is_cell(i))
        if item is first and any(FIXTURE in getattr(i, "fixturenames", ()) for i in item.session.items):
            try:
                self.stored = killed_partial_run(self.results)
            except AssertionError as error:
                self.partial_error = str(error)
                raise

    def smoke_run(self) -> SmokeRun | None:
        """The run nbval completed in this session (None where the session did not run the notebook)."""
        if not self.attempted:
            return None
        if self.stored is None:
            pytest.fail("homework2.ipynb ran under nbval without the killed partial run before it")
        if not self.completed():
            failed = self.failed or "not all"
            pytest.fail(f"homework2.ipynb did not complete under nbval: code cells {failed} failed or did "
                        f"not run (see the homework2.ipynb::Cell items)")
        folder_released(self.results)
        return SmokeRun(self.results, self.stored, self.write(self.results / "nbval.ipynb"))


def killed_and_completed(results_root: Path) -> SmokeRun:
    """The smoke run outside a session that collects the notebook: the killed partial run, then nbval on the
    notebook in a subprocess, in the same results folder."""
    stored = killed_partial_run(results_root)
    output, log = results_root / "nbval.ipynb", results_root / "nbval.log"
    with open(log, "w") as out:
        process = subprocess.run([sys.executable, "-m", "tests.notebook_runs", str(output)], cwd=REPO,
                                 env=_env(results_root), stdout=out, stderr=subprocess.STDOUT, timeout=1200)
    tail = log.read_text()[-3000:]
    assert process.returncode == 0, f"homework2.ipynb failed under nbval (exit {process.returncode}):\n{tail}"
    folder_released(results_root)
    return SmokeRun(results_root, stored, output)


def main(output: str) -> int:
    """nbval on the notebook alone (no conftest: the caller sets HW2_RESULTS and HW2_PROFILE); the run is
    written to `output` as an executed notebook."""
    recorder = Recorder()
    code = pytest.main(["--noconftest", "-p", "no:cacheprovider", "-q", "--color=no", str(NOTEBOOK),
                        *NBVAL_OPTIONS], plugins=[recorder])
    if recorder.source is not None:
        recorder.write(Path(output))
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
