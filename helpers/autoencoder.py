"""The autoencoder section: train variants on the shared loop and summarize them side by side.

The notebook's steps of section 1 are at the end (`main_model`, `reconstructions`, `optimizers`,
`regularization`, `code_sizes`, `denoiser`): each trains or loads its runs, merges its part of
`metrics.json` and returns what its cell shows.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from sklearn.decomposition import PCA

from .config import Profile
from .context import Context, Shown
from .data import (Augment, Batches, ImageSet, Splits, balanced_subset, comparison_train, fingerprint,
                   regularization_train)
from .findings import autoencoder as ae_text
from .findings.words import interval_call, plus_minus, sig
from .models import DECODERS, AEConfig, AutoEncoder, count_parameters
from .results import cached_json, markdown_table
from .statistics import paired_difference, pooled
from .training import (History, NonFiniteLossError, Run, TrainSpec, denoising_metrics, evaluate_set, outputs,
                       reconstruction_loss, seeded_specs, train_model)


# Section 1's model, set by hand: the main autoencoder, and the start point of every search of section 2.
HAND_SET = AEConfig(channels=(32, 64), kernel_size=3, latent_dim=32, batch_norm=True)


def hand_set_spec(profile: Profile) -> TrainSpec:
    """Section 1's recipe: Adam at lr 2e-3 with a cosine schedule, the profile's batch size and epochs."""
    return TrainSpec(epochs=profile.ae_epochs, optimizer="adam", lr=2e-3, scheduler="cosine",
                     batch_size=profile.batch_size, seed=profile.seed)


def train_autoencoder(cfg: AEConfig, spec: TrainSpec, splits: Splits, *, train: ImageSet | None = None,
                      eval_batch_size: int = 2000, desc: str = "autoencoder", run_dir: Path | None = None) -> Run:
    """Train one autoencoder on `train` (default: the whole training split), validating on `splits.val`.

    With `run_dir`, the run is checkpointed under `run_dir/runs/`, keyed by its whole configuration:
    a finished run is reused, an interrupted one resumes, a changed one trains anew.
    """
    model, history = train_model(lambda: AutoEncoder(cfg), reconstruction_loss, train or splits.train, splits.val,
                                 spec, model_key=("autoencoder", cfg.as_dict()), run_dir=run_dir, desc=desc,
                                 mean=splits.mean, std=splits.std, eval_batch_size=eval_batch_size)
    return Run(model, history)


def main_metrics(run: Run, test_mse: float) -> dict:
    """`metrics.json` → `autoencoder`: the main model's configuration, size, budget, final losses and curves."""
    last = run.history.rows[-1]
    return {"config": run.model.cfg.as_dict(), "parameters": count_parameters(run.model), "epochs": len(run.history.rows),
            "seconds": last["seconds"], "final_train_mse": last["train_loss"], "final_val_mse": last["val_loss"],
            "test_mse": test_mse, "history": run.history.rows}


def compare(variants: dict[str, tuple[AEConfig, TrainSpec]], splits: Splits, train: ImageSet,
            eval_batch_size: int = 2000, run_dir: Path | None = None) -> dict[str, Run]:
    """Train every (config, spec) variant on the same data."""
    return {name: train_autoencoder(cfg, spec, splits, train=train, eval_batch_size=eval_batch_size,
                                    desc=name, run_dir=run_dir) for name, (cfg, spec) in variants.items()}


def mse(model: AutoEncoder, data: ImageSet, splits: Splits, batch_size: int = 2000) -> float:
    """Reconstruction MSE per pixel on [0, 1] over `data`, in eval mode."""
    return evaluate_set(model, reconstruction_loss, data, mean=splits.mean, std=splits.std,
                        batch_size=batch_size)["loss"]


def summary(runs: dict[str, Run], splits: Splits, train: ImageSet, batch_size: int = 2000) -> dict[str, dict]:
    """Per run: validation MSE of the kept weights, the lowest of any epoch and that epoch, the last epoch's,
    training MSE (eval mode), their gap, epochs trained, whether early stopping stopped it, and seconds.
    Validation comes from the run's history; only the training MSE is measured here."""
    rows = {}
    for name, run in runs.items():
        train_mse, val_mse = mse(run.model, train, splits, batch_size), run.history.kept["val_loss"]
        val = run.history.column("val_loss")
        rows[name] = {"val_mse": val_mse, "best_val_mse": min(val), "best_val_epoch": 1 + val.index(min(val)),
                      "last_val_mse": val[-1], "kept_epoch": run.history.kept["epoch"], "train_mse": train_mse,
                      "gap": val_mse - train_mse, "epochs": len(run.history.rows),
                      "stopped_early": run.history.stopped_early, "seconds": run.history.rows[-1]["seconds"]}
    return rows


