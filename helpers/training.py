"""The one training loop every model uses, with its optimizers, schedulers, losses and evaluation.

A model is trained by `fit(model, loss_fn, train, val, spec)`. `loss_fn(model, batch)` returns a dict
of per-batch means, "loss" first; every other entry (accuracy, say) is averaged over the epoch too.
A model whose loss changes over training (a VAE's KL warm-up) defines `before_step(epochs_done)`, which
the loop calls before every optimizer step with the fraction of epochs completed, resumed runs included.
A model that trains with its own step (a GAN: two optimizers, alternating updates) defines `training_step`
and `parameter_sets()`; the loop builds one optimizer per set and otherwise treats it like any other run
(checkpoints, exact resume, history, progress bar, run cache); that step is the only other `backward()`.
A `monitor(model)` given to `fit` adds its entries to every epoch's row before the checkpoint is written
(e.g. a k-NN accuracy on labelled held-out images, which never reaches the training step).
Training computes in the machine's precision (`runtime.training_precision`: bf16 autocast on CUDA and on a CPU
with native bf16, fp32 elsewhere; `HW2_PRECISION` overrides) with channels-last tensors where that is faster;
evaluation (`evaluate`, `outputs`) always computes in fp32, so every reported number is an fp32 number whatever
the training precision (on CUDA with TF32 convolutions, PyTorch's default there). How a run trains (precision,
memory format, device type) is part of its cache key; the `train_<metric>` columns of a history are averages over
the training batches as trained (augmented, in train mode, in the training precision). Per-batch values stay on
the device: the loop synchronizes once per epoch and every `FINITE_CHECK_EVERY` steps to stop on a non-finite loss. On CUDA the whole training step (forward, backward,
optimizer step and the metric sums) is captured once as a CUDA graph and replayed for every later batch
(`_GraphedStep`), which removes the per-kernel launch cost that dominates the small models of this study.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import runtime
from .data import Augment, Batch, Batches, ImageSet, fingerprint, fitted, kfold_splits
from .results import atomic_path, config_hash, cost_note, keyed_path

LossFn = Callable[[nn.Module, Batch], dict[str, torch.Tensor]]
OPTIMIZERS = ("sgd", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULERS = ("cosine", "warmup_cosine", "onecycle", "plateau")
FINITE_CHECK_EVERY = 50
CHECKPOINT_SECONDS = 10.0  # a run's checkpoint is rewritten at most this often, and always after its last epoch


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite (a hyperparameter search prunes such a trial)."""


@dataclass(frozen=True)
class TrainSpec:
    """How to train: optimizer, schedule, budget, early stopping and augmentation."""

    epochs: int
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 128
    scheduler: str | None = None
    patience: int | None = None  # early stopping: epochs without improvement; best weights restored
    monitor: str = "loss"  # validation metric watched by early stopping and reduce-on-plateau
    mode: str = "min"  # "min" for a loss, "max" for an accuracy
    augment: Augment | None = None
    seed: int = 0
    amp: bool = True  # bf16 autocast where the machine trains in bf16 (runtime.training_precision)
    channels_last: bool = True  # channels-last memory format where it is faster (runtime.channels_last)
    compile: bool = False  # torch.compile the training step (the benchmark's variants)
    lr_scales: tuple[tuple[str, float], ...] = ()  # (parameter-name prefix, factor): e.g. a slower encoder

    def __post_init__(self) -> None:
        checks = [("epochs", self.epochs >= 1, ">= 1"), ("lr", self.lr > 0 and math.isfinite(self.lr), "> 0"),
                  ("weight_decay", self.weight_decay >= 0, ">= 0"), ("batch_size", self.batch_size >= 1, ">= 1"),
                  ("optimizer", self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
                  ("scheduler", self.scheduler in (None, *SCHEDULERS), f"None or one of {', '.join(SCHEDULERS)}"),
                  ("patience", self.patience is None or self.patience >= 1, "None or >= 1"),
                  ("mode", self.mode in ("min", "max"), "'min' or 'max'"),
                  ("lr_scales", all(isinstance(p, str) and f > 0 for p, f in self.lr_scales),
                   "pairs (parameter-name prefix, factor > 0)")]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"TrainSpec.{name} = {getattr(self, name)!r} is not allowed; allowed: {allowed}.")


def seeded_specs(name: str, spec: TrainSpec, seeds: int, label: str) -> list[tuple[str, TrainSpec]]:
    """`spec` with `seeds` seeds, its own first and then the next ones (`spec.seed + 1`, ...), each with the
    name its run is cached under: the first keeps `name`, so it is the same run as the one trained without
    repeats; the others are `label` with `{name}` and `{seed}` filled in."""
    return [(name if i == 0 else label.format(name=name, seed=spec.seed + i),
             replace(spec, seed=spec.seed + i)) for i in range(seeds)]


