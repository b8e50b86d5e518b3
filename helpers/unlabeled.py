"""Section 6, closing part: few labels going further with the unlabeled images (two semi-supervised methods).

Both methods read the few-label protocol's draws (`latent.Representations.few`, the very draws of the SVM
table) and besides them every training image without its label:

- label propagation (scikit-learn's `LabelSpreading`, k-nearest-neighbour graph) in a frozen representation:
  the draw's labels spread over a graph of all training images, and each test image takes the spread labels of
  its nearest training images (`predict`: inductive, no test image is in the graph);
- self-training with consistency (FixMatch-like): SimCLR's encoder and a linear head, fine-tuned on the draw's
  labels and on the training images without labels; where the network gives a weakly augmented view (flip and
  shift) a class with probability at least `THRESHOLD`, that class is the target of a strongly augmented view
  of the same image (SimCLR's views), all made on the device inside the loss.

Each is held against its supervised-only baseline on the same draws: label propagation against the RBF SVM on
the same representation (the few-label table's row), self-training against the same fine-tuning without the
unlabeled term. The unlabeled images reach training without labels: their set carries `UNLABELED` for every
label, and labelled examples are drawn inside the loss from the draw alone. Every setting below is fixed in
advance (no choice is made on test images, and none on labelled images outside the draw).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.semi_supervised import LabelSpreading
from torch import nn

from . import fewlabels, finetune, latent, published
from .context import Context
from .data import Augment, Batch, ImageSet, Splits, Views, augment, fitted, strong_view
from .findings import unlabeled as semi_text
from .findings.words import plus_minus, points, spread_points, verdict, wider
from .models import AEConfig
from .results import array_digest, cached_json, markdown_table
from .training import LossFn, Run, TrainSpec, train_model

if TYPE_CHECKING:
    from .contrastive import Pretrained

UNLABELED = -1  # the label every image of an unlabeled set carries
TARGETS = semi_text.AIMS_BY_DATASET  # per collection, the aims on `full` (mean over draws) against the best method

# Label propagation. Representations: raw pixels (the floor), the autoencoder's code (the study's own), the
# VAE's mean code (the kind of features the published Poisson-learning numbers are read on) and SimCLR's
# feature map (the encoder self-training starts from).
PROPAGATED = ("raw", "ae", "vae", "simclr")
NEIGHBOURS = 10  # k of the k-nearest-neighbour graph
ALPHA = 0.99  # share of a node's value its neighbours give at each step (Zhou et al.'s: labels reach far)
ITERATIONS = 200  # fixed number of spreading steps: on quick's SimCLR features the labels of 99.98% of the
# training images agree with those after 2,000 steps (a label-free check), at a tenth of the time

# Self-training with consistency: FixMatch's own settings where it has one, fixed before any run.
THRESHOLD = 0.95  # confidence of the weak view's prediction that makes it a target
UNLABELED_WEIGHT = 1.0  # weight of the unlabeled term
UNLABELED_RATIO = 7  # unlabeled images per labelled image in a step
WEAK = Augment(flip=True, shift=3.0)  # flip and a shift of up to 3 pixels (about FixMatch's 12.5%)
STRONG = Views()  # SimCLR's views: resized crop, flip, rotation, brightness and contrast, erasing
LR, WEIGHT_DECAY = 1e-3, 1e-4  # AdamW with a cosine schedule, one learning rate for the encoder and the head
HEAD, TAP = "linear", "features"  # a linear head on the encoder's last feature map (where SimCLR is read)
ENCODER = "simclr"  # SimCLR's encoder, not the autoencoder's: its pretext (agree across strongly augmented
# views) is the one the consistency term asks for
SELF_TRAINING = "self-training (FixMatch-like)"
SUPERVISED = "fine-tuning on the labels alone"
PRETRAINING = {"ae": "autoencoder", "vae": "vae", "simclr": "simclr"}  # metrics section of each encoder's run


def without_labels(data: ImageSet) -> ImageSet:
    """`data` with every label replaced by `UNLABELED`: the images alone, as the loop iterates over them."""
    return ImageSet(data.images, torch.full_like(data.labels, UNLABELED), data.classes, data.mirror)


def seeded_labels(rows: int, index: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels of `rows` training images for `LabelSpreading`: `labels` (those of the draw) at `index`,
    `UNLABELED` everywhere else."""
    y = np.full(rows, UNLABELED, dtype=np.int64)
    y[np.asarray(index)] = np.asarray(labels)
    return y


