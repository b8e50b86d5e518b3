"""The latent-space helpers (section 4's library layer): encoding, structure measures, samplers over codes,
interpolation, nearest neighbours and 2-D maps, on made-up data where the right answer is known."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import data, latent
from helpers.models import AEConfig, AutoEncoder


def _images(n: int, seed: int = 0) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)
    return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))


def _blobs(n_per_class: int, spread: float, seed: int, dims: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes around well separated centres (spread small) or on top of each other (spread large)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(10, dims) * 10 if dims >= 10 else rng.normal(0, 10, (10, dims))
    labels = np.repeat(np.arange(10), n_per_class)
    return (centres[labels] + rng.normal(0, spread, (len(labels), dims))).astype(np.float32), labels


def test_batched_encoding_equals_one_forward_pass():
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=6)).eval()
    images = _images(50)
    codes = latent.encode(model.encoder, images, mean=0.3, std=0.3, batch_size=7)
    with torch.no_grad():
        reference = model.encoder((images.images.float() / 255 - 0.3) / 0.3)
    assert codes.shape == (50, 6) and torch.allclose(codes, reference, atol=1e-5)


def test_knn_is_perfect_on_separated_codes_and_near_chance_on_random_ones():
    x, y = _blobs(40, 0.1, seed=0, dims=10)
    xt, yt = _blobs(20, 0.1, seed=1, dims=10)
    separated = latent.structure(x, y, xt, yt, seed=0)
    assert separated["knn_accuracy"] == 1.0 and separated["linear_probe_accuracy"] == 1.0
    rng = np.random.default_rng(2)
    noise = latent.structure(rng.normal(size=(400, 10)), y, rng.normal(size=(200, 10)), yt, seed=0)
    assert noise["knn_accuracy"] < 0.25  # chance is 0.1


def test_silhouette_ranks_separated_codes_above_mixed_ones_and_says_its_sample():
    x, y = _blobs(40, 0.5, seed=0)
    mixed, _ = _blobs(40, 30.0, seed=0)
    separated = latent.structure(x, y, x, y, seed=0, silhouette_sample=150)
    overlapping = latent.structure(mixed, y, mixed, y, seed=0, silhouette_sample=150)
    assert separated["silhouette"] > 0.5 > overlapping["silhouette"]
    assert separated["silhouette_sample"] == 150 and separated["dims"] == 8


def test_the_gaussian_sampler_reproduces_the_mean_and_covariance_of_the_codes():
    rng = np.random.default_rng(0)
    cov = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, -0.3], [0.0, -0.3, 0.5]])
    codes = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=4000)
    drawn = latent.sample(latent.fit_gaussian(codes, seed=0), 20000, seed=1)
    assert np.allclose(drawn.mean(0), codes.mean(0), atol=0.04)  # the codes' own moments, not the generator's
    assert np.allclose(np.cov(drawn.T), np.cov(codes.T), atol=0.06)
    assert np.array_equal(drawn, latent.sample(latent.fit_gaussian(codes, seed=0), 20000, seed=1))  # seeded


def test_per_class_mixture_samples_fall_near_their_class():
    x, y = _blobs(60, 0.3, seed=0, dims=10)
    mixtures = latent.fit_class_mixtures(x, y, components=2, seed=0)
    codes, labels = latent.sample_classes(mixtures, 25, seed=3)
    assert codes.shape == (250, 10) and list(labels) == list(np.repeat(np.arange(10), 25))
    centres = np.stack([x[y == c].mean(0) for c in range(10)])
    closest = np.linalg.norm(codes[:, None] - centres[None], axis=2).argmin(1)
    assert (closest == labels).all()


def test_interpolation_ends_are_its_inputs():
    a, b = torch.randn(32), torch.randn(32)
    path = latent.interpolate(a, b, 10)
    assert path.shape == (10, 32) and torch.equal(path[0], a) and torch.equal(path[-1], b)
    assert torch.allclose(path[5] - path[4], (b - a) / 9, atol=1e-6)
    with pytest.raises(ValueError, match="steps >= 2"):
        latent.interpolate(a, b, 1)


def test_nearest_neighbours_match_a_brute_force_search():
    reference = _images(300, seed=0).images
    queries = torch.rand(37, 1, 28, 28)
    index, distance = latent.nearest(queries, reference, batch_size=16)
    r = reference.flatten(1).double() / 255
    q = queries.flatten(1).double()
    brute = ((q[:, None] - r[None]) ** 2).mean(2)
    assert torch.equal(index, brute.argmin(1))
    assert torch.allclose(distance.double(), brute.min(1).values, atol=1e-5)
    same, zero = latent.nearest(reference[:5], reference)  # a training image is its own nearest, at distance 0
    assert same.tolist() == [0, 1, 2, 3, 4] and torch.all(zero < 1e-6)


def test_decoding_is_batched_and_gives_images_on_the_unit_interval():
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=6))
    codes = np.random.default_rng(0).normal(size=(23, 6)).astype(np.float32)
    images = latent.decode(model.decoder, codes, device="cpu", batch_size=5)
    with torch.no_grad():
        reference = model.decoder.eval()(torch.from_numpy(codes))
    assert images.shape == (23, 1, 28, 28) and torch.allclose(images, reference, atol=1e-6)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("method, least", [("pca", 0.5), ("tsne", 0.95)])
def test_2d_maps_are_seeded_and_keep_separated_classes_apart(method, least):
    # ten equidistant centres: a linear 2-D map must overlap some (chance is 0.1); t-SNE keeps all apart
    x, y = _blobs(30, 0.3, seed=0, dims=60)
    coords, seconds = latent.embed_2d(x, method, seed=0, pca_dims=20)
    again, _ = latent.embed_2d(x, method, seed=0, pca_dims=20)
    assert coords.shape == (300, 2) and seconds >= 0 and np.allclose(coords, again)
    assert latent.structure(coords, y, coords, y, seed=0)["knn_accuracy"] > least
    with pytest.raises(ValueError, match="choose 'pca' or 'tsne'"):
        latent.embed_2d(x, "umap", seed=0)