# ----------------------------------------------------------------------------- optimizers at their own best

# Each optimizer at three learning rates a factor of about 3 apart; the comparison keeps each one's best on the
# validation split. A first grid one step lower put every optimizer's best at its top rate on `quick` (a short,
# constant-rate budget favours large steps), so the grids were moved up one step. Where an optimizer's best rate
# still lies at an edge, the grid grows past that edge by the same factor (`GRID_EXTENSIONS` steps at most) until
# the best rate is inside it or the next rate diverges; only then is a rate beyond it called untried.
# AdamW's decoupled weight decay is its defining change.
OPTIMIZER_GRID = {"SGD + momentum": ("sgd", 0.0, (0.1, 0.3, 1.0)),
                  "SGD + Nesterov": ("nesterov", 0.0, (0.05, 0.15, 0.5)),
                  "Adam": ("adam", 0.0, (1e-3, 3e-3, 1e-2)),
                  "AdamW (weight decay 0.05)": ("adamw", 0.05, (1e-3, 3e-3, 1e-2)),
                  "RMSprop": ("rmsprop", 0.0, (5e-4, 1.5e-3, 5e-3))}
GRID_EXTENSIONS = 2  # rates added at most past an edge where an optimizer's best lies


def optimizer_run(name: str, lr: float) -> str:
    """The run name (and cache name) of optimizer `name` at learning rate `lr`: "<optimizer>, lr <lr>"."""
    return f"{name}, lr {lr:g}"


def optimizer_variants(cfg: AEConfig, budget: dict, rates: dict[str, Sequence[float]] | None = None
                       ) -> dict[str, tuple[AEConfig, TrainSpec]]:
    """Every (optimizer, learning rate) of `OPTIMIZER_GRID`, or of `rates` (optimizer -> rates) where given, as a
    run named by `optimizer_run`."""
    rates = rates or {name: lrs for name, (_, _, lrs) in OPTIMIZER_GRID.items()}
    return {optimizer_run(name, lr): (cfg, TrainSpec(optimizer=OPTIMIZER_GRID[name][0], lr=lr,
                                                     weight_decay=OPTIMIZER_GRID[name][1], **budget))
            for name, lrs in rates.items() for lr in lrs}


def _usable(row: dict) -> bool:
    return row.get("val_mse") is not None


def rates_beyond(grid: dict[str, Sequence[float]], rows: dict[str, dict]) -> dict[str, float]:
    """Per optimizer whose best rate (lowest validation MSE among `rows` that trained) lies at an edge of its
    `grid` rates: the next rate past that edge, by the ratio of the edge's two rates (two significant digits).
    An optimizer whose best is inside, or whose rate past the edge diverged, is left out."""
    beyond = {}
    for name, lrs in grid.items():
        lrs = sorted(lrs)
        usable = [lr for lr in lrs if _usable(rows[optimizer_run(name, lr)])]
        if len(usable) < 2:
            continue
        best = min(usable, key=lambda lr: rows[optimizer_run(name, lr)]["val_mse"])
        if best == lrs[-1]:
            beyond[name] = float(f"{lrs[-1] * lrs[-1] / lrs[-2]:.2g}")
        elif best == lrs[0]:
            beyond[name] = float(f"{lrs[0] * lrs[0] / lrs[1]:.2g}")
    return beyond


def best_per_optimizer(rows: dict[str, dict], grid: dict[str, Sequence[float]] | None = None) -> dict[str, dict]:
    """Per optimizer: the learning rate with the lowest validation MSE among its `grid` rates (default
    `OPTIMIZER_GRID`'s) that trained, its row, every tried rate's value (None where training diverged), and
    whether the best lies at an edge of the rates tried (`best_lr_at_edge`) or next to one that diverged
    (`diverged_beyond`: then no larger step trains)."""
    grid = grid or {name: lrs for name, (_, _, lrs) in OPTIMIZER_GRID.items()}
    found = {}
    for name, lrs in grid.items():
        lrs = sorted(lrs)
        tried = {lr: rows[optimizer_run(name, lr)] for lr in lrs}
        usable = [lr for lr in lrs if _usable(tried[lr])]
        lr = min(usable, key=lambda rate: tried[rate]["val_mse"])
        edge = usable[0] if lr == usable[0] else usable[-1] if lr == usable[-1] else None
        diverged = edge is not None and edge not in (lrs[0], lrs[-1])  # a diverged rate lies past it
        found[name] = {"lr": lr, "run": optimizer_run(name, lr), **tried[lr],
                       "val_mse_by_lr": {f"{rate:g}": r.get("val_mse") for rate, r in tried.items()},
                       "best_lr_at_edge": edge is not None and not diverged, "diverged_beyond": diverged,
                       "rates_added": len(lrs) - len(OPTIMIZER_GRID[name][2])}
    return found