# ----------------------------------------------------------------------------- label propagation


class Spreading(LabelSpreading):
    """scikit-learn's `LabelSpreading` whose neighbour searches run once for many label draws: the graph over
    the training rows and the neighbours of the rows to predict depend on those rows alone, never on a label,
    so they are kept (by a digest of the rows) and reused by every later `fit` and `predict` on the same rows.
    Their time is added up in `search_seconds`."""

    search_seconds: float = 0.0

    def _build_graph(self):
        digest = array_digest(self.X_)
        if getattr(self, "kept_graph_", (None,))[0] != digest:
            start = time.perf_counter()
            self.kept_graph_ = (digest, super()._build_graph())
            self.kept_neighbours_ = {}
            self.search_seconds += time.perf_counter() - start
        return self.kept_graph_[1]

    def _get_kernel(self, X, y=None):
        if y is None or self.kernel != "knn":
            return super()._get_kernel(X, y)
        digest = array_digest(y)
        if digest not in self.kept_neighbours_:
            start = time.perf_counter()
            self.kept_neighbours_[digest] = super()._get_kernel(X, y)
            self.search_seconds += time.perf_counter() - start
        return self.kept_neighbours_[digest]


def spreading() -> Spreading:
    """The label propagation of this section, with its fixed settings."""
    return Spreading(kernel="knn", n_neighbors=NEIGHBOURS, alpha=ALPHA, max_iter=ITERATIONS, n_jobs=-1)


def propagate(train: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
              drawn: dict[int, list[tuple[np.ndarray, np.ndarray]]]) -> dict:
    """Label propagation on every draw of `drawn` ({label count: [(indices, their labels)]}), each scored on
    the test rows: per count and draw, the test accuracy, the seconds of spreading and predicting, the steps
    and the training rows no label reached (`unreached`: a graph component without a labelled row); and the
    seconds of the neighbour searches, made once for all draws (`search_seconds`). Only the drawn labels are
    read; test labels are compared with predictions already made."""
    train, test = np.asarray(train, dtype=np.float32), np.asarray(test, dtype=np.float32)
    model, found = spreading(), {}
    for n, subsets in drawn.items():
        found[n] = []
        for index, labels in subsets:
            start, searched = time.perf_counter(), model.search_seconds
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the number of steps is fixed
                model.fit(train, seeded_labels(len(train), index, labels))
            predicted = model.predict(test)
            seconds = time.perf_counter() - start - (model.search_seconds - searched)
            found[n].append({"accuracy": float(np.mean(predicted == np.asarray(test_labels))),
                             "seconds": seconds, "steps": int(model.n_iter_),
                             "unreached": int((model.label_distributions_.sum(1) == 0).sum())})
    return {"search_seconds": model.search_seconds, "draws": found}


def propagate_cached(run_dir: str | Path | None, name: str, train: np.ndarray, test: np.ndarray,
                     test_labels: np.ndarray, drawn: dict[int, list[tuple[np.ndarray, np.ndarray]]]) -> dict:
    """`propagate`, stored under `run_dir/cache/` by a key of the features, the draws and their labels, and
    the settings."""
    compute = lambda: propagate(train, test, test_labels, drawn)  # noqa: E731
    arrays = [a for subsets in drawn.values() for pair in subsets for a in pair]
    key = [array_digest(train, test, test_labels, *arrays), {n: len(s) for n, s in drawn.items()}, NEIGHBOURS,
           ALPHA, ITERATIONS, "knn spreading v2"]
    stored = cached_json(run_dir, f"label propagation {name}", key, compute)
    return {**stored, "draws": {int(n): rows for n, rows in stored["draws"].items()}}


