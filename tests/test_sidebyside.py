"""Section 7's table of the trained models (`sidebyside.models`): each cell read from the metrics of the section
that measured it, "–" where a run did not, and the report's rows made from the same cells."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers import config, quality, results, sidebyside, tables
from helpers.models import DCGAN, VAE, AEConfig, AutoEncoder, GANConfig, HW1Net, SimCLRNet, count_parameters


def _rep(knn: float, probe: float, few: float | None = None, few_std: float | None = None) -> dict:
    return {"knn_accuracy": knn, "linear_probe_accuracy": probe, "few_n100": few, "few_n100_std": few_std}


def _set(frechet: float, coverage: float) -> dict:
    return {"frechet": frechet, "frechet_std": frechet / 10, "coverage": coverage, "coverage_std": 0.01}


# Every section a model's row reads, each value distinct so a row read from the wrong place shows.
METRICS = {
    "data": {"n_train": 18000},
    "autoencoder": {"parameters": 9999, "epochs": 99, "seconds": 999.0},  # section 1's: not the model sections 3-7 read
    "search_cv": {"later_sections_parameters": 1001, "later_sections_epochs": 8, "later_sections_seconds": 101.0,
                  "later_sections_images": 18000},
    "vae": {"parameters": 1002, "spec": {"epochs": 9}, "seconds": 102.0, "config": {"decoder": "transposed"}},
    "simclr": {"parameters": 1003, "spec": {"epochs": 40}, "finetuned": {"pretrain_seconds": 103.0, "seconds": 9.0}},
    "gan": {"parameters": 1004, "spec": {"epochs": 12}, "seconds": 104.0},
    "finetune_hw1": {"scratch": {"total_parameters": 1005, "trainable_parameters": 5, "epochs": 11,
                                 "seconds": 105.0}},
    "representations": {
        "ae": _rep(0.857, 0.82, 0.69, 0.04), "ae_features": _rep(0.849, 0.863, 0.717, 0.014),
        "vae": _rep(0.851, 0.826, 0.712, 0.006), "vae_features": _rep(0.849, 0.867, 0.709, 0.015),
        "simclr_code": _rep(0.826, 0.831), "simclr": _rep(0.861, 0.884, 0.734, 0.010),
        "ae_random": _rep(0.95, 0.95, 0.95, 0.01),  # a control: no model's representation
        "classifier": _rep(0.90, 0.90)},  # the best classifier's, not the Homework 1 network's
    "generators": {"sets": {quality.key(n): s for n, s in [
        ("autoencoder + one Gaussian", _set(6.6, 0.30)), (sidebyside.AE_GENERATOR, _set(2.7, 0.65)),
        (quality.prior_name("resize"), _set(14.5, 0.20)), (quality.prior_name("transposed"), _set(14.1, 0.21)),
        ("DCGAN", _set(6.5, 0.32))]}},
}


def test_each_row_reads_its_own_model_s_metrics():
    rows = sidebyside.models(METRICS)
    assert list(rows) == ["ae", "vae", "simclr", "dcgan", "hw1"]
    assert [r["parameters"] for r in rows.values()] == [1001, 1002, 1003, 1004, 1005]  # HW1: every parameter
    assert [r["epochs"] for r in rows.values()] == [8, 9, 40, 12, 11]
    assert [r["seconds"] for r in rows.values()] == [101.0, 102.0, 103.0, 104.0, 105.0]  # SimCLR: its pretraining
    assert {r["images"] for r in rows.values()} == {18000}
    assert [r["supervised"] for r in rows.values()] == [False] * 4 + [True]
    ae, vae, simclr = rows["ae"], rows["vae"], rows["simclr"]
    # the best of the model's own representations, with where it was read
    assert (ae["knn_accuracy"], ae["knn_accuracy_read_at"]) == (0.857, sidebyside.CODE)
    assert (ae["linear_probe_accuracy"], ae["linear_probe_accuracy_read_at"]) == (0.863, sidebyside.MAP)
    assert (ae["few_n100"], ae["few_n100_std"], ae["few_n100_read_at"]) == (0.717, 0.014, sidebyside.MAP)
    assert (vae["few_n100"], vae["few_n100_std"], vae["few_n100_read_at"]) == (0.712, 0.006, sidebyside.CODE)
    assert (simclr["few_n100"], simclr["few_n100_read_at"]) == (0.734, sidebyside.MAP)  # its code: not read
    # the image set each generates: the autoencoder's mixture without labels, the VAE's kept decoder
    assert (ae["generator"], ae["frechet"], ae["coverage"]) == (sidebyside.AE_GENERATOR, 2.7, 0.65)
    assert (vae["generator"], vae["frechet"], vae["frechet_std"]) == ("VAE prior, transposed decoder", 14.1, 1.41)
    assert (rows["dcgan"]["frechet"], rows["dcgan"]["coverage_std"]) == (6.5, 0.01)
    text = sidebyside.models_table(rows)
    assert ("| autoencoder | 1,001 | 18,000 × 8 | 101 | 85.7% (code) | 86.3% (feature map) "
            "| 71.7 ± 1.4% (feature map) | 2.7 ± 0.3 | 0.650 ± 0.010 |") in text
    assert "| SimCLR (encoder) | 1,003 | 18,000 × 40 | 103 | 86.1% (feature map) |" in text


def test_what_a_run_did_not_measure_is_a_dash():
    rows = sidebyside.models(METRICS)
    assert rows["dcgan"]["knn_accuracy"] is None and rows["dcgan"]["few_n100_read_at"] is None  # no encoder
    assert rows["simclr"]["generator"] is rows["simclr"]["frechet"] is None  # generates nothing
    hw1 = rows["hw1"]
    assert all(hw1[k] is None for k in ("knn_accuracy", "linear_probe_accuracy", "few_n100", "frechet", "coverage"))
    line = next(line for line in sidebyside.models_table(rows).splitlines() if line.startswith("| Homework 1"))
    assert line == "| Homework 1 network, every label | 1,005 | 18,000 × 11 | 105 | – | – | – | – | – |"
    # a run from before the sections stored these: their cells are dashes, the others stay
    older = {**METRICS, "vae": {k: v for k, v in METRICS["vae"].items() if k not in ("parameters", "seconds")},
             "gan": {}}
    old = sidebyside.models(older)
    assert old["vae"]["parameters"] is old["vae"]["seconds"] is old["dcgan"]["epochs"] is None
    assert old["dcgan"]["generator"] == "DCGAN" and old["vae"]["frechet"] == 14.1
    vae_line = next(line for line in sidebyside.models_table(old).splitlines() if line.startswith("| VAE"))
    assert vae_line.startswith("| VAE | – | 18,000 × 9 | – | 85.1% (code) |")
    assert "| DCGAN | – | 18,000 × – | – | – | – | – | 6.5 ± 0.7 |" in sidebyside.models_table(old)
    empty = sidebyside.models({})
    assert list(empty) == [m.key for m in sidebyside.MODELS]
    assert all(c == ("–", None) for r in empty.values() for c in sidebyside.model_cells(r))


def test_the_report_rows_are_the_same_cells_in_the_models_order_with_the_read_out_marked():
    rows = sidebyside.models(METRICS)
    stored = {k: rows[k] for k in sorted(rows)}  # metrics.json keeps its keys sorted
    tex = tables.model_rows({"side_by_side": {"models": stored}})
    assert [line.split(" & ")[0] for line in tex] == [m.label for m in sidebyside.MODELS]
    assert tex[0] == (r"autoencoder & 1,001 & 18,000 \ensuremath{\times} 8 & 101 & 85.7\%$^\mathrm{c}$ & "
                      r"86.3\%$^\mathrm{m}$ & 71.7 \ensuremath{\pm} 1.4\%$^\mathrm{m}$ & 2.7 \ensuremath{\pm} 0.3 & "
                      r"0.650 \ensuremath{\pm} 0.010")
    assert tex[-1].endswith("& -- & -- & -- & -- & --")
    assert r"\newcommand{\modelrows}" in tables.tables_tex({"side_by_side": {"models": stored}})
    missing = tables.model_rows({"side_by_side": {"closing": "x"}})  # a run whose section 7 predates the table
    assert len(missing) == 1 and missing[0].startswith(rf"\multicolumn{{{len(sidebyside.MODEL_COLUMNS)}}}")


def _committed_runs() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "results"], cwd=config.REPO_ROOT, capture_output=True, text=True)
    return sorted(config.REPO_ROOT / Path(f).parent for f in listed.stdout.split() if f.endswith("/metrics.json"))


@pytest.mark.parametrize("run_dir", _committed_runs(), ids=lambda p: p.name)
def test_the_parameter_counts_are_the_models_own(run_dir):
    """In every committed run, each row's parameters (where the run stored them) are those of the network
    built from the run's own configuration: the whole network trained."""
    metrics = results.load_metrics(run_dir)
    ae_config = lambda c: AEConfig(**{**c, "channels": tuple(c["channels"])})  # noqa: E731
    cv = metrics["search_cv"]  # the autoencoder sections 3-7 build on (SimCLR shares its architecture)
    ae = ae_config(cv["tuned_config"] if cv["later_sections_use"] == "tuned" else metrics["autoencoder"]["config"])
    built = {"ae": AutoEncoder(ae), "vae": VAE(ae_config(metrics["vae"]["config"])), "simclr": SimCLRNet(ae),
             "dcgan": DCGAN(GANConfig(**metrics["gan"]["config"])), "hw1": HW1Net()}
    rows = sidebyside.models(metrics)
    stored = {k: r["parameters"] for k, r in rows.items() if r["parameters"] is not None}
    assert "hw1" in stored
    assert stored == {k: count_parameters(built[k]) for k in stored}