def compare_stable(variants: dict[str, tuple[AEConfig, TrainSpec]], splits: Splits, train: ImageSet,
                   eval_batch_size: int = 2000, run_dir: Path | None = None) -> tuple[dict[str, Run], list[str]]:
    """`compare`, where a run whose loss turns non-finite (too large a step) is listed as diverged instead of
    stopping the comparison; (finished runs, names of the diverged ones)."""
    runs, diverged = {}, []
    for name, variant in variants.items():
        try:
            runs.update(compare({name: variant}, splits, train, eval_batch_size, run_dir))
        except NonFiniteLossError:
            diverged.append(name)
    return runs, diverged


def optimizer_table(best: dict[str, dict]) -> str:
    """Markdown: per optimizer, the validation MSE at each learning rate tried, the chosen one and its scores."""
    over = _seeds_header(best)
    return markdown_table(
        ["optimizer", "validation MSE at each learning rate (first seed)", "chosen learning rate", f"val MSE{over}",
         "train MSE (eval)", "seconds"],
        [(name, ", ".join(f"{lr}: {'diverged' if v is None else sig(v, 4)}" for lr, v in r["val_mse_by_lr"].items()),
          f"{r['lr']:g}", _spread(r, "val_mse"), _spread(r, "train_mse"), sig(r["seconds"]))
         for name, r in sorted(best.items(), key=lambda i: i[1]["val_mse"])])


# ----------------------------------------------------------------------------- regularization: a model that overfits

# A network with room to memorize (a code of 256 numbers and no batch norm) on few images for many epochs: without
# regularization its training error keeps falling while the validation error stops improving, so each regularizer
# has a gap to close. Each variant is its own run; none is shared with another comparison.
OVERFIT = AEConfig(channels=(32, 64), kernel_size=3, latent_dim=256, batch_norm=False)
AUGMENTATION = Augment(flip=True, shift=2.0)  # the augmentation regularizer (section 1), also a point of section 2's space


def regularization_variants(profile: Profile, mirror: bool = True) -> dict[str, tuple[AEConfig, TrainSpec]]:
    """The unregularized run and five regularizers, each changing one thing: AdamW at lr 2e-3 (constant), the
    profile's `reg_batch` (else its batch size), `reg_epochs` epochs. Without `mirror` (images a flip would
    relabel: digits) the augmentation is the shift alone, and its name says so."""
    spec = TrainSpec(epochs=profile.reg_epochs, optimizer="adamw", lr=2e-3, weight_decay=0.0,
                     batch_size=profile.reg_batch or profile.batch_size, seed=profile.seed)
    augmentation = AUGMENTATION if mirror else replace(AUGMENTATION, flip=False)
    return {"none": (OVERFIT, spec),
            "weight decay 0.5 (decoupled)": (OVERFIT, replace(spec, weight_decay=0.5)),
            "dropout 0.2": (replace(OVERFIT, dropout=0.2), spec),
            "input noise 0.2": (OVERFIT, replace(spec, augment=Augment(noise=0.2))),
            f"augmentation ({'flip, ' if augmentation.flip else ''}shift {augmentation.shift:g} px)":
                (OVERFIT, replace(spec, augment=augmentation)),
            "early stopping (patience 3)": (OVERFIT, replace(spec, patience=3))}


def pca_reconstruction_mse(train: ImageSet, test: ImageSet, sizes: Sequence[int]) -> list[float]:
    """Test MSE per pixel on [0, 1] of PCA fitted on `train`, for each number of components in `sizes`."""
    x_train, x_test = (d.images.flatten(1).cpu().numpy().astype(np.float64) / 255 for d in (train, test))
    pca = PCA(n_components=max(sizes), svd_solver="covariance_eigh").fit(x_train)
    centred = x_test - pca.mean_
    errors = []
    for k in sizes:
        basis = pca.components_[:k]
        reconstruction = centred @ basis.T @ basis
        errors.append(float(np.mean((reconstruction - centred) ** 2)))
    return errors


