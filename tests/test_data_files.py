"""Loading: the real files, tiny files written here, and every way a file can be wrong."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import data
from tests.conftest import write_idx


def test_real_fashion_mnist_loads_whole_splits(real_root):
    train = data.load_dataset("FashionMNIST", train=True, root=real_root)
    test = data.load_dataset("FashionMNIST", train=False, root=real_root)
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28)
    assert train.labels.dtype == torch.int64
    assert torch.bincount(train.labels).tolist() == [6000] * 10
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    assert train.labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    mean, std = data.pixel_stats(train.images)
    assert mean == pytest.approx(0.2860, abs=1e-4) and std == pytest.approx(0.3530, abs=1e-4)


def test_real_mnist_loads(real_root):
    test = data.load_dataset("MNIST", train=False, root=real_root)
    assert test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]
    assert not test.mirror and data.load_dataset("FashionMNIST", train=False, root=real_root).mirror  # no flip of 2s


def test_tiny_good_files_load_exactly(tiny_root):
    root, images, labels = tiny_root
    loaded = data.load_dataset("FashionMNIST", train=True, root=root, verify=False)
    assert torch.equal(loaded.images[:, 0], torch.from_numpy(images))
    assert torch.equal(loaded.labels, torch.from_numpy(labels).long())


def test_unofficial_files_fail_the_checksum(tiny_root):
    root, _, _ = tiny_root
    with pytest.raises(data.DataError, match="md5 differs from the official"):
        data.load_dataset("FashionMNIST", train=True, root=root)


def test_truncated_file_is_rejected(tiny_root):
    root, _, _ = tiny_root
    path = root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DataError, match=r"truncated: its header promises 30 items") as err:
        data.load_dataset("FashionMNIST", train=True, root=root, verify=False)
    assert str(path) in str(err.value)


def test_file_shorter_than_its_header_is_rejected(tiny_root):
    root, _, _ = tiny_root
    path = root / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(data.DataError, match="shorter than its 8-byte header"):
        data.load_dataset("FashionMNIST", train=True, root=root, verify=False)


def test_wrong_magic_number_is_rejected(tiny_root):
    root, _, _ = tiny_root
    path = root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    content = bytearray(path.read_bytes())
    content[3] = 0x01  # now claims to be a 1-d label file
    path.write_bytes(bytes(content))
    with pytest.raises(data.DataError, match="magic number 0x00000801, expected 0x00000803"):
        data.load_dataset("FashionMNIST", train=True, root=root, verify=False)


def test_missing_files_give_one_clear_message(tmp_path):
    with pytest.raises(data.DataError) as err:
        data.load_dataset("FashionMNIST", train=True, root=tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert all(name in message for name in data.split_files(True) + data.split_files(False))
    assert "HW2_DATA" in message


def test_labels_out_of_range_are_rejected(tiny_root):
    root, images, labels = tiny_root
    write_idx(root / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte", np.where(labels == 3, 12, labels))
    with pytest.raises(data.DataError, match="labels outside 0..9"):
        data.load_dataset("FashionMNIST", train=True, root=root, verify=False)


def test_image_and_label_counts_must_match(tiny_root):
    root, _, labels = tiny_root
    write_idx(root / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte", labels[:20])
    with pytest.raises(data.DataError, match="30 images but 20 labels"):
        data.load_dataset("FashionMNIST", train=True, root=root, verify=False)


def _copy_files(real_root: Path, tmp_path: Path, suffix: str = "") -> Path:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.split_files(True) + data.split_files(False):
        shutil.copy(real_root / "FashionMNIST" / "raw" / f"{name}{suffix}", raw)
    return raw


def test_corrupted_official_file_is_detected(real_root, tmp_path):
    raw = _copy_files(real_root, tmp_path)
    path = raw / "t10k-images-idx3-ubyte"
    content = bytearray(path.read_bytes())
    content[5000] ^= 0xFF  # one flipped pixel: size and header still look right
    path.write_bytes(bytes(content))
    with pytest.raises(data.DataError, match="is corrupted"):
        data.load_dataset("FashionMNIST", train=False, root=tmp_path)


def test_gz_files_alone_are_unpacked_and_loaded(real_root, tmp_path):
    raw = _copy_files(real_root, tmp_path, suffix=".gz")
    loaded = data.load_dataset("FashionMNIST", train=False, root=tmp_path, download=False)
    reference = data.load_dataset("FashionMNIST", train=False, root=real_root)
    assert (raw / "t10k-images-idx3-ubyte").is_file()
    assert torch.equal(loaded.images, reference.images) and torch.equal(loaded.labels, reference.labels)


def test_corrupted_gz_file_is_detected(real_root, tmp_path):
    raw = _copy_files(real_root, tmp_path, suffix=".gz")
    path = raw / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz is corrupted"):
        data.load_dataset("FashionMNIST", train=False, root=tmp_path, download=False)


def test_unknown_dataset_name_is_rejected():
    with pytest.raises(data.DataError, match="choose one of FashionMNIST, MNIST"):
        data.load_dataset("CIFAR10")


def test_a_cached_run_of_one_data_set_is_never_reused_for_the_other(real_root, tmp_path, capsys):
    from helpers.config import PROFILES
    from helpers.models import AEConfig, AutoEncoder
    from helpers.training import TrainSpec, reconstruction_loss, train_model

    smoke, spec = PROFILES["smoke"], TrainSpec(epochs=1, batch_size=32, seed=0)
    said = {}
    for folder in ("FashionMNIST", "MNIST", "FashionMNIST"):
        splits = data.study_splits(smoke, "cpu", folder, root=real_root)
        train, val = (part.subset(range(64)) for part in (splits.train, splits.val))
        train_model(lambda: AutoEncoder(AEConfig(latent_dim=4, channels=(4, 8))), reconstruction_loss, train, val,
                    spec, model_key=("same model",), run_dir=tmp_path, desc="the same run", mean=splits.mean,
                    std=splits.std, progress=False)
        said.setdefault(folder, []).append(capsys.readouterr().out)
    assert len(list((tmp_path / "runs").glob("the-same-run-*.pt"))) == 2  # one checkpoint per data set
    assert "trained 1 epoch" in said["MNIST"][0]  # not Fashion-MNIST's run reused
    assert "reused" in said["FashionMNIST"][1]  # while the same data set's run is
