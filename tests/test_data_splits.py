"""Splits, balanced subsets, the batch iterator and batched augmentation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import config, data

LABELS = np.repeat(np.arange(10), 500)  # 5,000 labels, 500 per class
np.random.default_rng(1).shuffle(LABELS)


def test_train_val_split_is_stratified_disjoint_and_seeded():
    train, val = data.train_val_split(LABELS, 0.2, seed=3)
    assert len(train) == 4000 and len(val) == 1000
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(LABELS)))
    assert np.bincount(LABELS[val]).tolist() == [100] * 10
    again, _ = data.train_val_split(LABELS, 0.2, seed=3)
    other, _ = data.train_val_split(LABELS, 0.2, seed=4)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


@pytest.mark.parametrize("k", [2, 5])
def test_kfold_covers_every_index_exactly_once(k):
    folds = data.kfold_splits(torch.as_tensor(LABELS), k, seed=0)
    assert len(folds) == k
    held_out = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(held_out), np.arange(len(LABELS)))
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0 and len(train) + len(val) == len(LABELS)
        assert np.bincount(LABELS[val]).tolist() == [500 // k] * 10


def test_kfold_rejects_k_below_two():
    with pytest.raises(ValueError, match="k >= 2"):
        data.kfold_splits(LABELS, 1, seed=0)


@pytest.mark.parametrize("n", [100, 600, 1000, 3000])
def test_balanced_subset_has_equal_class_counts(n):
    index = data.balanced_subset(LABELS, n, seed=0)
    assert len(np.unique(index)) == n
    assert np.bincount(LABELS[index], minlength=10).tolist() == [n // 10] * 10
    assert np.array_equal(index, data.balanced_subset(LABELS, n, seed=0))
    assert not np.array_equal(index, data.balanced_subset(LABELS, n, seed=1))


def test_balanced_subset_spreads_a_remainder_and_rejects_too_many():
    counts = np.bincount(LABELS[data.balanced_subset(LABELS, 105, seed=0)], minlength=10)
    assert counts.sum() == 105 and set(counts.tolist()) == {10, 11}
    with pytest.raises(ValueError, match="the split has 5000"):
        data.balanced_subset(LABELS, 6000, seed=0)
    scarce = np.concatenate([np.zeros(5, dtype=int), np.ones(50, dtype=int)])  # class 0 has 5 examples
    with pytest.raises(ValueError, match="10 examples of class 0 but the split has only 5"):
        data.balanced_subset(scarce, 20, seed=0)


def _numbered_set(n: int) -> data.ImageSet:
    """Images whose first pixel and label both carry the image's index (mod 256 / exact)."""
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(n) % 256
    return data.ImageSet(images, torch.arange(n), tuple(str(i) for i in range(10)))


def test_batches_cover_each_example_once_and_keep_the_last_partial_batch():
    batches = data.Batches(_numbered_set(103), 10, seed=0)
    assert len(batches) == 11
    epoch = list(batches)
    assert [len(b.labels) for b in epoch] == [10] * 10 + [3]
    seen = torch.cat([b.labels for b in epoch])
    assert torch.equal(seen.sort().values, torch.arange(103))
    first_pixels = torch.cat([b.images[:, 0, 0, 0] for b in epoch]) * 255
    assert torch.allclose(first_pixels, (seen % 256).float())  # images travel with their labels
    assert not torch.equal(seen, torch.cat([b.labels for b in batches]))  # reshuffled next epoch


def test_batches_drop_last_and_unshuffled_order():
    assert [len(b.labels) for b in data.Batches(_numbered_set(103), 10, drop_last=True)] == [10] * 10
    ordered = torch.cat([b.labels for b in data.Batches(_numbered_set(25), 10, shuffle=False)])
    assert torch.equal(ordered, torch.arange(25))


def test_batches_normalize_inputs_and_keep_clean_targets():
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    dataset = data.ImageSet(images, torch.zeros(64, dtype=torch.long), ("a",))
    batch = next(iter(data.Batches(dataset, 64, shuffle=False, mean=0.3, std=0.4)))
    assert torch.allclose(batch.images, images.float() / 255)
    assert torch.allclose(batch.inputs, (images.float() / 255 - 0.3) / 0.4)
    noisy = next(iter(data.Batches(dataset, 64, shuffle=False, augment=data.Augment(noise=0.5))))
    assert torch.allclose(noisy.images, images.float() / 255)  # the target stays clean
    assert not torch.allclose(noisy.inputs, noisy.images)
    assert noisy.inputs.min() >= 0 and noisy.inputs.max() <= 1


