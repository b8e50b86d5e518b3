"""Build a run's PDF report: every number comes from its `metrics.json`, every figure from its folder.

`python -m helpers.report [PROFILE] [--readme]` writes `results/<profile>/report.pdf` where LaTeX (latexmk)
is installed, and `results/<profile>/summary.md`, the headline table of the run (with `--readme`, also copied
into README.md between its headline markers). In `report/report.tex` a number is written
`\\metric{section.key}`; a missing key stops the build with an error naming it, so no number can be typed in
by hand or silently left out. The body before the appendix may take at most `MAX_PAGES` pages.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

from .config import REPO_ROOT, ConfigError, profile_arguments, resolve_profile, results_dir
from .quality import CONDITIONAL, fd, plural
from .results import atomic_path, load_metrics, write_text

TEMPLATE = REPO_ROOT / "report" / "report.tex"
README = REPO_ROOT / "README.md"
MAX_PAGES = 6  # before the appendix (the assignment's limit)
HEADLINE_START, HEADLINE_END = "<!-- headline:start -->", "<!-- headline:end -->"
LATEX_HINT = "apt-get install texlive-latex-recommended texlive-fonts-recommended lmodern latexmk"
_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "−": r"\ensuremath{-}",
            "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "→": r"\ensuremath{\to}"}


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


def search_cv_finding(cv: dict) -> str:
    """The cross-validated comparison of the tuned and the hand-set configuration with `search_finding`'s verdict on
    it; when the search kept the hand-set one, its own cross-validated score instead of a comparison with itself."""
    hand = plus_minus(cv["hand_set_mean"], cv["hand_set_std"])
    folds = f"{cv['folds']}-fold " if "folds" in cv else ""
    if cv.get("tuned_is_hand_set"):
        return (f"No study found a configuration better than the hand-set start, so it is kept; its {folds}"
                f"cross-validated MSE is {hand}.")
    return (f"In {folds}cross-validation at the full budget the chosen configuration ({cv.get('chosen', 'tuned')}) scores "
            f"{plus_minus(cv['tuned_mean'], cv['tuned_std'])} against {hand} for the hand-set one. "
            + search_finding(cv))


def _fixed(value: float, digits: int = 2) -> str:
    """`value` to `digits` significant digits without an exponent (0.0000094, not 9.4e-06)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    places = max(0, digits - 1 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{places}f}"


def search_finding(cv: dict) -> str:
    """Whether the tuned configuration beats the hand-set one by more than the folds' spread, as a sentence."""
    if cv.get("tuned_is_hand_set"):
        return ("No configuration the searches found beat the hand-set one at the final budget, so the tuned "
                "configuration is the hand-set one and the later sections build on it.")
    difference = cv["tuned_mean"] - cv["hand_set_mean"]
    spread = max(cv["tuned_std"], cv["hand_set_std"])
    if difference < 0 and -difference > spread:
        return (f"The tuned configuration is better than the hand-set one by {_fixed(-difference)}, more than the "
                f"folds' standard deviation ({_fixed(spread)}).")
    relation = "lower" if difference < 0 else "higher"
    return (f"The tuned configuration does not beat the hand-set one: its cross-validated MSE is {relation} by "
            f"{_fixed(abs(difference))}, less than the folds' standard deviation ({_fixed(spread)}).")


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
        elif best["frechet"] == best["density"] == best["coverage"]:
            row = rows[best["frechet"]]
            text += (f" Among the {size} {plural(label)}, ranked only among themselves, {best['frechet']} leads on all "
                     f"three scores: Fréchet distance {fd(row['frechet'])}, density (fidelity) {row['density']:.2f} "
                     f"and coverage (diversity) {row['coverage']:.2f}.")
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
    text = _sentences(optimizer_findings(optimizers["by_optimizer"], optimizers["images"], optimizers["epochs"]))
    return re.sub(r" In order: [^.]*(?:\.\d+[^.]*)*\.", "", text)  # the figure shows the order


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


