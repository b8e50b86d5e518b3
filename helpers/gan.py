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
from . import quality
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


def findings(scores: dict[str, dict], *, gan: str, groups: quality.Groups | None = None, real: str = quality.REAL,
             noise: str = quality.NOISE) -> str:
    """The DCGAN's sample quality in plain sentences, each naming the score it rests on, against the floor (real
    held-out images) and the ceiling (noise), ranked only within its group of `groups` (default: every scored
    set that is no reference): overall by the Frechet distance, fidelity by density, diversity by coverage
    (Naeem et al. 2020). The mean top probability is set against the target, and said to be no evidence of
    realism where noise outscores the DCGAN on it (likewise precision)."""
    if groups is None:
        groups = {"generators": [n for n in scores if n not in quality.ROLES and n not in (real, noise)]}
    groups = quality.as_groups(scores, groups)
    mates = next((names for names in groups.values() if gan in names), None)
    if mates is None:
        raise ValueError(f"gan.findings: {gan!r} is in none of the groups {list(groups)}.")
    group = next(g for g, names in groups.items() if names is mates)
    g, r, z = scores[gan], scores[real], scores[noise]
    said = []

    def rank(by: str) -> str:  # the group is named once, at the first rank
        if len(mates) < 2:
            return ""
        place = quality.ranked(scores, mates, by).index(gan) + 1
        said.append(by)
        return f", rank {place} of {len(mates)}" + ("" if len(said) > 1 else f" among the {quality.plural(group)}")

    text = (f"Measured: the DCGAN's samples have a classifier-feature Fréchet distance of {quality.fd(g['frechet'])} "
            f"(real held-out images {quality.fd(r['frechet'])}, uniform noise {quality.fd(z['frechet'])})"
            f"{rank('frechet')}.")
    if "density" in g:
        text += (f" Their density, the fidelity score, is {g['density']:.2f}{rank('density')} (real held-out images "
                 f"{r['density']:.2f}, uniform noise {z['density']:.2f}), and their coverage, the diversity score, is "
                 f"{g['coverage']:.2f}{rank('coverage')} (real held-out images {r['coverage']:.2f}, uniform noise "
                 f"{z['coverage']:.2f}).")
    relation = "meets" if g["mean_top_probability"] >= MIN_CONFIDENCE else "misses"
    text += (f" The classifier's mean top probability on them is {g['mean_top_probability']:.2f}, which {relation} the "
             f"target of {MIN_CONFIDENCE} (real held-out images {r['mean_top_probability']:.2f}).")
    names = {"mean_top_probability": "mean top probability", "precision": "precision"}
    higher = [by for by in names if z[by] > g[by]]
    if higher:
        text += (f" Uniform noise gets a higher {' and a higher '.join(f'{names[by]} ({z[by]:.2f})' for by in higher)} "
                 f"than the DCGAN ({' and '.join(f'{g[by]:.2f}' for by in higher)}), so "
                 f"{'this score is no' if len(higher) == 1 else 'neither score is'} evidence that the samples "
                 f"look real.")
    for by in (b for b in names if b not in higher):
        text += (f" Uniform noise gets {'the same' if z[by] == g[by] else 'a lower'} {names[by]} ({z[by]:.2f}) "
                 f"{'as' if z[by] == g[by] else 'than'} the DCGAN ({g[by]:.2f}).")
    return text + f" Their recall is {g['recall']:.2f} (real held-out images {r['recall']:.2f})."


def loss_table(history_rows: list[dict], every: int = 1) -> str:
    """Per-epoch losses and the discriminator's mean outputs on real and generated images."""
    rows = [(r["epoch"], f"{r['train_d_loss']:.3f}", f"{r['train_g_loss']:.3f}", f"{r['train_d_real']:.2f}",
             f"{r['train_d_fake']:.2f}") for r in history_rows[::every]]
    return markdown_table(["epoch", "discriminator loss", "generator loss", "D(real)", "D(generated)"], rows)