def test_empty_set_and_bad_batch_size_are_rejected():
    empty = data.ImageSet(torch.zeros(0, 1, 28, 28, dtype=torch.uint8), torch.zeros(0, dtype=torch.long), ())
    with pytest.raises(ValueError, match="empty"):
        data.Batches(empty, 10)
    with pytest.raises(ValueError, match="batch_size"):
        data.Batches(_numbered_set(5), 0)


def _random_batch() -> torch.Tensor:
    return torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))


FULL = data.Augment(flip=True, rotate=10.0, shift=2.0, noise=0.2)


def test_augment_keeps_shape_dtype_range_and_is_seeded():
    x = _random_batch()
    out = data.augment(x, FULL, torch.Generator().manual_seed(7))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    again = data.augment(x, FULL, torch.Generator().manual_seed(7))
    other = data.augment(x, FULL, torch.Generator().manual_seed(8))
    assert torch.equal(out, again) and not torch.allclose(out, other)
    noisy = data.add_noise(x, 0.5, torch.Generator().manual_seed(0))
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.allclose(noisy, x)


def test_flip_alone_gives_each_image_or_its_mirror_exactly():
    x = _random_batch()
    out = data.augment(x, data.Augment(flip=True), torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and same.any() and mirrored.any()


def test_zero_rotation_and_shift_is_the_identity():
    x = _random_batch()
    assert torch.equal(data.augment(x, data.Augment(), torch.Generator()), x)


def test_shift_moves_images_by_whole_pixels_at_most():
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 14, 14] = 1.0
    out = data.augment(x, data.Augment(shift=2.0), torch.Generator().manual_seed(0))
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = out.sum((1, 2, 3))
    centre_r = (out[:, 0] * rows).sum((1, 2)) / mass
    centre_c = (out[:, 0] * cols).sum((1, 2)) / mass
    assert ((centre_r - 14).abs() <= 2.01).all() and ((centre_c - 14).abs() <= 2.01).all()
    assert ((centre_r - 14).abs() + (centre_c - 14).abs()).max() > 0.2  # it did move


@pytest.mark.parametrize("field, value", [("rotate", -1.0), ("shift", 20.0), ("noise", 1.5)])
def test_augment_rejects_out_of_range_values(field, value):
    with pytest.raises(ValueError, match=f"Augment.{field}"):
        data.Augment(**{field: value})


def test_study_splits_follow_the_smoke_profile(real_root):
    profile = config.PROFILES["smoke"]
    splits = data.study_splits(profile, "cpu", root=real_root)
    assert len(splits.train) + len(splits.val) == profile.train_limit
    assert len(splits.val) == int(profile.train_limit * profile.val_fraction)
    assert len(splits.test) == profile.test_limit
    for part in (splits.train, splits.val, splits.test):
        counts = torch.bincount(part.labels, minlength=10)
        assert counts.max() - counts.min() <= 1
    assert 0.25 < splits.mean < 0.32 and 0.32 < splits.std < 0.38


def test_digits_are_never_flipped_while_clothing_keeps_its_recipes():
    from helpers.data import Augment, ImageSet, Views, fitted
    from helpers.training import TrainSpec, as_trained

    images, labels = torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4)
    clothing, digits = ImageSet(images, labels, ("a",) * 4), ImageSet(images, labels, ("a",) * 4, mirror=False)
    aug, views = Augment(flip=True, shift=2.0), Views()
    assert fitted(aug, clothing) is aug and fitted(views, clothing) is views  # the same objects: same cache keys
    assert fitted(aug, digits) == Augment(flip=False, shift=2.0) and not fitted(views, digits).flip
    assert fitted(None, digits) is None and digits.subset([0, 1]).mirror is False and not digits.to("cpu").mirror
    spec = TrainSpec(epochs=1, augment=aug)
    assert as_trained(spec, clothing) is spec and as_trained(spec, digits).augment == fitted(aug, digits)
    assert data.Batches(digits, 2, augment=aug).augment.flip is False