def _points(value: float) -> str:
    return f"{100 * value:+.1f}".replace("-", "−")


def hw1_finding(metrics: dict) -> str:
    """Homework 1's network from scratch and pretrained: accuracy, the seeds' verdict and learning speed, in words."""
    hw1, seeds = metrics["finetune_hw1"], metrics.get("finetune_seeds", {})
    scratch, tuned = hw1["scratch"], hw1["finetuned"]
    text = (f"Trained from scratch under its own recipe for at most {hw1['epochs']} epochs, Homework 1's network "
            f"reaches {_pct(scratch['test_accuracy'])} test accuracy, "
            f"{abs(100 * (scratch['test_accuracy'] - hw1['reported_test'])):.1f} points "
            f"{'below' if scratch['test_accuracy'] < hw1['reported_test'] else 'above'} the "
            f"{_pct(hw1['reported_test'])} reported in Homework 1 after up to 50 epochs on every training image. "
            f"Pretrained as an autoencoder and fine-tuned with the same recipe, it reaches "
            f"{_pct(tuned['test_accuracy'])} ({_points(tuned['test_accuracy'] - scratch['test_accuracy'])} points, one "
            f"seed).")
    diff = seeds.get("differences", {}).get("pretrained", {}).get("test_accuracy")
    if diff:
        verdict = ("so these seeds cannot tell the two apart" if diff["within_spread"] else
                   "a difference larger than the spread between seeds")
        text += (f" Over {diff['n']} seeds of {seeds['epochs']} epochs the pretrained network's test accuracy differs "
                 f"from the scratch network's by {_points(diff['mean'])} points (95 % interval "
                 f"{_points(diff['low'])} to {_points(diff['high'])}), {verdict}.")
    speed = []
    for name, row in (("from scratch", scratch), ("pretrained", tuned)):
        if row["epochs_to_90"] is None:
            speed.append(f"{name} it does not reach 90 % validation accuracy within {row['epochs']} epochs")
        else:
            whole = (f", {row['whole_seconds_to_90']:,.0f} s with its pretraining"
                     if row.get("pretrain_seconds") else "")
            speed.append(f"{name} it first reaches 90 % validation accuracy at epoch {row['epochs_to_90']} "
                         f"({row['seconds_to_90']:,.0f} s of training{whole})")
    return text + " In learning speed, " + "; ".join(speed) + "."


def encoder_finding(metrics: dict) -> str:
    """Section 1's encoder as a classifier: the kept fine-tuning variant against the same network from scratch, in
    accuracy (test and cross-validated) and in learning speed."""
    ft, cv = metrics["finetune"], metrics.get("finetune_cv", {})
    best = ft.get("best", "")
    tuned = ft[best] if best.startswith("finetuned") else ft.get("finetuned_slow") or ft["finetuned_onelr"]
    scratch = ft["scratch"]

    def speed(row: dict, who: str) -> str:
        if row.get("epochs_to_90") is None:
            return f"{who} does not reach 90 % validation accuracy within {row['epochs']} epochs"
        whole = (f", {row['whole_seconds_to_90']:,.0f} s with the autoencoder's training"
                 if row.get("pretrain_seconds") else "")
        return f"{who} reaches 90 % at epoch {row['epochs_to_90']} ({row['seconds_to_90']:,.0f} s{whole})"
    text = (f"On the autoencoder's own encoder ({scratch['total_parameters']:,} parameters with its head), the "
            f"{_words(tuned.get('name', 'fine-tuned encoder'))} reaches {_pct(tuned['test_accuracy'])} test accuracy "
            f"against {_pct(scratch['test_accuracy'])} for the same network from scratch")
    if "finetuned" in cv and "scratch" in cv:
        text += (f", and {plus_minus(cv['finetuned']['mean'], cv['finetuned']['std'], 100)} % against "
                 f"{plus_minus(cv['scratch']['mean'], cv['scratch']['std'], 100)} % in cross-validation")
    return text + f". In learning speed, {speed(tuned, 'fine-tuned it')}, and {speed(scratch, 'from scratch it')}."


