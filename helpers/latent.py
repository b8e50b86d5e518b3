"""The latent space: PCA reconstruction as the linear reference, and tools that work with ANY encoder
(the autoencoder's, a VAE's, SimCLR's, a classifier's features): encoding a whole split, 2-D maps (PCA,
t-SNE), structure measures (k-NN accuracy, silhouette, a linear probe), samplers over codes (one Gaussian,
a Gaussian mixture per class), interpolation, and the nearest training image of generated images.

Fitting is left to scikit-learn; what runs on tensors (encoding, decoding, nearest neighbours) stays on the
data's device, batched, without gradients.
"""
from __future__ import annotations

import copy
import time
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from .data import ImageSet
from .training import outputs


def _pixels(data: ImageSet) -> np.ndarray:
    return data.images.flatten(1).cpu().numpy().astype(np.float64) / 255


def pca_reconstruction_mse(train: ImageSet, test: ImageSet, sizes: Sequence[int]) -> list[float]:
    """Test MSE per pixel on [0, 1] of PCA fitted on `train`, for each number of components in `sizes`."""
    x_train, x_test = _pixels(train), _pixels(test)
    pca = PCA(n_components=max(sizes), svd_solver="covariance_eigh").fit(x_train)
    centred = x_test - pca.mean_
    errors = []
    for k in sizes:
        basis = pca.components_[:k]
        reconstruction = centred @ basis.T @ basis
        errors.append(float(np.mean((reconstruction - centred) ** 2)))
    return errors


# ----------------------------------------------------------------------------- encoding and decoding


def encode(encoder: nn.Module | Callable[[torch.Tensor], torch.Tensor], data: ImageSet, *, mean: float,
           std: float, batch_size: int = 2000) -> torch.Tensor:
    """`encoder(normalized images)` for every image of `data`, in order: batched, on the data's device, in
    eval mode, without gradients. Any module mapping [B, 1, 28, 28] to [B, ...] serves (its output is flattened)."""
    module = encoder if isinstance(encoder, nn.Module) else _Wrapped(encoder)
    return outputs(module, data, lambda m, x: m(x).flatten(1), mean=mean, std=std, batch_size=batch_size)


class _Wrapped(nn.Module):
    """A plain function as a module, so `outputs` can put it in eval mode and on the device."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def decode(decoder: nn.Module, codes: torch.Tensor | np.ndarray, *, device: torch.device | str,
           batch_size: int = 2000) -> torch.Tensor:
    """Images on [0, 1] ([N, 1, 28, 28], float) decoded from `codes`, batched on `device`, without gradients."""
    codes = torch.as_tensor(codes, dtype=torch.float32, device=device)
    decoder.to(device).eval()
    with torch.inference_mode():
        return torch.cat([decoder(chunk).float() for chunk in codes.split(batch_size)])


# ----------------------------------------------------------------------------- 2-D maps


def embed_2d(features: np.ndarray, method: str, *, seed: int, pca_dims: int = 50,
             perplexity: float = 30.0) -> tuple[np.ndarray, float]:
    """2-D coordinates of every row and the seconds they took. `"pca"`: the first two principal components;
    `"tsne"`: scikit-learn's t-SNE (seeded, all CPU cores) on a `pca_dims`-component PCA of the features."""
    features = np.asarray(features, dtype=np.float32)
    start = time.perf_counter()
    if method == "pca":
        coords = PCA(n_components=2, random_state=seed).fit_transform(features)
    elif method == "tsne":
        reduced = features
        if features.shape[1] > pca_dims:
            reduced = PCA(n_components=pca_dims, random_state=seed).fit_transform(features)
        coords = TSNE(n_components=2, perplexity=min(perplexity, (len(features) - 1) / 3), init="pca",
                      random_state=seed, n_jobs=-1).fit_transform(reduced)
    else:
        raise ValueError(f"Unknown map {method!r}; choose 'pca' or 'tsne'.")
    return coords.astype(np.float32), time.perf_counter() - start


# ----------------------------------------------------------------------------- structure measures


