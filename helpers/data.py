"""Fashion-MNIST and MNIST as device-resident uint8 tensors: loading, splits and fast batches.

Files are read through `torchvision.datasets` from `HW2_DATA` (default `./data`) in torchvision's
layout (`<root>/FashionMNIST/raw/train-images-idx3-ubyte`, ...). Before torchvision reads them each
file's header, size and (for the official files) checksum are checked, so a missing, truncated or
corrupted file fails with one message that says what is wrong and how to fix it.
"""
from __future__ import annotations

import functools
import hashlib
import math
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from sklearn.model_selection import StratifiedKFold, train_test_split
from torchvision.datasets.utils import check_integrity, extract_archive

from .config import DATASETS as COLLECTIONS, REPO_ROOT, ConfigError, Profile
from .results import markdown_table

DATA_ENV = "HW2_DATA"
DOWNLOAD_ENV = "HW2_DOWNLOAD"
DATASETS = {"FashionMNIST": torchvision.datasets.FashionMNIST, "MNIST": torchvision.datasets.MNIST}
MIRRORED = {c.folder: c.mirror for c in COLLECTIONS.values()}  # whether a horizontal flip keeps every class
IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
IMAGE_SIZE = 28

# md5 of the official uncompressed files (torchvision publishes only the .gz files' md5s, in `resources`).
OFFICIAL_MD5 = {
    "FashionMNIST": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    "MNIST": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
}