def _words(name: str) -> str:
    """A run's short name in words."""
    return (name.replace("fine-tuned (encoder lr x0.1)", "fine-tuned encoder (its learning rate a tenth of the head's)")
            .replace("fine-tuned (one lr)", "fine-tuned encoder (one learning rate)"))


TIE = 0.005  # accuracies closer than half a point are called level: one run's spread is larger

REPRESENTATION_WORDS = {"raw": "raw pixels", "pca": "PCA", "ae": "the autoencoder's code", "vae": "the VAE's mean code",
                        "ae_features": "the autoencoder's feature map", "vae_features": "the VAE's feature map",
                        "simclr": "SimCLR's feature map", "simclr_code": "SimCLR's code"}


def representation_finding(reps: dict) -> str:
    """Which representation learned without labels is best for each read-out, against raw pixels."""
    found = []
    for key, words in (("knn_accuracy", "k-NN"), ("linear_probe_accuracy", "a linear probe"),
                       ("few_n100", "an SVM from 100 labels"), ("few_n1000", "an SVM from 1,000 labels")):
        candidates = {n: r[key] for n, r in reps.items() if n in REPRESENTATION_WORDS and n != "raw"
                      and r.get(key) is not None}
        if candidates and reps["raw"].get(key) is not None:
            ranked = sorted(candidates, key=candidates.get, reverse=True)
            best = ranked[0]
            numbers = f"{_pct(candidates[best])}, {_points(candidates[best] - reps['raw'][key])} points over raw pixels"
            if len(ranked) > 1 and candidates[best] - candidates[ranked[1]] < TIE:
                numbers += f", level with {REPRESENTATION_WORDS[ranked[1]]} ({_pct(candidates[ranked[1]])})"
            found.append((best, words, numbers))
    if len({best for best, _, _ in found}) == 1:
        lead = "leads or is level on" if any("level with" in numbers for _, _, numbers in found) else "is the best for"
        text = (f"Among the representations learned without labels, {REPRESENTATION_WORDS[found[0][0]]} {lead} "
                f"every read-out: " + "; ".join(f"{words} {numbers}" for _, words, numbers in found) + ".")
    else:
        text = ("Among the representations learned without labels, the best for " +
                "; for ".join(f"{words} is {REPRESENTATION_WORDS[best]} ({numbers})" for best, words, numbers in found)
                + ".")
    if "classifier" in reps:
        unsupervised = max(r["linear_probe_accuracy"] for n, r in reps.items() if n in REPRESENTATION_WORDS)
        text += (f" The classifier's features, trained with every label, lead the best of them by "
                 f"{100 * (reps['classifier']['linear_probe_accuracy'] - unsupervised):.1f} points in the linear "
                 f"probe.")
    return text


def mixing_finding(latent: dict) -> str:
    from .latent import mixing_findings
    names = {"raw": "raw pixels", "ae": "the autoencoder's code", "classifier": "the classifier's features"}
    return mixing_findings(latent["mixing"], {k: v for k, v in names.items() if k in latent["mixing"]})


