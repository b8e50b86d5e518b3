"""Test-session environment, loaded by pytest before anything is collected (the notebook included):
the `smoke` profile and a temporary results folder, so tests never touch a real run's outputs."""
import os
import shutil
import tempfile

os.environ["HW2_PROFILE"] = "smoke"  # inherited by every notebook a test runs
_RESULTS = tempfile.mkdtemp(prefix="hw2-test-results-")
os.environ["HW2_RESULTS"] = _RESULTS


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_RESULTS, ignore_errors=True)
