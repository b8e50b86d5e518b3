"""Build a run's PDF report: every number comes from its `metrics.json`, every figure from its folder.

`python -m helpers.report [PROFILE] [--readme]` writes `results/<profile>/report.pdf` where LaTeX (latexmk)
is installed (the Fashion-MNIST hand-in's; a run on another collection, `HW2_DATASET=mnist`, gets no PDF), and
`results/<profile>/summary.md`, the headline table of the run (`summary.py`); with
`--readme` it also rewrites README.md's generated blocks and benchmarks/README.md. The method tables come
from `tables.py`. In `report/report.tex` a number is written `\\metric{section.key}`; a missing key stops the
build with an error naming it, so no number can be typed in by hand or silently left out. The body and its
references, before the appendix, may take at most `MAX_PAGES` pages.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from . import published, summary
from .config import (DATASETS, DEFAULT_DATASET, PROFILES, REPO_ROOT, ConfigError, profile_arguments,
                     resolve_dataset, resolve_profile, results_dir)
from .findings import autoencoder as fa, finetune as ff, search as fs
from .findings import generators as fg, latent as fl, representations as fr, unlabeled as fu
from .findings.curves import curves_reading
from .findings.vae import decoder_sentence as vae_decoder_sentence
from .findings.words import legend, machine, plus_minus, precision, timing_limit
from .results import atomic_path, load_metrics, write_text

TEMPLATE = REPO_ROOT / "report" / "report.tex"
MAX_PAGES = 6  # the body with its references, before the appendix (the assignment's limit)
APPENDIX_HEADING = "Where each graded item is answered"  # the appendix's first section (label app:map)
GENERATOR_TABLE_SCORES = ("frechet", "precision", "recall", "density", "coverage",
                          "mean_top_probability")  # the sample-quality table's columns (report.tex, tab:gen)
LATEX_HINT = "apt-get install texlive-latex-recommended texlive-fonts-recommended lmodern latexmk"
_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "−": r"\ensuremath{-}",
            "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "→": r"\ensuremath{\to}", "ρ": r"\ensuremath{\rho}", "≥": r"\ensuremath{\geq}"}


def flatten(tree: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (`section.key.subkey`, value) for every leaf that is not a list."""
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{name}.")
        elif not isinstance(value, list):
            yield name, value