def discussion_finding(metrics: dict) -> str:
    """The study's answer in two sentences, each chosen by the measured values: the autoencoder's code against raw
    pixels, and which unsupervised representation and which unconditional generator come out best."""
    reps = metrics["representations"]
    raw, code = reps["raw"], reps["ae"]
    better = [words for key, words in (("knn_accuracy", "for nearest neighbours"), ("few_n100", "with 100 labels"))
              if code.get(key) is not None and raw.get(key) is not None and code[key] > raw[key]]
    worse = [words for key, words in (("knn_accuracy", "for nearest neighbours"), ("few_n100", "with 100 labels"))
             if code.get(key) is not None and raw.get(key) is not None and code[key] <= raw[key]]
    text = "Reconstruction alone makes the autoencoder's code "
    if better and not worse:
        text += f"a better space than raw pixels both {' and '.join(better)}"
    elif better:
        text += f"a better space than raw pixels {' and '.join(better)} but not {' and '.join(worse)}"
    else:
        text += "no better a space than raw pixels, neither for nearest neighbours nor with 100 labels"
    text += (f" (k-NN {_pct(code['knn_accuracy'])} against {_pct(raw['knn_accuracy'])}; 100 labels "
             f"{_pct(code.get('few_n100'))} against {_pct(raw.get('few_n100'))}).")
    candidates = {n: r["linear_probe_accuracy"] for n, r in reps.items() if n in REPRESENTATION_WORDS}
    best = max(candidates, key=candidates.get)
    text += f" Of the representations learned without labels, {REPRESENTATION_WORDS[best]} is read best by a linear probe"
    gens = metrics.get("generators", {})
    chosen = gens.get("best", {}).get("unconditional", {})
    if chosen:
        if chosen["density"] == chosen["coverage"]:
            text += (f", and of the generators that used no labels, {chosen['density']} has both the highest density "
                     f"and the highest coverage.")
        else:
            text += (f"; of the generators that used no labels, {chosen['density']} has the highest density and "
                     f"{chosen['coverage']} the highest coverage.")
    else:
        text += "."
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
    if "finetune_hw1" in metrics:
        found["hw1"] = hw1_finding(metrics)
    if "scratch" in metrics.get("finetune", {}):
        found["encoder"] = encoder_finding(metrics)
    if "search_cv" in metrics:
        found["search_cv"] = search_cv_finding(metrics["search_cv"])
    if "raw" in metrics.get("representations", {}):
        found["representations"] = representation_finding(metrics["representations"])
    if "raw" in metrics.get("representations", {}) and "ae" in metrics["representations"]:
        found["discussion"] = discussion_finding(metrics)
    if "mixing" in metrics.get("latent", {}):
        found["mixing"] = mixing_finding(metrics["latent"])
    return found


def with_findings(metrics: dict) -> dict:
    """`metrics` with the `pm` spreads of `spreads` and, under `prose`, the sentences of `findings`: every key the
    report may use."""
    return {**_merge(metrics, spreads(metrics)), "prose": findings(metrics)}


def plus_minus(mean: float, spread: float, scale: float = 1.0) -> str:
    """`mean ± spread` rounded to what the spread supports: the spread to one significant digit (two when that digit
    is 1), the mean to the same decimal place; `scale` 100 gives percentage points."""
    mean, spread = mean * scale, abs(spread) * scale
    if spread == 0 or not math.isfinite(spread):
        return f"{mean:.3g}"
    digits = -int(math.floor(math.log10(spread)))
    if round(spread * 10 ** digits) == 1:
        digits += 1
    digits = max(digits, 0)
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def spreads(metrics: dict) -> dict:
    """For every dict of `metrics` with a mean and a standard deviation (`mean`/`std`, or `<x>_mean`/`<x>_std`), the
    key `pm` (or `<x>_pm`) as text rounded by `plus_minus`, and `pm_pct` in percent where the mean is a share."""
    found: dict = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            inner = spreads(value)
            if inner:
                found[key] = inner
    for key in list(metrics):
        if not key.endswith("mean") or not isinstance(metrics[key], (int, float)) or isinstance(metrics[key], bool):
            continue
        std = metrics.get(key[:-4] + "std")
        if isinstance(std, (int, float)) and not isinstance(std, bool):
            found[key[:-4] + "pm"] = plus_minus(metrics[key], std)
            if 0 <= metrics[key] <= 1:
                found[key[:-4] + "pm_pct"] = plus_minus(metrics[key], std, 100) + "%"
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


SPACE_LABELS = {"lr": "learning rate", "weight_decay": "weight decay", "batch_size": "batch size",
                "optimizer": "optimizer", "base_channels": "base width $b$", "dropout": "dropout"}