class DataError(RuntimeError):
    """A data file is missing, truncated or corrupted; the message says how to fix it."""


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ImageSet:
    """A labelled image split held as whole tensors: images uint8 [N, 1, 28, 28], labels int64 [N]; `mirror`:
    whether a horizontal flip keeps every image's class (clothing: yes; digits: no, so `fitted` drops flips)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mirror: bool = True

    def __len__(self) -> int:
        return self.labels.shape[0]

    @property
    def device(self) -> torch.device:
        return self.images.device

    def subset(self, index: np.ndarray | torch.Tensor) -> ImageSet:
        index = torch.as_tensor(index, dtype=torch.long, device=self.device)
        return ImageSet(self.images[index], self.labels[index], self.classes, self.mirror)

    def to(self, device: torch.device | str) -> ImageSet:
        return ImageSet(self.images.to(device), self.labels.to(device), self.classes, self.mirror)

    @functools.cached_property
    def digest(self) -> str:
        """Hash of the exact images and labels (computed once per set; the tensors are never changed)."""
        digest = hashlib.blake2b(digest_size=8)
        digest.update(self.labels.cpu().numpy().tobytes())
        digest.update(self.images.cpu().numpy().tobytes())
        return digest.hexdigest()


def data_root(root: str | Path | None = None) -> Path:
    """The folder holding `FashionMNIST/raw/` and `MNIST/raw/`: argument, `HW2_DATA`, or `./data`."""
    value = root or os.environ.get(DATA_ENV, "").strip()
    path = Path(value or REPO_ROOT / "data").expanduser().resolve()
    if path.exists() and not path.is_dir():
        setting = f"{DATA_ENV}={value!r}" if not root else f"The data folder {str(root)!r}"
        raise ConfigError(f"{setting} is a file, not a folder; allowed: a folder that holds FashionMNIST/raw/ "
                          f"(e.g. HW2_DATA=../shared/data), or unset for {REPO_ROOT / 'data'}.")
    return path


def download_allowed() -> bool:
    """`HW2_DOWNLOAD`: 1 or unset lets torchvision fetch missing files, 0 forbids it."""
    value = os.environ.get(DOWNLOAD_ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ConfigError(f"{DOWNLOAD_ENV}={os.environ[DOWNLOAD_ENV]!r} is not allowed; allowed: 0 (never download "
                          f"missing data files), 1 or unset (download them where the network allows).")
    return value != "0"


def split_files(train: bool) -> tuple[str, str]:
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def load_dataset(name: str = "FashionMNIST", train: bool = True, *, root: str | Path | None = None,
                 device: torch.device | str = "cpu", download: bool | None = None,
                 verify: bool = True) -> ImageSet:
    """One whole split as uint8 tensors on `device`.

    `download` (default: on unless `HW2_DOWNLOAD=0`) lets torchvision fetch missing files;
    `verify` checks the official files' checksums (turn it off only for custom idx files).
    """
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    root = data_root(root)
    if download is None:
        download = download_allowed()
    _ensure_files(name, root, download)
    raw = root / name / "raw"
    image_file, label_file = split_files(train)
    n_images = _check_idx(raw / image_file, IMAGE_MAGIC, name, verify)
    n_labels = _check_idx(raw / label_file, LABEL_MAGIC, name, verify)
    if n_images != n_labels:
        raise DataError(f"{raw} holds {n_images} images but {n_labels} labels for the same split; "
                        f"the files belong to different datasets. Replace them with a matching set.")
    dataset = DATASETS[name](str(root), train=train, download=False)
    classes = tuple(dataset.classes)
    labels = dataset.targets.long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(f"{raw / label_file} holds labels outside 0..{len(classes) - 1}; "
                        f"the file is corrupted. Replace it with the official file.")
    images = dataset.data.unsqueeze(1).contiguous()
    return ImageSet(images, labels, classes, MIRRORED[name]).to(device)


def _ensure_files(name: str, root: Path, download: bool) -> None:
    """Make sure all four uncompressed files exist (torchvision wants both splits): unpack or download."""
    raw = root / name / "raw"
    needed = split_files(True) + split_files(False)
    missing = [f for f in needed if not (raw / f).is_file()]
    if not missing:
        return
    gz_md5 = dict(DATASETS[name].resources)
    if all((raw / f"{f}.gz").is_file() for f in missing):
        for f in missing:
            _gunzip_checked(raw / f"{f}.gz", gz_md5[f"{f}.gz"])
        return
    reason = "downloading is switched off (HW2_DOWNLOAD=0)"
    if download:
        try:
            DATASETS[name](str(root), download=True)
            return
        except Exception as err:  # torchvision raises RuntimeError/URLError/OSError when offline
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            reason = f"the download failed ({(lines or [type(err).__name__])[-1][:160]})"
    raise DataError(
        f"{name} data not found: {raw} lacks {', '.join(missing)}, and {reason}. "
        f"Expected in that folder: {', '.join(needed)} (each may also be its official .gz). "
        f"Fix: set {DATA_ENV} to a folder that holds {name}/raw/ with these files "
        f"(e.g. HW2_DATA=../shared/data), or run once with network access so torchvision downloads them."
    )


def _gunzip_checked(gz: Path, md5: str) -> None:
    if not check_integrity(gz, md5):
        raise DataError(f"{gz} is corrupted: its md5 differs from the official {md5}. "
                        f"Delete it and copy or download the official file again.")
    # unpacked aside, then moved in whole: torchvision writes in place (a kill would leave half a file)
    with tempfile.TemporaryDirectory(dir=gz.parent) as unpacked:
        os.replace(extract_archive(gz, unpacked), gz.with_suffix(""))  # returns the unpacked file


def _check_idx(path: Path, magic: int, dataset: str, verify: bool) -> int:
    """Check an idx file's header, size and (official files) checksum; return its item count."""
    fix = "Delete it and copy or download the official file again."
    ndim = magic & 0xFF
    header_size = 4 * (ndim + 1)
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(header_size)
    if len(header) < header_size:
        raise DataError(f"{path} is truncated: {size} bytes, shorter than its {header_size}-byte header. {fix}")
    found = int.from_bytes(header[:4], "big")
    if found != magic:
        raise DataError(f"{path} is not an idx {'image' if ndim == 3 else 'label'} file: magic number "
                        f"0x{found:08x}, expected 0x{magic:08x}. {fix}")
    dims = [int.from_bytes(header[4 * i:4 * i + 4], "big") for i in range(1, ndim + 1)]
    if dims[1:] not in ([], [IMAGE_SIZE, IMAGE_SIZE]):
        raise DataError(f"{path} holds images of {dims[1]}x{dims[2]} pixels, expected "
                        f"{IMAGE_SIZE}x{IMAGE_SIZE}. {fix}")
    expected_size = header_size + math.prod(dims)
    if size != expected_size:
        kind = "truncated" if size < expected_size else "longer than its header says"
        raise DataError(f"{path} is {kind}: its header promises {dims[0]} items ({expected_size:,} bytes) "
                        f"but the file has {size:,} bytes. {fix}")
    official = OFFICIAL_MD5[dataset].get(path.name)
    if verify and official and not check_integrity(path, official):
        raise DataError(f"{path} is corrupted: its md5 differs from the official file's ({official}). "
                        f"{fix} (For your own idx files, load with verify=False.)")
    return dims[0]


