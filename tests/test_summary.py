"""README.md and benchmarks/README.md: their generated parts equal a fresh generation, and what they state
matches the code, the committed run and the benchmark files."""
from __future__ import annotations

import json
import re

import pytest

from helpers import config, quality, summary
from helpers.findings.words import plural, plus_minus
from helpers.results import load_metrics
from tests.test_report import _committed_runs
from tests.tiny import GROUPS, SCORES, as_dcgan, with_spread

README = summary.README.read_text()
SHEET = "REFERENCE" + ".md"  # split, so that a scan of the repository for it does not find this file


def _committed() -> tuple[config.Profile, dict]:
    runs = _committed_runs()
    assert runs, "no committed run (results/<profile>/ with metrics.json, report.pdf and homework2.ipynb)"
    return config.PROFILES[runs[-1].name], load_metrics(runs[-1])


def _prose(readme: str) -> str:
    """README.md without its generated blocks."""
    for name in ("headline", "profiles"):
        readme = readme.replace(summary.readme_block(readme, name), "")
    return readme


def test_the_readme_is_a_short_front_door():
    assert len(README.splitlines()) <= 150
    assert SHEET not in README and SHEET not in summary.benchmarks_readme()


def test_the_readme_headline_is_the_committed_run_summary():
    _, metrics = _committed()
    assert summary.readme_block(README) == summary.summary(metrics)


def test_the_readme_profiles_table_is_a_fresh_generation_and_names_every_profile():
    assert summary.readme_block(README, "profiles") == summary.profiles_table()
    prose = _prose(README)
    for name in config.PROFILES:
        assert f"`{name}`" in prose, f"the README's text does not name the profile {name}"


def test_the_profiles_table_agrees_with_the_committed_run():
    """The committed run's row states the split sizes the run used, its number of search studies and its label
    draws: each computed from the profile, each checked here against what the run recorded."""
    profile, metrics = _committed()
    rows = {cells[0].strip("`"): cells for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in summary.profiles_table().splitlines()[2:])}
    assert set(rows) == set(config.PROFILES)
    row, data = rows[profile.name], metrics["data"]
    assert row[1] == f"{data['n_train']:,} / {data['n_validation']:,} / {data['n_test']:,}"
    studies = sum(len(metrics["search"][kind]["best"]) for kind in ("tpe", "random", "grid"))
    assert row[3].startswith(f"{studies} × {profile.trials},")
    draws = metrics["few_labels"]["protocol"]["draws"]
    assert row[6].split(" (")[0].endswith(plural(draws[f"n{min(profile.label_counts)}"], "draw"))
    assert all(n == 1 for key, n in draws.items() if int(key[1:]) > 1000)


def test_the_readme_graded_map_names_figures_and_keys_of_the_committed_run():
    run, metrics = _committed_runs()[-1], _committed()[1]
    figures = {path.stem for path in (run / "figures").glob("*.pdf")}
    section = README.split("## Where each graded item is answered", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "graded item" not in line]
    assert len(rows) == 8
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0].startswith("report"):
            continue
        named, keys = cells[3].rsplit(";", 1) if ";" in cells[3] else ("", cells[3])
        for name in re.findall(r"`([^`]+)`", named):
            pattern = re.compile(name.replace("*", ".*") + "$")
            assert any(pattern.match(f) for f in figures), f"no figure {name} in {run / 'figures'}"
        for key in re.findall(r"`([^`]+)`", keys):
            assert key in metrics, f"metrics.json has no section {key}"


def _paired(tuned_mean: float, half: float = 0.0002) -> dict:
    difference = tuned_mean - 0.00941
    return {"tuned_mean": tuned_mean, "tuned_std": 0.0001, "hand_set_mean": 0.00941, "hand_set_std": 0.00008,
            "folds": 5, "compared": "finalist 1", "chosen": "finalist 1", "tuned_is_hand_set": False,
            "difference": {"mean": difference, "low": difference - half, "high": difference + half}}


@pytest.mark.parametrize("tuned_mean, side", [(0.00940, 0), (0.00900, -1), (0.00990, 1)])
def test_the_search_headline_says_which_configuration_wins_by_the_paired_interval(tuned_mean, side):
    cv = _paired(tuned_mean)
    assert summary.search_verdict(cv) == side
    text = summary.search_summary(cv)
    assert plus_minus(tuned_mean, 0.0001) in text and plus_minus(0.00941, 0.00008) in text
    others = {summary.search_summary(_paired(m)) for m in (0.00940, 0.00900, 0.00990)}
    assert len(others) == 3  # tie, win and loss are stated differently


def test_the_search_headline_compares_nothing_when_the_search_found_no_other_configuration():
    cv = {**_paired(0.00941), "compared": None, "difference": None, "hand_set_test_mse": 0.00818}
    text = summary.search_summary(cv)
    assert summary.search_verdict(cv) is None and "±" not in text and "0.00818" in text


def test_the_generators_headline_reads_the_judge_with_spreads_and_only_scores_that_pass():
    spread = with_spread(with_spread(SCORES, 0.5, ("frechet",)), 0.01, ("density", "coverage"))
    scores, groups = as_dcgan(spread, GROUPS)
    found = json.loads(json.dumps(quality.metrics(scores, groups, judge="HW1 network from scratch")))
    assert found["checks"]["coverage"]["passed"] and not found["checks"]["density"]["passed"]
    text = summary._generators_summary(found)
    assert "HW1 network from scratch" in text
    for value in (3.8512, 124.41, 725.66):  # real held-out images, the DCGAN, uniform noise
        assert plus_minus(value, 0.5) in text
    assert plus_minus(0.35, 0.01) in text  # the DCGAN's coverage, which passed
    assert plus_minus(0.69, 0.01) not in text and "density" not in text  # density failed the check
    assert str(SCORES["gan"]["mean_top_probability"]) not in text and "top probability" not in text
    coverage = {**found["checks"]["coverage"], "passed": False}
    failed = {**found, "checks": {**found["checks"], "coverage": coverage}}
    assert plus_minus(0.35, 0.01) not in summary._generators_summary(failed)
    one_draw = as_dcgan(SCORES, GROUPS)
    plain = summary._generators_summary(json.loads(json.dumps(quality.metrics(*one_draw))))
    assert "±" not in plain and "124" in plain


def test_benchmarks_readme_is_a_fresh_generation_naming_each_files_machine():
    page = (summary.BENCHMARKS / "README.md").read_text()
    assert page == summary.benchmarks_readme()
    for path in sorted(summary.BENCHMARKS.glob("*.json")):
        report = json.loads(path.read_text())
        assert path.name in page and report.get("cpu", report["device"]) in page


def test_an_unknown_benchmark_file_is_refused(tmp_path):
    (tmp_path / "timings.json").write_text("{}")
    with pytest.raises(RuntimeError, match="timings.json is not a kind of file"):
        summary.benchmarks_readme(tmp_path)


def test_bf16_parity_is_judged_against_each_models_tolerance():
    report = {"fp32": {"autoencoder_test_mse": 0.0100, "hw1_test_accuracy": 0.870},
              "bf16": {"autoencoder_test_mse": 0.0103, "hw1_test_accuracy": 0.872}}
    rows = {label: (difference, within) for label, _, _, difference, within in summary.parity_rows(report)}
    assert len(rows) == 2  # the VAE is not in this file
    assert rows["main autoencoder: test MSE"] == (pytest.approx(0.03), False)  # 3% against 2%
    assert rows["Homework 1 network: test accuracy"] == (pytest.approx(0.002), True)  # 0.2 against 0.3 points