def drawn_labels(few: fewlabels.Registry,
                 counts: Sequence[int]) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """The few-label table's draws at `counts`, each as (indices, their labels): all a method is given."""
    return {n: [(idx, few.train_labels[idx]) for idx in few.draws[n]] for n in counts}


# ----------------------------------------------------------------------------- self-training with consistency


def consistency_loss(labelled: ImageSet, *, batch: int, weight: float, mean: float, std: float,
                     threshold: float = THRESHOLD, weak: Augment = WEAK, strong: Views = STRONG) -> LossFn:
    """The loop's loss for a batch of unlabeled images (their labels are never read): `batch` labelled images
    drawn with replacement from `labelled` (the draw alone) and weakly augmented, cross-entropy on their
    labels; and, with `weight` > 0, a weak and a strong view of every unlabeled image, where the weak view's
    prediction (no gradient) reaches `threshold`, cross-entropy of the strong view against that class,
    averaged over all the unlabeled images and weighted by `weight`. One forward pass for all views (shared
    batch-norm statistics); random numbers from the default generator, which checkpoints save. Metrics:
    `supervised` and `unlabeled` terms, the share of confident unlabeled images (`confident`), the labelled
    batch's `accuracy`."""
    images, labels = labelled.images.float() / 255, labelled.labels

    def loss(model: nn.Module, unlabeled: Batch) -> dict[str, torch.Tensor]:
        pick = torch.randint(len(labels), (batch,), device=labels.device)
        views = [augment(images[pick], weak)]
        if weight > 0:
            views += [augment(unlabeled.images, weak), strong_view(unlabeled.images, strong)]
        logits = model((torch.cat(views) - mean) / std).float()
        supervised = F.cross_entropy(logits[:batch], labels[pick])
        out = {"loss": supervised, "supervised": supervised,
               "accuracy": (logits[:batch].detach().argmax(1) == labels[pick]).float().mean()}
        if weight > 0:
            weak_logits, strong_logits = logits[batch:].chunk(2)
            confidence, target = weak_logits.detach().softmax(1).max(1)
            confident = (confidence >= threshold).float()
            term = (F.cross_entropy(strong_logits, target, reduction="none") * confident).mean()
            out.update(loss=supervised + weight * term, unlabeled=term, confident=confident.mean())
        return out
    return loss


def encoder_arch(cfg: AEConfig) -> dict:
    """The classifier self-training fine-tunes: the encoder of `cfg` and a `HEAD` head at `TAP`."""
    return {"kind": "encoder", "ae_config": cfg.as_dict(), "head": HEAD, "tap": TAP, "freeze": False}


def recipe(epochs: int, labelled_batch: int, seed: int) -> TrainSpec:
    """AdamW (`LR`, `WEIGHT_DECAY`) with a cosine schedule over `epochs` passes of the unlabeled images, in
    steps of `UNLABELED_RATIO` x `labelled_batch` of them."""
    return TrainSpec(epochs=epochs, optimizer="adamw", lr=LR, weight_decay=WEIGHT_DECAY,
                     batch_size=UNLABELED_RATIO * labelled_batch, scheduler="cosine", seed=seed)


