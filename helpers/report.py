"""Build a run's PDF report: every number comes from its `metrics.json`, every figure from its folder.

`python -m helpers.report [PROFILE] [--readme]` writes `results/<profile>/report.pdf` where LaTeX (latexmk)
is installed, and `results/<profile>/summary.md`, the headline table of the run (with `--readme`, also copied
into README.md between its headline markers). In `report/report.tex` a number is written
`\\metric{section.key}`; a missing key stops the build with an error naming it, so no number can be typed in
by hand or silently left out. The body before the appendix may take at most `MAX_PAGES` pages.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from .config import REPO_ROOT, ConfigError, resolve_profile, results_dir
from .quality import CONDITIONAL, fd, plural
from .results import atomic_path, load_metrics, write_text

TEMPLATE = REPO_ROOT / "report" / "report.tex"
README = REPO_ROOT / "README.md"
MAX_PAGES = 6  # before the appendix (the assignment's limit)
HEADLINE_START, HEADLINE_END = "<!-- headline:start -->", "<!-- headline:end -->"
LATEX_HINT = "apt-get install texlive-latex-recommended texlive-fonts-recommended lmodern latexmk"
_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def flatten(tree: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (`section.key.subkey`, value) for every leaf that is not a list."""
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{name}.")
        elif not isinstance(value, list):
            yield name, value


