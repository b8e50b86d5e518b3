"""Sample quality in a classifier's feature space, for every generator of the study (section 7's library layer).

The features are the penultimate features of the best Fashion-MNIST classifier of section 3 (see
`latent.Penultimate`). The Frechet distance computed in them is therefore NOT the Inception FID (which needs
ImageNet weights and means little on 28x28 grey images); call it the classifier-feature Frechet distance.
Precision and recall (k-nearest-neighbour manifolds, Kynkaanniemi et al. 2019) separate the two things the
Frechet distance mixes: how many generated images look real (precision) and how much of the real data the
generator covers (recall). `Scorer` puts every score of one image set in one row, and `references` gives the
rows every generator is read against: real held-out images (the floor), training images (what a copying
generator would score) and uniform noise (the ceiling).
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
import torch
from scipy import linalg
from torch import nn

from .data import ImageSet, nearest, to_uint8
from .results import markdown_table, slug
from .training import outputs


def frechet_distance(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor) -> float:
    """||mu_r - mu_g||^2 + Tr(C_r + C_g - 2 (C_r C_g)^(1/2)) between Gaussians fitted to two feature sets
    (rows: images), in float64; the matrix square root by scipy (its tiny imaginary part from round-off
    is dropped, a large one is an error)."""
    a, b = (np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64) for x in (real, generated))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance needs two [N, D] feature sets of the same D, got {a.shape} and {b.shape}.")
    if min(len(a), len(b)) < 2:
        raise ValueError("frechet_distance needs at least 2 rows in each set to estimate a covariance.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            root = linalg.sqrtm(cov_a @ cov_b)
            singular = not np.all(np.isfinite(root))
        except linalg.LinAlgWarning:
            singular = True
    if singular:  # a singular product (fewer images than dimensions, dead features): nudge both off singularity
        eps = 1e-6 * np.trace(cov_a + cov_b) / len(cov_a) * np.eye(len(cov_a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    if np.iscomplexobj(root):
        if np.abs(root.imag).max() > 1e-3 * max(1.0, np.abs(root.real).max()):
            raise ValueError("frechet_distance: the matrix square root has a large imaginary part; "
                             "the covariances are badly conditioned (use more images).")
        root = root.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))


def _kth_distance(x: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance from every row of `x` to its k-th nearest other row of `x` (the radius of its k-NN ball)."""
    out = []
    for chunk in x.split(batch_size):
        d = torch.cdist(chunk, x)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # column 0 is the row itself
    return torch.cat(out)


