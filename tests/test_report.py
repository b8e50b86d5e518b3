"""The report builder: numbers become macros; a run without metrics is refused."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import config, report, results, summary, tables
from helpers.findings import autoencoder as fa, finetune as ff, search as fs


def test_values_are_typeset():
    assert report.latex_value(54000) == "54{,}000"
    assert report.latex_value(0.0123456) == "0.0123"
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
        with pytest.raises(RuntimeError, match="metric `data.n_validation' is not in metrics.json"):
            report.build(tmp_path)
    else:
        assert report.build(tmp_path) is None
    assert "hwmetric@data.n_train" in (tmp_path / "report" / "metrics.tex").read_text()


def _used_keys() -> tuple[set[str], set[str]]:
    tex = re.sub(r"(?<!\\)%.*", "", report.TEMPLATE.read_text())  # LaTeX comments are not read
    required = set(re.findall(r"\\(?:metric|pct)\{([^}]*)\}", tex))
    optional = set(re.findall(r"\\(?:metricopt|pctopt)\{([^}]*)\}", tex))
    return required, optional


def _committed_runs() -> list[Path]:
    """The committed Fashion-MNIST deliverable(s), smallest profile first (the last is the hand-in): the folders
    results/<profile>/ of the metrics.json files git tracks; another collection's (results/<profile>-mnist/)
    are left out."""
    listed = subprocess.run(["git", "ls-files", "results"], cwd=config.REPO_ROOT, capture_output=True, text=True)
    folders = {config.REPO_ROOT / Path(f).parent for f in listed.stdout.split() if f.endswith("/metrics.json")}
    order = list(config.PROFILES)
    return sorted((f for f in folders if f.name in config.PROFILES), key=lambda f: order.index(f.name))


def test_the_generator_sentence_names_only_scores_the_sample_quality_table_shows():
    shown = re.findall(r"\\failmark\{(\w+)\}", report.TEMPLATE.read_text())
    assert shown and set(shown) == set(report.GENERATOR_TABLE_SCORES)


def test_the_body_and_references_page_count_is_read_from_the_appendix_label(tmp_path):
    aux = tmp_path / "report.aux"
    aux.write_text(r"\newlabel{tab:code}{{1}{2}{x}{table.1}{}}" "\n" r"\newlabel{app:map}{{A}{7}{Where}{appendix.A}{}}")
    assert report.pages_before_appendix(aux) == 6
    aux.write_text(aux.read_text() + "\n" + r"\newlabel{refs}{{}{6}{}{section*.9}{}}")
    assert report.pages_before_appendix(aux) == 6  # the references count toward the limit
    aux.write_text("")
    with pytest.raises(RuntimeError, match="app:map"):
        report.pages_before_appendix(aux)


def test_an_author_counts_only_where_author_tex_names_one(tmp_path):
    tex = tmp_path / "author.tex"
    assert not report.author_set(tex)  # no file
    tex.write_text("% set it here:\n% \\renewcommand{\\reportauthor}{Your name (student number)}\n")
    assert not report.author_set(tex)  # commented out
    tex.write_text("\\renewcommand{\\reportauthor}{ }\n")
    assert not report.author_set(tex)  # empty
    tex.write_text("\\renewcommand{\\reportauthor}{Ada Lovelace (123456)} % me\n")
    assert report.author_set(tex)
    assert not report.author_set(report.TEMPLATE.parent / "author.tex")  # the repository ships without a name


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
    assert pdf.stat().st_size > 10000
    assert report.pages_before_appendix(smoke_run.results / "smoke" / "report" / "report.aux") <= report.MAX_PAGES
    if shutil.which("pdftotext") is not None:  # the same count, read from the PDF itself
        assert report.pdf_pages_before_appendix(pdf) <= report.MAX_PAGES
    assert_reads_as_prose(pdf)
    headline = summary.summary(results.load_metrics(smoke_run.results / "smoke"))
    assert "| 7. side by side |" in headline and "Profile `smoke`" in headline


def test_the_report_states_sections_one_to_three_in_the_notebook_s_own_sentences():
    cv = {"tuned_mean": 0.009622, "hand_set_mean": 0.009613, "tuned_std": 7e-5, "hand_set_std": 6e-5}
    found = report.with_findings({"search_cv": cv})["prose"]
    assert set(found) == {"search", "search_cv"}
    assert found == {"search": fs.search_finding(cv), "search_cv": fs.search_cv_finding(cv)}
    runs = _committed_runs()
    assert runs, "no committed run (results/<profile>/metrics.json)"
    sections = ("autoencoder", "ae_optimizers", "ae_regularization", "ae_code_size", "search", "search_cv",
                "finetune_hw1", "finetune_seeds", "finetune", "finetune_cv")
    metrics = {key: value for key, value in results.load_metrics(runs[-1]).items() if key in sections}
    found = report.findings(metrics)
    assert found["decoders"] == fa.decoder_finding(metrics["autoencoder"])  # without the VAE's section
    assert found["optimizers"] == fa.optimizer_finding(metrics["ae_optimizers"])
    assert found["regularization"] == fa.regularization_finding(metrics["ae_regularization"])
    assert found["code_size"] == fa.code_size_finding(metrics["ae_code_size"])
    assert found["search_spread"] == fs.search_spread_finding(metrics["search"])
    assert found["hw1"] == ff.hw1_finding(metrics["finetune_hw1"], metrics["finetune_seeds"])
    assert found["encoder"] == ff.encoder_finding(metrics["finetune"], metrics["finetune_cv"])


YES_NO = re.compile(r"\((?:yes|no)\)|:\s*(?:yes|no)\b[.;,)]?", re.IGNORECASE)


def assert_reads_as_prose(pdf: Path) -> None:
    """The PDF's text states findings in sentences: no yes/no fragment in parentheses or after a colon, no
    metrics.json key name, no Python literal."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert not YES_NO.findall(text), YES_NO.findall(text)
    for jargon in (r"\bNone\b", r"\bTrue\b", r"\bFalse\b", "finetune_", "_mse", "search_cv", r"\bnan\b"):
        assert not re.search(jargon, text), jargon


