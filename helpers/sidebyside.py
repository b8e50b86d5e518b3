"""Section 7's closing tables: every representation of the study in one table, and the commentary computed from
the generator and representation numbers (what each method is good for). Plain dictionaries in, Markdown and
metrics out: the numbers come from sections 4-7 (`latent.structure`, the few-label protocol, `quality`)."""
from __future__ import annotations

from dataclasses import dataclass

from . import quality
from .results import markdown_table

FEW_COUNTS = (100, 1000)


@dataclass(frozen=True)
class Representation:
    """One row: its label, its key in metrics.json, its name in the structure table and in the few-label table
    (None where it was not measured), and whether it saw every label in training."""

    label: str
    key: str
    structure: str | None
    few: str | None
    supervised: bool = False


def rows(reps: list[Representation], structure: dict[str, dict], few_svm: dict[str, dict[int, dict]]) -> dict:
    """The `representations` entries of metrics.json: k-NN, silhouette and linear probe (section 4's protocol),
    and the RBF-SVM few-label accuracy (mean over draws) at 100 and 1,000 labels."""
    found = {}
    for rep in reps:
        s = structure.get(rep.structure, {}) if rep.structure else {}
        f = few_svm.get(rep.few, {}) if rep.few else {}
        found[rep.key] = {"label": rep.label, "supervised": rep.supervised,
                          "knn_accuracy": s.get("knn_accuracy"), "silhouette": s.get("silhouette"),
                          "linear_probe_accuracy": s.get("linear_probe_accuracy"),
                          **{f"few_n{n}": f[n]["mean"] if n in f else None for n in FEW_COUNTS}}
    return found


def table(found: dict) -> str:
    """Markdown: one row per representation; the supervised one is marked as having seen every label."""
    cell = lambda v, fmt: "–" if v is None else format(v, fmt)  # noqa: E731
    return markdown_table(
        ["representation", "k-NN accuracy", "silhouette", "linear probe", *[f"SVM, {n:,} labels" for n in FEW_COUNTS]],
        [(r["label"] + (" (saw every label)" if r["supervised"] else ""), cell(r["knn_accuracy"], ".2%"),
          cell(r["silhouette"], ".3f"), cell(r["linear_probe_accuracy"], ".2%"),
          *[cell(r[f"few_n{n}"], ".2%") for n in FEW_COUNTS]) for r in found.values()])


def _best(found: dict, column: str) -> str | None:
    """The unsupervised representation with the highest value in `column` (None when none was measured)."""
    candidates = {k: r for k, r in found.items() if not r["supervised"] and r[column] is not None}
    return max(candidates, key=lambda k: candidates[k][column]) if candidates else None


def _generator_sentences(scores: dict[str, dict], groups: quality.Groups | list[str]) -> str:
    """Each group's best generator overall (Frechet distance), in fidelity (density) and in diversity (coverage),
    ranked only within the group, and the scores uniform noise outscores generators on (not used to rank)."""
    groups = quality.as_groups(scores, groups)
    real = scores.get(quality.REAL, {})
    parts = []
    for group, names in groups.items():
        labels = " (it used the labels)" if group == quality.CONDITIONAL else ""
        if len(names) == 1:
            g = scores[names[0]]
            values = [f"a Fréchet distance of {quality.fd(g['frechet'])}",
                      *[f"{by} {g[by]:.2f}" for by in ("density", "coverage") if by in g]]
            parts.append(f"the only {quality.plural(group)[:-1]}, {names[0]}{labels}, reaches "
                         + quality.listed(values))
            continue
        best = {by: quality.ranked(scores, names, by)[0] for by in quality.RANKED_BY
                if all(by in scores[n] for n in names)}
        text = (f"among the {len(names)} {quality.plural(group)}{labels}, {best['frechet']} comes closest to real "
                f"images by the Fréchet distance ({quality.fd(scores[best['frechet']]['frechet'])})")
        if "density" in best:
            d = scores[best["density"]]["density"]
            above = f", above the {real['density']:.2f} of real images" if d > real.get("density", float("inf")) else ""
            text += (f", {best['density']} has the highest density (fidelity, {d:.2f}{above}) and "
                     f"{best['coverage']} the highest coverage (diversity, {scores[best['coverage']]['coverage']:.2f})")
        parts.append(text)
    text = " Generators, each ranked only within its group: " + "; ".join(parts) + "."
    generators = quality.generators_of(groups)
    fooled = {by: quality.beaten_by_noise(scores, generators, by) for by in ("precision", "mean_top_probability")
              if quality.NOISE in scores}
    fooled = {by: losers for by, losers in fooled.items() if losers}
    if fooled:
        names = {"precision": "precision", "mean_top_probability": "mean top probability"}
        text += (" " + " and ".join(names[by] for by in fooled).capitalize() + " rank no generator here: uniform noise "
                 "gets " + " and ".join(f"a higher {names[by]} ({scores[quality.NOISE][by]:.2f}) than {len(losers)} of "
                                        f"the {len(generators)} generators" for by, losers in fooled.items()) + ".")
    return text


def closing(found: dict, scores: dict[str, dict], groups: quality.Groups | list[str], raw_key: str = "raw") -> str:
    """What each method is good for, from the numbers: the best unsupervised representation on each measure, the
    gap to the supervised features, and per group of generators (`groups`: group name -> generator names, see
    `quality`) the best on the Frechet distance, density (fidelity) and coverage (diversity)."""
    names = {k: r["label"] for k, r in found.items()}
    parts = []
    for column, what in (("knn_accuracy", "neighbourhoods (k-NN)"), ("linear_probe_accuracy", "a linear read-out"),
                         ("few_n100", "100 labels"), ("few_n1000", "1,000 labels")):
        best = _best(found, column)
        if best is None:  # e.g. a profile without that label count
            continue
        raw = found[raw_key][column]
        gain = f", {100 * (found[best][column] - raw):+.1f} points over raw pixels" if raw is not None else ""
        parts.append(f"for {what}, {names[best]} ({found[best][column]:.2%}{gain})")
    supervised = [r for r in found.values() if r["supervised"] and r["linear_probe_accuracy"] is not None]
    gap = ""
    best = _best(found, "linear_probe_accuracy")
    if supervised and best is not None:
        gap = (f" The classifier trained with every label still leads the best unsupervised linear probe by "
               f"{100 * (supervised[0]['linear_probe_accuracy'] - found[best]['linear_probe_accuracy']):.1f} points: "
               f"what labels add.")
    return ("**Measured, what each method is good for.** Representations: the best without labels is "
            + "; ".join(parts) + "." + gap + _generator_sentences(scores, groups))


def summary_metrics(found: dict, closing_text: str) -> dict:
    """The `side_by_side` entries of metrics.json: the closing commentary as plain text (for the report) and the
    best unsupervised few-label accuracies."""
    best = {f"best_few_n{n}": found[k][f"few_n{n}"] if (k := _best(found, f"few_n{n}")) else None for n in FEW_COUNTS}
    return {"closing": closing_text.replace("**", ""), **best}
