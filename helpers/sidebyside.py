"""Section 7's closing tables: every representation of the study in one table, with the best unsupervised
few-label accuracies for metrics.json, and every trained model in another (`models`: its size, budget and time,
its best representation and its images' scores). The numbers come from sections 1-7 (`latent.structure`, the
few-label protocol, both held by `latent.Representations`, and what each section merged into metrics.json);
`findings.representations` and `findings.generators` put them in words. `compare` is the notebook's step."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import latent, quality, vae
from .context import Context
from .findings import generators as gen_text, representations as rep_text
from .findings.curves import curves_reading
from .findings.words import percent, plus_minus, sig
from .results import is_control, markdown_table, metric_at

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


# ----------------------------------------------------------------------------- the trained models


@dataclass(frozen=True)
class Model:
    """One row of the models' table: its label, its key in `side_by_side.models`, where metrics.json holds its
    parameter count, epochs and training seconds (dotted paths; every model trains on the training split,
    `data.n_train` images), its representations (key in the `representations` entries -> where the encoder is
    read: "code" or "feature map"), the name of the image set it generates in `generators.sets` (from the
    metrics; None where it generates none) and whether it trained with every label."""

    label: str
    key: str
    parameters: str
    epochs: str
    seconds: str
    reads: dict[str, str] = field(default_factory=dict)
    generates: Callable[[dict], str | None] = lambda metrics: None
    supervised: bool = False
    images: str = "data.n_train"


CODE, MAP = "code", "feature map"
AE_GENERATOR = "autoencoder + mixture without labels"  # its decoder on codes of a mixture fitted without labels


def _vae_prior(metrics: dict) -> str | None:
    """The VAE's prior samples through its kept decoder (None before section 5 ran)."""
    decoder = metric_at(metrics, "vae.config.decoder")
    return quality.prior_name(decoder) if decoder else None


# The five trained models; parameters count the whole network trained (decoder, projection head or
# discriminator included), seconds its own training (what it is read for needs no other pretraining).
MODELS = (Model("autoencoder", "ae", "search_cv.later_sections_parameters", "search_cv.later_sections_epochs",
                "search_cv.later_sections_seconds", {"ae": CODE, "ae_features": MAP}, lambda metrics: AE_GENERATOR,
                images="search_cv.later_sections_images"),  # the one sections 3-7 read: section 2's kept model
          Model("VAE", "vae", "vae.parameters", "vae.spec.epochs", "vae.seconds",
                {"vae": CODE, "vae_features": MAP}, _vae_prior),
          Model("SimCLR (encoder)", "simclr", "simclr.parameters", "simclr.spec.epochs",
                "simclr.finetuned.pretrain_seconds", {"simclr_code": CODE, "simclr": MAP}),
          Model("DCGAN", "dcgan", "gan.parameters", "gan.spec.epochs", "gan.seconds",
                generates=lambda metrics: "DCGAN"),
          Model("Homework 1 network, every label", "hw1", "finetune_hw1.scratch.total_parameters",
                "finetune_hw1.scratch.epochs", "finetune_hw1.scratch.seconds", supervised=True))
READ_OUTS = ("knn_accuracy", "linear_probe_accuracy", "few_n100")  # the best of a model's representations
SCORES = ("frechet", "coverage")  # its images in the judge's features, mean and standard deviation over draws


def _best_read(reads: dict[str, str], found: dict, column: str) -> dict:
    """`column` at the model's best representation (highest mean), its standard deviation over draws (None
    where it has none) and where it was read; None throughout where no representation of the model was
    measured by it."""
    measured = {k: found[k] for k in reads if found.get(k, {}).get(column) is not None}
    if not measured:
        return {column: None, f"{column}_std": None, f"{column}_read_at": None}
    best = max(measured, key=lambda k: measured[k][column])
    return {column: measured[best][column], f"{column}_std": measured[best].get(f"{column}_std"),
            f"{column}_read_at": reads[best]}