def _covered(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Whether each query lies inside at least one ball (centre, radius)."""
    out = []
    for chunk in queries.split(batch_size):
        out.append((torch.cdist(chunk, centres) <= radii.view(1, -1)).any(1))
    return torch.cat(out)


def precision_recall(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor, *, k: int = 3,
                     batch_size: int = 1024) -> dict[str, float]:
    """Improved precision and recall: the real manifold is the union of balls around every real feature
    reaching its k-th nearest real neighbour, and likewise for the generated one. Precision: the share of
    generated images inside the real manifold; recall: the share of real images inside the generated one."""
    a, b = (torch.as_tensor(np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float32)
            for x in (real, generated))
    if min(len(a), len(b)) <= k:
        raise ValueError(f"precision_recall needs more than k = {k} rows in each set.")
    precision = _covered(b, a, _kth_distance(a, k, batch_size), batch_size).float().mean()
    recall = _covered(a, b, _kth_distance(b, k, batch_size), batch_size).float().mean()
    return {"precision": float(precision), "recall": float(recall), "k": k}


def entropy(probs: torch.Tensor) -> float:
    """Mean entropy (nats) of a classifier's predicted distributions: low when every image looks like one class."""
    p = probs.float().clamp_min(1e-12)
    return float(-(p * p.log()).sum(1).mean())


# ----------------------------------------------------------------------------- scoring image sets


Embed = Callable[[torch.Tensor], tuple[np.ndarray, torch.Tensor]]


def classifier_embedding(penultimate: nn.Module, *, mean: float, std: float, batch_size: int = 2000) -> Embed:
    """images -> (penultimate features [N, D] as numpy, class probabilities [N, C] on the CPU), in one forward
    pass of a classifier seen through `latent.Penultimate` (its `.last` layer turns the features into logits).
    Images are rounded to uint8 first, like the real ones, and normalized with the classifier's `mean` / `std`."""
    def embed(images: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        images = to_uint8(images)
        dummy = torch.zeros(len(images), dtype=torch.long, device=images.device)
        feats = outputs(penultimate, ImageSet(images, dummy, ()), lambda m, x: m(x), mean=mean, std=std,
                        batch_size=batch_size)
        with torch.inference_mode():
            probs = penultimate.last(feats.to(next(penultimate.last.parameters()).dtype)).float().softmax(1)
        return feats.cpu().numpy(), probs.cpu()
    return embed


class Scorer:
    """Scores image sets against real test images in one classifier's penultimate features.

    `reference`: the real images every set is compared with (all of them for the Frechet distance; a seeded
    random subsample of `n` for precision and recall, which compare sets of equal size);
    `train`: the training images (uint8), for each generated image's nearest training image in pixels."""

    def __init__(self, embed: Embed, reference: torch.Tensor, train: torch.Tensor, *, n: int, k: int = 3,
                 seed: int = 0) -> None:
        self.embed, self.train, self.n, self.k, self.seed = embed, train, n, k, seed
        self.reference, _ = embed(reference)
        pick = np.random.default_rng(seed).choice(len(self.reference), min(n, len(self.reference)), replace=False)
        self.pr_reference = self.reference[np.sort(pick)]

    def score(self, images: torch.Tensor, intended: torch.Tensor | None = None) -> dict:
        """Frechet distance, precision, recall, the classifier's mean top probability and mean entropy, the share
        of each predicted class, the share recognised as `intended` (class-conditional sets), and the median
        pixel MSE to the nearest training image with the count of exact copies."""
        feats, probs = self.embed(images)
        images = to_uint8(images)
        index, distance = nearest(images, self.train)
        copies = (images.flatten(1).to(self.train.device) == self.train[index].flatten(1)).all(1)
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
        row = {"n": len(images), "frechet": frechet_distance(self.reference, feats),
               **precision_recall(self.pr_reference, feats, k=self.k),
               "mean_top_probability": float(probs.max(1).values.mean()), "entropy": entropy(probs),
               "smallest_class_share": float(counts.min() / counts.sum()),
               "nearest_train_mse": float(distance.median()), "copies": int(copies.sum())}
        if intended is not None:
            row["recognised"] = float((probs.argmax(1) == intended.cpu()).float().mean())
        return row


def references(data_val: torch.Tensor, data_train: torch.Tensor, n: int, *, seed: int) -> dict[str, torch.Tensor]:
    """The image sets every generator is read against, `n` images each (seeded): real held-out images (the
    validation split, never trained on: the floor), real training images (their nearest training image is
    themselves: what memorization would score) and uniform noise on [0, 1] (the ceiling)."""
    rng = np.random.default_rng(seed)
    pick = lambda x: x[torch.as_tensor(np.sort(rng.choice(len(x), min(n, len(x)), replace=False)),  # noqa: E731
                                       device=x.device)]
    noise = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)).to(data_val.device)
    return {REAL: pick(data_val), TRAIN: pick(data_train), NOISE: noise}


REAL, TRAIN, NOISE = "real held-out images", "real training images", "uniform noise"


def ranked(scores: dict[str, dict]) -> list[str]:
    """Names from best to worst by the Frechet distance."""
    return sorted(scores, key=lambda name: scores[name]["frechet"])