def latex_value(value: Any) -> str:
    """Numbers typeset for the report: thousands separators, four significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "{,}")
    if isinstance(value, float):
        text = f"{value:.4g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"\ensuremath{{{mantissa}\times 10^{{{int(exponent)}}}}}"
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in str(value))


def _sizes(sizes: list[int]) -> str:
    """'64 and 128', '8, 16 and 32'."""
    words = [f"{n:,}" for n in sorted(sizes)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def code_size_finding(code: dict) -> str:
    """Where the autoencoder reconstructs better than PCA with a code of the same size: a sentence without its full
    stop (the report adds the table's reference)."""
    sizes = {int(k.split("_")[1]): v for k, v in code.items() if k.startswith("code_")}
    pca_wins = [n for n, v in sizes.items() if v["pca_test_mse"] <= v["ae_test_mse"]]
    if not pca_wins:
        return "The autoencoder reconstructs the test images better than PCA at every code size"
    ae_wins = [n for n in sizes if n not in pca_wins]
    if not ae_wins:
        return "PCA reconstructs the test images better than the autoencoder at every code size"
    return (f"The autoencoder reconstructs the test images better than PCA with codes of {_sizes(ae_wins)} numbers, "
            f"and PCA does better with {_sizes(pca_wins)}")


def search_finding(cv: dict) -> str:
    """Whether the tuned configuration beats the hand-set one by more than the folds' spread, as a sentence."""
    if cv.get("tuned_is_hand_set"):
        return ("No configuration the searches found beat the hand-set one at the final budget, so the tuned "
                "configuration is the hand-set one and the later sections build on it.")
    difference = cv["tuned_mean"] - cv["hand_set_mean"]
    spread = max(cv["tuned_std"], cv["hand_set_std"])
    if difference < 0 and -difference > spread:
        return (f"The tuned configuration is better than the hand-set one by {-difference:.6f}, more than the "
                f"folds' standard deviation ({spread:.6f}).")
    relation = "lower" if difference < 0 else "higher"
    return (f"The tuned configuration does not beat the hand-set one: its cross-validated MSE is {relation} by "
            f"{abs(difference):.6f}, less than the folds' standard deviation ({spread:.6f}).")


def generator_finding(generators: dict) -> str:
    """How the Frechet distance orders real images, generators and noise, and (where the run stored them) each
    group's best generator by the Frechet distance, density (fidelity) and coverage (diversity), ranked only within
    the group, and how many generators uniform noise outscores on precision and on mean top probability."""
    parts = ["real held-out images score best" if generators["floor_best"] else
             "real held-out images do not score best",
             "uniform noise scores worst" if generators["ceiling_worst"] else "uniform noise does not score worst",
             "every generator lies between them" if generators["all_between"] else
             "not every generator lies between them"]
    text = f"In the classifier-feature Fréchet distance {parts[0]}, {parts[1]}, and {parts[2]}."
    rows = {row["name"]: row for row in generators.get("sets", {}).values()}
    for group, best in generators.get("best", {}).items():
        label, size = generators["group_names"][group], len(generators["groups"][group])
        if size == 1:
            row = rows[best["frechet"]]
            text += (f" The only {plural(label)[:-1]}, {best['frechet']}"
                     f"{' (it used the labels)' if label == CONDITIONAL else ''}, is ranked on its own: Fréchet "
                     f"distance {fd(row['frechet'])}, density {row['density']:.2f}, coverage {row['coverage']:.2f}.")
        else:
            text += (f" Among the {size} {plural(label)}, ranked only among themselves, {best['frechet']} comes "
                     f"closest by the Fréchet distance ({fd(rows[best['frechet']]['frechet'])}), "
                     f"{best['density']} has the highest density, the fidelity score "
                     f"({rows[best['density']]['density']:.2f}), and {best['coverage']} the highest coverage, the "
                     f"diversity score ({rows[best['coverage']]['coverage']:.2f}).")
    beaten = {by: n for by, n in generators.get("noise_beats_count", {}).items()
              if by in ("precision", "mean_top_probability") and n}
    if beaten:
        total = sum(len(names) for names in generators["groups"].values())
        said = [f"a higher {by.replace('_', ' ')} than {n} of the {total} generators" for by, n in beaten.items()]
        text += (f" Uniform noise gets {' and '.join(said)}, so "
                 f"{'that score is not' if len(beaten) == 1 else 'neither score is'} read as fidelity.")
    return text


def _sentences(text: str) -> str:
    """A notebook "Measured:" text as plain report prose (no bold label, no Markdown emphasis)."""
    text = text.replace("**Measured:** ", "").replace("**", "").replace("*", "").strip()
    return text[:1].upper() + text[1:]


def optimizer_finding(optimizers: dict) -> str:
    """Each optimizer at its best learning rate (section 1), in words."""
    from .autoencoder import optimizer_findings
    return _sentences(optimizer_findings(optimizers["by_optimizer"], optimizers["images"], optimizers["epochs"]))


def regularization_finding(regularization: dict) -> str:
    """The regularization comparison, from its gaps, in words."""
    from .autoencoder import regularization_findings
    rows = {name: row for name, row in regularization.items() if isinstance(row, dict) and "gap" in row}
    return _sentences(regularization_findings(rows, regularization["images"]))


def decoder_finding(metrics: dict) -> str:
    """The two decoders in the autoencoder and, where the run has them, in the VAE."""
    from .autoencoder import decoder_findings
    from .vae import decoder_findings as vae_decoder_findings
    text = _sentences(decoder_findings(metrics["autoencoder"]["decoders"], metrics["autoencoder"]["decoder"]))
    if "decoders" in metrics.get("vae", {}):
        text += " " + _sentences(vae_decoder_findings(metrics["vae"]["decoders"], metrics["vae"]["config"].get("decoder", "transposed")))
    return text


def _sig(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}"


def search_spread_finding(search: dict) -> str:
    """Each search kind's best validation MSE over its sampler seeds (median and range) against the hand-set start."""
    parts = []
    for kind in ("tpe", "random", "grid"):
        row = search.get(kind)
        if row is None:
            continue
        seeds = len(row["best"])
        spread = (f"median over {seeds} sampler seeds {_sig(row['median_best'])}, range {_sig(row['min_best'])} to "
                  f"{_sig(row['max_best'])}" if seeds > 1 else f"{_sig(row['median_best'])}, one run")
        parts.append(f"{row['search']} {spread}")
    start = "n/a" if search["start_value"] is None else _sig(search["start_value"])
    epochs = f"{search['trial_epochs']} epoch{'s' if search['trial_epochs'] != 1 else ''}"
    return (f"With {search['trials']} trials of at most {epochs} on {search['images']:,} images "
            f"per study, the best validation MSE found was: {'; '.join(parts)}; the hand-set start scores "
            f"{start}.")


def simclr_finding(metrics: dict) -> str:
    """SimCLR read at the encoder's feature map against raw pixels, and at its code."""
    simclr, raw = metrics["simclr"], metrics["representations"]["raw"]
    knn, probe = 100 * (simclr["knn_accuracy"] - raw["knn_accuracy"]), 100 * (
        simclr["linear_probe_accuracy"] - raw["linear_probe_accuracy"])
    words = lambda d: "level with" if round(d, 1) == 0 else f"{abs(d):.1f} points {'above' if d > 0 else 'below'}"  # noqa: E731
    text = (f"Read at the encoder's last feature map, SimCLR's representation scores {_pct(simclr['knn_accuracy'])} by "
            f"k-NN and {_pct(simclr['linear_probe_accuracy'])} by a linear probe, {words(knn)} and {words(probe)} raw "
            f"pixels.")
    if "code" in simclr:
        text += (f" Read after the linear layer (the 32-number code) it scores {_pct(simclr['code']['knn_accuracy'])} "
                 f"and {_pct(simclr['code']['linear_probe_accuracy'])}.")
    return text


def findings(metrics: dict) -> dict:
    """Sentences the report states in words, derived from `metrics` (the `prose` macros); absent sections give none."""
    found = {}
    if "by_optimizer" in metrics.get("ae_optimizers", {}):
        found["optimizers"] = optimizer_finding(metrics["ae_optimizers"])
    if "config" in metrics.get("ae_regularization", {}):
        found["regularization"] = regularization_finding(metrics["ae_regularization"])
    if "decoders" in metrics.get("autoencoder", {}):
        found["decoders"] = decoder_finding(metrics)
    if "tpe" in metrics.get("search", {}):
        found["search_spread"] = search_spread_finding(metrics["search"])
    if "code" in metrics.get("simclr", {}) and "representations" in metrics:
        found["simclr"] = simclr_finding(metrics)
    if "ae_code_size" in metrics:
        found["code_size"] = code_size_finding(metrics["ae_code_size"])
    if "search_cv" in metrics:
        found["search"] = search_finding(metrics["search_cv"])
    if "generators" in metrics:
        found["generators"] = generator_finding(metrics["generators"])
    return found


def with_findings(metrics: dict) -> dict:
    """`metrics` and, under `prose`, the sentences of `findings`: every key the report may use."""
    return {**metrics, "prose": findings(metrics)}


def metric_macros(metrics: dict) -> str:
    lines = ["% Generated from metrics.json by helpers/report.py; do not edit.", r"\makeatletter"]
    lines += [rf"\expandafter\def\csname hwmetric@{key}\endcsname{{{latex_value(value)}}}"
              for key, value in flatten(metrics)]
    lines += [r"\makeatother", ""]
    return "\n".join(lines)


SPACE_LABELS = {"lr": "learning rate", "weight_decay": "weight decay", "batch_size": "batch size",
                "optimizer": "optimizer", "base_channels": "base width $b$", "dropout": "dropout"}


def space_rows() -> str:
    """The macro `\\searchspacerows`: the searched hyperparameters of section 2 as LaTeX table rows (name, range or
    choices, scale), from `tuning.space_rows`, so the report's search-space table is the code's own space."""
    from .tuning import space_rows as rows
    return "\\newcommand{\\searchspacerows}{%\n" + "\n".join(f"    {SPACE_LABELS.get(name, latex_value(name))} & {latex_value(values)} & {latex_value(scale)} \\\\"
                     for name, values, scale in rows() if scale != "fixed") + "}\n"


def build(run_dir: Path) -> Path | None:
    """Write the macros and run latexmk; returns the PDF, or None where LaTeX is not installed."""
    metrics = load_metrics(run_dir)
    if not metrics:
        raise FileNotFoundError(f"{run_dir / 'metrics.json'} is missing: run the notebook first (make run).")
    build_dir = run_dir / "report"
    write_text(build_dir / "metrics.tex", metric_macros(with_findings(metrics)))
    write_text(build_dir / "space.tex", space_rows())
    if shutil.which("latexmk") is None:
        print(f"LaTeX not found: skipped the PDF report (install it with: {LATEX_HINT}).")
        return None
    search = os.pathsep.join([str(TEMPLATE.parent), str(build_dir), str(run_dir / "figures"), ""])
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={build_dir}",
               str(TEMPLATE)]
    done = subprocess.run(command, env={**os.environ, "TEXINPUTS": search}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"LaTeX failed; see {build_dir / 'report.log'}. Last lines:\n"
                           + "\n".join(done.stdout.splitlines()[-25:]))
    pages = pages_before_appendix(build_dir / "report.aux")
    if pages > MAX_PAGES:
        raise RuntimeError(f"The report's body takes {pages} pages before the appendix; the limit is {MAX_PAGES}. "
                           f"Shorten report/report.tex or move tables and figures to the appendix.")
    pdf = run_dir / "report.pdf"
    with atomic_path(pdf) as tmp:
        shutil.copyfile(build_dir / "report.pdf", tmp)
    return pdf


