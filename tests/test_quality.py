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


def test_frechet_distance_is_zero_for_identical_sets_even_when_they_are_singular():
    x = np.random.default_rng(1).normal(size=(500, 8))
    assert quality.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    few = np.random.default_rng(2).normal(size=(20, 64))  # fewer rows than dimensions: singular covariances
    assert quality.frechet_distance(few, few) == pytest.approx(0.0, abs=1e-3)


def test_precision_and_recall_are_one_for_identical_sets_and_fall_for_a_shifted_one():
    real = torch.randn(800, 5, generator=torch.Generator().manual_seed(3))
    same = quality.precision_recall(real, real.clone(), k=3)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    shifted = quality.precision_recall(real, real + 3.0, k=3)
    assert shifted["precision"] < 0.3 and shifted["recall"] < 0.3


def _toy_embedding(images: torch.Tensor):
    """Features: the mean of each 7x7 block (16 numbers); probabilities: a fixed linear map of them."""
    x = quality.to_uint8(images).float().div(255)
    feats = torch.nn.functional.avg_pool2d(x, 7).flatten(1)
    probs = (feats @ torch.linspace(-1, 1, 16 * 10).view(16, 10) * 5).softmax(1)
    return feats.numpy(), probs


def test_the_scorer_ranks_real_images_above_noise_and_counts_copies():
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 28, 28, generator=g), 3, 1, 1)
    def real_like(n):  # noisy variations of one smooth image
        return (base + 0.1 * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)
    test, train, val = real_like(600), quality.to_uint8(real_like(600)), real_like(300)
    scorer = quality.Scorer(_toy_embedding, test, train, n=300, seed=0)
    sets = quality.references(quality.to_uint8(val), train, 300, seed=0)
    sets["blank generator"] = torch.zeros(300, 1, 28, 28)
    scores = {name: scorer.score(images) for name, images in sets.items()}
    assert quality.ranked(scores)[0] in (quality.REAL, quality.TRAIN) and quality.ranked(scores)[-1] in (
        quality.NOISE, "blank generator")
    assert scores[quality.TRAIN]["copies"] == 300 and scores[quality.REAL]["copies"] == 0
    assert scores[quality.TRAIN]["nearest_train_mse"] == pytest.approx(0.0, abs=1e-6)
    labelled = scorer.score(sets[quality.REAL], intended=torch.full((300,), 3))
    assert 0.0 <= labelled["recognised"] <= 1.0
    found = quality.metrics(scores, ["blank generator"])
    assert found["sets"]["real_held_out_images"]["reference"] and not found["sets"]["blank_generator"]["reference"]
    assert found["floor_best"] and "Measured:" in quality.findings(scores, ["blank generator"])
    assert "(floor)" in quality.table(scores)