def test_the_prose_check_catches_yes_no_fragments():
    assert YES_NO.findall("better than PCA at every code size: no. Tuned lower (yes) and")
    assert not YES_NO.findall("No configuration beat it; a note: nothing else. Yesterday (noon)")


def test_the_committed_report_reads_as_prose_within_the_page_limit():
    for run_dir in _committed_runs():
        assert_reads_as_prose(run_dir / "report.pdf")
        assert report.pdf_pages_before_appendix(run_dir / "report.pdf") <= report.MAX_PAGES, run_dir


def test_spreads_round_each_mean_to_its_standard_deviation():
    assert report.plus_minus(0.009414870368109809, 0.00010076989067925313) == "0.00941 ± 0.00010"
    assert report.plus_minus(0.815, 0.007427, 100) == "81.5 ± 0.7"
    assert report.plus_minus(242.4, 2.397) == "242 ± 2"
    assert report.plus_minus(0.8863, 0.0) == "0.886"
    found = report.spreads({"cv": {"hw1": {"mean": 0.8127, "std": 0.0068, "folds": [0.8, 0.82]}},
                            "search_cv": {"tuned_mean": 0.00941, "tuned_std": 0.0001, "chosen": "hand-set"}})
    assert found == {"cv": {"hw1": {"pm": "0.813 ± 0.007", "pm_pct": "81.3 ± 0.7%"}},
                     "search_cv": {"tuned_pm": "0.00941 ± 0.00010", "tuned_pm_pct": "0.941 ± 0.010%"}}
    assert report.with_findings({"cv": {"hw1": {"mean": 0.8127, "std": 0.0065}}})["cv"]["hw1"]["mean"] == 0.8127
    control = report.spreads({"ae_random": {"knn_accuracy": 0.7812, "knn_accuracy_std": 0.0042, "inits": 3}})
    assert control == {"ae_random": {"knn_accuracy_pm": "0.781 ± 0.004", "knn_accuracy_pm_pct": "78.1 ± 0.4%"}}