def code_size_sweep(cfg: AEConfig, spec: TrainSpec, sizes: list[int], splits: Splits, train: ImageSet,
                    pca_mse: dict[int, float], *, eval_batch_size: int = 2000, run_dir: Path | None = None) -> dict:
    """`cfg` trained with each code size in `sizes` on `train` and scored on the test set beside PCA's test MSE
    with as many components (`pca_mse`, PCA fitted on the same `train` images). For `metrics.json`."""
    runs = compare({f"code {k}": (replace(cfg, latent_dim=k), spec) for k in sizes}, splits, train, eval_batch_size,
                   run_dir)
    ae_mse = {k: mse(run.model, splits.test, splits) for k, run in zip(sizes, runs.values())}
    return {"images": len(train), "epochs": spec.epochs,
            **{f"code_{k}": {"ae_test_mse": ae_mse[k], "pca_test_mse": pca_mse[k], "ae_over_pca": ae_mse[k] / pca_mse[k]}
               for k in sizes},
            "beats_pca_at_every_size": all(ae_mse[k] < pca_mse[k] for k in sizes)}


def code_size_table(found: dict, sizes: list[int]) -> str:
    rows = [(k, sig(found[f"code_{k}"]["ae_test_mse"], 4), sig(found[f"code_{k}"]["pca_test_mse"], 4),
             sig(found[f"code_{k}"]["ae_over_pca"], 4)) for k in sizes]
    return markdown_table(["code size", "autoencoder test MSE", "PCA test MSE", "AE / PCA"], rows)


def examples_per_class(data: ImageSet, k: int, seed: int) -> ImageSet:
    """`k` random images of every class, ordered by class."""
    index = balanced_subset(data.labels, k * len(data.classes), seed)
    order = torch.argsort(data.labels[torch.as_tensor(index, device=data.device)].cpu(), stable=True)
    return data.subset(index[order.numpy()])


def reconstruct(model: AutoEncoder, data: ImageSet, splits: Splits) -> torch.Tensor:
    return outputs(model, data, lambda m, x: m(x), mean=splits.mean, std=splits.std)


def denoising(model: AutoEncoder, data: ImageSet, splits: Splits, noise: float, seed: int,
              batch_size: int = 2000) -> dict[str, float]:
    """Mean PSNR (dB) of noisy inputs and of the model's outputs against the clean images, fixed noise."""
    return evaluate_set(model, denoising_metrics(splits.mean, splits.std), data, mean=splits.mean, std=splits.std,
                        batch_size=batch_size, augment=Augment(noise=noise), seed=seed)


class MedianFilter(nn.Module):
    """The classical control for the denoiser: a `size` x `size` median filter of the noisy image on [0, 1] (inputs
    normalized with `mean` and `std`, as the models get them), the border replicated; batched, no per-image loop."""

    def __init__(self, mean: float, std: float, size: int = 3):
        super().__init__()
        self.mean, self.std, self.size = mean, std, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = (x.float() * self.std + self.mean).clamp(0, 1)
        pad = self.size // 2
        padded = F.pad(pixels, (pad, pad, pad, pad), mode="replicate")
        windows = F.unfold(padded, self.size)  # [batch, size * size, height * width]
        return windows.median(dim=1).values.view_as(pixels)


def noisy_triplets(model: AutoEncoder, data: ImageSet, splits: Splits, noise: float,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noisy, denoised, clean) images on [0, 1] for a small set, noise drawn with `seed`."""
    batch = next(iter(Batches(data, len(data), shuffle=False, augment=Augment(noise=noise),
                              mean=splits.mean, std=splits.std, seed=seed)))
    model.eval()
    with torch.inference_mode():
        denoised = model(batch.inputs).float()
    return batch.inputs * splits.std + splits.mean, denoised, batch.images


def seeded_runs(variants: dict[str, tuple[AEConfig, TrainSpec]], splits: Splits, train: ImageSet, seeds: int,
                eval_batch_size: int = 2000, run_dir: Path | None = None) -> dict[str, list[Run]]:
    """Every (config, spec) variant trained on the same data with `seeds` seeds: its spec's own seed first (the
    variant's single run), then the next ones; a seed sets the initial weights and the batch order."""
    return {name: [train_autoencoder(cfg, seeded, splits, train=train, eval_batch_size=eval_batch_size,
                                     run_dir=run_dir, desc=desc)
                   for desc, seeded in seeded_specs(name, spec, seeds, "{name}, seed {seed}")]
            for name, (cfg, spec) in variants.items()}