def space_rows() -> str:
    """The macro `\\searchspacerows`: the searched hyperparameters of section 2 as LaTeX table rows (name, range or
    choices, scale), from `tuning.space_rows`, so the report's search-space table is the code's own space."""
    from .tuning import space_rows as rows
    searched = [(name, values, scale) for name, values, scale in rows() if scale != "fixed"]
    table = "\n".join(f"    {SPACE_LABELS.get(name, latex_value(name))} & {latex_value(values)} & {latex_value(scale)} \\\\"
                      for name, values, scale in searched)
    words = []
    for name, values, scale in searched:
        label = SPACE_LABELS.get(name, latex_value(name))
        values = latex_value(", ".join(OPTIMIZERS.get(v.strip(), v.strip()) for v in values.split(":")[0].split(",")))
        words.append(f"{label} {values}{' (log scale)' if 'log' in scale else ''}" if " to " in values else
                     f"{label} one of {values}")
    return ("\\newcommand{\\searchspacerows}{%\n" + table + "}\n"
            "\\newcommand{\\searchspacesentence}{" + "; ".join(words) + "}\n")


def _ae_config(config: dict):
    from .models import AEConfig
    return AEConfig(**{**config, "channels": tuple(config["channels"])})


def _times(channels) -> str:
    return ", ".join(str(c) for c in channels)


def architectures(metrics: dict) -> list[tuple[str, str, int]]:
    """(network, its blocks in words, parameters) for every network of the run, built from the configurations in
    `metrics` (parameters counted on the built network, so they are the run's own)."""
    from .models import (DCGAN, VAE, AutoEncoder, EncoderClassifier, GANConfig, HW1Autoencoder, HW1Net, SimCLRNet,
                         count_parameters)
    if "config" not in metrics.get("autoencoder", {}):
        return []  # the notebook's section 1 has not run: the build stops at its first missing metric
    ae_cfg = _ae_config(metrics["autoencoder"]["config"])
    k, code, widths = ae_cfg.kernel_size, ae_cfg.latent_dim, ae_cfg.channels
    grow = ("upsample + conv" if ae_cfg.decoder == "resize" else "transposed conv, stride 2,")
    bn = ", batch norm, ReLU" if ae_cfg.batch_norm else ", ReLU"
    encoder = f"conv {k}$\\times${k}, stride 2, {_times(widths)} channels{bn}; linear to a {code}-number code"
    decoder = (f"linear to {widths[-1]}$\\times$7$\\times$7; {grow} {k}$\\times${k}, "
               f"{_times(list(reversed(widths))[1:] + [1])} channels; sigmoid")
    ae = AutoEncoder(ae_cfg)
    rows = [("Autoencoder: encoder", encoder, count_parameters(ae.encoder)),
            ("\\quad decoder", decoder, count_parameters(ae.decoder))]
    if "config" in metrics.get("vae", {}):
        vae_cfg = _ae_config(metrics["vae"]["config"])
        rows.append(("VAE", f"the same blocks; 2$\\times${vae_cfg.latent_dim} code outputs (mean, log-variance); "
                            f"{'upsample + conv' if vae_cfg.decoder == 'resize' else 'transposed-conv'} decoder to "
                            "Bernoulli logits", count_parameters(VAE(vae_cfg))))
    if "simclr" in metrics:
        net = SimCLRNet(ae_cfg)
        rows.append(("SimCLR", f"the same encoder; head linear {code}$\\to$256, batch norm, ReLU, linear to 64 "
                               "(dropped after training)", count_parameters(net)))
    rows.append(("Homework 1 network", "3 $\\times$ (conv 3$\\times$3, batch norm, ReLU, max-pool), 32, 64, 128 "
                                       "channels; average pool; dropout 0.25; linear to 10",
                 count_parameters(HW1Net())))
    rows.append(("\\quad pretraining decoder", "linear to 128$\\times$3$\\times$3; 3 $\\times$ (upsample + conv "
                                                "3$\\times$3), 64, 32, 1 channels; sigmoid",
                 count_parameters(HW1Autoencoder().decoder)))
    rows.append(("Encoder + two-layer head", f"encoder to its {widths[-1]}$\\times$7$\\times$7 map; linear to 256, "
                                             "ReLU, dropout 0.2, linear to 10",
                 count_parameters(EncoderClassifier(AutoEncoder(ae_cfg).encoder, "mlp"))))
    if "config" in metrics.get("gan", {}):
        gan = DCGAN(GANConfig(**metrics["gan"]["config"]))
        z, w = gan.cfg.z_dim, gan.cfg.width
        rows.append(("DCGAN generator", f"noise ({z}) to {2 * w}$\\times$7$\\times$7; transposed conv 4$\\times$4, "
                                        f"stride 2, {w}, 1 channels; batch norm, ReLU; tanh",
                     count_parameters(gan.generator)))
        rows.append(("\\quad discriminator", f"conv 4$\\times$4, stride 2, {w}, {2 * w} channels, LeakyReLU; linear to a "
                                             f"logit; spectral norm"
                                             if gan.cfg.spectral_norm else "", count_parameters(gan.discriminator)))
    return rows


