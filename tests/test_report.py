"""The report builder: numbers become macros; a run without metrics is refused."""
from __future__ import annotations

import shutil

import pytest

from helpers import report, results


def test_values_are_typeset():
    assert report.latex_value(54000) == "54{,}000"
    assert report.latex_value(0.0123456) == "0.01235"
    assert report.latex_value(2.5e-05) == r"\ensuremath{2.5\times 10^{-5}}"
    assert report.latex_value("cpu (x86_64)") == r"cpu (x86\_64)"
    assert report.latex_value(None) == "n/a" and report.latex_value(True) == "yes"


def test_macros_cover_nested_keys_and_skip_lists():
    text = report.metric_macros({"data": {"n_train": 10, "curve": [1, 2]}, "run": {"profile": {"name": "smoke"}}})
    assert r"\csname hwmetric@data.n_train\endcsname{10}" in text
    assert r"hwmetric@run.profile.name\endcsname{smoke}" in text
    assert "curve" not in text


def test_build_refuses_a_run_without_metrics(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the notebook first"):
        report.build(tmp_path)


def test_a_metric_missing_from_the_run_stops_the_build_by_name(tmp_path):
    results.merge_metrics(tmp_path, "data", {"n_train": 1600})
    if shutil.which("latexmk"):
        with pytest.raises(RuntimeError, match="metric `run.profile.name' is not in metrics.json"):
            report.build(tmp_path)
    else:
        assert report.build(tmp_path) is None
    assert "hwmetric@data.n_train" in (tmp_path / "report" / "metrics.tex").read_text()
