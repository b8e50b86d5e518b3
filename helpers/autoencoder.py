"""The autoencoder section: train variants on the shared loop and summarize them side by side."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from .config import Profile
from .data import Augment, Batches, ImageSet, Splits, balanced_subset
from .models import AEConfig, AutoEncoder, count_parameters
from .results import markdown_table
from .training import Run, TrainSpec, denoising_metrics, evaluate_set, outputs, reconstruction_loss, train_model


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


def main_summary(found: dict) -> str:
    """One line on the main model, from `main_metrics`."""
    return (f"{found['parameters']:,} parameters, {found['epochs']} epochs in {found['seconds']:.0f} s; final train "
            f"MSE {found['final_train_mse']:.5f}, validation MSE {found['final_val_mse']:.5f}, test MSE "
            f"{found['test_mse']:.5f}")


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
# constant-rate budget favours large steps), so the grids were moved up one step; the best rate is reported with a
# warning whenever it still lies at an edge. AdamW's decoupled weight decay is its defining change.
OPTIMIZER_GRID = {"SGD + momentum": ("sgd", 0.0, (0.1, 0.3, 1.0)),
                  "SGD + Nesterov": ("nesterov", 0.0, (0.05, 0.15, 0.5)),
                  "Adam": ("adam", 0.0, (1e-3, 3e-3, 1e-2)),
                  "AdamW (weight decay 0.05)": ("adamw", 0.05, (1e-3, 3e-3, 1e-2)),
                  "RMSprop": ("rmsprop", 0.0, (5e-4, 1.5e-3, 5e-3))}


def optimizer_variants(cfg: AEConfig, budget: dict) -> dict[str, tuple[AEConfig, TrainSpec]]:
    """Every (optimizer, learning rate) of `OPTIMIZER_GRID` as a run named "<optimizer>, lr <lr>"."""
    return {f"{name}, lr {lr:g}": (cfg, TrainSpec(optimizer=kind, lr=lr, weight_decay=wd, **budget))
            for name, (kind, wd, lrs) in OPTIMIZER_GRID.items() for lr in lrs}


def best_per_optimizer(rows: dict[str, dict]) -> dict[str, dict]:
    """Per optimizer: the learning rate with the lowest validation MSE, its row, and every tried rate's value."""
    found = {}
    for name, (_, _, lrs) in OPTIMIZER_GRID.items():
        tried = {lr: rows[f"{name}, lr {lr:g}"] for lr in lrs}
        lr = min(tried, key=lambda rate: tried[rate]["val_mse"])
        found[name] = {"lr": lr, "run": f"{name}, lr {lr:g}", **tried[lr],
                       "val_mse_by_lr": {f"{rate:g}": r["val_mse"] for rate, r in tried.items()},
                       "best_lr_at_edge": lr in (lrs[0], lrs[-1])}
    return found


def optimizer_table(best: dict[str, dict]) -> str:
    """Markdown: per optimizer, the validation MSE at each learning rate tried, the chosen one and its scores."""
    return markdown_table(
        ["optimizer", "validation MSE at each learning rate", "chosen lr", "val MSE", "train MSE (eval)", "seconds"],
        [(name, ", ".join(f"{lr}: {v:.5f}" for lr, v in r["val_mse_by_lr"].items()), f"{r['lr']:g}", r["val_mse"],
          r["train_mse"], f"{r['seconds']:.1f}") for name, r in sorted(best.items(), key=lambda i: i[1]["val_mse"])])


def optimizer_findings(best: dict[str, dict], images: int, epochs: int) -> str:
    """The "Measured:" sentence of the optimizer comparison, each at its own best learning rate."""
    ranked = sorted(best, key=lambda n: best[n]["val_mse"])
    first, last = best[ranked[0]], best[ranked[-1]]
    edge = [n for n in ranked if best[n]["best_lr_at_edge"]]
    text = (f"**Measured:** each optimizer at the best of three learning rates on the validation split ({epochs} epoch{'s' if epochs != 1 else ''} "
            f"on {images:,} images): {ranked[0]} is lowest (validation MSE {first['val_mse']:.5f} at learning rate "
            f"{first['lr']:g}), {ranked[-1]} highest ({last['val_mse']:.5f} at rate {last['lr']:g}, "
            f"{100 * (last['val_mse'] / first['val_mse'] - 1):.0f}% above). In order: "
            + ", ".join(f"{n} {best[n]['val_mse']:.5f}" for n in ranked) + ".")
    if edge:
        text += (f" For {' and '.join([', '.join(edge[:-1]), edge[-1]] if len(edge) > 1 else edge)} the best rate is at the edge of the three tried, so a rate beyond them might "
                 f"do better still.")
    return text


# ----------------------------------------------------------------------------- regularization: a model that overfits