def self_train(cfg: AEConfig, encoder: nn.Module, splits: Splits, index: np.ndarray, spec: TrainSpec, *,
               labelled_batch: int, weight: float, run_dir: Path | None = None,
               desc: str = "self-training") -> Run:
    """Fine-tune a copy of `encoder` with a head (`encoder_arch`) under `consistency_loss`: labelled examples
    from the training images at `index` only, unlabeled ones from every training image without its label;
    `weight` 0 is the same recipe without the unlabeled term. Cached and resumable like every run of the
    loop."""
    labelled = splits.train.subset(index)
    arch = encoder_arch(cfg)
    weak, strong = fitted(WEAK, labelled), fitted(STRONG, labelled)  # no flip of images it would relabel
    loss = consistency_loss(labelled, batch=labelled_batch, weight=weight, mean=splits.mean, std=splits.std,
                            weak=weak, strong=strong)
    key = ("self-training", arch, finetune.weights_digest(encoder), labelled.digest, labelled_batch, weight,
           THRESHOLD, weak, strong)
    model, history = train_model(lambda: finetune.build_classifier(arch, encoder), loss,
                                 without_labels(splits.train), None, spec, model_key=key, run_dir=run_dir,
                                 desc=desc, mean=splits.mean, std=splits.std, progress=False)
    return Run(model, history)


# ----------------------------------------------------------------------------- comparisons


def against(found: dict, baseline: dict) -> dict:
    """A method's statistics over draws (`fewlabels.stats` of one count) against its baseline's on the same
    draws: the difference of the means, the spread (the larger standard deviation of the two), the verdict by
    that spread (`words.verdict`: 1 above, 0 level, -1 below) and the per-draw differences."""
    spread = wider(found["std"], baseline["std"]) or 0.0
    difference = found["mean"] - baseline["mean"]
    return {"difference": difference, "spread": spread, "verdict": verdict(difference, spread),
            "paired": [a - b for a, b in zip(found["draws"], baseline["draws"])]}


def timing(seconds: Sequence[float], pretrain_seconds: float | None) -> dict:
    """A method's mean seconds a draw (`seconds`: one per draw), alone and with the pretraining of its
    representation (`whole_seconds`; None where the pretraining's seconds are unknown)."""
    per_draw = float(np.mean(seconds))
    whole = None if pretrain_seconds is None else per_draw + pretrain_seconds
    return {"seconds": per_draw, "whole_seconds": whole}


def entry(name: str, method: str, representation: str, pretrain_seconds: float | None,
          stats: dict[int, dict], seconds: dict[int, list[float]], baselines: dict[int, dict]) -> dict:
    """One method's metrics: per label count (`n100`, ...) its mean, std and draws, its mean seconds a draw,
    the same with the pretraining of its representation (`whole_seconds`), and its baseline with the
    comparison."""
    found = {"name": name, "method": method, "representation": representation,
             "pretrain_seconds": pretrain_seconds}
    for n, s in stats.items():
        found[f"n{n}"] = {**s, **timing(seconds[n], pretrain_seconds), "baseline": baselines[n],
                          **against(s, baselines[n])}
    return found


def pretraining_seconds(metrics: dict, key: str) -> float | None:
    """Seconds of the run that trained the encoder behind the representation `key`, as this run's metrics
    hold it (0 for raw pixels; for the autoencoder's code, the autoencoder sections 3-7 build on, which section
    2 stores; None where they do not). A step handed the pretraining run reads the same
    number from its history."""
    if key == "raw":
        return 0.0
    if key == "ae" and "later_sections_seconds" in metrics.get("search_cv", {}):
        return metrics["search_cv"]["later_sections_seconds"]  # the code is the kept (tuned) autoencoder's
    history = metrics.get(PRETRAINING.get(key, ""), {}).get("history")
    return history[-1]["seconds"] if history else None


def counts_of(few: fewlabels.Registry, wanted: Sequence[int] | None = None) -> list[int]:
    """The label counts of the few-label table (those of `wanted` only, when given), in order."""
    counts = sorted(few.draws) if wanted is None else sorted(n for n in set(wanted) if n in few.draws)
    if not counts:
        raise ValueError(f"none of the label counts {sorted(wanted or [])} is drawn by the few-label table "
                         f"(label_counts: {sorted(few.draws)}); give self_training_counts among "
                         f"label_counts.")
    return counts