SEEDED = ("val_mse", "best_val_mse", "last_val_mse", "train_mse", "gap", "seconds", "epochs", "kept_epoch",
          "best_val_epoch", "test_mse")  # the numbers of a run that are pooled over its seeds


def over_seeds(rows: Sequence[dict]) -> dict:
    """One row for a variant trained with several seeds (`rows`, one per seed, first seed first): for each number
    of `SEEDED` it has, the mean, `<x>_std` (sample standard deviation; None for one seed) and `<x>_seeds`;
    `stopped_early`, how many seeds early stopping stopped; `seeds`, how many; the rest from the first seed."""
    found = {**rows[0], "seeds": len(rows), "stopped_early": sum(bool(r.get("stopped_early")) for r in rows)}
    return {**found, **pooled(rows, SEEDED, tag="seeds")}


def seeded_summary(runs: dict[str, list[Run]], splits: Splits, train: ImageSet) -> dict[str, dict]:
    """`summary` of every seed of every variant, pooled over the seeds (`over_seeds`)."""
    return {name: over_seeds([summary({name: run}, splits, train)[name] for run in seeded])
            for name, seeded in runs.items()}


def paired_by_seed(rows: dict[str, dict], a: str, b: str, key: str = "val_mse") -> dict:
    """`rows[a][key] - rows[b][key]` paired by seed (`statistics.paired_difference`): a variant's seed s against
    the other's seed s, which shares its batch order."""
    return paired_difference(rows[a][f"{key}_seeds"], rows[b][f"{key}_seeds"])


def summary_table(rows: dict[str, dict]) -> str:
    """Markdown table of `summary` rows, best validation MSE first."""
    ordered = sorted(rows.items(), key=lambda item: item[1]["val_mse"])
    over = _seeds_header(rows)
    return markdown_table(
        ["variant", f"val MSE{over}", "train MSE (eval)", "gap (val - train)", "epochs", "seconds"],
        [(name, _spread(r, "val_mse"), _spread(r, "train_mse"), _spread(r, "gap"), sig(r["epochs"]),
          sig(r["seconds"])) for name, r in ordered])


def _seeds_header(rows: dict[str, dict]) -> str:
    """What a column of pooled rows holds, for its header: " (mean ± sd, N seeds)" with the most seeds any row
    has, or nothing when every row is a single run."""
    seeds = max(r.get("seeds", 1) for r in rows.values())
    return f" (mean ± sd, {seeds} seeds)" if seeds > 1 else ""


def _spread(row: dict, key: str) -> str:
    """A pooled row's `key` as mean ± standard deviation over its seeds (`plus_minus`), or its value."""
    return plus_minus(row[key], row.get(f"{key}_std")) if row.get(f"{key}_std") else sig(row[key], 4)


# ----------------------------------------------------------------------------- the decoder's upsampling


def decoder_rows(runs: dict[str, list[Run]], splits: Splits, batch_size: int = 2000) -> dict[str, dict]:
    """Per decoder (`AEConfig.decoder`), pooled over its seeds (`over_seeds`): parameters, validation MSE of the
    kept weights, test MSE, seconds."""
    return {name: over_seeds([{"parameters": count_parameters(run.model), "val_mse": run.history.kept["val_loss"],
                               "test_mse": mse(run.model, splits.test, splits, batch_size),
                               "seconds": run.history.rows[-1]["seconds"]} for run in seeded])
            for name, seeded in runs.items()}


def choose_decoder(rows: dict[str, dict], score: str = "val_mse", new: str = "resize", old: str = "transposed") -> str:
    """`new` unless it raises the validation `score` (lower is better: the autoencoder's MSE, the VAE's negative ELBO)
    above `old`'s: the change that removes checkerboard patterns is kept where it does not cost reconstruction quality
    (chosen on validation, never on test). With several seeds (`<score>_seeds`), only a difference beyond the
    paired interval over seeds counts (`paired_by_seed`); with one, any difference."""
    if len(rows[new].get(f"{score}_seeds") or ()) > 1:
        return old if interval_call(paired_by_seed(rows, new, old, score)) == 1 else new
    return new if rows[new][score] <= rows[old][score] else old


