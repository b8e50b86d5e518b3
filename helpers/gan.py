"""Section 7: a DCGAN trained on the shared loop.

The networks and their alternating step live in `models.DCGAN`; the loop (`training.fit`) sees a model with its
own step and gives it what every other model gets: checkpoints, exact resume, history, progress bar and the run
cache. After every epoch a monitor decodes a fixed batch of noise vectors and keeps the images inside the model
(a uint8 buffer), so the strip of samples over epochs survives checkpoints and cached runs like the weights.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import Batch, Splits
from .models import DCGAN, GANConfig
from .results import markdown_table
from .training import Run, TrainSpec, train_model

MEAN = STD = 0.5  # the GAN sees pixels on [-1, 1], the range of its generator's tanh
MIN_CONFIDENCE = 0.8  # the target: the classifier's mean top probability on DCGAN samples


# Both players' learning rate. The DCGAN paper's 2e-4 left the `quick` run (12 epochs on 18,000 images,
# 2-core CPU) under-trained; three runs scored against the 2,000 validation images (2,000 samples each, the
# classifier-feature Frechet distance / mean top probability) gave 2e-4: 203.4 / 0.69, 5e-4: 129.5 / 0.73,
# 1e-3: 122.8 / 0.74. Chosen on validation images, not on the test images the notebook scores against.
LR = 1e-3


def spec(epochs: int, batch_size: int, seed: int) -> TrainSpec:
    """Adam with beta1 0.5 for both players (the DCGAN recipe: a smaller beta1 keeps the momentum from carrying a
    player past the other's moves) and learning rate `LR`; no schedule and no augmentation."""
    return TrainSpec(epochs=epochs, optimizer="adam", lr=LR, batch_size=batch_size, seed=seed)


def losses(model: DCGAN, batch: Batch) -> dict[str, torch.Tensor]:
    """Both players' losses on one batch without updating anything (the loop's evaluation, if given images)."""
    z = model.noise(len(batch.labels), batch.inputs.device)
    real, fake = model.discriminator(batch.inputs).float(), model.discriminator(model.generator(z)).float()
    d_loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
              + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    g_loss = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    return {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss}


def snapshot_monitor(model: nn.Module) -> dict[str, float]:
    """After an epoch: record the generator's images of the fixed noise (kept in the model)."""
    model.snapshot()
    return {}


def train_gan(cfg: GANConfig, train_spec: TrainSpec, splits: Splits, *, run_dir: Path | None,
              desc: str = "dcgan") -> Run:
    """The DCGAN trained on the training split (labels never read), cached and resumable like every run."""
    model, history = train_model(lambda: DCGAN(cfg, snapshots=train_spec.epochs, seed=train_spec.seed), losses,
                                 splits.train, None, train_spec, model_key=("dcgan", cfg.as_dict()), run_dir=run_dir,
                                 desc=desc, mean=MEAN, std=STD, monitor=snapshot_monitor)
    return Run(model, history)


def sample(model: DCGAN, n: int, *, seed: int, device: torch.device | str, batch_size: int = 2000) -> torch.Tensor:
    """`n` generated images on [0, 1] (float, [n, 1, 28, 28]) from seeded noise, the generator in eval mode."""
    z = torch.randn(n, model.cfg.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    model.to(device).eval()
    with torch.inference_mode():
        return torch.cat([model.generator(part).float() for part in z.split(batch_size)]).mul(STD).add(MEAN).clamp(0, 1)


def strip(model: DCGAN, columns: int = 8, epochs: int = 6) -> tuple[list[torch.Tensor], list[int]]:
    """The fixed-noise images of about `epochs` evenly spaced epochs (the last included): rows for a figure."""
    taken = int(model.snapshots_taken)
    picks = sorted({int(round(e)) for e in np.linspace(0, taken - 1, min(epochs, taken))})
    return [model.snapshots[i, :columns].view(-1, 1, 28, 28).float().div(255) for i in picks], [i + 1 for i in picks]


def findings(scores: dict[str, dict], *, gan: str, real: str, noise: str) -> str:
    """The DCGAN's sample quality against the floor (real held-out images) and the ceiling (noise)."""
    g, r, z = scores[gan], scores[real], scores[noise]
    verdict = "met" if g["mean_top_probability"] >= MIN_CONFIDENCE else "missed"
    return (f"Measured: the DCGAN's samples are recognised as some class with mean confidence "
            f"{g['mean_top_probability']:.2f} (target ≥ {MIN_CONFIDENCE}: {verdict}; held-out real images "
            f"{r['mean_top_probability']:.2f}). Their classifier-feature Fréchet distance is {g['frechet']:.1f}, "
            f"against {r['frechet']:.1f} for real held-out images and {z['frechet']:.1f} for noise; "
            f"precision {g['precision']:.2f}, recall {g['recall']:.2f}.")


def loss_table(history_rows: list[dict], every: int = 1) -> str:
    """Per-epoch losses and the discriminator's mean outputs on real and generated images."""
    rows = [(r["epoch"], f"{r['train_d_loss']:.3f}", f"{r['train_g_loss']:.3f}", f"{r['train_d_real']:.2f}",
             f"{r['train_d_fake']:.2f}") for r in history_rows[::every]]
    return markdown_table(["epoch", "discriminator loss", "generator loss", "D(real)", "D(generated)"], rows)
