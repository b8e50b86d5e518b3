"""Section 3: classifiers on the pretrained encoder against the Homework 1 network.

A `Strategy` says which network to build (its `arch`, a plain dict that also rebuilds it from a saved
checkpoint), whether it starts from the pretrained encoder, and how to train it. Every strategy trains
on the shared loop with the Homework 1 recipe, on the same splits and seeds.
"""
from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from sklearn.metrics import confusion_matrix
from torch import nn
from tqdm.auto import tqdm

from .data import Augment, ImageSet, Splits
from .fewlabels import draws_for, label_draws, sweep_stats, sweep_table  # noqa: F401 (shared with section 5)
from .models import AEConfig, Encoder, EncoderClassifier, HW1Net, count_parameters
from .results import atomic_path, markdown_table
from .training import Run, TrainSpec, classification_loss, cross_validate, evaluate_set, outputs, train_model

HW1_AUGMENT = Augment(flip=True, rotate=5.0)
HW1_BATCH = 64
THRESHOLDS = (0.90, 0.92)  # validation accuracies whose first epoch and second are reported


def hw1_recipe(epochs: int, seed: int, patience: int = 10) -> TrainSpec:
    """Homework 1's recipe: flip + rotation up to 5 degrees, Adam (lr 1e-3, weight decay 1e-4), batch 64,
    reduce-on-plateau (factor 0.5, patience 5), the best epoch by validation accuracy kept."""
    return TrainSpec(epochs=epochs, optimizer="adam", lr=1e-3, weight_decay=1e-4, batch_size=HW1_BATCH,
                     scheduler="plateau", patience=patience, monitor="accuracy", mode="max",
                     augment=HW1_AUGMENT, seed=seed)


def weights_digest(module: nn.Module) -> str:
    """A hash of a module's parameters and buffers: which pretrained weights a run started from."""
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def build_classifier(arch: dict, encoder: Encoder | None = None) -> nn.Module:
    """The network `arch` describes; an encoder-based one starts from a copy of `encoder` when given."""
    if arch["kind"] == "hw1":
        return HW1Net()
    if encoder is None:
        cfg = dict(arch["ae_config"], channels=tuple(arch["ae_config"]["channels"]))
        encoder = Encoder(AEConfig(**cfg))
    return EncoderClassifier(copy.deepcopy(encoder), arch["head"], tap=arch["tap"], freeze=arch["freeze"])


@dataclass(frozen=True)
class Strategy:
    """A classifier to train: its architecture, its starting weights and its training spec."""

    tag: str  # a short name for metrics.json and file names
    arch: dict
    spec: TrainSpec
    pretrained: Encoder | None = None  # start from these encoder weights; None: random initialization

    def build(self) -> nn.Module:
        return build_classifier(self.arch, self.pretrained)

    @cached_property
    def key(self) -> tuple:
        """What defines the starting model, for the run cache (the weights are hashed once)."""
        return self.arch, weights_digest(self.pretrained) if self.pretrained is not None else None


def strategies(cfg: AEConfig, pretrained: Encoder, spec: TrainSpec,
               encoder_lr_scale: float = 0.1) -> dict[str, Strategy]:
    """Homework 1's network, encoder + head from scratch, two fine-tuning variants and three frozen ones."""
    def encoder_arch(head: str, freeze: bool, tap: str = "features") -> dict:
        return {"kind": "encoder", "ae_config": cfg.as_dict(), "head": head, "tap": tap, "freeze": freeze}

    slow_encoder = replace(spec, lr_scales=(("encoder.", encoder_lr_scale),))
    return {
        "HW1 network (scratch)": Strategy("hw1", {"kind": "hw1"}, spec),
        "encoder + head (scratch)": Strategy("scratch", encoder_arch("mlp", False), spec),
        "fine-tuned (one lr)": Strategy("finetuned_onelr", encoder_arch("mlp", False), spec, pretrained),
        f"fine-tuned (encoder lr x{encoder_lr_scale:g})": Strategy("finetuned_slow", encoder_arch("mlp", False),
                                                                   slow_encoder, pretrained),
        "frozen + two-layer head": Strategy("frozen_mlp", encoder_arch("mlp", True), spec, pretrained),
        "frozen + linear probe": Strategy("frozen_linear", encoder_arch("linear", True), spec, pretrained),
        "frozen + two-layer head on the code": Strategy("frozen_code", encoder_arch("mlp", True, tap="code"), spec,
                                                        pretrained),
    }