@dataclass(frozen=True)
class Propagation:
    """Label propagation on the `PROPAGATED` representations: the `unlabeled.label_propagation` entries (by
    representation key) and their table."""

    found: dict
    table: str


def propagation(ctx: Context, reps: latent.Representations) -> Propagation:
    """Label propagation in each of the `PROPAGATED` representations the study holds, on every draw of the
    few-label table (cached per representation), against the RBF SVM on the same representation and draws;
    merged into `unlabeled.label_propagation`."""
    few, metrics = reps.few, ctx.metrics()
    drawn = drawn_labels(few, counts_of(few))
    svm = few.statistics()["svm"]
    methods = {}
    for key in (k for k in PROPAGATED if k in reps.keys.values()):
        name, features = reps.name(key), reps[key]
        found = propagate_cached(ctx.run_dir, name, features.train, features.test, few.test_labels, drawn)
        stats = fewlabels.stats(found["draws"])
        seconds = {n: [found["search_seconds"] + r["seconds"] for r in rows]
                   for n, rows in found["draws"].items()}
        baselines = {n: {"name": f"the RBF SVM on {name}", **svm[name][n]} for n in stats}
        methods[key] = {**entry(f"label propagation on {name}", "label propagation", name,
                                pretraining_seconds(metrics, key), stats, seconds, baselines),
                        "search_seconds": found["search_seconds"]}
    settings = {"kernel": "knn", "n_neighbors": NEIGHBOURS, "alpha": ALPHA, "steps": ITERATIONS,
                "graph_images": len(few.train_labels)}
    found = ctx.merge("unlabeled", {"label_propagation": {"settings": settings, "methods": methods},
                                    "protocol": protocol(few)})
    found = found["label_propagation"]
    return Propagation(found, method_table(list(found["methods"].values())))


@dataclass(frozen=True)
class SelfTraining:
    """Self-training from SimCLR's encoder and its supervised-only baseline: the `unlabeled.self_training`
    entries, the runs (per label count: self-trained and supervised-only run of each draw) and their table."""

    found: dict
    runs: dict[int, list[tuple[Run, Run]]]
    table: str


def self_training(ctx: Context, pretrained: Pretrained, reps: latent.Representations) -> SelfTraining:
    """Self-training of SimCLR's encoder on each draw of the profile's `self_training_counts` (the few-label
    table's draws), and the same recipe without the unlabeled term on the same draws, each scored on the test
    set; the profile's `self_training_epochs` passes over the unlabeled images, `self_training_batch` labelled
    images a step. Merged into `unlabeled.self_training`."""
    profile, splits, few = ctx.profile, ctx.splits, reps.few
    counts = counts_of(few, profile.self_training_counts)
    encoder = pretrained.run.model.encoder
    accuracy = lambda r: finetune.accuracy(r.model, splits.test, splits, ctx.eval_batch_size)  # noqa: E731
    arms = {SELF_TRAINING: UNLABELED_WEIGHT, SUPERVISED: 0.0}
    scores = {arm: {n: [] for n in counts} for arm in arms}
    seconds = {arm: {n: [] for n in counts} for arm in arms}
    runs: dict[int, list[tuple[Run, Run]]] = {n: [] for n in counts}
    spec = recipe(profile.self_training_epochs, profile.self_training_batch, ctx.seed)
    for n in counts:
        for d, index in enumerate(few.draws[n]):
            drawn = replace(spec, seed=ctx.seed + d)  # draw d's runs: seed + d
            pair = tuple(self_train(pretrained.config, encoder, splits, index, drawn,
                                    labelled_batch=profile.self_training_batch, weight=weight,
                                    run_dir=ctx.run_dir, desc=f"{arm} {n} labels draw {d + 1}")
                         for arm, weight in arms.items())
            for arm, run in zip(arms, pair):
                scores[arm][n].append(accuracy(run))
                seconds[arm][n].append(run.history.rows[-1]["seconds"])
            runs[n].append(pair)
    stats = {arm: fewlabels.stats(by_n) for arm, by_n in scores.items()}
    pretrain = pretrained.run.history.rows[-1]["seconds"]  # `pretraining_seconds` of "simclr", from the run
    encoder_name = f"SimCLR's encoder ({HEAD} head on its feature map)"
    baselines = {n: {"name": f"the same {SUPERVISED}", **stats[SUPERVISED][n],
                     **timing(seconds[SUPERVISED][n], pretrain)} for n in counts}
    last = {n: [pair[0].history.rows[-1].get("train_confident") for pair in runs[n]] for n in counts}
    methods = {ENCODER: {**entry(f"{SELF_TRAINING} of SimCLR's encoder", SELF_TRAINING, encoder_name,
                                 pretrain, stats[SELF_TRAINING], seconds[SELF_TRAINING], baselines),
                         "confident_last_epoch": last}}
    steps = len(splits.train) // spec.batch_size * spec.epochs
    settings = {"threshold": THRESHOLD, "unlabeled_weight": UNLABELED_WEIGHT,
                "unlabeled_ratio": UNLABELED_RATIO,
                "labelled_batch": profile.self_training_batch, "epochs": profile.self_training_epochs,
                "steps": steps, "weak": fitted(WEAK, splits.train), "strong": fitted(STRONG, splits.train),
                "optimizer": "adamw", "lr": LR,
                "weight_decay": WEIGHT_DECAY, "head": HEAD, "tap": TAP, "encoder": ENCODER,
                "unlabeled_images": len(splits.train)}
    found = ctx.merge("unlabeled", {"self_training": {"settings": settings, "methods": methods}})
    found = found["self_training"]
    return SelfTraining(found, runs, method_table(list(found["methods"].values())))


