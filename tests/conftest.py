"""Shared fixtures: the real data folder, tiny idx files written on the fly, and the session's smoke run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import data

from .notebook_runs import SMOKE_NOTEBOOK, SmokeRun, killed_and_completed, require_real_data


@pytest.fixture(scope="session")
def real_root() -> Path:
    """The folder with the real data files; skipped (or failed, if HW2_REQUIRE_DATA=1) when absent."""
    return require_real_data()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an idx file (magic 0x0801 for 1-d labels, 0x0803 for 3-d images)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_root(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A data root with tiny but well-formed Fashion-MNIST files: 30 training and 20 test images.

    Returns the root and the training images and labels written."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "FashionMNIST" / "raw"
    written = {}
    for train, n in ((True, 30), (False, 20)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        image_file, label_file = data.split_files(train)
        write_idx(raw / image_file, images)
        write_idx(raw / label_file, labels)
        written[train] = (images, labels)
    return (tmp_path, *written[True])


@pytest.fixture(scope="session")
def smoke_run(request, real_root) -> SmokeRun:
    """The session's smoke run of the notebook (tests/notebook_runs.py): killed once, then completed under
    nbval in the same results folder ($HW2_RESULTS, set by the root conftest.py). Where the session collects
    the notebook, that is the run nbval made among the session's items; otherwise this runs it. The
    reliability tests check the completion, the report tests build the PDF from its metrics and figures."""
    session_run = request.config.pluginmanager.get_plugin(SMOKE_NOTEBOOK)
    return session_run.smoke_run() or killed_and_completed(session_run.results)