def latex_value(value: Any) -> str:
    """Numbers typeset for the report: thousands separators, three significant digits (a number with a spread is
    rounded to it instead: see `plus_minus`)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "{,}")
    if isinstance(value, float):
        text = f"{value:.3g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"\ensuremath{{{mantissa}\times 10^{{{int(exponent)}}}}}"
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in str(value))


def aims_reached(metrics: dict) -> list[tuple[int, float, float]]:
    """Per aimed label count: the count, our aim and the best mean accuracy of all methods, with the unlabeled
    images or without them (`findings.unlabeled.best_of_all`); empty for a run without that section."""
    semi, few = metrics.get("unlabeled", {}), metrics.get("few_labels")
    reached = []
    for key, aim in sorted(semi.get("targets", {}).items(), key=lambda item: int(item[0][1:])):
        best = fu.best_of_all(semi, few, key)
        if best is not None:
            reached.append((int(key[1:]), aim, best["mean"]))
    return reached


def findings(metrics: dict) -> dict:
    """Sentences the report states in words, derived from `metrics` (the `prose` macros); absent sections give none."""
    curves = curves_reading(metrics)  # empty where the run has none of the headline models' curves
    found = {"curves": curves} if curves else {}
    if "by_optimizer" in metrics.get("ae_optimizers", {}):
        found["optimizers"] = fa.optimizer_finding(metrics["ae_optimizers"])
    if "config" in metrics.get("ae_regularization", {}):
        found["regularization"] = fa.regularization_finding(metrics["ae_regularization"])
    if "decoders" in metrics.get("autoencoder", {}):
        found["decoders"] = fa.decoder_finding(metrics["autoencoder"])
    if "decoders" in metrics.get("vae", {}):  # the VAE's two decoders: the appendix's
        found["vae_decoders"] = vae_decoder_sentence(metrics["vae"])
    if "tpe" in metrics.get("search", {}):
        found["search_spread"] = fs.search_spread_finding(metrics["search"])
    if "simclr" in metrics.get("latent", {}).get("structure", {}):
        found["simclr"] = fr.simclr(metrics)
    if "psnr_denoised_db" in metrics.get("ae_denoising", {}):
        found["denoising"] = fa.denoising_finding(metrics["ae_denoising"])
    if "ae_code_size" in metrics:
        found["code_size"] = fa.code_size_finding(metrics["ae_code_size"])
        main = metrics.get("autoencoder", {})
        found["code_size_reading"] = fa.code_size_reading(metrics["ae_code_size"], fa.main_model(
            main, metrics["data"]["n_train"]) if "test_mse" in main and "data" in metrics else None)
    if "search_cv" in metrics:
        found["search"] = fs.search_finding(metrics["search_cv"])
    if "generators" in metrics:
        found["generators"] = fg.summary(metrics["generators"], shown=GENERATOR_TABLE_SCORES)
        found["flaws"] = fg.flaws(metrics["generators"])  # empty where the run measured no flaws
        decoder = metrics.get("vae", {}).get("config", {}).get("decoder")
        found["vae_reading"] = fg.vae_reading(metrics["generators"], decoder) if decoder else ""
        if "dcgan" in metrics["generators"]["sets"]:  # the set report.tex reads on its own
            found["dcgan_coverage"] = fg.coverage_of_real(metrics["generators"])
    if "likelihood" in metrics.get("vae", {}):
        vae = metrics["vae"]
        found["vae_nll"] = plus_minus(vae["likelihood"]["nll"], vae["likelihood"].get("nll_sem"))
        found["vae_active"] = (f"{vae['active_dims']} of its {vae['config']['latent_dim']} code dimensions active, their "
                               f"posterior mean varying over the images")
    if "device" in metrics.get("run", {}):
        found["machine"] = machine(metrics["run"]["device"])
        found["timing_limit"] = timing_limit(metrics["run"]["device"])
    if "precision" in metrics.get("run", {}):
        found["precision"] = precision(metrics["run"]["precision"])
    if "encoder" in metrics.get("finetune_seeds", {}).get("stats", {}):  # the strategy repeated over seeds, in words
        found["seeded_encoder"] = legend(metrics["finetune_seeds"]["stats"]["encoder"]["name"])
    if "finetune_hw1" in metrics:
        found["hw1"] = ff.hw1_finding(metrics["finetune_hw1"], metrics.get("finetune_seeds"))
        found["hw1_runs"] = ff.hw1_runs(metrics)
    if "scratch" in metrics.get("finetune", {}):
        found["encoder"] = ff.encoder_finding(metrics["finetune"], metrics.get("finetune_cv"))
    if "search_cv" in metrics:
        found["search_cv"] = fs.search_cv_finding(metrics["search_cv"])
    if "by_epoch" in metrics.get("search_fidelity", {}):
        found["search_fidelity"] = fs.fidelity_finding(metrics["search_fidelity"])
    if "cv" in metrics.get("clf_search", {}):
        found["clf_search"] = ff.clf_search_brief(metrics["clf_search"])
    if "raw" in metrics.get("representations", {}):
        found["representations"] = fr.representations(metrics["representations"])
    if "raw" in metrics.get("representations", {}) and "ae" in metrics["representations"]:
        found["discussion"] = fr.discussion(metrics)
    answers = fr.answers(metrics, aims_reached(metrics))
    if answers:
        found["answers"] = answers
    if "mixing" in metrics.get("latent", {}):
        found["mixing"] = fl.mixing(metrics["latent"]["mixing"])
    if "median_mse" in metrics.get("latent", {}).get("generation", {}).get("novelty", {}):
        found["novelty"] = fl.novelty(metrics["latent"]["generation"]["novelty"])
    if "check" in metrics.get("latent", {}).get("interpolation", {}):
        found["interpolation"] = fl.paths(metrics["latent"]["interpolation"])
        found["interpolation_reading"] = fl.paths_reading(metrics["latent"]["interpolation"])
    if "best" in metrics.get("unlabeled", {}):
        found["unlabeled"] = fu.brief(metrics["unlabeled"], metrics.get("few_labels"))
        found["unlabeled_details"] = fu.details(metrics["unlabeled"])
    return found


def with_findings(metrics: dict) -> dict:
    """`metrics` with the `pm` spreads of `spreads`, under `prose` the sentences of `findings`, under `published`
    the published numbers the report compares with (`published.report_values`) and under `aims` the study's own
    aims with few labels: every key the report may use."""
    return {**_merge(metrics, spreads(metrics)), "prose": findings(metrics), "published": published.report_values(),
            "aims": {f"n{n}": aim for n, aim in fu.AIMS.items()}}


def spreads(metrics: dict) -> dict:
    """For every dict of `metrics` with a mean and a standard deviation (`mean`/`std`, `<x>_mean`/`<x>_std`, or a
    mean `<x>` beside `<x>_std`), the key `pm` (or `<x>_pm`) as text rounded by `plus_minus`, and `pm_pct` in
    percent where the mean is a share."""
    found: dict = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            inner = spreads(value)
            if inner:
                found[key] = inner
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    for key in list(metrics):
        if not number(metrics[key]):
            continue
        if key.endswith("mean"):
            stem, std = key[:-4], metrics.get(key[:-4] + "std")
        else:  # a value measured several times: `<x>` (the mean) beside `<x>_std`
            stem, std = key + "_", metrics.get(key + "_std")
        if number(std):
            found[stem + "pm"] = plus_minus(metrics[key], std)
            if 0 <= metrics[key] <= 1:
                found[stem + "pm_pct"] = plus_minus(metrics[key], std, 100) + "%"
    return found


def _merge(into: dict, extra: dict) -> dict:
    out = dict(into)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def metric_macros(metrics: dict) -> str:
    """`\\metric{key}` for every leaf, and `\\pct{key}` (the value in per cent, one decimal) for every share."""
    lines = ["% Generated from metrics.json by helpers/report.py; do not edit.", r"\makeatletter"]
    for key, value in flatten(metrics):
        lines.append(rf"\expandafter\def\csname hwmetric@{key}\endcsname{{{latex_value(value)}}}")
        if isinstance(value, float) and -1 <= value <= 1 or value is None:
            shown = "n/a" if value is None else f"{100 * value:.1f}\\%"
            lines.append(rf"\expandafter\def\csname hwpct@{key}\endcsname{{{shown}}}")
    lines += [r"\makeatother", ""]
    return "\n".join(lines)


FIGURE = re.compile(r"\\includegraphics(?:\[([^\]]*)\])?\{([^}#]+)\}")  # '#': a macro's argument, no file
OPTIONAL_FIGURE = re.compile(r"\\graphicsopt\{([^}#]+)\}")  # a figure a run may lack: checked where present


def figure_check(template: str, figures: Path, text_width_in: float) -> list[str]:
    """Problems with the figures `template` includes: each must exist with its size record
    (`figures/<name>.json`, written by `plots.save_figure`), be placed at its natural size or scaled by `scale=`,
    fit the text width, and print no text below `plots.MIN_FONT` points. A figure placed by `\\graphicsopt`
    (natural size) is checked only where the run has its PDF. Returns one line per problem."""
    from .plots import MIN_FONT
    problems = []
    optional = [("", name) for name in OPTIONAL_FIGURE.findall(template)
                if (figures / f"{Path(name).stem}.pdf").exists()]
    for options, name in FIGURE.findall(template) + optional:
        scale = 1.0
        for option in filter(None, (o.strip() for o in options.split(","))):
            key, _, value = option.partition("=")
            if key.strip() != "scale":
                problems.append(f"{name}: place figures at their natural size or with scale=, not {option!r}")
                continue
            scale = float(value)
        record = figures / f"{Path(name).stem}.json"
        if not record.exists():
            problems.append(f"{name}: {record} is missing (re-run the notebook section that draws it)")
            continue
        info = json.loads(record.read_text())
        if info["width_in"] * scale > text_width_in + 0.02:
            problems.append(f"{name}: {info['width_in'] * scale:.2f} in wide, the text is {text_width_in:.2f} in")
        if info["smallest_font_pt"] * scale < MIN_FONT - 1e-6:
            problems.append(f"{name}: its smallest text prints at {info['smallest_font_pt'] * scale:.1f} pt "
                            f"(at least {MIN_FONT:g} pt)")
    return problems


def _author_tex(build_dir: Path) -> None:
    """`HW2_AUTHOR`, where set, overrides report/author.tex for this build; without either the title block gives
    the course line and the date only, and the build says how to set an author."""
    path = build_dir / "author.tex"
    author = os.environ.get("HW2_AUTHOR", "").strip()
    if author:
        write_text(path, f"\\renewcommand{{\\reportauthor}}{{{latex_value(author)}}}\n")
        return
    if path.exists():
        path.unlink()
    if not author_set(TEMPLATE.parent / "author.tex"):
        print("No author set: the report's title block gives the course line and the date only. Write your name "
              "in report/author.tex or set HW2_AUTHOR='Name (student number)'.")


def author_set(author_tex: Path) -> bool:
    """Whether `author_tex` names an author: an uncommented, non-empty \\renewcommand{\\reportauthor}{...}."""
    text = author_tex.read_text() if author_tex.exists() else ""
    lines = (line.split("%", 1)[0] for line in text.splitlines())
    return any(re.search(r"\\renewcommand\*?\{\\reportauthor\}\{\s*[^}\s]", line) for line in lines)


def other_collection(run_dir: Path) -> Path | None:
    """The MNIST run to set beside a Fashion-MNIST run (`results/<profile>/`): the one of the same profile
    (`<profile>-mnist/`), else the largest profile's; None where there is none, or `run_dir` is not a
    Fashion-MNIST profile's folder."""
    run_dir = Path(run_dir)
    if run_dir.name not in PROFILES:
        return None
    suffix = DATASETS["mnist"].suffix
    found = [run_dir.parent / f"{name}{suffix}" for name in PROFILES
             if (run_dir.parent / f"{name}{suffix}" / "metrics.json").exists()]
    same = run_dir.parent / f"{run_dir.name}{suffix}"
    return same if same in found else (found[-1] if found else None)