def protocol(few: fewlabels.Registry) -> dict:
    """The draws both methods read (the few-label table's), by count: how many, and a digest of each."""
    return {"draws": {f"n{n}": len(d) for n, d in few.draws.items()},
            "draw_digests": {f"n{n}": [array_digest(i) for i in d] for n, d in few.draws.items()},
            "train_images": len(few.train_labels), "test_images": len(few.test_labels)}


# ----------------------------------------------------------------------------- the section's summary


def _cell(s: dict | None) -> str:
    """Accuracy in percent, mean ± std over draws (the mean alone for one draw); empty where not measured."""
    if s is None:
        return ""
    return plus_minus(s["mean"], s["std"], 100, "%")


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def method_table(methods: Sequence[dict]) -> str:
    """Markdown table of method entries (`entry`), a row per label count: accuracy, its baseline's, the
    difference with its verdict and spread, seconds a draw, and with the pretraining of the representation."""
    rows = []
    for m in methods:
        for n, s in sorted(by_count(m).items()):
            rows.append((m["name"], f"{n:,}", _cell(s), _cell(s["baseline"]),
                         f"{points(s['difference'])} ({semi_text.SHORT_RELATION[s['verdict']]}; spread "
                         f"{spread_points(s['spread'])})",
                         _seconds(s["seconds"]), _seconds(s["whole_seconds"])))
    return markdown_table(["method", "labels", "accuracy", "supervised-only baseline", "difference",
                           "seconds a draw", "with pretraining"], rows)


@dataclass(frozen=True)
class Unlabeled:
    """The section's summary: the `unlabeled` entries, the curves of the figure (name -> count -> statistics),
    their colours and line styles, the supervised reference at every label (name -> {count: accuracy}, with
    the count `all_label`), the figure's size, the table and the sentence."""

    found: dict
    curves: dict[str, dict[int, dict]]
    colours: dict[str, str]
    styles: dict[str, dict]
    references: dict[str, dict[int, float]]
    all_label: int
    table: str
    finding: str
    size: tuple[float, float] = (6.4, 3.0)  # inches: the report's text width, the two keys beside the axes