def pages_before_appendix(aux: Path) -> int:
    """Pages of the body: the page the appendix starts on (label `app:map`, after a \\clearpage) minus one."""
    found = re.search(r"\\newlabel\{app:map\}\{\{[^}]*\}\{(\d+)\}", Path(aux).read_text(errors="replace"))
    if not found:
        raise RuntimeError(f"{aux} has no page for the label app:map: the report must open its appendix with it.")
    return int(found.group(1)) - 1


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _finetune_summary(metrics: dict) -> str:
    """Section 3's key numbers: Homework 1's network under its own recipe, from scratch and pretrained, and the best."""
    ft, cv, hw1 = metrics["finetune"], metrics.get("finetune_cv", {}), metrics.get("finetune_hw1")
    best = f"best on validation {ft['best_name']} {_pct(ft['best_test_accuracy'])}"
    if hw1 is None:
        return (f"Homework 1 network {_pct(ft['hw1']['test_accuracy'])} test (CV {_pct(cv.get('hw1', {}).get('mean'))}); "
                + best)
    return (f"Homework 1 network, its own recipe ({hw1['epochs']} epochs at most): from scratch "
            f"{_pct(hw1['scratch']['test_accuracy'])} test (reported {_pct(hw1['reported_test'])}), pretrained as an "
            f"autoencoder and fine-tuned {_pct(hw1['finetuned']['test_accuracy'])}; {best}")