def build(run_dir: Path) -> Path | None:
    """Write the macros and run latexmk; returns the PDF, or None where LaTeX is not installed."""
    metrics = load_metrics(run_dir)
    if not metrics:
        raise FileNotFoundError(f"{run_dir / 'metrics.json'} is missing: run the notebook first (make run).")
    run_dir = Path(run_dir).resolve()  # latexmk runs in the build folder
    build_dir = run_dir / "report"
    write_text(build_dir / "metrics.tex", metric_macros(with_findings(metrics)))
    from .tables import collections_tex, space_rows, tables_tex  # tables.py typesets with latex_value
    write_text(build_dir / "space.tex", space_rows())
    other = other_collection(run_dir)
    write_text(build_dir / "tables.tex", tables_tex(metrics) + collections_tex(metrics, load_metrics(other)
                                                                              if other else None))
    _author_tex(build_dir)
    if shutil.which("latexmk") is None:
        print(f"LaTeX not found: skipped the PDF report (install it with: {LATEX_HINT}).")
        return None
    search = os.pathsep.join([str(build_dir), str(TEMPLATE.parent), str(run_dir / "figures"), ""])  # build first: author.tex
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={build_dir}",
               str(TEMPLATE)]
    shutil.copyfile(TEMPLATE.parent / "references.bib", build_dir / "references.bib")  # bibtex reads it from its cwd
    done = subprocess.run(command, cwd=build_dir, env={**os.environ, "TEXINPUTS": search}, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"LaTeX failed; see {build_dir / 'report.log'}. Last lines:\n"
                           + "\n".join(done.stdout.splitlines()[-25:]))
    log = (build_dir / "report.log").read_text(errors="replace")
    undefined = undefined_references(log)
    if undefined:
        raise RuntimeError(f"The report cites or refers to what it does not define: {', '.join(undefined)} "
                           f"(see {build_dir / 'report.log'}; citations go in report/references.bib).")
    width = re.search(r"hw2-textwidth=([\d.]+)pt", log)
    problems = figure_check(TEMPLATE.read_text(), run_dir / "figures", float(width.group(1)) / 72.27 if width else 6.5)
    if problems:
        raise RuntimeError("Figures the report cannot print legibly:\n" + "\n".join(problems))
    pages = pages_before_appendix(build_dir / "report.aux")
    if pages > MAX_PAGES:
        raise RuntimeError(f"The report's body and references take {pages} pages before the appendix; the limit "
                           f"is {MAX_PAGES}. Shorten report/report.tex or move tables and figures to the appendix.")
    pdf = run_dir / "report.pdf"
    with atomic_path(pdf) as tmp:
        shutil.copyfile(build_dir / "report.pdf", tmp)
    return pdf