def fingerprint(data: ImageSet) -> str:
    """A hash of the exact images and labels, so a stored result is reused only for the same data."""
    return data.digest


def pixel_stats(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of uint8 images on the [0, 1] scale."""
    x = images.float().div_(255)
    return x.mean().item(), x.std().item()


def nearest(queries: torch.Tensor, reference: torch.Tensor, *, batch_size: int = 256) -> tuple[torch.Tensor,
                                                                                                 torch.Tensor]:
    """For each query image, the index of the nearest reference image and the squared pixel distance (mean over
    pixels, on [0, 1]); both on the reference's device, a batch of queries against the whole reference at a time
    (batch_size x len(reference) distances: 61 MB for 256 queries against 60,000 images)."""
    ref = _flat01(reference)
    with torch.inference_mode():
        found = [torch.cdist(q, ref).min(1) for q in _flat01(queries).to(ref.device).split(batch_size)]
    return torch.cat([f.indices for f in found]), torch.cat([f.values for f in found]).pow(2) / ref.shape[1]


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images on [0, 1] (float) as uint8, rounded: the form every real image of the study has (uint8 unchanged)."""
    return images if images.dtype == torch.uint8 else images.float().clamp(0, 1).mul(255).round().to(torch.uint8)


def _flat01(images: torch.Tensor) -> torch.Tensor:
    """Images as float rows on [0, 1] (uint8 images are divided by 255)."""
    x = images.flatten(1).float()
    return x / 255 if images.dtype == torch.uint8 else x


# ----------------------------------------------------------------------------- splits


def _numpy_labels(labels: torch.Tensor | np.ndarray) -> np.ndarray:
    return labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)


def train_val_split(labels: torch.Tensor | np.ndarray, val_fraction: float,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split into sorted train and validation indices."""
    y = _numpy_labels(labels)
    train, val = train_test_split(np.arange(len(y)), test_size=val_fraction, stratify=y, random_state=seed)
    return np.sort(train), np.sort(val)


def kfold_splits(labels: torch.Tensor | np.ndarray, k: int,
                 seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled, seeded k-fold: (train, validation) index pairs."""
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}.")
    y = _numpy_labels(labels)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.sort(tr), np.sort(va)) for tr, va in folds.split(np.zeros(len(y)), y)]