def table(scores: dict[str, dict]) -> str:
    """One row per image set, best first by the Frechet distance; references are marked."""
    refs = {REAL: " (floor)", TRAIN: " (memorization)", NOISE: " (ceiling)"}
    rows = []
    for name in ranked(scores):
        r = scores[name]
        rows.append((f"{name}{refs.get(name, '')}", f"{r['frechet']:.1f}", f"{r['precision']:.2f}",
                     f"{r['recall']:.2f}", f"{r['mean_top_probability']:.2f}", f"{r['entropy']:.2f}",
                     f"{r['recognised']:.1%}" if "recognised" in r else "–", f"{r['nearest_train_mse']:.4f}",
                     r["copies"]))
    return markdown_table(["image set", "Fréchet distance (classifier features)", "precision", "recall",
                           "mean top probability", "entropy (nats)", "recognised as intended",
                           "nearest training image (median MSE)", "exact copies"], rows)


def placement(scores: dict[str, dict], generators: Sequence[str]) -> dict:
    """Where each generator lands between the floor (real held-out images) and the ceiling (noise), as the share
    of that gap on the Frechet distance (0: as good as real images, 1: as bad as noise), and whether the score
    ranks the floor best and the ceiling worst."""
    floor, ceiling = scores[REAL]["frechet"], scores[NOISE]["frechet"]
    order = ranked(scores)
    return {"floor_best": order[0] in (REAL, TRAIN), "ceiling_worst": order[-1] == NOISE,
            "between": {g: (scores[g]["frechet"] - floor) / (ceiling - floor) for g in generators},
            "all_between": all(floor <= scores[g]["frechet"] <= ceiling for g in generators)}


def findings(scores: dict[str, dict], generators: Sequence[str]) -> str:
    """The "Measured:" sentence of the generator table."""
    where = placement(scores, generators)
    best, worst = min(generators, key=lambda g: scores[g]["frechet"]), max(generators, key=lambda g: scores[g]["frechet"])
    recall_best = max(generators, key=lambda g: scores[g]["recall"])
    precision_best = max(generators, key=lambda g: scores[g]["precision"])
    return (f"Measured: the score ranks real held-out images {'best' if where['floor_best'] else 'NOT best'} "
            f"(Fréchet distance {scores[REAL]['frechet']:.1f}) and noise {'worst' if where['ceiling_worst'] else 'NOT worst'} "
            f"({scores[NOISE]['frechet']:.1f}); {'every generator lands between them' if where['all_between'] else 'NOT every generator lands between them'}. "
            f"Best generator: {best} ({scores[best]['frechet']:.1f}, {where['between'][best]:.0%} of the way from real "
            f"images to noise); worst: {worst} ({scores[worst]['frechet']:.1f}, {where['between'][worst]:.0%}). "
            f"Highest precision (samples that look real): {precision_best} ({scores[precision_best]['precision']:.2f}); "
            f"highest recall (coverage of the real images): {recall_best} ({scores[recall_best]['recall']:.2f})."
            + (f" Precision alone is fooled by noise here ({scores[NOISE]['precision']:.2f}): noise images fall on one "
               f"tight cluster of features that lies inside the wide neighbourhood balls of the real set's outliers; "
               f"read precision with recall ({scores[NOISE]['recall']:.2f} for noise) and the Fréchet distance."
               if scores[NOISE]["precision"] > 0.5 * scores[REAL]["precision"] else ""))


def key(name: str) -> str:
    """An image set's name as a metrics.json key ("VAE prior, beta 0.5" -> "vae_prior_beta_0_5")."""
    return slug(name).replace("-", "_")


def metrics(scores: dict[str, dict], generators: Sequence[str]) -> dict:
    """The `generators` section of metrics.json: every set's scores under its key, which sets are references,
    and where each generator lands between the floor and the ceiling."""
    where = placement(scores, generators)
    return {"feature_space": "penultimate features of the best section-3 classifier (not the Inception FID)",
            "sets": {key(n): {"name": n, "reference": n not in generators, **row} for n, row in scores.items()},
            "ranking": [key(n) for n in ranked(scores)], "floor_best": where["floor_best"],
            "ceiling_worst": where["ceiling_worst"], "all_between": where["all_between"],
            "share_of_gap": {key(g): v for g, v in where["between"].items()}}