def test_the_architecture_table_counts_the_built_networks():
    from helpers import models
    metrics = {"autoencoder": {"config": models.AEConfig(decoder="resize").as_dict()},
               "vae": {"config": models.AEConfig().as_dict()}, "simclr": {},
               "gan": {"config": models.GANConfig().as_dict()}}
    rows = {name: n for name, _, n in tables.architectures(metrics)}
    ae = models.AutoEncoder(models.AEConfig(decoder="resize"))
    assert rows["Autoencoder: encoder"] + rows["\\quad decoder"] == models.count_parameters(ae)
    assert rows["Homework 1 network"] == models.count_parameters(models.HW1Net())
    assert rows["VAE"] == models.count_parameters(models.VAE(models.AEConfig()))
    tex = tables.tables_tex({**metrics, "autoencoder": {**metrics["autoencoder"], "spec": {
        "optimizer": "adam", "lr": 0.002, "scheduler": "cosine", "batch_size": 32, "epochs": 8, "augment": None}}})
    assert "Autoencoder & Adam, rate 0.002, cosine & 32 & 8 & none" in tex and "94{,}410" in tex


def test_the_method_tables_show_the_tuned_autoencoder_that_the_later_models_build_on():
    from helpers import models
    hand_set = models.AEConfig(decoder="resize")
    spec = {"optimizer": "adam", "lr": 0.002, "scheduler": "cosine", "batch_size": 32, "epochs": 8, "augment": None,
            "weight_decay": 0.0, "seed": 0, "lr_scales": []}
    params = {"augment": "off", "base_channels": 48, "batch_factor": 0.5, "lr": 0.0097, "optimizer": "adam",
              "schedule": "onecycle"}
    metrics = {"autoencoder": {"config": hand_set.as_dict(), "spec": spec}, "simclr": {},
               "search_cv": {"later_sections_use": "tuned", "tuned_is_hand_set": False, "tuned_params": params}}
    rows = {name: n for name, _, n in tables.architectures(metrics)}
    tuned = models.AEConfig(channels=(48, 96), decoder="resize")
    assert rows["Hand-set autoencoder: encoder"] == models.count_parameters(models.AutoEncoder(hand_set).encoder)
    assert rows["Tuned autoencoder: encoder"] == models.count_parameters(models.AutoEncoder(tuned).encoder)
    assert rows["SimCLR"] == models.count_parameters(models.SimCLRNet(tuned))  # the later models: the tuned widths
    assert rows["Encoder + two-layer head"] == models.count_parameters(
        models.EncoderClassifier(models.AutoEncoder(tuned).encoder, "mlp"))
    tex = tables.tables_tex(metrics)  # half the batch, the rate times the square root of a half, the same epochs
    assert "Tuned autoencoder & Adam, rate 0.00686, one-cycle & 16 & 8 & none" in tex
    assert "Hand-set autoencoder & Adam, rate 0.002, cosine & 32 & 8" in tex
    recipe = {**spec, "optimizer": "adam", "lr": 0.001, "weight_decay": 1e-4, "scheduler": "plateau", "batch_size": 64}
    searched = {"lr": 0.00087, "encoder_lr_scale": 0.58, "weight_decay": 0.00082, "label_smoothing": 0.1}
    clf = {**metrics, "finetune": {"recipe": recipe}, "clf_search": {"tuned_params": searched, "default_kept": False}}
    row = next(r for r in tables.training_settings(clf) if "searched fine-tuning" in r[0])
    assert "rate 0.00087" in row[1] and "decay 0.00082" in row[1] and "0.58" in row[4] and "smoothing 0.1" in row[4]
    default = {**clf, "clf_search": {**clf["clf_search"], "default_kept": True}}  # the default kept: no such row
    assert not any("searched fine-tuning" in r[0] for r in tables.training_settings(default))
    kept = {**metrics, "search_cv": {**metrics["search_cv"], "later_sections_use": "hand-set"}}
    assert "Tuned" not in tables.tables_tex(kept) and tables.tuned_autoencoder(kept) is None


def _figure_record(folder: Path, name: str, width: float, font: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"width_in": width, "height_in": 2.0, "smallest_font_pt": font}))


def test_figures_that_would_print_too_small_or_too_wide_are_refused(tmp_path):
    _figure_record(tmp_path, "good", 6.4, 7.5)
    _figure_record(tmp_path, "tiny_text", 3.0, 6.0)
    _figure_record(tmp_path, "wide", 9.6, 8.0)
    assert report.figure_check(r"\includegraphics{good.pdf} \includegraphics[scale=0.95]{good}", tmp_path, 6.5) == []
    problems = report.figure_check(r"\includegraphics{tiny_text.pdf}\includegraphics{wide.pdf}"
                                   r"\includegraphics[width=0.5\linewidth]{good.pdf}\includegraphics{absent.pdf}"
                                   r"\includegraphics[scale=0.9]{good.pdf}", tmp_path, 6.5)
    assert len(problems) == 5, problems
    assert "6.0 pt" in problems[0] and "9.60 in wide" in problems[1] and "natural size" in problems[2]
    assert "absent.json is missing" in problems[3] and "6.8 pt" in problems[4]