def decoder_table(rows: dict[str, dict]) -> str:
    labels = {"transposed": "stride-2 transposed convolutions", "resize": "nearest upsampling + convolution"}
    over = _seeds_header(rows)
    return markdown_table(["decoder", "parameters", f"validation MSE{over}", "test MSE", "seconds"],
                          [(labels.get(n, n), f"{r['parameters']:,}", _spread(r, "val_mse"), _spread(r, "test_mse"),
                            sig(r["seconds"])) for n, r in rows.items()])


# ----------------------------------------------------------------------------- the notebook's steps

RECONSTRUCTED_PER_CLASS = 2  # test images per class in the reconstruction figures (sections 1, 3 and 5)


@dataclass(frozen=True)
class Autoencoder:
    """An autoencoder later steps build on: its configuration, its recipe, its run (`.run.model`,
    `.run.history`) and its test MSE per pixel."""

    config: AEConfig
    spec: TrainSpec
    run: Run
    test_mse: float


@dataclass(frozen=True)
class MainModel(Shown):
    """Section 1's main autoencoder: the hand-set model with each decoder over the ablation seeds on the
    comparison images (`runs`, their pooled `rows` and `table`), the kept decoder's model trained on the whole
    training split (`model`), the `autoencoder` entries merged, the decoder sentence and a one-line summary."""

    model: Autoencoder
    runs: dict[str, list[Run]]
    rows: dict[str, dict]
    summary: str


def main_model(ctx: Context) -> MainModel:
    """Train the hand-set model with each decoder over the profile's `ablation_seeds` on the comparison images
    (`compare_epochs`), keep the resize decoder unless it raises the validation MSE beyond the seeds' paired
    spread (`choose_decoder`), train the kept one on the whole training split; merge `autoencoder`."""
    profile, splits, spec = ctx.profile, ctx.splits, hand_set_spec(ctx.profile)
    train, short = comparison_train(splits, profile), replace(spec, epochs=profile.compare_epochs)
    runs = seeded_runs({d: (replace(HAND_SET, decoder=d), short) for d in DECODERS}, splits, train,
                       profile.ablation_seeds, ctx.eval_batch_size, ctx.run_dir)
    rows = decoder_rows(runs, splits)
    decoder = choose_decoder(rows)
    config = replace(HAND_SET, decoder=decoder)
    run = train_autoencoder(config, spec, splits, eval_batch_size=ctx.eval_batch_size, run_dir=ctx.run_dir,
                            desc="autoencoder")  # section 2 reuses this run
    model = Autoencoder(config, spec, run, mse(run.model, splits.test, splits))
    found = ctx.merge("autoencoder", {
        **main_metrics(run, model.test_mse), "decoders": rows, "decoder": decoder, "spec": spec,
        "decoder_comparison": {"images": len(train), "epochs": profile.compare_epochs, "seeds": profile.ablation_seeds,
                               "resize_minus_transposed": paired_by_seed(rows, "resize", "transposed")}})
    return MainModel(model, runs, rows, ae_text.main_summary(found), found=found, table=decoder_table(rows),
                     finding=ae_text.decoder_finding(found))


@dataclass(frozen=True)
class Reconstructions:
    """Test images (`RECONSTRUCTED_PER_CLASS` per class, ordered by class), their reconstructions by section
    1's main autoencoder, and the class names of `examples[0::2]` (one image per class)."""

    examples: ImageSet
    images: torch.Tensor
    names: list[str]


def reconstructions(ctx: Context, ae_main: Autoencoder) -> Reconstructions:
    """The figures' test images, drawn with the profile's seed, and `ae_main`'s reconstructions of them."""
    examples = examples_per_class(ctx.splits.test, RECONSTRUCTED_PER_CLASS, seed=ctx.seed)
    return Reconstructions(examples, reconstruct(ae_main.run.model, examples, ctx.splits),
                           [examples.classes[int(y)] for y in examples.labels[0::2]])


@dataclass(frozen=True)
class Optimizers(Shown):
    """Section 1's optimizer comparison: every (optimizer, learning rate) run, each optimizer's best learning rate
    on the first seed with its runs over the ablation seeds pooled (`best`), the validation curves of those seeds
    (`curves`, by "<optimizer>, learning rate <rate>", the figure's key), the `ae_optimizers` entries merged, the
    table and the sentence."""

    runs: dict[str, Run]
    best: dict[str, dict]
    curves: dict[str, list[History]]  # one history per seed


