"""The autoencoder section's helpers: PCA reference, example picking, denoising scores, summaries."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from helpers import autoencoder as ae, data, training
from helpers.models import AEConfig


def _set(n: int, seed: int) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 7, 1, 3)
    return data.ImageSet((images * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


def test_pca_error_matches_a_separate_fit_and_falls_with_size():
    train, test = _set(300, 0), _set(100, 1)
    errors = dict(zip([2, 8, 32], ae.pca_reconstruction_mse(train, test, [2, 8, 32])))
    assert errors[2] > errors[8] > errors[32] > 0
    x_train = train.images.flatten(1).numpy().astype(np.float64) / 255
    x_test = test.images.flatten(1).numpy().astype(np.float64) / 255
    single = PCA(n_components=8, svd_solver="full").fit(x_train)
    expected = np.mean((single.inverse_transform(single.transform(x_test)) - x_test) ** 2)
    assert errors[8] == pytest.approx(expected, rel=1e-4)


def test_section_helpers_on_a_short_run():
    train, val, test = _set(200, 0), _set(50, 1), _set(50, 2)
    splits = data.Splits(train, val, test, 0.3, 0.3)
    runs = ae.compare({"a": (AEConfig(channels=(8,), latent_dim=4), training.TrainSpec(epochs=2, batch_size=50)),
                       "b": (AEConfig(channels=(8,), latent_dim=8), training.TrainSpec(epochs=1, batch_size=50))},
                      splits, train)
    rows = ae.summary(runs, splits, train)
    assert rows["a"]["epochs"] == 2 and rows["b"]["epochs"] == 1
    assert rows["a"]["gap"] == pytest.approx(rows["a"]["val_mse"] - rows["a"]["train_mse"])
    assert rows["a"]["val_mse"] == pytest.approx(runs["a"].history.rows[-1]["val_loss"], rel=1e-5)
    assert ae.summary_table(rows).count("\n") == 3
    scores = ae.denoising(runs["a"].model, test, splits, noise=0.3, seed=0)
    assert 5 < scores["psnr_noisy"] < 20 and np.isfinite(scores["psnr_denoised"])
    noisy, denoised, clean = ae.noisy_triplets(runs["a"].model, test.subset(np.arange(5)), splits, 0.3, seed=0)
    assert noisy.shape == denoised.shape == clean.shape == (5, 1, 28, 28)
    assert not torch.allclose(noisy, clean) and torch.allclose(clean, test.images[:5].float() / 255)