def train_strategy(name: str, strategy: Strategy, splits: Splits, train: ImageSet | None = None, *,
                   run_dir: Path | None = None, eval_batch_size: int = 2000) -> Run:
    """Train one strategy on `train` (default: the training split), validating on `splits.val`."""
    model, history = train_model(strategy.build, classification_loss, train or splits.train, splits.val,
                                 strategy.spec, model_key=("classifier", strategy.key), run_dir=run_dir,
                                 desc=name, mean=splits.mean, std=splits.std, eval_batch_size=eval_batch_size)
    return Run(model, history)


def accuracy(model: nn.Module, data: ImageSet, splits: Splits, batch_size: int = 2000) -> float:
    """Accuracy over `data` in eval mode (no augmentation)."""
    return evaluate_set(model, classification_loss, data, mean=splits.mean, std=splits.std,
                        batch_size=batch_size)["accuracy"]


def time_to_accuracy(rows: Sequence[dict], threshold: float,
                     column: str = "val_accuracy") -> tuple[int, float] | None:
    """(epoch, cumulative seconds) of the first epoch whose `column` reaches `threshold`; None if none does."""
    for row in rows:
        if row[column] >= threshold:
            return row["epoch"], row["seconds"]
    return None


def summary(runs: dict[str, Run], splits: Splits, batch_size: int = 2000) -> dict[str, dict]:
    """Per run: test, validation (kept epoch) and training accuracy (eval mode), the train/validation gap,
    epochs and seconds, and when the validation accuracy first reached each of `THRESHOLDS`."""
    rows = {}
    for name, run in runs.items():
        val = run.history.kept["val_accuracy"]
        train = accuracy(run.model, splits.train, splits, batch_size)
        row = {"test_accuracy": accuracy(run.model, splits.test, splits, batch_size), "val_accuracy": val,
               "train_accuracy": train, "gap": train - val, "best_epoch": run.history.best_epoch,
               "epochs": len(run.history.rows), "seconds": run.history.rows[-1]["seconds"],
               "trainable_parameters": count_parameters(run.model)}
        for threshold in THRESHOLDS:
            reached = time_to_accuracy(run.history.rows, threshold)
            tag = f"{round(threshold * 100)}"
            row[f"epochs_to_{tag}"], row[f"seconds_to_{tag}"] = reached if reached else (None, None)
        rows[name] = row
    return rows


def summary_table(rows: dict[str, dict]) -> str:
    """Markdown table of `summary` rows, in the order given."""
    def when(row: dict, tag: str) -> str:
        epochs, seconds = row[f"epochs_to_{tag}"], row[f"seconds_to_{tag}"]
        return "not reached" if epochs is None else f"{epochs} ({seconds:.0f} s)"

    tags = [f"{round(t * 100)}" for t in THRESHOLDS]
    return markdown_table(
        ["strategy", "test acc.", "val. acc.", "train acc. (eval)", "gap", *[f"epoch (s) to {t}%" for t in tags],
         "trainable params", "seconds"],
        [(n, r["test_accuracy"], r["val_accuracy"], r["train_accuracy"], r["gap"], *[when(r, t) for t in tags],
          f"{r['trainable_parameters']:,}", f"{r['seconds']:.0f}") for n, r in rows.items()])


def cross_validated(chosen: dict[str, Strategy], data: ImageSet, splits: Splits, *, k: int, seed: int,
                    run_dir: Path | None = None, eval_batch_size: int = 2000) -> dict[str, list[float]]:
    """Stratified k-fold validation accuracy of every strategy (same folds for all)."""
    return {name: cross_validate(s.build, classification_loss, data, s.spec, k=k, seed=seed, mean=splits.mean,
                                 std=splits.std, metric="accuracy", name=f"CV {name}", model_key=s.key,
                                 run_dir=run_dir, eval_batch_size=eval_batch_size)
            for name, s in chosen.items()}


# ----------------------------------------------------------------------------- label efficiency