def _lr(value: float) -> str:
    return f"{value:g}"


def _augment(augment: dict | None) -> str:
    if not augment:
        return "none"
    parts = (["flip"] if augment.get("flip") else []) + ([f"rotation $\\pm${augment['rotate']:g}$^\\circ$"]
                                                        if augment.get("rotate") else [])
    parts += [f"shift {augment['shift']:g} px"] if augment.get("shift") else []
    parts += [f"noise {augment['noise']:g}"] if augment.get("noise") else []
    return ", ".join(parts) or "none"


def _views(views: dict) -> str:
    """SimCLR's view recipe in words."""
    parts = []
    if "crop_area" in views:
        low, high = views["crop_area"]
        parts.append(f"crop {100 * low:.0f}--{100 * high:.0f}\\%")
    parts += ["flip"] if views.get("flip") else []
    parts += [f"rotation $\\pm${views['rotate']:g}$^\\circ$"] if views.get("rotate") else []
    parts += [f"brightness, contrast $\\pm${views.get('brightness', 0):g}"] if views.get("brightness") else []
    parts += ["erasing"] if views.get("erase") else []
    return ", ".join(parts) or "none"


SCHEDULES = {"cosine": "cosine", "plateau": "halved on plateau", None: "constant"}
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "nesterov": "Nesterov SGD"}


def training_settings(metrics: dict) -> list[tuple[str, ...]]:
    """(model, optimizer with its learning rate and schedule, batch, epochs, augmentation and other) for each
    trained model."""
    rows = []
    specs = [("Autoencoder", metrics.get("autoencoder", {}).get("spec"), "MSE per pixel")]
    if "finetune_hw1" in metrics:
        specs.append(("Homework 1 network", metrics["finetune_hw1"]["recipe"],
                      f"early stopping, patience {metrics['finetune_hw1']['recipe']['patience']}"))
    if "finetune" in metrics:
        specs.append(("Encoder classifiers", metrics["finetune"]["recipe"], "as Homework 1"))
    if "spec" in metrics.get("vae", {}):
        specs.append(("VAE", metrics["vae"]["spec"], f"KL warm-up over {metrics['vae']['warmup_epochs']} epochs"))
    if "spec" in metrics.get("simclr", {}):
        specs.append(("SimCLR", metrics["simclr"]["spec"], f"temperature {metrics['simclr']['temperature']:g}"))
    if "spec" in metrics.get("gan", {}):
        specs.append(("DCGAN", metrics["gan"]["spec"], f"$\\beta_1 = 0.5$; real label {metrics['gan']['config']['real_label']:g}"))
    for name, spec, other in specs:
        if spec is None:
            continue
        optimizer = OPTIMIZERS.get(spec["optimizer"], spec["optimizer"])
        if spec.get("weight_decay"):
            optimizer += f" (decay {spec['weight_decay']:g})"
        optimizer += f", rate {_lr(spec['lr'])}, {SCHEDULES.get(spec.get('scheduler'), str(spec.get('scheduler')))}"
        augmentation = _augment(spec.get("augment")) if name != "SimCLR" else _views(metrics["simclr"].get("views", {}))
        rows.append((name, optimizer, f"{spec['batch_size']:,}", f"{spec['epochs']:,}", f"{augmentation}; {other}"))
    return rows


