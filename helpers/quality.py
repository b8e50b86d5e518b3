"""Sample quality in a classifier's feature space, for every generator of the study (section 7's library layer).

The features are the penultimate features of the best Fashion-MNIST classifier of section 3 (see
`latent.Penultimate`). The Frechet distance computed in them is therefore NOT the Inception FID (which needs
ImageNet weights and means little on 28x28 grey images); call it the classifier-feature Frechet distance.
Precision and recall (k-nearest-neighbour manifolds, Kynkaanniemi et al. 2019) separate the two things the
Frechet distance mixes: how many generated images look real (precision) and how much of the real data the
generator covers (recall).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import linalg


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
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.all(np.isfinite(root)):  # singular product: nudge both covariances off singularity
        eps = 1e-6 * np.eye(len(cov_a))
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