def label_budget(n: int, batch_size: int, steps: int) -> tuple[int, int]:
    """(batch size, epochs) for `n` labelled images: batches of at most half the set, about `steps` steps."""
    batch = max(1, min(batch_size, n // 2))
    return batch, max(1, math.ceil(steps / (n // batch)))


def label_sweep(chosen: dict[str, Strategy], splits: Splits, counts: Sequence[int], *, draws: int, steps: int,
                seed: int, run_dir: Path | None = None, eval_batch_size: int = 2000) -> dict[str, dict[int, list[float]]]:
    """Test accuracy of every strategy trained on class-balanced subsets of `n` labels, per draw.

    No validation labels are used (a few labels would not make a validation set): each run trains for a
    fixed budget of about `steps` optimizer steps with a cosine schedule and keeps its last weights.
    """
    subsets = [(n, draw, idx) for n, drawn in label_draws(splits.train.labels, counts, draws, seed).items()
               for draw, idx in enumerate(drawn)]
    found: dict[str, dict[int, list[float]]] = {name: {n: [] for n in counts} for name in chosen}
    with tqdm(total=len(subsets) * len(chosen), desc="label sweep") as bar:
        for n, draw, idx in subsets:
            subset = splits.train.subset(idx)  # the few-label protocol's draws
            for name, strategy in chosen.items():
                batch, epochs = label_budget(n, strategy.spec.batch_size, steps)
                spec = replace(strategy.spec, epochs=epochs, batch_size=batch, scheduler="cosine", patience=None,
                               seed=strategy.spec.seed + draw)
                model, _ = train_model(strategy.build, classification_loss, subset, None, spec,
                                       model_key=("labels", strategy.key), run_dir=run_dir,
                                       desc=f"{name} {n} labels draw {draw + 1}", mean=splits.mean, std=splits.std,
                                       progress=False)
                found[name][n].append(accuracy(model, splits.test, splits, eval_batch_size))
                bar.update(1)
    return found


# ----------------------------------------------------------------------------- errors of the best model


def probabilities(model: nn.Module, data: ImageSet, splits: Splits) -> torch.Tensor:
    """Class probabilities [N, classes] for every image of `data`, on the CPU."""
    return outputs(model, data, lambda m, x: m(x).float().softmax(1), mean=splits.mean, std=splits.std).cpu()


def errors(probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Confusion matrix (rows: true class), per-class accuracy and overall accuracy."""
    y, predicted = labels.cpu().numpy(), probs.argmax(1).numpy()
    matrix = confusion_matrix(y, predicted, labels=np.arange(probs.shape[1]))
    per_class = matrix.diagonal() / matrix.sum(1).clip(min=1)
    return {"confusion": matrix, "per_class_accuracy": per_class, "accuracy": float((y == predicted).mean())}


def confidently_wrong(probs: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the `k` misclassified images with the highest probability on their wrong class."""
    confidence, predicted = probs.max(1)
    wrong = torch.nonzero(predicted != labels.cpu()).flatten()
    return wrong[torch.argsort(confidence[wrong], descending=True)[:k]]


def save_classifier(path: Path, arch: dict, model: nn.Module, info: dict) -> None:
    """Weights and architecture of a final classifier, written atomically; `load_classifier` rebuilds it."""
    with atomic_path(path) as tmp:
        torch.save({"arch": arch, "state_dict": model.state_dict(), "info": info}, tmp)


def save_classifiers(folder: Path, chosen: dict[str, Strategy], runs: dict[str, Run], rows: dict[str, dict],
                     splits: Splits) -> dict[str, Path]:
    """Every final classifier as `folder/classifier-<tag>.pt`, with its name, test accuracy and normalization."""
    paths = {}
    for name, run in runs.items():
        paths[name] = folder / f"classifier-{chosen[name].tag}.pt"
        save_classifier(paths[name], chosen[name].arch, run.model, {
            "name": name, "test_accuracy": rows[name]["test_accuracy"], "mean": splits.mean, "std": splits.std})
    return paths


def load_classifier(path: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """The classifier saved by `save_classifier`, in eval mode on `device`, and its info."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No classifier at {path}: run section 3 of the notebook for this profile first.")
    payload = torch.load(path, map_location="cpu", weights_only=False)
    model = build_classifier(payload["arch"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload["info"]