def tables_tex(metrics: dict) -> str:
    """The macros `\\architecturerows` and `\\trainingrows`: table rows generated from the run's configurations."""
    arch = "\n".join(f"    {name} & {blocks} & {latex_value(n)} \\\\" for name, blocks, n in architectures(metrics))
    training = "\n".join("    " + " & ".join(row) + " \\\\" for row in training_settings(metrics))
    return (f"\\newcommand{{\\architecturerows}}{{%\n{arch}}}\n"
            f"\\newcommand{{\\trainingrows}}{{%\n{training}}}\n")


FIGURE = re.compile(r"\\includegraphics(?:\[([^\]]*)\])?\{([^}]+)\}")


def figure_check(template: str, figures: Path, text_width_in: float) -> list[str]:
    """Problems with the figures `template` includes: each must exist with its size record
    (`figures/<name>.json`, written by `plots.save_figure`), be placed at its natural size or scaled by `scale=`,
    fit the text width, and print no text below `plots.MIN_FONT` points. Returns one line per problem."""
    from .plots import MIN_FONT
    problems = []
    for options, name in FIGURE.findall(template):
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
    """`HW2_AUTHOR`, where set, overrides report/author.tex for this build."""
    path = build_dir / "author.tex"
    author = os.environ.get("HW2_AUTHOR", "").strip()
    if author:
        write_text(path, f"\\renewcommand{{\\reportauthor}}{{{latex_value(author)}}}\n")
    elif path.exists():
        path.unlink()


def build(run_dir: Path) -> Path | None:
    """Write the macros and run latexmk; returns the PDF, or None where LaTeX is not installed."""
    metrics = load_metrics(run_dir)
    if not metrics:
        raise FileNotFoundError(f"{run_dir / 'metrics.json'} is missing: run the notebook first (make run).")
    run_dir = Path(run_dir).resolve()  # latexmk runs in the build folder
    build_dir = run_dir / "report"
    write_text(build_dir / "metrics.tex", metric_macros(with_findings(metrics)))
    write_text(build_dir / "space.tex", space_rows())
    write_text(build_dir / "tables.tex", tables_tex(metrics))
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
        raise RuntimeError(f"The report's body takes {pages} pages before the appendix; the limit is {MAX_PAGES}. "
                           f"Shorten report/report.tex or move tables and figures to the appendix.")
    pdf = run_dir / "report.pdf"
    with atomic_path(pdf) as tmp:
        shutil.copyfile(build_dir / "report.pdf", tmp)
    return pdf


def undefined_references(log: str) -> list[str]:
    """The citations and cross-references a LaTeX log reports as undefined."""
    return sorted(set(re.findall(r"(?:Citation|Reference) `([^']+)' (?:on page \d+ )?undefined", log)))


def pages_before_appendix(aux: Path) -> int:
    """Pages of the body: the page the references start on (label `refs`, after a \\clearpage that also flushes
    every figure of the body), or without references the page of the appendix (label `app:map`), minus one."""
    text = Path(aux).read_text(errors="replace")
    for label in ("refs", "app:map"):
        found = re.search(r"\\newlabel\{" + re.escape(label) + r"\}\{\{[^}]*\}\{(\d+)\}", text)
        if found:
            return int(found.group(1)) - 1
    raise RuntimeError(f"{aux} has no page for the label refs or app:map: the report must open its references "
                       f"(or its appendix) with one, after a \\clearpage.")


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
    try:
        run_dir = results_dir(resolve_profile(profile_arguments(argv, "helpers.report", "--readme")))
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
