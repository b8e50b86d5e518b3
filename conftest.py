"""Test-session environment, loaded by pytest before anything is collected (the notebook included):
the `smoke` profile and a temporary results folder, so tests never touch a real run's outputs, and the plugin
that runs the notebook under nbval in its place in the session (tests/notebook_runs.py)."""
import os
import shutil
import tempfile
from pathlib import Path

os.environ["HW2_PROFILE"] = "smoke"  # inherited by every notebook a test runs, nbval's kernel included
_RESULTS = tempfile.mkdtemp(prefix="hw2-test-results-")
os.environ["HW2_RESULTS"] = _RESULTS
# the smoke run reuses what its killed start stored; the tests that force set HW2_FORCE themselves
os.environ.pop("HW2_FORCE", None)


def pytest_configure(config):
    from tests.notebook_runs import SMOKE_NOTEBOOK, SmokeNotebook

    config.pluginmanager.register(SmokeNotebook(Path(_RESULTS)), SMOKE_NOTEBOOK)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_RESULTS, ignore_errors=True)