CONTROL = "ae_features_random"  # the random encoder read where SimCLR's feature map is
SHORT = {"raw": "raw pixels", "ae": "autoencoder code", "vae": "VAE mean", "simclr": "SimCLR feature map",
         CONTROL: "random encoder"}  # the figure's legend
COLOURS = {"raw": "C7", "ae": "C0", "vae": "C2", "simclr": "C3", CONTROL: "k"}
SELF_TRAINED_COLOUR = "C1"
STYLES = {"svm": {"linestyle": ":", "marker": "."}, "label_propagation": {"linestyle": "-", "marker": "o"},
          "self_training": {"linestyle": "-", "marker": "s"},
          "supervised": {"linestyle": "--", "marker": "s"}}


def by_count(method: dict) -> dict[int, dict]:
    """A method entry's statistics by label count (its `n100`, `n1000`, ... keys)."""
    return {int(k[1:]): v for k, v in method.items() if k.startswith("n") and k[1:].isdigit()}


def best(methods: dict[str, dict], counts: Sequence[int]) -> dict:
    """Per label count, the method with the highest mean accuracy: its kind, key, name, mean and std."""
    found = {}
    for n in counts:
        measured = [(kind, key, m) for kind, by_key in methods.items() for key, m in by_key.items()
                    if f"n{n}" in m]
        if measured:
            kind, key, m = max(measured, key=lambda t: t[2][f"n{n}"]["mean"])
            s = m[f"n{n}"]
            found[f"n{n}"] = {"kind": kind, "key": key, "name": m["name"], "mean": s["mean"], "std": s["std"],
                              "draws": len(s["draws"])}
    return found


def summary(ctx: Context, reps: latent.Representations, lp: Propagation, st: SelfTraining) -> Unlabeled:
    """Both methods beside the frozen representations read by the SVM (raw pixels, the random-encoder control
    and the propagated representations, from the few-label table): the best method at each label count, the
    targets, the figure's curves and the table; merged into `unlabeled` (`best`, `targets`, `profile`)."""
    few = reps.few
    methods = {"label_propagation": lp.found["methods"], "self_training": st.found["methods"]}
    counts = sorted({n for n in few.draws})
    found = ctx.merge("unlabeled", {"best": best(methods, counts), "profile": ctx.profile.name,
                                    "targets": {f"n{n}": t for n, t in TARGETS[ctx.dataset.name].items()}})
    svm = few.statistics()["svm"]
    curves, colours, styles = {}, {}, {}

    def curve(name: str, by_n: dict[int, dict], colour: str, style: str) -> None:
        curves[name], colours[name], styles[name] = by_n, colour, STYLES[style]
    for key in dict.fromkeys(k for k in ("raw", CONTROL, *PROPAGATED) if k in few.keys.values()):
        curve(f"SVM, {SHORT[key]}", svm[few.name(key)], COLOURS[key], "svm")
    for key, m in lp.found["methods"].items():
        curve(f"label propagation, {SHORT[key]}", by_count(m), COLOURS[key], "label_propagation")
    for m in st.found["methods"].values():
        curve("self-training, SimCLR encoder", by_count(m), SELF_TRAINED_COLOUR, "self_training")
        curve("labels alone, SimCLR encoder", {n: s["baseline"] for n, s in by_count(m).items()},
              SELF_TRAINED_COLOUR, "supervised")
    n_all = len(few.train_labels)
    metrics = ctx.metrics()  # read once: SimCLR's fine-tuned accuracy and the few-label table
    tuned = metrics.get("simclr", {}).get("finetuned", {}).get("test_accuracy")
    references = {"SimCLR fine-tuned, every label": {n_all: tuned}} if tuned is not None else {}
    table = method_table([*lp.found["methods"].values(), *st.found["methods"].values()])
    yardsticks = published.for_dataset(ctx.dataset.name).few_labels
    finding = semi_text.summary(found, published.values(yardsticks), metrics.get("few_labels"))
    return Unlabeled(found, curves, colours, styles, references, n_all, table, finding)
