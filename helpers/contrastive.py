"""Section 6: SimCLR contrastive pretraining on the shared loop.

Two strongly augmented views of every image of a batch are made at once on the device (`data.two_views`);
the encoder and a projection head map both, and the NT-Xent loss asks each view to pick its partner among
the 2N - 1 other views of the batch. No label reaches training: the only labelled images are a held-out
sample that a k-NN monitor scores after each epoch.
"""
from __future__ import annotations

from dataclasses import replace

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .data import Batch, ImageSet, Splits, Views, two_views
from .models import DECODERS, AEConfig, SimCLRNet
from .training import LossFn, Run, TrainSpec, outputs, train_model

DEFAULT_VIEWS = Views()


def _pair_logits(z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities between all 2N L2-normalized projections (each one's own entry set to -inf), and
    for each row the index of its partner view."""
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sims = (z @ z.T).fill_diagonal_(float("-inf"))
    partner = torch.arange(2 * n, device=z.device).roll(n)
    return sims, partner


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """The normalized-temperature cross-entropy of SimCLR for N positive pairs (z1[i], z2[i]): each of the 2N
    projections, L2-normalized, classifies its partner among the other 2N - 1 by cosine similarity / temperature;
    the mean of the 2N cross-entropies."""
    sims, partner = _pair_logits(z1, z2)
    return F.cross_entropy(sims / temperature, partner)


def contrastive_loss(views: Views, *, mean: float, std: float, temperature: float = 0.5) -> LossFn:
    """The loop's loss for a `SimCLRNet`: two views of the batch's clean images (drawn with the default
    generator, which checkpoints save and restore), normalized with `mean` / `std`; NT-Xent, and the share of
    views whose most similar other view is their partner (`pair_accuracy`). Labels are never read."""
    def loss(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        v1, v2 = two_views(batch.images, views)
        z = model(torch.cat([(v1 - mean) / std, (v2 - mean) / std])).float()  # one pass: shared BatchNorm statistics
        sims, partner = _pair_logits(*z.chunk(2))
        return {"loss": F.cross_entropy(sims / temperature, partner),
                "pair_accuracy": (sims.detach().argmax(1) == partner).float().mean()}
    return loss


def knn_accuracy(reference: torch.Tensor, reference_labels: torch.Tensor, queries: torch.Tensor,
                 query_labels: torch.Tensor, k: int = 5) -> float:
    """k-NN accuracy by cosine similarity (majority vote of the k most similar reference rows), on the device."""
    ref, q = F.normalize(reference.float(), dim=1), F.normalize(queries.float(), dim=1)
    top = (q @ ref.T).topk(k, dim=1).indices
    votes = F.one_hot(reference_labels[top], int(reference_labels.max()) + 1).sum(1)
    return float((votes.argmax(1) == query_labels).float().mean())


def knn_monitor(labelled: ImageSet, *, mean: float, std: float, k: int = 5,
                batch_size: int = 2000) -> Callable[[nn.Module], dict[str, float]]:
    """After each epoch: encode `labelled` (held-out images, e.g. the validation split) with the model's encoder,
    and score k-NN of its second half against its first. Only this monitor reads these labels."""
    half = len(labelled) // 2

    def monitor(model: nn.Module) -> dict[str, float]:
        feats = outputs(model.encoder, labelled, lambda m, x: m(x), mean=mean, std=std, batch_size=batch_size)
        return {"knn_monitor": knn_accuracy(feats[:half], labelled.labels[:half], feats[half:],
                                            labelled.labels[half:], k)}
    return monitor


def spec(epochs: int, batch_size: int, seed: int, lr: float = 2e-3) -> TrainSpec:
    """AdamW with a cosine schedule and light weight decay; large batches (more negatives per view)."""
    return TrainSpec(epochs=epochs, optimizer="adamw", lr=lr, weight_decay=1e-4, batch_size=batch_size,
                     scheduler="cosine", seed=seed)


def train_simclr(cfg: AEConfig, train_spec: TrainSpec, splits: Splits, *, views: Views = DEFAULT_VIEWS,
                 temperature: float = 0.5, train: ImageSet | None = None, run_dir: Path | None = None,
                 desc: str = "simclr") -> Run:
    """SimCLR on the shared loop (cached and resumable like every run); the k-NN monitor uses the validation
    split. No validation loss: the contrastive loss of held-out images would cost a second pass for little."""
    loss = contrastive_loss(views, mean=splits.mean, std=splits.std, temperature=temperature)
    cfg = replace(cfg, decoder=DECODERS[0])  # SimCLR has no decoder: the choice must not change its cache key
    model, history = train_model(lambda: SimCLRNet(cfg), loss, train or splits.train, None, train_spec,
                                 model_key=("simclr", cfg.as_dict(), views, temperature), run_dir=run_dir, desc=desc,
                                 mean=splits.mean, std=splits.std,
                                 monitor=knn_monitor(splits.val, mean=splits.mean, std=splits.std))
    return Run(model, history)


def view_examples(data: ImageSet, n: int, views: Views = DEFAULT_VIEWS, *, seed: int) -> list[torch.Tensor]:
    """The first `n` images of `data` on [0, 1] and two strong views of each, drawn with `seed`."""
    originals = data.images[:n].float() / 255
    return [originals, *two_views(originals, views, torch.Generator(device=data.device).manual_seed(seed))]


def findings(structure: dict[str, dict], few: dict[str, dict[int, dict]], finetuned: dict[str, dict], *,
             simclr: str, ae: str, vae: str, raw: str, code: str | None = None, probe_target: float = 0.89) -> str:
    """The "Measured:" sentences of section 6: SimCLR against the autoencoder, the VAE and raw pixels on every
    measure (all read at the same layer), against raw pixels in points, its code after the linear layer (`code`)
    against its feature map, and the fine-tuned encoders."""
    names = (simclr, ae, vae, raw)
    probe = {n: structure[n]["linear_probe_accuracy"] for n in names}
    knn = {n: structure[n]["knn_accuracy"] for n in names}
    counts = sorted(few[simclr])
    low, high = counts[0], counts[-1]
    best_low = max(names, key=lambda n: few[n][low]["mean"])
    best_high = max(names, key=lambda n: few[n][high]["mean"])
    tuned = ", ".join(f"{n} {r['test_accuracy']:.2%}" for n, r in finetuned.items())
    text = (f"**Measured:** linear probe with every label: SimCLR {probe[simclr]:.2%} (target {probe_target:.0%} in "
            f"`full`, {'met' if probe[simclr] >= probe_target else 'missed'} here), autoencoder {probe[ae]:.2%}, VAE "
            f"{probe[vae]:.2%}, raw pixels {probe[raw]:.2%}; k-NN: SimCLR {knn[simclr]:.2%}, autoencoder {knn[ae]:.2%}, "
            f"VAE {knn[vae]:.2%}, raw pixels {knn[raw]:.2%}. ")
    gaps = {"k-NN": 100 * (knn[simclr] - knn[raw]), "the linear probe": 100 * (probe[simclr] - probe[raw])}
    below = {m: g for m, g in gaps.items() if g <= 0}
    if not below:
        text += (f"SimCLR is above raw pixels on both: by {gaps['k-NN']:.1f} points on k-NN and "
                 f"{gaps['the linear probe']:.1f} on the linear probe. ")
    else:
        text += ("SimCLR is below raw pixels on " + " and ".join(f"{m} by {-g:.1f} points" for m, g in below.items())
                 + ". ")
    if code is not None and code in structure:
        c = structure[code]
        text += (f"Read after the linear layer instead (its code), SimCLR gives k-NN {c['knn_accuracy']:.2%} and a "
                 f"linear probe of {c['linear_probe_accuracy']:.2%}. ")
    return text + (f"With {low:,} labels the best of these is *{best_low}* ({few[best_low][low]['mean']:.1%}; SimCLR "
                   f"{few[simclr][low]['mean']:.1%}), with {high:,} *{best_high}* ({few[best_high][high]['mean']:.1%}; "
                   f"SimCLR {few[simclr][high]['mean']:.1%}). Fine-tuned with Homework 1's recipe: {tuned}.")