# A network with room to memorize (a code of 256 numbers and no batch norm) on few images for many epochs: without
# regularization its training error keeps falling while the validation error stops improving, so each regularizer
# has a gap to close. Each variant is its own run; none is shared with another comparison.
OVERFIT = AEConfig(channels=(32, 64), kernel_size=3, latent_dim=256, batch_norm=False)


def regularization_variants(profile: Profile) -> dict[str, tuple[AEConfig, TrainSpec]]:
    """The unregularized run and five regularizers, each changing one thing: AdamW at lr 2e-3 (constant), the
    profile's batch size, `reg_epochs` epochs."""
    spec = TrainSpec(epochs=profile.reg_epochs, optimizer="adamw", lr=2e-3, weight_decay=0.0,
                     batch_size=profile.batch_size, seed=profile.seed)
    return {"none": (OVERFIT, spec),
            "weight decay 0.5 (decoupled)": (OVERFIT, replace(spec, weight_decay=0.5)),
            "dropout 0.2": (replace(OVERFIT, dropout=0.2), spec),
            "input noise 0.2": (OVERFIT, replace(spec, augment=Augment(noise=0.2))),
            "augmentation (flip, shift 2 px)": (OVERFIT, replace(spec, augment=Augment(flip=True, shift=2.0))),
            "early stopping (patience 3)": (OVERFIT, replace(spec, patience=3))}


def regularization_findings(rows: dict[str, dict], images: int, base: str = "none") -> str:
    """The "Measured:" sentences of the regularization comparison, computed from the gaps (one seed per variant)."""
    none = rows[base]
    text = (f"**Measured:** without regularization the network fits its {images:,} training images ever more closely: "
            f"after {none['epochs']} epoch{'s' if none['epochs'] != 1 else ''} its training MSE is {none['train_mse']:.4f} and its validation MSE "
            f"{none['val_mse']:.4f}, {none['val_mse'] / none['train_mse']:.1f} times as high; the validation MSE was "
            f"lowest at epoch {none['best_val_epoch']} ({none['best_val_mse']:.4f}). ")
    others = [n for n in rows if n != base]
    by_gap = sorted(others, key=lambda n: rows[n]["gap"])
    narrower = [n for n in by_gap if rows[n]["gap"] < none["gap"]]
    count = (f"All {len(others)}" if len(narrower) == len(others) else
             "None" if not narrower else f"{len(narrower)} of the {len(others)}")
    text += (f"{count} regularizers narrow the gap (validation minus training MSE, {none['gap']:.4f} without); the "
             f"narrowest is that of {by_gap[0]} ({rows[by_gap[0]]['gap']:.4f}). ")
    best = min(rows, key=lambda n: rows[n]["val_mse"])
    text += (f"The lowest validation MSE is that of {best} ({rows[best]['val_mse']:.4f}, "
             f"{100 * (rows[best]['val_mse'] / none['val_mse'] - 1):+.0f}% against none). ")
    stop = [n for n in others if n.startswith("early stopping")]
    for n in stop:
        r = rows[n]
        text += (f"Early stopping stopped after epoch {r['epochs']} and kept epoch {r['kept_epoch']} "
                 f"(validation {r['val_mse']:.4f}). " if r["stopped_early"] else
                 f"Early stopping did not trigger within {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}. ")
    return text + "One seed per variant: differences of a few per cent are within what a second seed could move."


def code_size_sweep(cfg: AEConfig, spec: TrainSpec, sizes: list[int], splits: Splits, train: ImageSet,
                    pca_mse: dict[int, float], reference: float, *, eval_batch_size: int = 2000,
                    run_dir: Path | None = None) -> dict:
    """`cfg` trained with each code size in `sizes` on `train` and scored on the test set beside PCA's test MSE
    with as many components (`pca_mse`, PCA fitted on the same `train` images); `reference`: an earlier study's best MSE. For `metrics.json`."""
    runs = compare({f"code {k}": (replace(cfg, latent_dim=k), spec) for k in sizes}, splits, train, eval_batch_size,
                   run_dir)
    ae_mse = {k: mse(run.model, splits.test, splits) for k, run in zip(sizes, runs.values())}
    reaching = [k for k in sizes if ae_mse[k] <= reference]
    return {"images": len(train), "epochs": spec.epochs,
            **{f"code_{k}": {"ae_test_mse": ae_mse[k], "pca_test_mse": pca_mse[k], "ae_over_pca": ae_mse[k] / pca_mse[k]}
               for k in sizes},
            "beats_pca_at_every_size": all(ae_mse[k] < pca_mse[k] for k in sizes),
            "smallest_code_reaching_earlier_best": reaching[0] if reaching else None}


