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
from scipy.stats import t as student_t
from sklearn.metrics import confusion_matrix
from torch import nn
from tqdm.auto import tqdm

from .data import Augment, ImageSet, Splits
from .fewlabels import draws_for, label_draws, sweep_stats, sweep_table  # noqa: F401 (shared with section 5)
from .models import AEConfig, Encoder, EncoderClassifier, HW1Autoencoder, HW1Net, count_parameters
from .results import atomic_path, markdown_table
from .training import (Run, TrainSpec, classification_loss, cross_validate, evaluate_set, outputs,
                       reconstruction_loss, train_model)

HW1_AUGMENT = Augment(flip=True, rotate=5.0)
HW1_BATCH = 64
THRESHOLDS = (0.90, 0.92)  # validation accuracies whose first epoch and second are reported
HW1_TARGET = 0.925  # the test accuracy Homework 1's network should reach under its own recipe on `full` (reported: 92.59%)
HW1_SCRATCH = "HW1 network from scratch"
HW1_FINETUNED = "HW1 network pretrained + fine-tuned"
HW1_FROZEN = "HW1 network pretrained, frozen + linear"


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


def build_classifier(arch: dict, encoder: nn.Module | None = None) -> nn.Module:
    """The network `arch` describes, starting from a copy of the pretrained `encoder` when one is given: an
    autoencoder's `Encoder` for an encoder-based network, the convolutional blocks (`HW1Net.features`) of a Homework 1
    network pretrained as an autoencoder for `kind == "hw1"` (the head keeps its fresh initialization)."""
    if arch["kind"] == "hw1":
        net = HW1Net(freeze_features=arch.get("freeze", False))
        if encoder is not None:
            net.features.load_state_dict(encoder.state_dict())
        return net
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
    pretrained: nn.Module | None = None  # start from these encoder weights; None: random initialization

    def build(self) -> nn.Module:
        return build_classifier(self.arch, self.pretrained)

    @cached_property
    def key(self) -> tuple:
        """What defines the starting model, for the run cache (the weights are hashed once)."""
        return self.arch, weights_digest(self.pretrained) if self.pretrained is not None else None


def hw1_scratch(epochs: int, seed: int) -> tuple[str, Strategy]:
    """Homework 1's network from a random initialization under Homework 1's recipe for `epochs` epochs."""
    return HW1_SCRATCH, Strategy("hw1_recipe", {"kind": "hw1"}, hw1_recipe(epochs, seed))


