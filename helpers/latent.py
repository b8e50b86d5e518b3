"""The latent space and its linear reference: PCA reconstruction at given code sizes."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.decomposition import PCA

from .data import ImageSet


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