def models(metrics: dict) -> dict[str, dict]:
    """The `side_by_side.models` entries, one per model of `MODELS`, from the metrics of the sections before:
    parameters, training images, epochs and seconds; its best k-NN and linear-probe accuracy and RBF-SVM
    accuracy at 100 labels among its representations (`representations`, with where each was read and the
    SVM's standard deviation over draws); the image set it generates and that set's Fréchet distance and
    coverage in the judge's features with their standard deviations over draws (`generators.sets`). What a
    run did not measure is None."""
    found, sets = metrics.get("representations", {}), metric_at(metrics, "generators.sets") or {}
    rows = {}
    for model in MODELS:
        generated = model.generates(metrics)
        scores = sets.get(quality.key(generated), {}) if generated else {}
        rows[model.key] = {
            "label": model.label, "supervised": model.supervised,
            **{name: metric_at(metrics, getattr(model, name)) for name in ("parameters", "images", "epochs", "seconds")},
            **{k: v for column in READ_OUTS for k, v in _best_read(model.reads, found, column).items()},
            "generator": generated if scores else None,
            **{k: scores.get(k) for score in SCORES for k in (score, f"{score}_std")}}
    return rows


def model_cells(row: dict) -> list[tuple[str, str | None]]:
    """One `models` row as table cells: each cell's text ("–" where not measured) and, for a read-out, where
    the model was read for it (None otherwise)."""
    def number(v: Any, say: Callable[[Any], str]) -> str:
        return "–" if v is None else say(v)
    images, epochs = (number(row[k], lambda v: f"{v:,}") for k in ("images", "epochs"))
    read = [(number(row[c], lambda v, c=c: plus_minus(v, row[f"{c}_std"], 100, "%")), row[f"{c}_read_at"])
            for c in READ_OUTS]
    scores = [(number(row[s], lambda v, s=s: plus_minus(v, row[f"{s}_std"])), None) for s in SCORES]
    return [(number(row["parameters"], lambda v: f"{v:,}"), None),
            ("–" if images == epochs == "–" else f"{images} × {epochs}", None),
            (number(row["seconds"], sig), None), *read, *scores]


MODEL_COLUMNS = ("model", "parameters", "training images × epochs", "training (s)", "k-NN accuracy",
                 "linear probe", "SVM, 100 labels", "Fréchet distance", "coverage")


def in_order(rows: dict) -> list[dict]:
    """The `models` rows in the order of `MODELS` (metrics.json stores them with sorted keys)."""
    return [rows[model.key] for model in MODELS if model.key in rows]


def models_table(rows: dict) -> str:
    """Markdown: one row per trained model, each read-out at the model's best representation (named in
    brackets), the SVM and the scores as mean ± standard deviation over draws, "–" where not measured."""
    return markdown_table(MODEL_COLUMNS, [
        (r["label"], *[text + (f" ({where})" if where else "") for text, where in model_cells(r)])
        for r in in_order(rows)])


@dataclass(frozen=True)
class SideBySide:
    """Section 7's closing tables: the representations' rows (the `representations` section) and their table,
    the closing sentence (the best representation for each read-out and the generators' summary), the
    trained models' rows (`side_by_side.models`) and their table, and how each headline model's curve ended
    (`findings.curves`)."""

    rows: dict
    table: str
    closing: str
    models: dict
    models_table: str
    curves: str = ""


def compare(ctx: Context, reps: latent.Representations, generators: quality.Generators) -> SideBySide:
    """Every representation's structure measures and few-label accuracies in one table and the closing
    sentence, and every trained model in another (`models`, from the metrics of the sections before); merged
    as `representations` and `side_by_side`."""
    found = rows(representations(reps), reps.rows, reps.few.statistics()["svm"])
    best = gen_text.group_bests(generators.found) or gen_text.checks(generators.found)  # the check: said above
    closing = f"**Measured, what each method is good for.** {rep_text.representations(found)} {best}"
    ctx.merge("representations", found)
    metrics = ctx.metrics()
    trained = models(metrics)
    ctx.merge("side_by_side", {**summary_metrics(found, closing), "models": trained})
    return SideBySide(found, table(found), closing, trained, models_table(trained), curves_reading(metrics))
