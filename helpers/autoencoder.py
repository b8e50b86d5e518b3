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
    """Per run: validation MSE of the kept weights and the best epoch's, training MSE (eval mode), their gap,
    epochs and seconds. Validation comes from the run's history; only the training MSE is measured here."""
    rows = {}
    for name, run in runs.items():
        train_mse, val_mse = mse(run.model, train, splits, batch_size), run.history.kept["val_loss"]
        rows[name] = {"val_mse": val_mse, "best_val_mse": min(run.history.column("val_loss")),
                      "train_mse": train_mse, "gap": val_mse - train_mse, "epochs": len(run.history.rows),
                      "seconds": run.history.rows[-1]["seconds"]}
    return rows


def code_size_sweep(cfg: AEConfig, spec: TrainSpec, sizes: list[int], splits: Splits, train: ImageSet,
                    pca_mse: dict[int, float], reference: float, *, eval_batch_size: int = 2000,
                    run_dir: Path | None = None) -> dict:
    """`cfg` trained with each code size in `sizes` on `train` and scored on the test set beside PCA's test MSE
    with as many components (`pca_mse`); `reference`: an earlier study's best MSE. For `metrics.json`."""
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
    return (f"**Measured:** the autoencoder beats PCA at {sum(r < 1 for r in ratio.values())} of {len(sizes)} "
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