def summary(metrics: dict) -> str:
    """The headline table of a run (Markdown): profile, device, wall-clock time, and per section the key
    numbers, every one read from `metrics`."""
    run, sec = metrics["run"], metrics.get("seconds", {})
    reps, gens = metrics.get("representations", {}), metrics.get("generators", {}).get("sets", {})
    precision = f", {run['precision']}" if "precision" in run else ""
    lines = [f"Profile `{run['profile']['name']}` on {run['device']} (PyTorch {run['versions']['torch']}{precision}); "
             f"notebook sections {sec.get('total', 0):,.0f} s in all.", "",
             "| section | seconds | key numbers |", "|---|---|---|"]
    rows = [
        ("0. data", sec.get("data"), f"{metrics['data']['n_train']:,} train / {metrics['data']['n_validation']:,} "
                                     f"validation / {metrics['data']['n_test']:,} test images"),
        ("1. autoencoder", sec.get("autoencoder"),
         f"test MSE {metrics['autoencoder']['test_mse']:.4f} (code {metrics['autoencoder']['config']['latent_dim']}); "
         f"{code_size_finding(metrics['ae_code_size']).replace('The autoencoder', 'the autoencoder', 1)}; "
         f"denoising {metrics['ae_denoising']['psnr_noisy_db']:.1f} → {metrics['ae_denoising']['psnr_denoised_db']:.1f} dB"),
        ("2. search", sec.get("search"),
         f"CV MSE tuned {metrics['search_cv']['tuned_mean']:.5f} vs hand-set {metrics['search_cv']['hand_set_mean']:.5f} "
         f"({metrics['search_cv']['chosen']})"),
        ("3. fine-tuning", sec.get("finetune"), _finetune_summary(metrics)),
    ]
    if "latent" in metrics:
        g = metrics["latent"]["generation"]["recognition"]
        rows.append(("4. latent space", sec.get("latent"),
                     f"k-NN: code {_pct(reps.get('ae', {}).get('knn_accuracy'))} vs raw pixels "
                     f"{_pct(reps.get('raw', {}).get('knn_accuracy'))}; class-conditional samples recognised "
                     f"{_pct(g['recognised'])}"))
    if "vae" in metrics:
        rows.append(("5. VAE + few labels", sec.get("vae"),
                     f"test NLL {metrics['vae']['likelihood']['nll']:.1f} nats; SVM with 100 labels: VAE "
                     f"{_pct(reps.get('vae', {}).get('few_n100'))}, raw pixels {_pct(reps.get('raw', {}).get('few_n100'))}"))
    if "simclr" in metrics:
        rows.append(("6. SimCLR", sec.get("simclr"),
                     f"linear probe {_pct(metrics['simclr']['linear_probe_accuracy'])}; fine-tuned "
                     f"{_pct(metrics['simclr']['finetuned']['test_accuracy'])}"))
    if gens:
        rows.append(("7. side by side", sec.get("side_by_side"),
                     f"Fréchet distance (classifier features): real {gens['real_held_out_images']['frechet']:.1f}, "
                     f"DCGAN {gens['dcgan']['frechet']:.1f}, noise {gens['uniform_noise']['frechet']:.1f}; "
                     f"DCGAN mean top probability {gens['dcgan']['mean_top_probability']:.2f}"
                     + (f", density {gens['dcgan']['density']:.2f}, coverage {gens['dcgan']['coverage']:.2f}"
                        if "density" in gens["dcgan"] else "")))
    lines += [f"| {name} | {'–' if s is None else f'{s:,.0f}'} | {text} |" for name, s, text in rows]
    return "\n".join(lines) + "\n"


