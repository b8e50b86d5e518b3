"""Section 7's library layer: the classifier-feature Frechet distance and k-NN precision / recall on made-up
features where the answer is known."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import linalg

from helpers import quality


def test_frechet_distance_matches_the_closed_form_for_two_gaussians():
    rng = np.random.default_rng(0)
    cov_a = np.diag([1.0, 2.0, 0.5])
    cov_b = np.array([[1.5, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.8]])
    a = rng.multivariate_normal([0.0, 0.0, 0.0], cov_a, size=200000)
    b = rng.multivariate_normal([1.0, -1.0, 0.5], cov_b, size=200000)
    exact = 1.0 + 1.0 + 0.25 + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert quality.frechet_distance(a, b) == pytest.approx(exact, rel=0.02)
    assert quality.frechet_distance(a[:100000], a[100000:]) < 0.01  # two samples of one distribution
    with pytest.raises(ValueError, match="same D"):
        quality.frechet_distance(a[:, :2], b)


def test_precision_and_recall_separate_fidelity_from_coverage():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4, 6) * 10
    real = centres[torch.arange(2000) % 4] + torch.randn(2000, 6, generator=g)
    one_mode = centres[torch.zeros(500, dtype=torch.long)] + torch.randn(500, 6, generator=g)
    found = quality.precision_recall(real, one_mode, k=3)
    assert found["precision"] > 0.8 and found["recall"] < 0.35  # faithful but covers one mode of four
    noise = torch.randn(500, 6, generator=g) * 20
    assert quality.precision_recall(real, noise, k=3)["precision"] < 0.2  # far from the real manifold
    same = quality.precision_recall(real[:1000], real[1000:], k=3)
    assert same["precision"] > 0.8 and same["recall"] > 0.8


def test_entropy_is_zero_for_certain_and_log_classes_for_uniform_predictions():
    assert quality.entropy(torch.eye(10)) == pytest.approx(0.0, abs=1e-6)
    assert quality.entropy(torch.full((3, 10), 0.1)) == pytest.approx(math.log(10), abs=1e-6)