def test_a_saved_figure_records_its_printed_size_and_smallest_font(tmp_path):
    import matplotlib.pyplot as plt

    from helpers import plots
    plots.use_style()
    fig, ax = plt.subplots(figsize=(3.0, 2.0))
    ax.plot([0, 1], [0, 1])
    ax.set_title("a title")
    ax.text(0.5, 0.5, "small", fontsize=6)
    plots.save_figure(fig, tmp_path, "probe")
    info = json.loads((tmp_path / "figures" / "probe.json").read_text())
    assert info["smallest_font_pt"] == 6 and 2.0 < info["width_in"] < 3.2 and 1.2 < info["height_in"] < 2.2
    plt.close(fig)


def test_every_figure_the_report_includes_exists_with_its_record_in_each_run(smoke_run):
    names = {Path(n).stem for _, n in report.FIGURE.findall(report.TEMPLATE.read_text())}
    assert {"ae_loss", "ae_regularization", "latent_maps", "unsupervised_curves", "generators_samples"} <= names
    for run_dir in [smoke_run.results / "smoke", *_committed_runs()]:
        missing = sorted(n for n in names if not (run_dir / "figures" / f"{n}.pdf").exists()
                         or not (run_dir / "figures" / f"{n}.json").exists())
        assert not missing, f"{run_dir}: figures the report includes are missing: {missing}"


def test_undefined_citations_are_found_in_the_log():
    log = ("LaTeX Warning: Citation `xiao2017' on page 1 undefined on input line 40.\n"
           "LaTeX Warning: Reference `tab:arch' on page 2 undefined on input line 52.\n")
    assert report.undefined_references(log) == ["tab:arch", "xiao2017"]
    assert report.undefined_references("LaTeX Warning: There were undefined references.\n") == []


def test_the_fashion_report_finds_its_mnist_twin_of_the_same_profile_else_the_largest(tmp_path):
    for name in ("full", "quick-mnist"):
        results.merge_metrics(tmp_path / name, "data", {"n_train": 1})
    assert report.other_collection(tmp_path / "full") == tmp_path / "quick-mnist"
    results.merge_metrics(tmp_path / "full-mnist", "data", {"n_train": 1})
    assert report.other_collection(tmp_path / "full") == tmp_path / "full-mnist"
    assert report.other_collection(tmp_path / "quick-mnist") is None  # an MNIST run has no twin to show
    assert report.other_collection(tmp_path / "smoke") == tmp_path / "full-mnist"  # none of its own: the largest


def test_the_collections_table_sets_every_headline_beside_its_twin_and_says_what_changes():
    from helpers import tables
    from helpers.findings import collections as fc

    def run(mse, knn, probe, nll, profile):
        return {"autoencoder": {"test_mse": mse}, "representations": {"ae": {"knn_accuracy": knn},
                                                                      "simclr": {"linear_probe_accuracy": probe}},
                "vae": {"likelihood": {"nll": nll}}, "data": {"n_train": 54000},
                "run": {"profile": {"name": profile, "ae_epochs": 20}}}
    fashion, mnist = run(0.0069, 0.85, 0.88, 240.0, "full"), run(0.0023, 0.97, 0.975, 87.45, "quick")
    assert tables.collections_tex(fashion, None) == "\\newcommand{\\collectiontable}{}\n"
    text = tables.collections_tex(fashion, mnist)
    assert "tab:collections" in text and "84.45" in text and "228.7" in text and "0.00690 & 0.00230" in text
    assert "-- & --" in text  # a headline neither run has
    said = fc.change(fashion, mnist)
    assert said.startswith("Every accuracy of the table is higher on MNIST, by 9.5 to 12.0 points")
    assert "3.0 times lower on MNIST" in said and "+3.0 and +11.3 nats" in said
    mixed = fc.change(fashion, {**mnist, "representations": {"ae": {"knn_accuracy": 0.80},
                                                             "simclr": {"linear_probe_accuracy": 0.882}}})
    assert "k-NN on the code is lower" in mixed and "SimCLR's probe is level" in mixed
    assert fc.change({}, {}) == ""