def optimizers(ctx: Context, ae_main: Autoencoder) -> Optimizers:
    """Train `ae_main`'s configuration with every optimizer at three learning rates on the comparison images
    (the profile's `compare_epochs`), growing a grid past an edge where its best lies (`rates_beyond`), keep
    each optimizer's best on validation, train that one over the profile's `ablation_seeds`, compare each with
    the lowest paired by seed; merge `ae_optimizers`."""
    profile, splits = ctx.profile, ctx.splits
    train = comparison_train(splits, profile)
    budget = dict(epochs=profile.compare_epochs, batch_size=profile.batch_size, seed=profile.seed)
    variants = optimizer_variants(ae_main.config, budget)
    runs = compare(variants, splits, train, ctx.eval_batch_size, ctx.run_dir)
    rows = summary(runs, splits, train)
    grid = {name: list(lrs) for name, (_, _, lrs) in OPTIMIZER_GRID.items()}
    for _ in range(GRID_EXTENSIONS):  # past an edge where a best rate lies, until it is inside or diverges
        beyond = rates_beyond(grid, rows)
        if not beyond:
            break
        added = optimizer_variants(ae_main.config, budget, {name: [lr] for name, lr in beyond.items()})
        finished, diverged = compare_stable(added, splits, train, ctx.eval_batch_size, ctx.run_dir)
        runs.update(finished)
        rows.update({**summary(finished, splits, train), **{name: {"val_mse": None, "diverged": True}
                                                             for name in diverged}})
        variants.update(added)
        for name, lr in beyond.items():
            grid[name].append(lr)
    chosen = best_per_optimizer(rows, grid)  # each optimizer's learning rate, chosen on the first seed
    seeded = seeded_runs({row["run"]: variants[row["run"]] for row in chosen.values()}, splits, train,
                         profile.ablation_seeds, ctx.eval_batch_size, ctx.run_dir)
    pooled = seeded_summary(seeded, splits, train)
    best = {name: {**row, **pooled[row["run"]]} for name, row in chosen.items()}
    ranked = sorted(best, key=lambda name: best[name]["val_mse"])
    against = {name: paired_difference(best[name]["val_mse_seeds"], best[ranked[0]]["val_mse_seeds"])
               for name in ranked[1:]}
    found = ctx.merge("ae_optimizers", {"images": len(train), "epochs": profile.compare_epochs, "runs": rows,
                                        "by_optimizer": best, "best": ranked[0], "worst": ranked[-1],
                                        "seeds": profile.ablation_seeds, "against_best": against})
    curves = {f"{name}, learning rate {row['lr']:g}": [r.history for r in seeded[row["run"]]]
              for name, row in best.items()}
    return Optimizers(runs, best, curves, found=found, table=optimizer_table(best),
                      finding=ae_text.optimizer_finding(found))


@dataclass(frozen=True)
class Regularization(Shown):
    """Section 1's regularization comparison: the runs of every variant over the ablation seeds, their pooled
    `summary` rows, the training images they saw, the `ae_regularization` entries merged, the table and the
    sentence."""

    runs: dict[str, list[Run]]
    rows: dict[str, dict]
    images: int

    @property
    def histories(self) -> dict[str, list[History]]:
        """Each variant's histories, one per seed."""
        return {name: [run.history for run in runs] for name, runs in self.runs.items()}


def regularization(ctx: Context) -> Regularization:
    """Train `OVERFIT` without and with each regularizer on the profile's few regularization images over the
    profile's `ablation_seeds`, compare each regularizer with no regularization paired by seed, merge
    `ae_regularization` (each variant's pooled row, the differences, the lowest validation MSE, the largest and
    smallest gap)."""
    profile, splits = ctx.profile, ctx.splits
    train = regularization_train(splits, profile)
    variants = regularization_variants(profile, splits.train.mirror)
    runs = seeded_runs(variants, splits, train, profile.ablation_seeds, ctx.eval_batch_size,
                       ctx.run_dir)
    rows = seeded_summary(runs, splits, train)
    gaps = {name: row["gap"] for name, row in rows.items()}
    against = {name: {"val_mse": paired_by_seed(rows, name, ae_text.BASE),
                      "gap": paired_by_seed(rows, name, ae_text.BASE, "gap")}
               for name in rows if name != ae_text.BASE}
    found = ctx.merge("ae_regularization", {
        "images": len(train), "epochs": profile.reg_epochs, "batch_size": profile.reg_batch or profile.batch_size,
        "config": OVERFIT, **rows,
        "seeds": profile.ablation_seeds, "against_none": against,
        "best": min(rows, key=lambda name: rows[name]["val_mse"]), "largest_gap": max(gaps, key=gaps.get),
        "smallest_gap": min(gaps, key=gaps.get)})
    return Regularization(runs, rows, len(train), found=found, table=summary_table(rows),
                          finding=ae_text.regularization_finding(found))


