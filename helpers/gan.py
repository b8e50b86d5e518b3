"""Section 7: a DCGAN trained on the shared loop.

The networks and their alternating step live in `models.DCGAN`; the loop (`training.fit`) sees a model with its
own step and gives it what every other model gets: checkpoints, exact resume, history, progress bar and the run
cache. After every epoch a monitor decodes a fixed batch of noise vectors and keeps the images inside the model
(a uint8 buffer), so the strip of samples over epochs survives checkpoints and cached runs like the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .context import Context
from .data import Batch, Splits
from .findings.words import sig
from .models import DCGAN, GANConfig, count_parameters
from .results import markdown_table
from .training import Run, TrainSpec, train_model

MEAN = STD = 0.5  # the GAN sees pixels on [-1, 1], the range of its generator's tanh


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


def loss_table(history_rows: list[dict], every: int = 1) -> str:
    """Per-epoch losses and the discriminator's mean outputs on real and generated images."""
    rows = [(r["epoch"], *[sig(r[f"train_{k}"]) for k in ("d_loss", "g_loss", "d_real", "d_fake")])
            for r in history_rows[::every]]
    return markdown_table(["epoch", "discriminator loss", "generator loss", "D(real)", "D(generated)"], rows)


# ----------------------------------------------------------------------------- section 7's step


CONFIG = GANConfig()  # noise 64, width 32, spectral norm in the discriminator, real labels smoothed to 0.9
TABLE_ROWS = 6  # about this many epochs in the loss table


@dataclass(frozen=True)
class Trained:
    """Section 7's DCGAN: its configuration, recipe and run, the fixed-noise images of a few epochs (rows)
    with those epochs, and the loss table."""

    config: GANConfig
    spec: TrainSpec
    run: Run
    strip_rows: list[torch.Tensor]
    strip_epochs: list[int]
    table: str


def dcgan(ctx: Context) -> Trained:
    """The DCGAN (`CONFIG`) trained on the training split for the profile's `gan_epochs` in batches of
    `gan_batch`; merged into `gan` with its parameters (generator and discriminator)."""
    train_spec = spec(ctx.profile.gan_epochs, ctx.profile.gan_batch, ctx.seed)
    run = train_gan(CONFIG, train_spec, ctx.splits, run_dir=ctx.run_dir)
    rows = run.history.rows
    ctx.merge("gan", {"config": CONFIG, "spec": train_spec, "history": rows, "seconds": rows[-1]["seconds"],
                      "parameters": count_parameters(run.model)})
    strip_rows, strip_epochs = strip(run.model)
    return Trained(CONFIG, train_spec, run, strip_rows, strip_epochs,
                   loss_table(rows, every=max(1, ctx.profile.gan_epochs // TABLE_ROWS)))
