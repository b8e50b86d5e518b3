"""Section 6's library layer: NT-Xent on cases computed by hand, the strong views, the k-NN monitor, and
SimCLR on the shared loop without labels."""
from __future__ import annotations

import math

import pytest
import torch

from helpers import contrastive, data
from helpers.models import AEConfig


def test_nt_xent_matches_a_hand_computation():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    t = 0.5
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1).tolist()
    partner = [2, 3, 0, 1]
    total = 0.0
    for i in range(4):
        sims = {j: sum(a * b for a, b in zip(z[i], z[j])) / t for j in range(4) if j != i}
        total += -sims[partner[i]] + math.log(sum(math.exp(v) for v in sims.values()))
    assert contrastive.nt_xent(z1, z2, t).item() == pytest.approx(total / 4, abs=1e-5)


def test_nt_xent_is_symmetric_and_lowest_for_matching_far_apart_views():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    assert contrastive.nt_xent(z1, z2, 0.5).item() == pytest.approx(contrastive.nt_xent(z2, z1, 0.5).item(), abs=1e-6)
    apart = torch.eye(8, 16) * 5  # eight orthogonal directions
    same = contrastive.nt_xent(apart, apart, 0.1).item()
    assert same < contrastive.nt_xent(apart, apart.roll(1, 0), 0.1).item()
    assert same < contrastive.nt_xent(z1, z2, 0.1).item() and same < 0.01


def test_two_views_differ_keep_shape_dtype_range_and_repeat_under_a_seed():
    x = torch.rand(16, 1, 28, 28)
    a, b = data.two_views(x, data.Views(), torch.Generator().manual_seed(3))
    again, _ = data.two_views(x, data.Views(), torch.Generator().manual_seed(3))
    assert a.shape == b.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= 0 and a.max() <= 1 and torch.equal(a, again)
    assert (a - b).abs().flatten(1).mean(1).min() > 0.01  # every image's two views differ
    with pytest.raises(ValueError, match="crop_area"):
        data.Views(crop_area=(0.0, 1.0))


def test_knn_accuracy_on_separated_and_on_random_features():
    labels = torch.arange(200) % 4
    centres = torch.eye(4, 8) * 10
    feats = centres[labels] + 0.1 * torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    assert contrastive.knn_accuracy(feats[:100], labels[:100], feats[100:], labels[100:]) == 1.0
    noise = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    assert contrastive.knn_accuracy(noise[:100], labels[:100], noise[100:], labels[100:]) < 0.5


def _images(n: int, seed: int = 0, labels: torch.Tensor | None = None) -> data.ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)
    return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10 if labels is None else labels,
                         tuple("abcdefghij"))


def test_simclr_trains_on_the_loop_without_reading_training_labels(tmp_path):
    cfg = AEConfig(channels=(8, 16), latent_dim=8)
    val = _images(40, seed=1)
    spec = contrastive.spec(epochs=2, batch_size=16, seed=0)
    runs = []
    for labels in (torch.arange(64) % 10, torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(5))):
        splits = data.Splits(_images(64, labels=labels), val, val, 0.3, 0.3)
        runs.append(contrastive.train_simclr(cfg, spec, splits))
    (a, b) = runs
    assert a.history.rows[-1]["train_loss"] == b.history.rows[-1]["train_loss"]  # other labels: same training
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert {"train_loss", "train_pair_accuracy", "knn_monitor"} <= a.history.rows[0].keys()
    assert 0.0 <= a.history.rows[-1]["knn_monitor"] <= 1.0
    assert math.isfinite(a.history.rows[-1]["train_loss"])
