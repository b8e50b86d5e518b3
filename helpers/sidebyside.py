"""Section 7's closing table: every representation of the study in one table, with the best unsupervised
few-label accuracies for metrics.json. The numbers come from sections 4-7 (`latent.structure`, the few-label
protocol, both held by `latent.Representations`); `findings.representations` and `findings.generators` put
them in words. `compare` is the notebook's step."""
from __future__ import annotations

from dataclasses import dataclass

from . import latent, quality, vae
from .context import Context
from .findings import generators as gen_text, representations as rep_text
from .findings.words import percent, plus_minus, sig
from .results import is_control, markdown_table

FEW_COUNTS = (100, 1000)
# The table's rows: label, key in metrics.json and in the structure measures, key in the few-label table
# (None: not read from few labels). The supervised classifier's features come last (`representations`).
ROWS = (("raw pixels", "raw", "raw"), ("PCA", "pca", f"pca{vae.FEW_LABEL_PCA}"),
        ("autoencoder code", "ae", "ae"),
        ("autoencoder feature map", "ae_features", "ae_features"), ("VAE mean", "vae", "vae"),
        ("VAE feature map", "vae_features", "vae_features"), ("SimCLR code", "simclr_code", None),
        ("SimCLR feature map", "simclr", "simclr"), ("random encoder, code", "ae_random", "ae_random"),
        ("random encoder, feature map", "ae_features_random", "ae_features_random"))


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
    and the RBF-SVM few-label accuracy at 100 and 1,000 labels (mean and standard deviation over draws). A
    random-encoder control (`control`) also carries each structure measure's standard deviation over its
    initializations (`<column>_std`; its few-label spread pools initializations and draws) and its number of
    `inits`; a trained row names its `random_control`."""
    found = {}
    for rep in reps:
        s = structure.get(rep.structure, {}) if rep.structure else {}
        f = few_svm.get(rep.few, {}) if rep.few else {}
        row = {"label": rep.label, "supervised": rep.supervised, "control": is_control(s),
               "knn_accuracy": s.get("knn_accuracy"), "silhouette": s.get("silhouette"),
               "linear_probe_accuracy": s.get("linear_probe_accuracy"),
               **{f"few_n{n}": f[n]["mean"] if n in f else None for n in FEW_COUNTS},
               **{f"few_n{n}_std": f[n].get("std") if n in f else None for n in FEW_COUNTS}}
        if row["control"]:
            row.update({"inits": s["inits"], **{f"{c}_std": s[f"{c}_std"] for c in latent.MEASURES}})
        elif s.get("random_control"):
            row["random_control"] = s["random_control"]
        found[rep.key] = row
    return found


def table(found: dict) -> str:
    """Markdown: one row per representation; the supervised one is marked as having seen every label, a
    random-encoder control shows each value's mean ± standard deviation over its initializations."""
    def cell(r: dict, column: str, say=lambda v: percent(v, 2)) -> str:
        v = r[column]
        if v is None:
            return "–"
        if r.get("control"):
            return plus_minus(v, r.get(f"{column}_std"), *((1,) if say is sig else (100, "%")))
        return say(v)
    return markdown_table(
        ["representation", "k-NN accuracy", "silhouette", "linear probe", *[f"SVM, {n:,} labels" for n in FEW_COUNTS]],
        [(r["label"] + (" (saw every label)" if r["supervised"] else ""), cell(r, "knn_accuracy"),
          cell(r, "silhouette", sig), cell(r, "linear_probe_accuracy"),
          *[cell(r, f"few_n{n}") for n in FEW_COUNTS]) for r in found.values()])


def _best(found: dict, column: str) -> str | None:
    """The unsupervised representation with the highest value in `column` (None when none was measured; the
    random-encoder controls learned nothing and are not candidates)."""
    candidates = {k: r for k, r in found.items()
                  if not r["supervised"] and not r.get("control") and r[column] is not None}
    return max(candidates, key=lambda k: candidates[k][column]) if candidates else None


def summary_metrics(found: dict, closing_text: str) -> dict:
    """The `side_by_side` entries of metrics.json: the closing commentary as plain text (Markdown emphasis
    removed) and the best unsupervised few-label accuracies."""
    best = {f"best_few_n{n}": found[k][f"few_n{n}"] if (k := _best(found, f"few_n{n}")) else None for n in FEW_COUNTS}
    return {"closing": closing_text.replace("**", ""), **best}


def representations(reps: latent.Representations) -> list[Representation]:
    """The rows of `ROWS` by the names `reps` and its few-label table give them (the random-encoder controls
    among them), then the best classifier's features (their label is their name in the structure table),
    marked supervised."""
    supervised = reps.name("classifier")
    return [*[Representation(label, key, reps.name(key), reps.few.name(few) if few else None)
              for label, key, few in ROWS],
            Representation(supervised, "classifier", supervised, None, supervised=True)]


@dataclass(frozen=True)
class SideBySide:
    """Section 7's closing table: its rows (the `representations` section), the table and the closing
    sentence (the best representation for each read-out and the generators' summary)."""

    rows: dict
    table: str
    closing: str


def compare(ctx: Context, reps: latent.Representations, generators: quality.Generators) -> SideBySide:
    """Every representation's structure measures and few-label accuracies in one table and the closing
    sentence; merged as `representations` and `side_by_side`."""
    found = rows(representations(reps), reps.rows, reps.few.statistics()["svm"])
    closing = (f"**Measured, what each method is good for.** {rep_text.representations(found)} "
               f"{gen_text.summary(generators.found)}")
    ctx.merge("representations", found)
    ctx.merge("side_by_side", summary_metrics(found, closing))
    return SideBySide(found, table(found), closing)