@dataclass(frozen=True)
class CodeSizes(Shown):
    """Section 1's code-size sweep: the sizes, the autoencoder's and PCA's test MSE at each (in that order),
    the `ae_code_size` entries merged, the table and the sentences."""

    sizes: list[int]
    ae_mse: list[float]
    pca_mse: list[float]
    reading: str = ""  # why the sweep comes out as it does (`findings.autoencoder.code_size_reading`)


def code_sizes(ctx: Context, ae_main: Autoencoder) -> CodeSizes:
    """`ae_main` trained with each of the profile's code sizes for `sweep_epochs` on the comparison images,
    beside PCA fitted on the same images (cached); merges `ae_code_size`."""
    profile, splits = ctx.profile, ctx.splits
    train, sizes = comparison_train(splits, profile), list(profile.code_sizes)
    key = [fingerprint(train), fingerprint(splits.test), sizes]
    pca = dict(zip(sizes, cached_json(ctx.run_dir, "pca", key,
                                      lambda: pca_reconstruction_mse(train, splits.test, sizes))))
    found = ctx.merge("ae_code_size", code_size_sweep(
        ae_main.config, replace(ae_main.spec, epochs=profile.sweep_epochs), sizes, splits, train, pca,
        eval_batch_size=ctx.eval_batch_size, run_dir=ctx.run_dir))
    return CodeSizes(sizes, [found[f"code_{k}"]["ae_test_mse"] for k in sizes], [pca[k] for k in sizes],
                     found=found, table=code_size_table(found, sizes),
                     finding=f"{ae_text.code_size_finding(found)} {ae_text.code_size_details(found)}",
                     reading=ae_text.code_size_reading(found, ae_text.main_model(
                         main_metrics(ae_main.run, ae_main.test_mse), len(splits.train))))


@dataclass(frozen=True)
class Denoising:
    """Section 1's denoiser: its run, the `ae_denoising` entries merged, the figure's rows (noisy, denoised,
    clean: one test image per class) with their class names, and a one-line summary."""

    run: Run
    found: dict
    rows: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    names: list[str]
    summary: str
    finding: str = ""  # the denoiser against its controls (`findings.autoencoder.denoising_finding`)

    @property
    def noise(self) -> float:
        return self.found["noise_std"]


def denoiser(ctx: Context, ae_main: Autoencoder) -> Denoising:
    """`ae_main`'s configuration and recipe trained to remove Gaussian noise (the profile's `denoising_noise`)
    from the comparison images for `compare_epochs`; its test PSNR (noise drawn once, seeded) merged as
    `ae_denoising`, beside two controls on the same noisy images: `ae_main` itself (trained on clean images)
    and a 3 x 3 median filter (`MedianFilter`)."""
    profile, splits, noise = ctx.profile, ctx.splits, ctx.profile.denoising_noise
    run = train_autoencoder(ae_main.config, replace(ae_main.spec, epochs=profile.compare_epochs,
                                                    augment=Augment(noise=noise)),
                            splits, train=comparison_train(splits, profile),
                            eval_batch_size=ctx.eval_batch_size, desc="denoising", run_dir=ctx.run_dir)
    psnr = denoising(run.model, splits.test, splits, noise, seed=ctx.seed + 1)
    controls = {name: denoising(model, splits.test, splits, noise, seed=ctx.seed + 1)  # the same noise
                for name, model in (("clean_ae", ae_main.run.model),
                                    ("median", MedianFilter(splits.mean, splits.std)))}
    found = ctx.merge("ae_denoising", {"noise_std": noise, "epochs": profile.compare_epochs,
                                       "psnr_noisy_db": psnr["psnr_noisy"],
                                       "psnr_denoised_db": psnr["psnr_denoised"], "test_mse": psnr["loss"],
                                       "psnr_clean_ae_db": controls["clean_ae"]["psnr_denoised"],
                                       "psnr_median_db": controls["median"]["psnr_denoised"]})
    one_each = examples_per_class(splits.test, 1, seed=ctx.seed)
    rows = noisy_triplets(run.model, one_each, splits, noise, seed=ctx.seed + 1)
    return Denoising(run, found, rows, [one_each.classes[int(y)] for y in one_each.labels],
                     ae_text.denoising_summary(found), ae_text.denoising_finding(found))