def structure(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray, *,
              seed: int, silhouette_sample: int = 2000, k: int = 5, max_iter: int = 1000) -> dict:
    """How well a representation separates the classes, all with scikit-learn:
    - `knn_accuracy`: k-NN (k = 5) fitted on the training codes, scored on the test codes;
    - `silhouette`: silhouette score of the test codes against their true classes, on a seeded sample of
      `silhouette_sample` codes (all of them when fewer);
    - `linear_probe_accuracy`: logistic regression on standardized codes, every training label, scored on test.
    """
    train, test = np.asarray(train, dtype=np.float32), np.asarray(test, dtype=np.float32)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    knn = KNeighborsClassifier(n_neighbors=k).fit(train, train_labels)
    sample = min(silhouette_sample, len(test))
    silhouette = silhouette_score(test, test_labels, sample_size=sample if sample < len(test) else None,
                                  random_state=seed)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter)).fit(train, train_labels)
    return {"knn_accuracy": float(knn.score(test, test_labels)), "silhouette": float(silhouette),
            "silhouette_sample": sample, "linear_probe_accuracy": float(probe.score(test, test_labels)),
            "dims": int(train.shape[1])}


# ----------------------------------------------------------------------------- sampling codes


def fit_gaussian(codes: np.ndarray, *, seed: int) -> GaussianMixture:
    """One full-covariance Gaussian over all codes (a one-component mixture, so it samples like the others)."""
    return GaussianMixture(n_components=1, covariance_type="full", random_state=seed).fit(np.asarray(codes))


def fit_class_mixtures(codes: np.ndarray, labels: np.ndarray, *, components: int = 3,
                       seed: int) -> dict[int, GaussianMixture]:
    """A full-covariance Gaussian mixture per class, fitted on that class's codes only (seeded)."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    return {int(c): GaussianMixture(n_components=components, covariance_type="full", random_state=seed + int(c))
            .fit(codes[labels == c]) for c in np.unique(labels)}


def sample(mixture: GaussianMixture, n: int, *, seed: int) -> np.ndarray:
    """`n` codes drawn by scikit-learn from a fitted mixture with `seed` (the fitted mixture is left unchanged),
    in a seeded random order (scikit-learn returns them grouped by component)."""
    drawn, _ = copy.copy(mixture).set_params(random_state=seed).sample(n)
    return drawn[np.random.default_rng(seed).permutation(n)].astype(np.float32)


def sample_classes(mixtures: dict[int, GaussianMixture], per_class: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` codes from each class's mixture, ordered by class, and the class each was drawn for."""
    codes = [sample(mixture, per_class, seed=seed + c) for c, mixture in sorted(mixtures.items())]
    labels = np.repeat(sorted(mixtures), per_class)
    return np.concatenate(codes), labels


# ----------------------------------------------------------------------------- paths and neighbours


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` points on the straight line from `a` to `b`, both ends included exactly ([steps, *a.shape]).

    Linear, not spherical: spherical interpolation keeps the norm of codes drawn from a high-dimensional
    standard Gaussian (a VAE's prior), whose mass sits on a shell; an autoencoder's codes have no such
    shell, so the straight line stays among codes the decoder has seen."""
    if steps < 2:
        raise ValueError(f"interpolate needs steps >= 2 (both ends), got {steps}.")
    t = torch.linspace(0, 1, steps, device=a.device, dtype=torch.float32).view(-1, *([1] * a.dim()))
    return (1 - t) * a.float() + t * b.float()


def nearest(queries: torch.Tensor, reference: torch.Tensor, *, batch_size: int = 256) -> tuple[torch.Tensor,
                                                                                                 torch.Tensor]:
    """For each query image, the index of the nearest reference image and the squared pixel distance (mean over
    pixels, on [0, 1]); both on the reference's device, a batch of queries against the whole reference at a time
    (batch_size x len(reference) distances: 61 MB for 256 queries against 60,000 images)."""
    ref = _flat01(reference)
    with torch.inference_mode():
        found = [torch.cdist(q, ref).min(1) for q in _flat01(queries).to(ref.device).split(batch_size)]
    return torch.cat([f.indices for f in found]), torch.cat([f.values for f in found]).pow(2) / ref.shape[1]


def _flat01(images: torch.Tensor) -> torch.Tensor:
    """Images as float rows on [0, 1] (uint8 images are divided by 255)."""
    x = images.flatten(1).float()
    return x / 255 if images.dtype == torch.uint8 else x