def param_groups(model: nn.Module, lr: float, lr_scales: tuple[tuple[str, float], ...] = ()) -> list[dict]:
    """Trainable parameters grouped by learning rate: `lr` times the factor of the first matching name prefix.

    Frozen parameters (requires_grad False) are left out, so the optimizer keeps no state for them.
    """
    groups: dict[float, list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            factor = next((f for prefix, f in lr_scales if name.startswith(prefix)), 1.0)
            groups.setdefault(lr * factor, []).append(param)
    return [{"params": params, "lr": group_lr} for group_lr, params in groups.items()]


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0,
                   momentum: float = 0.9, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    """SGD, SGD with Nesterov momentum, Adam, AdamW or RMSprop (fused kernels on CUDA).

    `params` is an iterable of tensors or of parameter groups (dicts, as from `param_groups`); `betas` are
    Adam's and AdamW's.
    """
    params = list(params)
    if params and isinstance(params[0], dict):
        tensors = [p for group in params for p in group["params"]]
    else:
        params = tensors = [p for p in params if p.requires_grad]
    if not tensors:
        raise ValueError("The model has no trainable parameters: unfreeze some before training it.")
    fused = {"fused": True} if tensors[0].is_cuda else {}
    makers = {
        "sgd": lambda: torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, **fused),
        "nesterov": lambda: torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True,
                                            weight_decay=weight_decay, **fused),
        "adam": lambda: torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, **fused),
        "adamw": lambda: torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay, **fused),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay),
    }
    if name not in makers:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")
    return makers[name]()


class Optimizers:
    """One optimizer per named parameter set, seen by the loop as one (state_dict for checkpoints, param_groups
    for the learning-rate column): what a model with its own `training_step` receives, e.g. a GAN's two players."""

    def __init__(self, named: dict[str, torch.optim.Optimizer]) -> None:
        self.named = named

    def __getitem__(self, name: str) -> torch.optim.Optimizer:
        return self.named[name]

    @property
    def param_groups(self) -> list[dict]:
        return [g for optimizer in self.named.values() for g in optimizer.param_groups]

    def state_dict(self) -> dict:
        return {name: optimizer.state_dict() for name, optimizer in self.named.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, optimizer in self.named.items():
            optimizer.load_state_dict(state[name])


def _optimizers(model: nn.Module, spec: TrainSpec) -> torch.optim.Optimizer | Optimizers:
    """The optimizer of a run: one over every trainable parameter (learning rates from `spec.lr_scales`), or, for
    a model with its own `training_step`, one per entry of its `parameter_sets()` (its `adam_betas` if any)."""
    if getattr(model, "training_step", None) is None:
        return make_optimizer(spec.optimizer, param_groups(model, spec.lr, spec.lr_scales), spec.lr, spec.weight_decay)
    if spec.scheduler is not None or spec.lr_scales:
        raise ValueError(f"{type(model).__name__} trains with its own step: give it no scheduler and no lr_scales "
                         f"(got scheduler={spec.scheduler!r}, lr_scales={spec.lr_scales!r}).")
    betas = getattr(model, "adam_betas", (0.9, 0.999))
    return Optimizers({name: make_optimizer(spec.optimizer, params, spec.lr, spec.weight_decay, betas=betas)
                       for name, params in model.parameter_sets().items()})


def make_scheduler(name: str | None, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
                   mode: str = "min"):
    """Cosine, warm-up + cosine or one-cycle (stepped every batch), or reduce-on-plateau (stepped every epoch).

    Warm-up + cosine: the learning rate rises linearly over the first epoch (at most a fifth of the run) from
    1/warm-up steps of its value to all of it, then falls along a cosine to 0 over the remaining steps."""
    if name is None:
        return None
    total = epochs * steps_per_epoch
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if name == "warmup_cosine":
        warm = max(1, min(steps_per_epoch, total // 5))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: (step + 1) / warm if step < warm else
                                                 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups],
                                                   total_steps=total)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=0.5, patience=5)
    raise ValueError(f"Unknown scheduler {name!r}; choose None or one of {', '.join(SCHEDULERS)}.")


