"""Small made-up inputs that several test files share: banded images of ten classes, and sample-quality
scores shaped like a real run's."""
from __future__ import annotations

import torch

from helpers import data, quality

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
DIGITS = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
          "8 - eight", "9 - nine")  # MNIST's class names, as torchvision gives them


def banded_set(per_class: int, seed: int, classes: tuple[str, ...] = CLASSES) -> data.ImageSet:
    """Ten classes told apart by the row of a bright band, with noise; named as `classes` (with `DIGITS`, as
    MNIST's: never flipped)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_class)
    images = torch.rand(len(labels), 1, 28, 28, generator=g) * 60
    for i, y in enumerate(labels.tolist()):
        images[i, 0, 2 + 2 * y:4 + 2 * y] += 180
    order = torch.randperm(len(labels), generator=g)
    return data.ImageSet(images.clamp(0, 255).to(torch.uint8)[order], labels[order], classes,
                         mirror=classes != DIGITS)


def quality_row(frechet, precision, recall, density, coverage, top, **extra) -> dict:
    """One image set's scores as `quality.Scorer.score` returns them."""
    return {"frechet": frechet, "precision": precision, "recall": recall, "density": density,
            "coverage": coverage, "mean_top_probability": top, "entropy": 0.5, "nearest_train_mse": 0.03,
            "copies": 0, "k": 3, "density_coverage_k": 5, **extra}


# Shaped like the quick run: noise wins precision and the mean top probability over most generators.
SCORES = {quality.REAL: quality_row(3.8512, 0.86, 0.85, 1.0, 0.97, 0.92),
          quality.TRAIN: quality_row(4.763, 0.85, 0.85, 0.97, 0.97, 0.93, copies=2000),
          quality.NOISE: quality_row(725.66, 0.91, 0.0, 0.54, 0.02, 0.76),
          "gan": quality_row(124.41, 0.61, 0.32, 0.69, 0.35, 0.70),
          "vae, beta 4": quality_row(355.37, 0.92, 0.0, 1.46, 0.22, 0.60),
          "mixture": quality_row(31.67, 0.84, 0.56, 1.03, 0.86, 0.87),
          "per-class": quality_row(23.3, 0.90, 0.56, 1.19, 0.92, 0.90, recognised=0.859)}
GROUPS = {quality.UNCONDITIONAL: ["gan", "vae, beta 4", "mixture"], quality.CONDITIONAL: ["per-class"]}


def with_spread(scores: dict[str, dict], std: float,
                by: tuple[str, ...] = quality.RANKED_BY) -> dict[str, dict]:
    """`scores` as pooled over draws: every set's scores `by` with the standard deviation `std` beside
    them."""
    return {name: {**row, **{f"{score}_std": std for score in by}} for name, row in scores.items()}


def as_dcgan(scores: dict[str, dict], groups: dict[str, list[str]], name: str = "gan"
             ) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """`scores` and `groups` with the generator `name` called "DCGAN", as the study names it."""
    rename = lambda n: "DCGAN" if n == name else n  # noqa: E731
    return ({rename(n): row for n, row in scores.items()},
            {g: [rename(n) for n in names] for g, names in groups.items()})