def strategies(cfg: AEConfig, pretrained: Encoder, spec: TrainSpec,
               encoder_lr_scale: float = 0.1) -> dict[str, Strategy]:
    """Homework 1's network, encoder + head from scratch, two fine-tuning variants and three frozen ones."""
    def encoder_arch(head: str, freeze: bool, tap: str = "features") -> dict:
        return {"kind": "encoder", "ae_config": cfg.as_dict(), "head": head, "tap": tap, "freeze": freeze}

    slow_encoder = replace(spec, lr_scales=(("encoder.", encoder_lr_scale),))
    return {
        HW1_SCRATCH: Strategy("hw1", {"kind": "hw1"}, spec),
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


def summary(runs: dict[str, Run], splits: Splits, batch_size: int = 2000,
            pretrain_seconds: dict[str, float] | None = None) -> dict[str, dict]:
    """Per run: test, validation (kept epoch) and training accuracy (eval mode), the train/validation gap, epochs
    and seconds, trainable and total parameters, and when the validation accuracy first reached each of
    `THRESHOLDS` (epoch, seconds of this run, and seconds including the pretraining its starting weights cost:
    `pretrain_seconds[name]`, 0 for a run from scratch)."""
    rows = {}
    for name, run in runs.items():
        val = run.history.kept["val_accuracy"]
        train = accuracy(run.model, splits.train, splits, batch_size)
        pretrain = (pretrain_seconds or {}).get(name, 0.0)
        row = {"test_accuracy": accuracy(run.model, splits.test, splits, batch_size), "val_accuracy": val,
               "train_accuracy": train, "gap": train - val, "best_epoch": run.history.best_epoch,
               "epochs": len(run.history.rows), "seconds": run.history.rows[-1]["seconds"],
               "pretrain_seconds": pretrain, "trainable_parameters": count_parameters(run.model),
               "total_parameters": count_parameters(run.model, trainable=False)}
        for threshold in THRESHOLDS:
            reached = time_to_accuracy(run.history.rows, threshold)
            tag = f"{round(threshold * 100)}"
            row[f"epochs_to_{tag}"], row[f"seconds_to_{tag}"] = reached if reached else (None, None)
            row[f"whole_seconds_to_{tag}"] = reached[1] + pretrain if reached else None
        rows[name] = row
    return rows


def summary_table(rows: dict[str, dict]) -> str:
    """Markdown table of `summary` rows, in the order given: accuracies, parameters, learning speed (epoch and
    seconds to each threshold, and the seconds with the pretraining added)."""
    def when(row: dict, tag: str) -> str:
        epochs, seconds = row[f"epochs_to_{tag}"], row[f"seconds_to_{tag}"]
        return "not reached" if epochs is None else f"{epochs} ({seconds:.0f} s)"

    def whole(row: dict, tag: str) -> str:
        seconds = row[f"whole_seconds_to_{tag}"]
        return "not reached" if seconds is None else f"{seconds:.0f} s"

    tags = [f"{round(t * 100)}" for t in THRESHOLDS]
    return markdown_table(
        ["strategy", "test acc.", "val. acc.", "train acc. (eval)", "gap", "params (trainable / total)",
         *[f"epoch (s) to {t}%" for t in tags], *[f"s to {t}% incl. pretraining" for t in tags], "epochs",
         "seconds"],
        [(n, r["test_accuracy"], r["val_accuracy"], r["train_accuracy"], r["gap"],
          f"{r['trainable_parameters']:,} / {r['total_parameters']:,}", *[when(r, t) for t in tags],
          *[whole(r, t) for t in tags], r["epochs"], f"{r['seconds']:.0f}") for n, r in rows.items()])


# ----------------------------------------------------------------------------- the Homework 1 network, pretrained


def pretrain_hw1(spec: TrainSpec, splits: Splits, *, run_dir: Path | None = None, eval_batch_size: int = 2000,
                 desc: str = "HW1 network as an autoencoder") -> Run:
    """Homework 1's network trained as an autoencoder (`HW1Autoencoder`) on the training images, without labels."""
    model, history = train_model(HW1Autoencoder, reconstruction_loss, splits.train, splits.val, spec,
                                 model_key=("hw1_autoencoder",), run_dir=run_dir, desc=desc, mean=splits.mean,
                                 std=splits.std, eval_batch_size=eval_batch_size)
    return Run(model, history)


def hw1_family(pretrained: nn.Module, epochs: int, seed: int) -> dict[str, Strategy]:
    """Homework 1's network under Homework 1's recipe three ways: from scratch, from the blocks `pretrained` as an
    autoencoder with everything fine-tuned, and those blocks frozen under a trained last linear layer. Same
    architecture and parameters; the starting weights (and, for the frozen one, which of them train) differ."""
    spec = hw1_recipe(epochs, seed)
    return {HW1_SCRATCH: hw1_scratch(epochs, seed)[1],
            HW1_FINETUNED: Strategy("hw1_pretrained", {"kind": "hw1"}, spec, pretrained),
            HW1_FROZEN: Strategy("hw1_frozen", {"kind": "hw1", "freeze": True}, spec, pretrained)}


# ----------------------------------------------------------------------------- the comparison over seeds


def seed_runs(chosen: dict[str, Strategy], splits: Splits, *, seeds: int, epochs: int,
              pretrain_seconds: dict[str, float] | None = None, run_dir: Path | None = None,
              eval_batch_size: int = 2000) -> dict[str, list[dict]]:
    """`summary` rows of every strategy trained with `seeds` seeds (the spec's seed, + 1, ...) for `epochs` epochs.

    Paired by seed: on the same split, seed s gives every strategy the same batch order and augmentation draws (and
    its head the same initialization where the architectures agree). The first seed's run carries the strategy's
    own name, so it is the same cached run as the strategy table's when the budgets agree.
    """
    found: dict[str, list[dict]] = {name: [] for name in chosen}
    for i in range(seeds):
        for name, strategy in chosen.items():
            spec = replace(strategy.spec, epochs=epochs, seed=strategy.spec.seed + i)
            desc = name if i == 0 else f"{name} (seed {spec.seed})"
            run = train_strategy(desc, replace(strategy, spec=spec), splits, run_dir=run_dir,
                                 eval_batch_size=eval_batch_size)
            found[name].append({"seed": spec.seed, **summary({name: run}, splits, eval_batch_size,
                                                             pretrain_seconds)[name]})
    return found


def _mean_std(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (n - 1; None for a single value)."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None, "n": len(v)}


def plus_minus(entry: dict | None, scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
    """'90.6 ± 0.3%': the mean rounded to the first significant digit of its standard deviation (at most `digits`
    decimals; `digits` decimals without a spread); 'not reached' for None."""
    if entry is None:
        return "not reached"
    mean = entry["mean"] * scale
    if entry["std"] is None:
        return f"{mean:.{digits}f}{unit}"
    std = entry["std"] * scale
    places = min(digits, max(0, -math.floor(math.log10(std)))) if std > 0 else digits
    return f"{mean:.{places}f} ± {std:.{places}f}{unit}"


def seed_stats(per_seed: dict[str, list[dict]]) -> dict[str, dict]:
    """Per strategy: mean and standard deviation over seeds of the test accuracy, of the epochs and of the seconds
    to 90% validation accuracy (over the seeds that reached it; `reached_90` says how many), each also as text."""
    stats = {}
    for name, rows in per_seed.items():
        reached = [r for r in rows if r["epochs_to_90"] is not None]
        entry = {"name": name, "seeds": [r["seed"] for r in rows],
                 "test_accuracy": _mean_std([r["test_accuracy"] for r in rows]),
                 "trainable_parameters": rows[0]["trainable_parameters"],
                 "total_parameters": rows[0]["total_parameters"], "reached_90": len(reached),
                 "epochs_to_90": _mean_std([r["epochs_to_90"] for r in reached]) if reached else None,
                 "whole_seconds_to_90": _mean_std([r["whole_seconds_to_90"] for r in reached]) if reached else None}
        entry["text"] = {"test_accuracy": plus_minus(entry["test_accuracy"], 100, "%"),
                         "epochs_to_90": plus_minus(entry["epochs_to_90"], digits=1)
                         + ("" if len(reached) in (0, len(rows)) else f" ({len(reached)} of {len(rows)} seeds)"),
                         "whole_seconds_to_90": plus_minus(entry["whole_seconds_to_90"], digits=0)}
        stats[name] = entry
    return stats


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
    """`a - b` paired by seed: mean, standard deviation, and the Student-t interval of the mean at `confidence`.

    `within_spread` is True when that interval contains 0 (the seeds do not settle which is better), None with a
    single seed (no spread to compare with). `same_every_seed` flags a difference without any spread (integer
    epoch counts can give one): its interval has zero width, which says little with two or three seeds."""
    if len(a) != len(b) or not len(a):
        raise ValueError(f"paired_difference needs two equally long, non-empty lists (got {len(a)} and {len(b)}).")
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    out = {"mean": float(d.mean()), "n": len(d), "std": None, "low": None, "high": None, "within_spread": None,
           "same_every_seed": len(d) > 1 and bool(np.all(d == d[0]))}
    if len(d) > 1:
        sd = float(d.std(ddof=1))
        half = float(student_t.ppf(0.5 + confidence / 2, len(d) - 1)) * sd / math.sqrt(len(d))
        out.update(std=sd, low=out["mean"] - half, high=out["mean"] + half,
                   within_spread=bool(out["mean"] - half <= 0.0 <= out["mean"] + half))
    return out


def seed_table(stats_: dict[str, dict]) -> str:
    """Markdown table of `seed_stats`: test accuracy, epochs and seconds to 90% as mean ± std over seeds, parameters."""
    return markdown_table(
        ["strategy", "seeds", "test accuracy", "epochs to 90% val.", "s to 90% incl. pretraining",
         "params (trainable / total)"],
        [(s["name"], len(s["seeds"]), s["text"]["test_accuracy"], s["text"]["epochs_to_90"],
          s["text"]["whole_seconds_to_90"], f"{s['trainable_parameters']:,} / {s['total_parameters']:,}")
         for s in stats_.values()])


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def difference_sentence(name_a: str, name_b: str, diff: dict, what: str = "test accuracy") -> str:
    """One sentence on `a - b` (fractions, printed in percentage points) and whether the seeds settle it."""
    head = f"{_capital(what)} of {name_a} minus that of {name_b}: {diff['mean'] * 100:+.2f} points"
    if diff["within_spread"] is None:
        return f"{head} from a single seed, which gives no spread to judge it by."
    span = f"95% interval {diff['low'] * 100:+.2f} to {diff['high'] * 100:+.2f} over {diff['n']} seeds"
    if diff["within_spread"]:
        return f"{head} ({span}), within the spread of the seeds."
    better = name_a if diff["mean"] > 0 else name_b
    return f"{head} ({span}); {better} is ahead beyond the spread of the seeds."


def _epochs_sentence(speed: dict) -> str:
    """The paired difference in epochs to 90% validation accuracy."""
    text = f" In epochs to 90% validation accuracy the difference is {speed['mean']:+.1f}"
    if speed["within_spread"] is None:
        return text + "."
    if speed["same_every_seed"]:
        return text + ", the same in every seed (too few seeds to call that a spread)."
    return (text + f" (95% interval {speed['low']:+.1f} to {speed['high']:+.1f}), "
            + ("within the spread." if speed["within_spread"] else "beyond the spread."))


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


def save_classifiers(folder: Path, entries: dict[str, tuple[Strategy, Run, dict]], splits: Splits) -> dict[str, Path]:
    """Every final classifier (`entries[name] = (strategy, run, summary row)`) as `folder/classifier-<tag>.pt`, with
    its name, test accuracy and normalization."""
    paths = {}
    for name, (strategy, run, row) in entries.items():
        paths[name] = folder / f"classifier-{strategy.tag}.pt"
        save_classifier(paths[name], strategy.arch, run.model, {
            "name": name, "test_accuracy": row["test_accuracy"], "mean": splits.mean, "std": splits.std})
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


# ----------------------------------------------------------------------------- metrics and findings


def _reached(row: dict, tag: str = "90", whole: bool = False) -> str:
    """'epoch 3 (41 s)' for a row that reached the threshold; 'never' otherwise."""
    if row[f"epochs_to_{tag}"] is None:
        return "never"
    seconds = row[f"whole_seconds_to_{tag}"] if whole else row[f"seconds_to_{tag}"]
    return f"epoch {row[f'epochs_to_{tag}']} ({seconds:.0f} s)"


def _speed_sentence(pretrained: dict, scratch: dict) -> str:
    """When the pretrained and the scratch run first reached 90% validation accuracy, the pretraining counted."""
    head = "First epoch at 90% validation accuracy, pretrained against from scratch:"
    if pretrained["epochs_to_90"] is None and scratch["epochs_to_90"] is None:
        return "Neither run reaches 90% validation accuracy."
    text = f"{head} {_reached(pretrained)} against {_reached(scratch)}"
    if pretrained["epochs_to_90"] is None:
        return text + "."
    return (text + f"; counting the {pretrained['pretrain_seconds']:.0f} s of pretraining, the pretrained network gets "
                   f"there after {pretrained['whole_seconds_to_90']:.0f} s.")


def hw1_metrics(rows: dict[str, dict], runs: dict[str, Run], pretraining: Run, pretrain_test_mse: float, *,
                recipe: TrainSpec, reported: float) -> dict:
    """`metrics.json` -> `finetune_hw1`: the Homework 1 network three ways under its own recipe, and its pretraining."""
    keys = {HW1_SCRATCH: "scratch", HW1_FINETUNED: "finetuned", HW1_FROZEN: "frozen"}
    return {"epochs": recipe.epochs, "reported_test": reported, "recipe": recipe,
            "pretraining": {"epochs": len(pretraining.history.rows), "seconds": pretraining.history.rows[-1]["seconds"],
                            "test_mse": pretrain_test_mse, "val_mse": pretraining.history.kept["val_loss"],
                            "parameters": count_parameters(pretraining.model),
                            "decoder_parameters": count_parameters(pretraining.model.decoder)},
            **{keys[n]: {"name": n, **row, "history": runs[n].history.rows} for n, row in rows.items()},
            "target": HW1_TARGET, "target_met": rows[HW1_SCRATCH]["test_accuracy"] >= HW1_TARGET}


def hw1_findings(rows: dict[str, dict], pretrain_test_mse: float, main_test_mse: float, *, epochs: int,
                 reported: float, main_code: int, seed_epochs: int) -> str:
    """What the Homework 1 network from scratch, pretrained + fine-tuned, and frozen measured, in plain sentences (the
    notebook's 'Measured:' paragraph and the report's)."""
    scratch, fine, frozen = rows[HW1_SCRATCH], rows[HW1_FINETUNED], rows[HW1_FROZEN]
    gap = scratch["test_accuracy"] - reported
    against = ("matching it within a tenth of a point" if abs(gap) < 0.001 else
               f"{abs(gap) * 100:.2f} points {'above' if gap > 0 else 'below'} it")
    return (
        f"Under Homework 1's recipe (at most {epochs} epochs, early stopping, the best validation epoch "
        f"kept), Homework 1's network from scratch reaches {scratch['test_accuracy']:.2%} test accuracy (kept epoch "
        f"{scratch['best_epoch']} of {scratch['epochs']}); Homework 1 reported {reported:.2%}, so this run is "
        f"{against}. Pretrained as an autoencoder (test MSE {pretrain_test_mse:.4f} per pixel from its 128 pooled "
        f"numbers, against {main_test_mse:.4f} for the main autoencoder's {main_code}-number code) and then fine-tuned with the same "
        f"recipe, the same network reaches {fine['test_accuracy']:.2%} ({(fine['test_accuracy'] - scratch['test_accuracy']) * 100:+.2f} "
        f"points, one seed; the spread over seeds is measured below"
        f"{'' if seed_epochs == epochs else f', with runs of {seed_epochs} epochs'}). {_speed_sentence(fine, scratch)} "
        f"With the pretrained blocks frozen, a linear layer on "
        f"their 128 pooled numbers ({frozen['trainable_parameters']:,} trainable parameters) reaches "
        f"{frozen['test_accuracy']:.2%}: what reconstruction alone put into the features the classifier reads.")


def strategy_findings(rows: dict[str, dict], fine_kept: str, best_name: str) -> str:
    """What the section-1 encoder strategies measured, in plain sentences."""
    fine_names = [n for n in rows if n.startswith("fine-tuned")]
    other = [n for n in fine_names if n != fine_kept]
    fine, scratch, hw1 = rows[fine_kept], rows["encoder + head (scratch)"], rows[HW1_SCRATCH]
    versus = f" ({fine['val_accuracy']:.2%} against {rows[other[0]]['val_accuracy']:.2%})" if other else ""
    return (
        f"At this budget Homework 1's network reaches {hw1['test_accuracy']:.2%} test accuracy with "
        f"{hw1['trainable_parameters']:,} parameters. Of the fine-tuning variants, {fine_kept} validates better"
        f"{versus}; it reaches {fine['test_accuracy']:.2%} on test against {scratch['test_accuracy']:.2%} for the same "
        f"network from scratch, with {fine['trainable_parameters']:,} parameters, "
        f"{fine['trainable_parameters'] / hw1['trainable_parameters']:.1f} times Homework 1's. Best on validation "
        f"among the strategies of this table: {best_name}, {rows[best_name]['test_accuracy']:.2%} on test. First epoch at 90% validation "
        f"accuracy: " + ", ".join(f"{n} {_reached(r)}" for n, r in rows.items()) + ".")


def label_findings(stats_: dict[str, dict[int, dict]], pretrained: str, scratch: str) -> str:
    """What the label sweep says about `pretrained` against the same network from `scratch`, in plain sentences:
    the label counts where its mean test accuracy over draws is higher, where not, and the margin at each."""
    counts = sorted(stats_[pretrained])
    margin = {n: stats_[pretrained][n]["mean"] - stats_[scratch][n]["mean"] for n in counts}
    ahead = [n for n in counts if margin[n] > 0]
    behind = [n for n in counts if margin[n] <= 0]
    listed = ", ".join(f"{n:,} labels {margin[n] * 100:+.1f}" for n in counts)
    if not behind:
        verdict = f"Starting from the pretrained encoder, {pretrained} beats the same network from scratch at every label count"
    elif not ahead:
        verdict = f"Starting from the pretrained encoder, {pretrained} does not beat the same network from scratch at any label count"
    else:
        verdict = (f"Starting from the pretrained encoder, {pretrained} beats the same network from scratch with "
                   f"{', '.join(f'{n:,}' for n in ahead)} labels and not with {', '.join(f'{n:,}' for n in behind)}")
    return f"{verdict}; its margin in test accuracy points, mean over draws: {listed}."


def seed_findings(per_seed: dict[str, list[dict]], baseline: str, *, epochs: int,
                  roles: dict[str, str] | None = None) -> tuple[dict, str]:
    """`metrics.json` -> `finetune_seeds` (statistics and differences keyed by `roles[name]`, default the name; the
    finding in `finding`), and the finding in plain sentences: each strategy against `baseline`, paired by seed, in
    test accuracy and in epochs to 90% validation accuracy, 'within the spread' where the seeds' 95% interval of the
    difference contains zero."""
    key = (roles or {}).get
    found = {"epochs": epochs, "baseline": key(baseline, baseline), "seeds": len(per_seed[baseline]),
             "stats": {key(n, n): v for n, v in seed_stats(per_seed).items()},
             "runs": {key(n, n): v for n, v in per_seed.items()}, "differences": {}}
    sentences = []
    base = per_seed[baseline]
    for name, rows in per_seed.items():
        if name == baseline:
            continue
        diff = paired_difference([r["test_accuracy"] for r in rows], [r["test_accuracy"] for r in base])
        entry = {"name": name, "test_accuracy": diff}
        sentence = difference_sentence(name, baseline, diff)
        if all(r["epochs_to_90"] is not None for r in rows + base):
            entry["epochs_to_90"] = paired_difference([r["epochs_to_90"] for r in rows], [r["epochs_to_90"] for r in base])
            sentence += _epochs_sentence(entry["epochs_to_90"])
        found["differences"][key(name, name)] = entry
        sentences.append(sentence)
    n = len(base)
    short = [name for name, rows in per_seed.items() if any(r["epochs_to_90"] is None for r in rows)]
    if short:
        sentences.append(f"{_capital(' and '.join(short))} did not reach 90% validation accuracy in every seed within "
                         f"{epochs} epochs, so no paired difference in epochs to 90% is given for "
                         f"{'it' if len(short) == 1 else 'them'}.")
    text = (f"Over {n} seed{'s' if n > 1 else ''} at {epochs} epoch{'s' if epochs > 1 else ''} (same split; per seed "
            f"the same batch order and augmentation for every strategy): " + " ".join(sentences))
    found["finding"] = text
    return found, text