def balanced_subset(labels: torch.Tensor | np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of `n` examples, as equal per class as possible (seeded draw)."""
    y = _numpy_labels(labels)
    classes = np.unique(y)
    if not 1 <= n <= len(y):
        raise ValueError(f"Asked for {n} examples but the split has {len(y)}; choose 1 <= n <= {len(y)}.")
    rng = np.random.default_rng(seed)
    per_class = np.full(len(classes), n // len(classes))
    per_class[rng.choice(len(classes), n % len(classes), replace=False)] += 1
    chosen = []
    for c, count in zip(classes, per_class):
        members = np.flatnonzero(y == c)
        if count > len(members):
            raise ValueError(f"Asked for {count} examples of class {c} but the split has only {len(members)}.")
        chosen.append(rng.choice(members, count, replace=False))
    return np.sort(np.concatenate(chosen))


@dataclass(frozen=True)
class Splits:
    """The study's data: train / validation / test on the device, and the train pixel statistics."""

    train: ImageSet
    val: ImageSet
    test: ImageSet
    mean: float
    std: float


def study_splits(profile: Profile, device: torch.device | str, name: str = "FashionMNIST",
                 root: str | Path | None = None) -> Splits:
    """Load a dataset, cut it to the profile's size (class-balanced), split, and move it to `device` once."""
    train_all = load_dataset(name, train=True, root=root)
    test = load_dataset(name, train=False, root=root)
    if profile.train_limit:
        train_all = train_all.subset(balanced_subset(train_all.labels, profile.train_limit, profile.seed))
    if profile.test_limit:
        test = test.subset(balanced_subset(test.labels, profile.test_limit, profile.seed))
    train_idx, val_idx = train_val_split(train_all.labels, profile.val_fraction, profile.seed)
    train, val = train_all.subset(train_idx), train_all.subset(val_idx)
    mean, std = pixel_stats(train.images)
    return Splits(train.to(device), val.to(device), test.to(device), mean, std)


def balanced_train(splits: Splits, limit: int | None, seed: int) -> ImageSet:
    """A class-balanced `limit` of the training split (seeded), or the whole split when `limit` is None."""
    if limit is None:
        return splits.train
    return splits.train.subset(balanced_subset(splits.train.labels, limit, seed))


def comparison_train(splits: Splits, profile: Profile) -> ImageSet:
    """The training images for comparison, sweep and search runs: a class-balanced `compare_limit`."""
    return balanced_train(splits, profile.compare_limit, profile.seed)


def regularization_train(splits: Splits, profile: Profile) -> ImageSet:
    """The few training images of the regularization comparison: a class-balanced `reg_limit`."""
    return balanced_train(splits, profile.reg_limit, profile.seed)


def limited_train(splits: Splits, profile: Profile, limit: int | None) -> ImageSet:
    """A class-balanced `limit` of the training split (drawn with the profile's seed), or the comparison images
    (`comparison_train`) when `limit` is None: what a profile field such as `search_limit` selects."""
    return comparison_train(splits, profile) if limit is None else balanced_train(splits, limit, profile.seed)


def search_train(splits: Splits, profile: Profile) -> ImageSet:
    """The training images of each trial of the search's first stage: a class-balanced `search_limit`, or the
    comparison images when the profile sets none."""
    return limited_train(splits, profile, profile.search_limit)


def split_table(parts: dict[str, ImageSet]) -> str:
    """Markdown table: images per split and the smallest / largest class count in each."""
    rows = []
    for name, part in parts.items():
        counts = torch.bincount(part.labels, minlength=len(part.classes))
        rows.append((name, f"{len(part):,}", int(counts.min()), int(counts.max())))
    return markdown_table(["split", "images", "smallest class", "largest class"], rows)


# ----------------------------------------------------------------------------- augmentation


@dataclass(frozen=True)
class Augment:
    """Random per-image augmentation, applied to a whole batch at once on its device."""

    flip: bool = False  # horizontal flip with probability 1/2
    rotate: float = 0.0  # rotation angle drawn uniformly from [-rotate, rotate] degrees
    shift: float = 0.0  # translation drawn uniformly from [-shift, shift] pixels on each axis
    noise: float = 0.0  # std of Gaussian noise added to the model input only (denoising)

    def __post_init__(self) -> None:
        for field, value, top in (("rotate", self.rotate, 180.0), ("shift", self.shift, 14.0),
                                  ("noise", self.noise, 1.0)):
            if not 0.0 <= value <= top:
                raise ValueError(f"Augment.{field} = {value!r} is out of range; allowed: 0 <= {field} <= {top}.")


SHOWN_AUGMENT = Augment(flip=True, rotate=5.0, shift=1.0)  # what section 0 illustrates: flip, rotation, shift


def fitted(aug, data: ImageSet):
    """An augmentation (`Augment` or `Views`, or None) as it applies to `data`: without its horizontal flip
    where a flip would change a class (`ImageSet.mirror` false: digits), else unchanged, so that the recipes
    of a collection of clothing keep their cache keys."""
    if aug is None or data.mirror or not aug.flip:
        return aug
    return replace(aug, flip=False)


def _uniform(n: int, bound: float, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return (torch.rand(n, device=x.device, generator=generator) * 2 - 1) * bound


def augment(x: torch.Tensor, aug: Augment, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip, rotate and shift each image of a float batch [B, C, H, W] on [0, 1] independently."""
    b = x.shape[0]
    if aug.flip:
        flip = torch.rand(b, device=x.device, generator=generator) < 0.5
        x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    if aug.rotate or aug.shift:
        angle = torch.deg2rad(_uniform(b, aug.rotate, x, generator))
        cos, sin = torch.cos(angle), torch.sin(angle)
        tx = _uniform(b, aug.shift * 2 / x.shape[-1], x, generator)  # one pixel = 2/W grid units
        ty = _uniform(b, aug.shift * 2 / x.shape[-2], x, generator)
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return x


def add_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise, clipped back to [0, 1]."""
    noise = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
    return (x + std * noise).clamp_(0.0, 1.0)


@dataclass(frozen=True)
class Views:
    """The strong augmentation of contrastive learning (SimCLR), drawn independently for every image and view:
    a random resized crop (area share in `crop_area`, aspect ratio in [3/4, 4/3]), a horizontal flip, a small
    rotation, brightness and contrast jitter, and random erasing of one rectangle. Like `Augment`, it works on a
    whole float batch on its device; the geometric part is one affine resampling per image."""

    crop_area: tuple[float, float] = (0.35, 1.0)
    flip: bool = True
    rotate: float = 10.0  # degrees, uniform in [-rotate, rotate]
    brightness: float = 0.4  # pixel values scaled by a factor uniform in [1 - b, 1 + b]
    contrast: float = 0.4  # deviations from the image's mean scaled by a factor uniform in [1 - c, 1 + c]
    erase: float = 0.25  # probability of erasing one rectangle
    erase_area: tuple[float, float] = (0.02, 0.15)

    def __post_init__(self) -> None:
        lo, hi = self.crop_area
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"Views.crop_area = {self.crop_area!r}: give 0 < low <= high <= 1.")
        for field, value in (("brightness", self.brightness), ("contrast", self.contrast), ("erase", self.erase)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Views.{field} = {value!r} is out of range; allowed: 0 <= {field} <= 1.")
        if not 0.0 <= self.rotate <= 180.0:
            raise ValueError(f"Views.rotate = {self.rotate!r} is out of range; allowed: 0 <= rotate <= 180.")


def _between(n: int, low: float, high: float, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, device=x.device, generator=generator)


def strong_view(x: torch.Tensor, views: Views, generator: torch.Generator | None = None) -> torch.Tensor:
    """One strongly augmented view of every image of a float batch [B, C, H, W] on [0, 1] (values stay there)."""
    b, _, h, w = x.shape
    area = _between(b, *views.crop_area, x, generator)
    log_ratio = _between(b, math.log(3 / 4), math.log(4 / 3), x, generator)
    sx = (area * log_ratio.exp()).sqrt().clamp(max=1.0)  # crop width and height as shares of the image
    sy = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    tx, ty = (1 - sx) * _uniform(b, 1.0, x, generator), (1 - sy) * _uniform(b, 1.0, x, generator)  # crop inside
    if views.flip:
        sx = torch.where(torch.rand(b, device=x.device, generator=generator) < 0.5, -sx, sx)
    angle = torch.deg2rad(_uniform(b, views.rotate, x, generator))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([sx * cos, -sy * sin, tx], 1), torch.stack([sx * sin, sy * cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = _between(b, 1 - views.contrast, 1 + views.contrast, x, generator).view(b, 1, 1, 1)
    brightness = _between(b, 1 - views.brightness, 1 + views.brightness, x, generator).view(b, 1, 1, 1)
    x = (((x - mean) * contrast + mean) * brightness).clamp(0.0, 1.0)
    if views.erase:
        erased_area = _between(b, *views.erase_area, x, generator) * h * w
        ratio = _between(b, math.log(0.5), math.log(2.0), x, generator).exp()
        eh, ew = (erased_area * ratio).sqrt().clamp(max=h), (erased_area / ratio).sqrt().clamp(max=w)
        top = torch.rand(b, device=x.device, generator=generator) * (h - eh)
        left = torch.rand(b, device=x.device, generator=generator) * (w - ew)
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        inside = ((rows >= top.view(b, 1, 1)) & (rows < (top + eh).view(b, 1, 1))
                  & (cols >= left.view(b, 1, 1)) & (cols < (left + ew).view(b, 1, 1)))
        chosen = (torch.rand(b, device=x.device, generator=generator) < views.erase).view(b, 1, 1)
        x = x.masked_fill((inside & chosen).unsqueeze(1), 0.0)
    return x


def two_views(x: torch.Tensor, views: Views, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent strong views of every image of the batch (SimCLR's positive pairs)."""
    return strong_view(x, views, generator), strong_view(x, views, generator)


class Batch(NamedTuple):
    inputs: torch.Tensor  # what the model sees: augmented, noisy if asked, normalized
    images: torch.Tensor  # augmented, clean, on [0, 1]: the reconstruction target
    labels: torch.Tensor


PASS_CHUNK = 16384  # images prepared at once on a GPU (see Batches._whole_pass)


class Batches:
    """Mini-batches over a device-resident ImageSet, reshuffled and re-augmented on every pass.

    On the CPU each batch is gathered and augmented on its own; on a GPU a whole pass is prepared in a few
    large chunks first (the random draws then differ from the CPU's, as they would anyway on another device).
    """

    def __init__(self, data: ImageSet, batch_size: int, *, shuffle: bool = True,
                 augment: Augment | None = None, mean: float = 0.0, std: float = 1.0,
                 drop_last: bool = False, seed: int = 0) -> None:
        if len(data) == 0:
            raise ValueError("Cannot iterate over an empty ImageSet.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.augment, self.mean, self.std, self.drop_last = fitted(augment, data), mean, std, drop_last
        self.generator = torch.Generator(device=data.device)
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.data)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _prepare(self, index: slice | torch.Tensor) -> Batch:
        images = self.data.images[index].float().div_(255)
        if self.augment is not None:
            images = augment(images, self.augment, self.generator)
        noisy = images
        if self.augment is not None and self.augment.noise > 0:
            noisy = add_noise(images, self.augment.noise, self.generator)
        return Batch((noisy - self.mean) / self.std, images, self.data.labels[index])

    def __iter__(self) -> Iterator[Batch]:
        n = len(self.data)
        order = torch.randperm(n, device=self.data.device, generator=self.generator) if self.shuffle else None
        if self.data.device.type == "cuda":
            yield from self._whole_pass(order)
            return
        for i in range(len(self)):
            window = slice(i * self.batch_size, min((i + 1) * self.batch_size, n))
            yield self._prepare(order[window] if order is not None else window)

    def _whole_pass(self, order: torch.Tensor | None) -> Iterator[Batch]:
        """On a GPU: the pass is gathered, augmented and normalized in chunks of `PASS_CHUNK` images (a few large
        kernels instead of a dozen small ones per batch), then cut into batches, which are views."""
        n = len(self.data)
        chunk = max(self.batch_size, PASS_CHUNK // self.batch_size * self.batch_size)
        for start in range(0, len(self) * self.batch_size if self.drop_last else n, chunk):
            window = slice(start, min(start + chunk, n))
            part = self._prepare(order[window] if order is not None else window)
            for i in range(0, len(part.labels), self.batch_size):
                if self.drop_last and len(part.labels) - i < self.batch_size:
                    break
                yield Batch(*(t[i:i + self.batch_size] for t in part))