@dataclass
class History:
    """One row per epoch: epoch, train_<metric>, val_<metric>, lr, seconds (cumulative wall clock)."""

    rows: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    reused_epochs: int = 0  # epochs restored from a checkpoint rather than trained by this call
    restored_best: bool = False  # the model holds the best epoch's weights (early stopping), not the last

    def column(self, name: str) -> list[float]:
        return [row[name] for row in self.rows]

    @property
    def kept(self) -> dict:
        """The row of the epoch whose weights the model holds after training."""
        return self.best if self.restored_best else self.rows[-1]

    @property
    def best(self) -> dict:
        return self.rows[(self.best_epoch or len(self.rows)) - 1]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Run:
    """A trained model and its per-epoch history."""

    model: nn.Module
    history: History


class WithHistories:
    """For a step's result that holds its training `runs` by name: their histories under the same names."""

    runs: dict[str, Run]

    @property
    def histories(self) -> dict[str, History]:
        return {name: run.history for name, run in self.runs.items()}


# ----------------------------------------------------------------------------- losses


def reconstruction_loss(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
    """Mean squared error per pixel on [0, 1] against the clean (augmented) image."""
    return {"loss": F.mse_loss(model(batch.inputs).float(), batch.images)}


def classification_loss(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
    """Cross-entropy, and accuracy as a second metric."""
    logits = model(batch.inputs).float()
    return {"loss": F.cross_entropy(logits, batch.labels),
            "accuracy": (logits.argmax(1) == batch.labels).float().mean()}


def psnr(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image (dB) for images on [0, 1]."""
    mse = (x.float() - target).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def denoising_metrics(mean: float, std: float) -> LossFn:
    """MSE of the denoised image, and mean PSNR of the noisy input and of the denoised output."""
    def metrics(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        denoised = model(batch.inputs).float()
        noisy = batch.inputs * std + mean
        return {"loss": F.mse_loss(denoised, batch.images), "psnr_noisy": psnr(noisy, batch.images).mean(),
                "psnr_denoised": psnr(denoised, batch.images).mean()}
    return metrics


def smoothed_classification_loss(eps: float) -> LossFn:
    """Cross-entropy against labels smoothed by `eps` (each target puts 1 - eps on its class and eps spread
    evenly over all classes), and accuracy as a second metric; `eps` 0 is `classification_loss` itself."""
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"label smoothing eps = {eps!r} is not allowed; allowed: 0 <= eps < 1.")
    if eps == 0:
        return classification_loss

    def loss(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        logits = model(batch.inputs).float()
        return {"loss": F.cross_entropy(logits, batch.labels, label_smoothing=eps),
                "accuracy": (logits.argmax(1) == batch.labels).float().mean()}
    loss.__qualname__ = f"smoothed_classification_loss({eps:g})"
    return loss


# ----------------------------------------------------------------------------- the loop


@dataclass(frozen=True)
class Speed:
    """How a pass computes: bf16 autocast or fp32, channels-last or contiguous tensors, on which device type."""

    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False

    @property
    def precision(self) -> str:
        return "bf16" if self.amp else "fp32"


def training_speed(device: torch.device, spec: TrainSpec | None = None, precision: str | None = None) -> Speed:
    """How training computes on `device`: bf16 autocast where `precision` (default: the machine's,
    `runtime.training_precision`) is bf16 and `spec.amp` allows it; channels-last where `runtime.channels_last`
    says it is faster and `spec.channels_last` allows it."""
    precision = precision or runtime.training_precision(device)
    if precision not in runtime.PRECISIONS:
        raise ValueError(f"precision={precision!r} is not allowed; allowed: {', '.join(runtime.PRECISIONS)}.")
    return Speed(device.type, amp=(spec is None or spec.amp) and precision == "bf16",
                 channels_last=(spec is None or spec.channels_last) and runtime.channels_last(device))


def evaluation_speed(device: torch.device, channels_last: bool | None = None) -> Speed:
    """Evaluation and feature extraction: fp32 always, in the machine's faster memory format (or, during training,
    in the training run's, so that validating never changes the layout of the weights being trained)."""
    layout = runtime.channels_last(device) if channels_last is None else channels_last and runtime.channels_last(device)
    return Speed(device.type, amp=False, channels_last=layout)


def _device_setup(model: nn.Module, device: torch.device, speed: Speed) -> Speed:
    """Move the model to `device`, in channels-last format where `speed` says so."""
    model.to(device)
    if speed.channels_last:
        model.to(memory_format=torch.channels_last)
    return speed


def _in_format(batch: Batch, speed: Speed) -> Batch:
    """The batch with its inputs in the loop's memory format."""
    if speed.channels_last:
        return batch._replace(inputs=batch.inputs.contiguous(memory_format=torch.channels_last))
    return batch


def _autocast(speed: Speed, cache: bool = True) -> torch.autocast:
    """The loop's bf16 autocast context (a no-op unless `speed.amp`); without its cache inside a CUDA graph."""
    return torch.autocast(device_type=speed.device, dtype=torch.bfloat16, enabled=speed.amp, cache_enabled=cache)


def _run(model: nn.Module, loss_fn: LossFn, batch: Batch, speed: Speed,
         cache: bool = True) -> dict[str, torch.Tensor]:
    with _autocast(speed, cache):
        return loss_fn(model, _in_format(batch, speed))


def _accumulate(sums: dict[str, torch.Tensor] | None, out: dict[str, torch.Tensor], n: int) -> dict:
    out = {k: v.detach().float() * n for k, v in out.items()}
    return out if sums is None else {k: sums[k] + out[k] for k in sums}


def evaluate(model: nn.Module, loss_fn: LossFn, batches: Batches, *, channels_last: bool | None = None
             ) -> dict[str, float]:
    """Every metric of `loss_fn`, averaged over all examples, in eval mode without gradients, in fp32 (`channels_last`:
    see `evaluation_speed`)."""
    speed = _device_setup(model, batches.data.device, evaluation_speed(batches.data.device, channels_last))
    model.eval()
    sums, n = None, 0
    with torch.inference_mode():
        for batch in batches:
            sums = _accumulate(sums, _run(model, loss_fn, batch, speed), len(batch.labels))
            n += len(batch.labels)
    return {k: v.item() / n for k, v in sums.items()}


def evaluate_set(model: nn.Module, loss_fn: LossFn, data: ImageSet, *, mean: float = 0.0, std: float = 1.0,
                 batch_size: int = 2000, augment: Augment | None = None, seed: int = 0) -> dict[str, float]:
    """`evaluate` over every image of `data` in order (augmentation, e.g. fixed noise, drawn with `seed`)."""
    return evaluate(model, loss_fn, Batches(data, batch_size, shuffle=False, augment=augment, mean=mean, std=std,
                                            seed=seed))


def _check_finite(loss_sum: torch.Tensor, epoch: int) -> None:
    if not torch.isfinite(loss_sum):
        raise NonFiniteLossError(f"The training loss became {loss_sum.item()} in epoch {epoch}: lower the "
                                 f"learning rate, or check the inputs and the loss function.")


def _improved(value: float, best: float | None, mode: str) -> bool:
    return best is None or (value < best if mode == "min" else value > best)


def fit(model: nn.Module, loss_fn: LossFn, train: ImageSet, val: ImageSet | None, spec: TrainSpec, *,
        mean: float = 0.0, std: float = 1.0, eval_batch_size: int = 2000, checkpoint: Path | None = None,
        desc: str = "training", progress: bool = True, announce: bool = True,
        on_epoch: Callable[[dict], None] | None = None,
        monitor: Callable[[nn.Module], dict[str, float]] | None = None, graphs: bool | None = None,
        precision: str | None = None) -> History:
    """Train `model` in place on `train`, validating on `val` after every epoch.

    Saves a checkpoint at the end of an epoch when `checkpoint` is given (at most every `CHECKPOINT_SECONDS`, and
    always after the last epoch, an early stop, or an exception raised by `on_epoch`: runs of many short epochs,
    as with a few hundred labels, would otherwise spend their time writing files) and resumes from it when it exists
    (then, with `announce`, prints one `[cache]` line saying what was trained, resumed or reused, and the seconds
    the run's epochs took in all, `cost_note`).
    With `spec.patience`, stops early and restores the weights of the best validation epoch.
    `on_epoch(row)` is called once for every epoch of the history, in order: first for the epochs restored
    from a checkpoint, then after each epoch trained. A search reports to its pruner there; it may raise
    to stop the run (a resumed trial is then stopped before it trains any further).
    `graphs` (default: wherever it applies, see `graphable`) replays the training step as a CUDA graph.
    `precision` ("fp32" or "bf16"; default: the machine's, see `training_speed`) is what the training step computes
    in; validation is fp32.
    """
    device = train.device
    speed = _device_setup(model, device, training_speed(device, spec, precision))
    step_model = torch.compile(model) if spec.compile else model
    batches = Batches(train, spec.batch_size, augment=spec.augment, mean=mean, std=std,
                      drop_last=len(train) > spec.batch_size, seed=spec.seed)  # no 1-image BatchNorm batch
    val_batches = Batches(val, eval_batch_size, shuffle=False, mean=mean, std=std) if val is not None else None
    optimizer = _optimizers(model, spec)
    scheduler = make_scheduler(spec.scheduler, optimizer, spec.epochs, len(batches), spec.mode)
    per_batch = scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    history, state = History(), {"best_value": None, "best_weights": None, "bad_epochs": 0}
    stepper = (_GraphedStep if graphs is not False and graphable(model, spec, batches) else _EagerStep)(
        model, step_model, loss_fn, optimizer, speed)
    payload = _load_checkpoint(checkpoint) if checkpoint is not None else None
    if payload is not None:
        _restore(payload, model, optimizer, scheduler, batches, history, state)
    if on_epoch is not None:
        for row in history.rows:  # replay what the checkpoint already holds
            on_epoch(row)
    watched = f"{'val' if val is not None else 'train'}_{spec.monitor}"
    last_saved = time.perf_counter()
    with tqdm(total=spec.epochs, initial=len(history.rows), desc=desc, disable=not progress, leave=False) as bar:
        elapsed = history.rows[-1]["seconds"] if history.rows else 0.0
        for epoch in range(len(history.rows) + 1, spec.epochs + 1):
            if history.stopped_early:
                break
            start = time.perf_counter()
            model.train()
            row = {"epoch": epoch, **stepper.epoch(batches, scheduler if per_batch else None, epoch)}
            if val_batches is not None:
                row.update({f"val_{k}": v for k, v in evaluate(model, loss_fn, val_batches,
                                                                        channels_last=speed.channels_last).items()})
            elapsed += time.perf_counter() - start
            if monitor is not None:  # not counted in the training seconds
                row.update(monitor(model))
            row.update(lr=max(g["lr"] for g in optimizer.param_groups), seconds=elapsed)  # the head's, if several
            history.rows.append(row)
            if scheduler is not None and not per_batch:
                scheduler.step(row[watched])
            _track_best(model, history, state, row[watched], spec)
            if checkpoint is not None:
                unsaved = True
                if (epoch == spec.epochs or history.stopped_early
                        or time.perf_counter() - last_saved >= CHECKPOINT_SECONDS):
                    _save(checkpoint, model, optimizer, scheduler, batches, history, state)
                    unsaved, last_saved = False, time.perf_counter()
            bar.update(1)
            bar.set_postfix({k: f"{row[k]:.4g}" for k in ("train_loss", "val_loss") if k in row})
            if on_epoch is not None:
                try:
                    on_epoch(row)
                except BaseException:  # a pruned trial or an interruption: keep every epoch trained so far
                    if checkpoint is not None and unsaved:
                        _save(checkpoint, model, optimizer, scheduler, batches, history, state)
                    raise
    if spec.patience is not None and state["best_weights"] is not None:
        model.load_state_dict(state["best_weights"])
        history.restored_best = True
    if checkpoint is not None and announce:
        print(f"[cache] {desc}: {cache_status(history)}"
              f"{cost_note(history.rows[-1]['seconds'] if history.rows else None, Path(checkpoint).stem)}")
    return history


def cache_status(history: History) -> str:
    """'trained N epochs', 'resumed after epoch K, trained N more' or 'reused a finished run (N epochs)'."""
    trained = len(history.rows) - history.reused_epochs
    if trained == 0:
        return f"reused a finished run ({len(history.rows)} epochs)"
    if history.reused_epochs:
        return f"resumed after epoch {history.reused_epochs}, trained {trained} more"
    return f"trained {trained} epochs"


class _Step:
    """One kind of training step and the epoch loop around it (the same for every kind): `before_step`, the
    step, the per-batch scheduler, a finite-loss check every `FINITE_CHECK_EVERY` steps, and one
    synchronization at the end for the epoch means (`train_<metric>`). A step adds each metric times the batch
    size to `self.sums`, which stay on the device."""

    def __init__(self, model: nn.Module, step_model: nn.Module, loss_fn: LossFn,
                 optimizer: torch.optim.Optimizer | Optimizers, speed: Speed) -> None:
        self.model, self.step_model, self.loss_fn, self.optimizer, self.speed = model, step_model, loss_fn, optimizer, speed
        self.before_step = getattr(model, "before_step", None)
        self.own_step = getattr(model, "training_step", None)
        self.sums: dict[str, torch.Tensor] | None = None

    def _start_epoch(self) -> None:
        raise NotImplementedError

    def _train_batch(self, batch: Batch) -> None:
        raise NotImplementedError

    def epoch(self, batches: Batches, batch_scheduler, epoch: int) -> dict[str, float]:
        self._start_epoch()
        n = 0
        for step, batch in enumerate(batches):
            if self.before_step is not None:
                self.before_step(epoch - 1 + step / len(batches))
            self._train_batch(batch)
            if batch_scheduler is not None:
                batch_scheduler.step()
            n += len(batch.labels)
            if step % FINITE_CHECK_EVERY == 0:
                _check_finite(self.sums["loss"], epoch)
        _check_finite(self.sums["loss"], epoch)
        return {f"train_{k}": v.item() / n for k, v in self.sums.items()}  # the epoch's one synchronization


class _EagerStep(_Step):
    """The step run op by op: the loop's own (loss, backward, optimizer step), or a model's own
    `training_step(batch, optimizers, autocast)` (e.g. a GAN's alternating updates), which gets the batch in
    the loop's memory format, the optimizers and a factory of the loop's autocast context, and returns its
    metrics (detached), "loss" first."""

    def _start_epoch(self) -> None:
        self.sums = None

    def _train_batch(self, batch: Batch) -> None:
        if self.own_step is not None:
            out = self.own_step(_in_format(batch, self.speed), self.optimizer, lambda: _autocast(self.speed))
        else:
            out = _run(self.step_model, self.loss_fn, batch, self.speed)
            self.optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            self.optimizer.step()
        self.sums = _accumulate(self.sums, out, len(batch.labels))


GRAPH_OPTIMIZERS = ("adam", "adamw", "sgd", "nesterov")  # fused, with the learning rate read from a device tensor
GRAPH_WARMUP_STEPS = 3  # eager steps (real training steps) before capture: optimizer state, cuDNN choices


def graphable(model: nn.Module, spec: TrainSpec, batches: Batches) -> bool:
    """Whether `fit` can replay this run's training step as a CUDA graph: a CUDA device, an optimizer of
    `GRAPH_OPTIMIZERS`, a schedule that changes only the learning rate (not one-cycle, which also moves Adam's
    beta1), every batch full (fixed shapes), the loop's own step (not a model's `training_step`), and no per-step
    Python hook (`before_step`) unless the model
    declares it graph-safe (`before_step_graph_safe`: it only writes tensors in place, as the VAE's KL weight)."""
    return (batches.data.device.type == "cuda" and spec.optimizer in GRAPH_OPTIMIZERS
            and spec.scheduler != "onecycle"
            and (batches.drop_last or len(batches.data) % batches.batch_size == 0)
            and getattr(model, "training_step", None) is None
            and (getattr(model, "before_step", None) is None or getattr(model, "before_step_graph_safe", False)))


class _GraphedStep(_Step):
    """The training step captured as one CUDA graph and replayed for every batch.

    Each batch is copied into static input tensors; the first `GRAPH_WARMUP_STEPS` steps run eagerly on a side
    stream (they are real steps: they train the model), the next is captured and every later one replays the
    graph. The step adds each metric times the batch size into static per-epoch sums, so an epoch still
    synchronizes once. The learning rate of each parameter group lives in a device tensor the optimizer reads:
    the scheduler keeps working on the group's float, which is copied into that tensor before every step.
    """

    def __init__(self, model: nn.Module, step_model: nn.Module, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
                 speed: Speed) -> None:
        super().__init__(model, step_model, loss_fn, optimizer, speed)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: Batch | None = None
        self.done = 0  # eager warm-up steps taken
        self.failed = False  # capture failed: every step runs eagerly
        device = next(model.parameters()).device
        for group in optimizer.param_groups:
            group["capturable"] = True
        self.lrs = [torch.tensor(float(g["lr"]), device=device) for g in optimizer.param_groups]

    def _body(self) -> None:
        out = _run(self.step_model, self.loss_fn, self.static, self.speed, cache=False)
        out["loss"].backward()
        groups = self.optimizer.param_groups
        floats = [g["lr"] for g in groups]
        for group, lr in zip(groups, self.lrs):
            group["lr"] = lr
        self.optimizer.step()
        for group, lr in zip(groups, floats):
            group["lr"] = lr
        n = len(self.static.labels)
        if self.sums is None:  # first warm-up step: the per-epoch sums are created from its metrics
            self.sums = {k: torch.zeros((), device=v.device) for k, v in out.items()}
        for k, v in out.items():
            self.sums[k].add_(v.detach().float() * n)

    def _load(self, batch: Batch) -> None:
        if self.static is None:
            fmt = torch.channels_last if self.speed.channels_last else torch.contiguous_format
            self.static = Batch(torch.empty_like(batch.inputs, memory_format=fmt), torch.empty_like(batch.images),
                                torch.empty_like(batch.labels))
        for buffer, value in zip(self.static, batch):
            buffer.copy_(value)
        for group, lr in zip(self.optimizer.param_groups, self.lrs):
            lr.fill_(group["lr"])

    def _step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
            return
        if self.done < GRAPH_WARMUP_STEPS or self.failed:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.optimizer.zero_grad(set_to_none=True)
                self._body()
            torch.cuda.current_stream().wait_stream(side)
            self.done += 1
            return
        self.optimizer.zero_grad(set_to_none=True)  # the captured backward writes fresh gradients every replay
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._body()
        except RuntimeError as err:  # an operation that cannot be captured: this run stays eager
            warnings.warn(f"CUDA graph capture failed ({str(err).splitlines()[0][:200]}); this run trains "
                          f"without graphs.", stacklevel=2)
            self.failed = True
            self.optimizer.zero_grad(set_to_none=True)
            self._step()
            return
        self.graph = graph
        self.graph.replay()

    def _start_epoch(self) -> None:
        if self.sums is not None:  # static tensors the graph adds into: zeroed, never replaced
            for total in self.sums.values():
                total.zero_()

    def _train_batch(self, batch: Batch) -> None:
        self._load(batch)
        self._step()


def _track_best(model: nn.Module, history: History, state: dict, value: float, spec: TrainSpec) -> None:
    if _improved(value, state["best_value"], spec.mode):
        state.update(best_value=value, bad_epochs=0)
        history.best_epoch = len(history.rows)
        if spec.patience is not None:
            state["best_weights"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    else:
        state["bad_epochs"] += 1
        history.stopped_early = spec.patience is not None and state["bad_epochs"] >= spec.patience


def _save(path: Path, model, optimizer, scheduler, batches: Batches, history: History, state: dict) -> None:
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "scheduler": scheduler.state_dict() if scheduler is not None else None,
               "batches_rng": batches.generator.get_state(), "torch_rng": torch.get_rng_state(),
               "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
               "history": history.as_dict(), "state": state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


CHECKPOINT_KEYS = {"model", "optimizer", "scheduler", "batches_rng", "torch_rng", "cuda_rng", "history", "state"}


def _load_checkpoint(path: Path) -> dict | None:
    """The stored checkpoint, or None when there is none or it is unreadable (then it is removed)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(payload, dict) or not CHECKPOINT_KEYS <= payload.keys():
            raise ValueError("it lacks the expected entries")
        return payload
    except Exception as err:  # truncated zip, unpickling error, wrong content...
        warnings.warn(f"Checkpoint {path} is corrupt ({type(err).__name__}: {err}); "
                      f"it is discarded and this run trains from the start.", stacklevel=3)
        path.unlink(missing_ok=True)
        return None


def _restore(payload: dict, model, optimizer, scheduler, batches: Batches, history: History, state: dict) -> None:
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None and payload["scheduler"] is not None:
        scheduler.load_state_dict(payload["scheduler"])
    batches.generator.set_state(payload["batches_rng"])
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    history.rows[:] = payload["history"]["rows"]
    history.best_epoch = payload["history"]["best_epoch"]
    history.stopped_early = payload["history"]["stopped_early"]
    history.reused_epochs = len(history.rows)
    state.update(payload["state"])


def outputs(model: nn.Module, data: ImageSet, fn: Callable[[nn.Module, torch.Tensor], torch.Tensor], *,
            mean: float = 0.0, std: float = 1.0, batch_size: int = 2000) -> torch.Tensor:
    """`fn(model, inputs)` for every image of `data`, in order, without gradients, in fp32 (e.g. codes)."""
    speed = _device_setup(model, data.device, evaluation_speed(data.device))
    model.eval()
    with torch.inference_mode():
        parts = [_run(model, lambda m, b: {"out": fn(m, b.inputs)}, batch, speed)["out"].float()
                 for batch in Batches(data, batch_size, shuffle=False, mean=mean, std=std)]
    return torch.cat(parts)


def as_trained(spec: TrainSpec, train: ImageSet) -> TrainSpec:
    """`spec` as the loop trains it on `train`: its augmentation `fitted` to the images (no horizontal flip of
    digits); the same object where nothing changes. What a section records as its recipe."""
    augment = fitted(spec.augment, train)
    return spec if augment == spec.augment else replace(spec, augment=augment)


def train_model(build: Callable[[], nn.Module], loss_fn: LossFn, train: ImageSet, val: ImageSet | None,
                spec: TrainSpec, *, model_key: object, run_dir: Path | None = None, desc: str = "training",
                mean: float = 0.0, std: float = 1.0, eval_batch_size: int = 2000, progress: bool = True,
                announce: bool = True, on_epoch: Callable[[dict], None] | None = None,
                monitor: Callable[[nn.Module], dict[str, float]] | None = None,
                graphs: bool | None = None, precision: str | None = None) -> tuple[nn.Module, History]:
    """Build a model from `spec.seed` and train it with `fit`.

    With `run_dir` the run is checkpointed under `run_dir/runs/`, keyed by `model_key` (what defines the
    model), the spec, the exact data, the normalization and how training computes (precision, memory format,
    device type): a finished run is reused, an interrupted one resumes, a changed one trains anew, and a run in
    one precision never continues from a checkpoint made in another.
    """
    spec = as_trained(spec, train)  # no flip of images it would relabel: said in the key too
    checkpoint = None
    if run_dir is not None:
        key = config_hash(model_key, spec, fingerprint(train),
                          fingerprint(val) if val is not None else None, mean, std,
                          training_speed(train.device, spec, precision))
        checkpoint = keyed_path(run_dir, "runs", desc, key, ".pt")
    torch.manual_seed(spec.seed)  # the same initial weights for the same configuration
    model = build()
    history = fit(model, loss_fn, train, val, spec, mean=mean, std=std, eval_batch_size=eval_batch_size,
                  checkpoint=checkpoint, desc=desc, progress=progress, announce=announce, on_epoch=on_epoch,
                  monitor=monitor, graphs=graphs, precision=precision)
    return model, history


def cross_validate(build: Callable[[], nn.Module], loss_fn: LossFn, data: ImageSet, spec: TrainSpec, *, k: int,
                   seed: int, mean: float = 0.0, std: float = 1.0, metric: str = "loss", name: str = "cv",
                   model_key: object = None, run_dir: Path | None = None, eval_batch_size: int = 2000,
                   folds: list[tuple[np.ndarray, np.ndarray]] | None = None) -> list[float]:
    """Stratified k-fold: train a fresh `build()` on k-1 folds, score `<metric>` on the held-out one (`folds`:
    the (train, held-out) index pairs, default `kfold_splits(data.labels, k, seed)`).

    The score is taken at the kept weights (the best epoch with early stopping, else the last). A spec that
    watches the held-out fold during training (early stopping, reduce-on-plateau) is validated every epoch;
    any other is scored once, after its last epoch (the same number, without an evaluation per epoch).
    With `run_dir` each fold is a cached, resumable run (see `train_model`).
    """
    watches = spec.patience is not None or spec.scheduler == "plateau"
    scores = []
    for fold, (train_idx, val_idx) in enumerate(folds or kfold_splits(data.labels, k, seed), start=1):
        held_out = data.subset(val_idx)
        model, history = train_model(build, loss_fn, data.subset(train_idx), held_out if watches else None, spec,
                                     model_key=("cv", model_key, k, seed, fold), run_dir=run_dir,
                                     desc=f"{name} fold {fold}/{k}", mean=mean, std=std,
                                     eval_batch_size=eval_batch_size)
        scores.append(history.kept[f"val_{metric}"] if watches else evaluate_set(
            model, loss_fn, held_out, mean=mean, std=std, batch_size=eval_batch_size)[metric])
    return scores


@dataclass(frozen=True)
class Arm:
    """One side of a paired cross-validation: how to build its model, its loss, its recipe and its cache key."""

    build: Callable[[], nn.Module]
    loss_fn: LossFn
    spec: TrainSpec
    model_key: object


def paired_cross_validate(arms: dict[str, Arm], data: ImageSet, *, k: int, seed: int, mean: float = 0.0,
                          std: float = 1.0, metric: str = "loss", run_dir: Path | None = None,
                          eval_batch_size: int = 2000) -> dict:
    """`cross_validate` of every arm on one list of stratified folds, so that fold i of one arm trains and scores
    on exactly the images of fold i of every other: the per-fold differences are paired. Returns {"scores":
    {name: [score per fold]}, "folds": [digest of each fold's held-out indices], "held_out": [their sizes]}."""
    folds = kfold_splits(data.labels, k, seed)
    scores = {name: cross_validate(arm.build, arm.loss_fn, data, arm.spec, k=k, seed=seed, mean=mean, std=std,
                                   metric=metric, name=f"CV {name}", model_key=arm.model_key, run_dir=run_dir,
                                   eval_batch_size=eval_batch_size, folds=folds)
              for name, arm in arms.items()}
    return {"scores": scores, "folds": [config_hash("fold", held_out.tolist()) for _, held_out in folds],
            "held_out": [len(held_out) for _, held_out in folds]}