def code_size_table(found: dict, sizes: list[int]) -> str:
    rows = [(k, found[f"code_{k}"]["ae_test_mse"], found[f"code_{k}"]["pca_test_mse"], found[f"code_{k}"]["ae_over_pca"])
            for k in sizes]
    return markdown_table(["code size", "autoencoder test MSE", "PCA test MSE", "AE / PCA"], rows)


def code_size_findings(found: dict, sizes: list[int], reference: float) -> str:
    """The "Measured:" sentence of the code-size sweep."""
    ratio = {k: found[f"code_{k}"]["ae_over_pca"] for k in sizes}
    reaching = found["smallest_code_reaching_earlier_best"]
    return (f"**Measured:** each autoencoder trained {found['epochs']} epoch{'s' if found['epochs'] != 1 else ''} on {found['images']:,} images, and PCA was "
            f"fitted on the same images. The autoencoder beats PCA at {sum(r < 1 for r in ratio.values())} of {len(sizes)} "
            f"code sizes; it leaves the smallest share of PCA's error at code {min(ratio, key=ratio.get)} "
            f"({min(ratio.values()):.2f}) and the largest at code {max(ratio, key=ratio.get)} "
            f"({max(ratio.values()):.2f}). Smallest code reaching the earlier study's {reference}: "
            f"{reaching if reaching is not None else 'none of the sizes tried'}.")


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


def noisy_triplets(model: AutoEncoder, data: ImageSet, splits: Splits, noise: float,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noisy, denoised, clean) images on [0, 1] for a small set, noise drawn with `seed`."""
    batch = next(iter(Batches(data, len(data), shuffle=False, augment=Augment(noise=noise),
                              mean=splits.mean, std=splits.std, seed=seed)))
    model.eval()
    with torch.inference_mode():
        denoised = model(batch.inputs).float()
    return batch.inputs * splits.std + splits.mean, denoised, batch.images


def summary_table(rows: dict[str, dict]) -> str:
    """Markdown table of `summary` rows, best validation MSE first."""
    ordered = sorted(rows.items(), key=lambda item: item[1]["val_mse"])
    return markdown_table(
        ["variant", "val MSE", "train MSE (eval)", "gap (val - train)", "epochs", "seconds"],
        [(name, r["val_mse"], r["train_mse"], r["gap"], r["epochs"], f"{r['seconds']:.1f}") for name, r in ordered])


# ----------------------------------------------------------------------------- the decoder's upsampling


def decoder_rows(runs: dict[str, Run], splits: Splits, batch_size: int = 2000) -> dict[str, dict]:
    """Per decoder (`AEConfig.decoder`): parameters, validation MSE of the kept weights, test MSE, seconds."""
    return {name: {"parameters": count_parameters(run.model), "val_mse": run.history.kept["val_loss"],
                   "test_mse": mse(run.model, splits.test, splits, batch_size), "seconds": run.history.rows[-1]["seconds"]}
            for name, run in runs.items()}


def choose_decoder(rows: dict[str, dict], score: str = "val_mse", new: str = "resize", old: str = "transposed") -> str:
    """`new` unless it raises the validation `score` (lower is better: the autoencoder's MSE, the VAE's negative ELBO)
    above `old`'s: the change that removes checkerboard patterns is kept where it does not cost reconstruction quality
    (chosen on validation, never on test)."""
    return new if rows[new][score] <= rows[old][score] else old


def decoder_table(rows: dict[str, dict]) -> str:
    labels = {"transposed": "stride-2 transposed convolutions", "resize": "nearest upsampling + convolution"}
    return markdown_table(["decoder", "parameters", "validation MSE", "test MSE", "seconds"],
                          [(labels.get(n, n), f"{r['parameters']:,}", r["val_mse"], r["test_mse"], f"{r['seconds']:.0f}")
                           for n, r in rows.items()], digits=4)


def decoder_findings(rows: dict[str, dict], chosen: str) -> str:
    """One sentence: how the two decoders compare and which one the study keeps."""
    new, old = rows["resize"], rows["transposed"]
    change = 100 * (new["val_mse"] / old["val_mse"] - 1)
    ratio = new["seconds"] / old["seconds"]
    relation = ("the same validation MSE as" if change == 0 else
                f"a validation MSE {abs(change):.1f}% {'lower' if change < 0 else 'higher'} than")
    return (f"**Measured:** with the same parameters and recipe, upsampling then convolving gives {relation} "
            f"transposed convolutions ({new['val_mse']:.5f} against {old['val_mse']:.5f}; test {new['test_mse']:.5f} "
            f"against {old['test_mse']:.5f}) in {ratio:.1f} times the training time"
            f"{' (it convolves at the larger size)' if ratio > 1 else ''}, so the study keeps the "
            f"{'resize' if chosen == 'resize' else 'transposed-convolution'} decoder from here on.")