def readme_block(readme: str) -> str:
    """The headline block of README.md (between its markers)."""
    if HEADLINE_START not in readme or HEADLINE_END not in readme:
        raise RuntimeError(f"README.md lacks the markers {HEADLINE_START} / {HEADLINE_END}.")
    return readme.split(HEADLINE_START, 1)[1].split(HEADLINE_END, 1)[0].strip("\n") + "\n"


def refresh_readme(text: str, path: Path = README) -> None:
    """Replace README.md's headline block with `text`."""
    readme = path.read_text()
    readme_block(readme)  # the markers are there
    before, rest = readme.split(HEADLINE_START, 1)
    after = rest.split(HEADLINE_END, 1)[1]
    write_text(path, f"{before}{HEADLINE_START}\n{text.rstrip()}\n{HEADLINE_END}{after}")


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("--")]
    try:
        run_dir = results_dir(resolve_profile(names[0] if names else None))
        pdf = build(run_dir)
        text = summary(load_metrics(run_dir))
        write_text(run_dir / "summary.md", text)
        if "--readme" in argv:
            refresh_readme(text)
    except (ConfigError, FileNotFoundError, RuntimeError, KeyError) as err:
        print(f"error: {err!r}" if isinstance(err, KeyError) else f"error: {err}", file=sys.stderr)
        return 2
    if pdf:
        print(f"report: {pdf}")
    print(f"summary: {run_dir / 'summary.md'}" + (" (copied into README.md)" if "--readme" in argv else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
