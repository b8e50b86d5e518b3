"""Section 7's closing tables: every representation of the study in one table, and the commentary computed from
the generator and representation numbers (what each method is good for). Plain dictionaries in, Markdown and
metrics out: the numbers come from sections 4-7 (`latent.structure`, the few-label protocol, `quality`)."""
from __future__ import annotations

from dataclasses import dataclass

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


def closing(found: dict, scores: dict[str, dict], generators: list[str], raw_key: str = "raw") -> str:
    """What each method is good for, from the numbers: the best unsupervised representation on each measure, the
    gap to the supervised features, and the best generator on fidelity, coverage and the Frechet distance."""
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
    fd = min(generators, key=lambda g: scores[g]["frechet"])
    precision = max(generators, key=lambda g: scores[g]["precision"])
    recall = max(generators, key=lambda g: scores[g]["recall"])
    return ("**Measured, what each method is good for.** Representations: the best without labels is "
            + "; ".join(parts) + "." + gap
            + f" Generators: {fd} comes closest to real images by the Fréchet distance "
              f"({scores[fd]['frechet']:.1f}); {precision} makes the most realistic-looking samples (precision "
              f"{scores[precision]['precision']:.2f}); {recall} covers the most of the real data (recall "
              f"{scores[recall]['recall']:.2f}).")


def summary_metrics(found: dict, closing_text: str) -> dict:
    """The `side_by_side` entries of metrics.json: the closing commentary as plain text (for the report) and the
    best unsupervised few-label accuracies."""
    best = {f"best_few_n{n}": found[k][f"few_n{n}"] if (k := _best(found, f"few_n{n}")) else None for n in FEW_COUNTS}
    return {"closing": closing_text.replace("**", ""), **best}