def undefined_references(log: str) -> list[str]:
    """The citations and cross-references a LaTeX log reports as undefined."""
    return sorted(set(re.findall(r"(?:Citation|Reference) `([^']+)' (?:on page \d+ )?undefined", log)))


def pages_before_appendix(aux: Path) -> int:
    """Pages of the body and its references: the page the appendix starts on (label `app:map`, after a
    \\clearpage that also flushes every figure of the body), minus one."""
    text = Path(aux).read_text(errors="replace")
    found = re.search(r"\\newlabel\{app:map\}\{\{[^}]*\}\{(\d+)\}", text)
    if not found:
        raise RuntimeError(f"{aux} has no page for the label app:map: the report must open its appendix with it, "
                           f"after a \\clearpage.")
    return int(found.group(1)) - 1


def pdf_pages_before_appendix(pdf: Path) -> int:
    """The same count read from the built PDF itself (pdftotext): the pages before the first one that opens
    with the appendix's heading (`APPENDIX_HEADING`)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for number, page in enumerate(text.split("\f")):
        if re.match(r"\s*A\s+" + re.escape(APPENDIX_HEADING), page):
            return number
    raise RuntimeError(f"{pdf} has no page that opens with the appendix heading '{APPENDIX_HEADING}'.")


def main(argv: list[str]) -> int:
    try:
        collection = resolve_dataset()
        run_dir = results_dir(resolve_profile(profile_arguments(argv, "helpers.report", "--readme")), collection)
        if collection.name != DEFAULT_DATASET and "--readme" in argv:
            raise ConfigError(f"--readme copies the Fashion-MNIST hand-in's summary into README.md; unset "
                              f"HW2_DATASET (now {collection.name!r}) to refresh it")
        # The report is written for the Fashion-MNIST hand-in; another collection's run gives its summary
        pdf = build(run_dir) if collection.name == DEFAULT_DATASET else None
        text = summary.summary(load_metrics(run_dir))
        write_text(run_dir / "summary.md", text)
        if "--readme" in argv:
            summary.refresh_readme(text)
            benchmarks = summary.write_benchmarks_readme()
    except (ConfigError, FileNotFoundError, RuntimeError, KeyError) as err:
        print(f"error: {err!r}" if isinstance(err, KeyError) else f"error: {err}", file=sys.stderr)
        return 2
    if pdf:
        print(f"report: {pdf}")
    elif collection.name != DEFAULT_DATASET:
        print(f"no report.pdf for a {collection.title} run: the report is the Fashion-MNIST hand-in's")
    print(f"summary: {run_dir / 'summary.md'}" + (" (copied into README.md)" if "--readme" in argv else ""))
    if "--readme" in argv:
        print(f"README.md's profiles table and {benchmarks} regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
