"""The report builder: numbers become macros; a run without metrics is refused."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import config, report, results


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


def _used_keys() -> tuple[set[str], set[str]]:
    tex = re.sub(r"(?<!\\)%.*", "", report.TEMPLATE.read_text())  # LaTeX comments are not read
    required = set(re.findall(r"\\metric\{([^}]*)\}", tex))
    optional = set(re.findall(r"\\metricopt\{([^}]*)\}", tex))
    return required, optional


def _committed_runs() -> list[Path]:
    """The committed deliverable(s): the folders of the results/<profile>/metrics.json files git tracks."""
    listed = subprocess.run(["git", "ls-files", "results"], cwd=config.REPO_ROOT, capture_output=True, text=True)
    return sorted(config.REPO_ROOT / Path(f).parent for f in listed.stdout.split() if f.endswith("/metrics.json"))


def test_the_body_page_count_is_read_from_the_appendix_label(tmp_path):
    aux = tmp_path / "report.aux"
    aux.write_text(r"\newlabel{tab:code}{{1}{2}{x}{table.1}{}}" "\n" r"\newlabel{app:map}{{A}{6}{Where}{appendix.A}{}}")
    assert report.pages_before_appendix(aux) == 5
    aux.write_text("")
    with pytest.raises(RuntimeError, match="app:map"):
        report.pages_before_appendix(aux)


def test_every_metric_the_report_uses_exists_in_the_smoke_run_and_the_committed_run(smoke_run):
    required, _ = _used_keys()
    assert len(required) > 50
    runs = [smoke_run.results / "smoke", *_committed_runs()]
    for run_dir in runs:
        defined = {key for key, _ in report.flatten(report.with_findings(results.load_metrics(run_dir)))}
        missing = sorted(required - defined)
        assert not missing, f"{run_dir}: the report uses metrics this run lacks: {missing}"


def test_the_report_builds_from_the_smoke_run_within_the_page_limit(smoke_run):
    if shutil.which("latexmk") is None:
        if os.environ.get("HW2_REQUIRE_LATEX") == "1":
            pytest.fail(f"latexmk is not installed; install LaTeX: {report.LATEX_HINT}")
        pytest.skip("LaTeX is not installed")
    pdf = report.build(smoke_run.results / "smoke")
    assert pdf is not None and pdf.stat().st_size > 10000
    assert report.pages_before_appendix(smoke_run.results / "smoke" / "report" / "report.aux") <= report.MAX_PAGES
    summary = report.summary(results.load_metrics(smoke_run.results / "smoke"))
    assert "| 7. side by side |" in summary and "Profile `smoke`" in summary


def test_the_readme_headline_table_is_the_committed_run_summary():
    runs = _committed_runs()
    assert runs, "no committed run (results/<profile>/ with metrics.json, report.pdf and homework2.ipynb)"
    readme = report.README.read_text()
    assert report.readme_block(readme) == report.summary(results.load_metrics(runs[-1]))


def test_findings_state_the_booleans_in_words():
    code = {"beats_pca_at_every_size": False, "code_8": {"ae_test_mse": 0.01, "pca_test_mse": 0.02},
            "code_64": {"ae_test_mse": 0.009, "pca_test_mse": 0.008}, "code_128": {"ae_test_mse": 0.009, "pca_test_mse": 0.006}}
    assert report.code_size_finding(code) == ("The autoencoder reconstructs the test images better than PCA with codes "
                                              "of 8 numbers, and PCA does better with 64 and 128")
    cv = {"tuned_mean": 0.009622, "hand_set_mean": 0.009613, "tuned_std": 7e-5, "hand_set_std": 6e-5}
    assert "does not beat the hand-set one: its cross-validated MSE is higher by 0.000009" in report.search_finding(cv)
    assert "better than the hand-set one by 0.0005" in report.search_finding({**cv, "tuned_mean": 0.009113})
    text = report.generator_finding({"floor_best": True, "ceiling_worst": True, "all_between": False})
    assert "real held-out images score best" in text and "not every generator lies between them" in text
    assert set(report.with_findings({"search_cv": cv})["prose"]) == {"search"}


def test_section_one_two_and_six_findings_are_sentences_from_the_metrics():
    search = {"trials": 10, "trial_epochs": 4, "images": 1600, "start_value": 0.0121,
              "tpe": {"search": "TPE + median pruning", "best": [0.0101, 0.0104, 0.0099], "median_best": 0.0101,
                      "min_best": 0.0099, "max_best": 0.0104},
              "grid": {"search": "grid search", "best": [0.0112], "median_best": 0.0112, "min_best": 0.0112,
                       "max_best": 0.0112}}
    text = report.search_spread_finding(search)
    assert "median over 3 sampler seeds 0.0101, range 0.0099 to 0.0104" in text and "grid search 0.0112, one run" in text
    simclr = {"simclr": {"knn_accuracy": 0.80, "linear_probe_accuracy": 0.84,
                         "code": {"knn_accuracy": 0.75, "linear_probe_accuracy": 0.79}},
              "representations": {"raw": {"knn_accuracy": 0.826, "linear_probe_accuracy": 0.829}}}
    text = report.simclr_finding(simclr)
    assert "2.6 points below and 1.1 points above raw pixels" in text and "75.0% and 79.0%" in text
    rows = {"none": {"gap": 0.006, "val_mse": 0.012, "train_mse": 0.006, "epochs": 30, "best_val_epoch": 22,
                     "best_val_mse": 0.0118, "kept_epoch": 30, "stopped_early": False},
            "dropout 0.2": {"gap": 0.002, "val_mse": 0.011, "train_mse": 0.009, "epochs": 30, "best_val_epoch": 30,
                            "best_val_mse": 0.011, "kept_epoch": 30, "stopped_early": False}}
    text = report.regularization_finding({"images": 1000, "epochs": 30, "config": {}, "best": "dropout 0.2", **rows})
    assert text.startswith("Without regularization") and "2.0 times as high" in text and "*" not in text
    found = report.with_findings({"search": search, "simclr": simclr["simclr"], **simclr})["prose"]
    assert {"search_spread", "simclr"} <= set(found)
