"""Run profiles (`smoke`, `quick`, `full`): the one place that sizes the study; and the image collections it can
study (`fashion-mnist`, the default, and `mnist`).

Run `python -m helpers.config [NAME] [--dir] [--dataset]` to print the profile a run would use (its folder, or
the image collection it studies: `HW2_DATASET`, else Fashion-MNIST).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILE_ENV = "HW2_PROFILE"
RESULTS_ENV = "HW2_RESULTS"
DATASET_ENV = "HW2_DATASET"
FASHION_MNIST_TRAIN = 60000
FASHION_MNIST_TEST = 10000


class ConfigError(ValueError):
    """A profile name or a configuration value is invalid."""


@dataclass(frozen=True)
class Dataset:
    """An image collection the study can run on: its parameter value (`name`), its name in prose (`title`), its
    folder under the data root (`folder`, torchvision's), the suffix of its results folders (`suffix`: empty for
    the default, so the Fashion-MNIST hand-in keeps `results/<profile>/`) and whether a horizontal flip keeps
    every image's class (`mirror`: clothing yes, digits no)."""

    name: str
    title: str
    folder: str
    suffix: str
    mirror: bool


DATASETS = {"fashion-mnist": Dataset("fashion-mnist", "Fashion-MNIST", "FashionMNIST", "", True),
            "mnist": Dataset("mnist", "MNIST", "MNIST", "-mnist", False)}
DEFAULT_DATASET = "fashion-mnist"


@dataclass(frozen=True)
class Profile:
    """How large a run is. Every size the notebook uses comes from here."""

    name: str
    description: str
    train_limit: int | None  # class-balanced subset of the 60k training images; None: all
    test_limit: int | None  # class-balanced subset of the 10k test images; None: all
    val_fraction: float  # share of the training images held out for validation
    batch_size: int
    eval_batch_size: int
    ae_epochs: int  # the main autoencoder
    compare_epochs: int  # each run of the optimizer / regularization comparisons and the denoiser
    sweep_epochs: int  # each run of the code-size sweep
    compare_limit: int | None  # training images for comparison and sweep runs; None: the whole train split
    folds: int = 5  # k of the cross-validation (sections 2 and 3)
    trials: int = 20  # trial budget of each hyperparameter search (section 2)
    search_limit: int | None = None  # training images of each search trial (section 2); None: compare_limit
    search_epochs: int = 5  # epochs of a search trial that is not pruned (section 2; stage 2 trains at ae_epochs)
    sampler_seeds: int = 3  # seeds of each seeded search (TPE, random search; section 2): grid search runs once
    reg_limit: int = 2000  # training images of the regularization comparison (section 1): few, so that it overfits
    reg_epochs: int = 40  # epochs of each run of the regularization comparison
    reg_batch: int | None = None  # batch size of the regularization comparison; None: batch_size
    ablation_seeds: int = 3  # seeds of every variant of section 1's decoder, optimizer and regularizer comparisons
    search_folds: int = 5  # k of section 2's paired cross-validations (tuned against hand-set / default)
    search_finalists: int = 2  # configurations of section 2's stage 1 trained at the final budget in stage 2
    search_cv_limit: int | None = None  # images of the autoencoders' paired cross-validation; None: the whole split
    fidelity_configs: int = 12  # configurations spread over the space (the start besides) in the fidelity check
    fidelity_limit: int | None = None  # training images of the fidelity check's final-budget runs; None: all
    clf_trials: int = 20  # trial budget of the fine-tuning search (section 2)
    clf_search_limit: int | None = None  # training images of each fine-tuning trial; None: compare_limit
    clf_search_epochs: int = 6  # epochs of a fine-tuning trial that is not pruned
    clf_cv_limit: int | None = None  # images of the fine-tunings' paired cross-validation; None: compare_limit
    clf_epochs: int = 30  # each classifier run and cross-validation fold (section 3)
    hw1_epochs: int = 50  # Homework 1's recipe: its network from scratch and pretrained (section 3; early stopping)
    seeds: int = 3  # seeds of section 3's headline comparison (same split, same batch order per seed)
    seed_epochs: int = 15  # budget of each run of the headline comparison over seeds (section 3)
    label_counts: tuple[int, ...] = (100, 600, 1000, 3000)  # labelled examples in the label sweeps (section 3)
    label_draws: int = 3  # random label subsets drawn at counts up to 1000 (section 3)
    label_steps: int = 2000  # optimizer steps of each label-sweep run (section 3)
    code_sizes: tuple[int, ...] = (2, 8, 16, 32, 64, 128)
    tsne_points: int | None = None  # test images on each 2-D map (section 4; class-balanced); None: the whole test split
    samples_per_class: int = 500  # images generated per class from latent codes (section 4)
    nll_images: int | None = None  # test images of the VAE's importance-weighted likelihood (section 5); None: all
    nll_samples: int = 1000  # importance samples per test image (section 5)
    simclr_epochs: int = 50  # SimCLR pretraining on the training split (section 6)
    simclr_batch: int = 512  # images per SimCLR batch (2 views each: 2 x batch - 2 negatives per view)
    self_training_epochs: int = 5  # passes over the unlabeled training images of a self-training run (sec. 6)
    self_training_batch: int = 64  # labelled images a self-training step (with 7 unlabeled ones each)
    self_training_counts: tuple[int, ...] = (100, 1000)  # label counts (of the few-label draws) it runs at
    gan_epochs: int = 20  # DCGAN training on the training split (section 7)
    gan_batch: int = 128  # images per DCGAN batch
    quality_samples: int = 5000  # images per generator and per reference set scored in section 7 (<= validation images)
    interpolation_steps: int = 10  # images along each interpolation path, both ends included (sections 4, 5)
    interpolation_pairs: int = 100  # random pairs of test images whose paths are judged (section 4), half of
    # them within a class
    grid_samples: int = 40  # images in each grid of samples drawn without a class (sections 4 and 5)
    variant_samples: int = 500  # prior samples of each beta variant that the classifier labels (section 5)
    map_components: int = 256  # principal directions the 64x7x7 feature maps are projected on (sections 5-7)
    denoising_noise: float = 0.3  # std of the noise on the denoiser's inputs, pixels on [0, 1] (section 1)
    confident_errors: int = 16  # most confidently misclassified test images shown (section 3)
    seed: int = 0

    def __post_init__(self) -> None:
        _check("name", self.name, bool(self.name) and self.name.isidentifier(), "a non-empty identifier")
        for field in ("train_limit", "test_limit", "compare_limit", "search_limit", "search_cv_limit", "fidelity_limit",
                      "clf_search_limit", "clf_cv_limit"):
            value = getattr(self, field)
            _check(field, value, value is None or (isinstance(value, int) and value >= 100),
                   "None (all images) or an integer >= 100")
        _check("val_fraction", self.val_fraction, 0.0 < self.val_fraction < 0.5, "0 < value < 0.5")
        for field in ("batch_size", "eval_batch_size"):
            value = getattr(self, field)
            _check(field, value, isinstance(value, int) and 1 <= value <= 65536, "an integer in [1, 65536]")
        for field in ("ae_epochs", "compare_epochs", "sweep_epochs", "clf_epochs", "hw1_epochs", "seed_epochs",
                      "search_epochs", "reg_epochs", "clf_search_epochs"):
            value = getattr(self, field)
            _check(field, value, isinstance(value, int) and 1 <= value <= 1000, "an integer in [1, 1000]")
        _check("code_sizes", self.code_sizes, len(self.code_sizes) > 0 and all(
            isinstance(c, int) and 1 <= c <= 784 for c in self.code_sizes), "a non-empty tuple of integers in [1, 784]")
        test_size = self.test_limit or FASHION_MNIST_TEST
        _check("tsne_points", self.tsne_points, self.tsne_points is None or (
            isinstance(self.tsne_points, int) and 50 <= self.tsne_points <= test_size),
            f"None (the whole test split) or an integer in [50, {test_size}] (the test split of this profile)")
        _check("samples_per_class", self.samples_per_class, isinstance(self.samples_per_class, int)
               and 1 <= self.samples_per_class <= 10000, "an integer in [1, 10000]")
        _check("nll_images", self.nll_images, self.nll_images is None or (
            isinstance(self.nll_images, int) and 10 <= self.nll_images <= test_size),
            f"None (the whole test split) or an integer in [10, {test_size}]")
        _check("nll_samples", self.nll_samples, isinstance(self.nll_samples, int) and 1 <= self.nll_samples <= 100000,
               "an integer in [1, 100000]")
        _check("simclr_epochs", self.simclr_epochs, isinstance(self.simclr_epochs, int) and 1 <= self.simclr_epochs <= 1000,
               "an integer in [1, 1000]")
        _check("simclr_batch", self.simclr_batch, isinstance(self.simclr_batch, int) and 8 <= self.simclr_batch <= 8192,
               "an integer in [8, 8192]")
        _check("self_training_epochs", self.self_training_epochs, isinstance(self.self_training_epochs, int)
               and 1 <= self.self_training_epochs <= 1000, "an integer in [1, 1000]")
        _check("self_training_batch", self.self_training_batch, isinstance(self.self_training_batch, int)
               and 2 <= self.self_training_batch <= 4096, "an integer in [2, 4096]")
        _check("self_training_counts", self.self_training_counts, len(self.self_training_counts) > 0 and all(
            isinstance(n, int) and 10 <= n <= self.train_size for n in self.self_training_counts),
            f"a non-empty tuple of integers in [10, {self.train_size}] (the training split of this profile; "
            f"the section runs at those of them the few-label table draws, `label_counts`)")
        _check("gan_epochs", self.gan_epochs, isinstance(self.gan_epochs, int) and 1 <= self.gan_epochs <= 1000,
               "an integer in [1, 1000]")
        _check("gan_batch", self.gan_batch, isinstance(self.gan_batch, int) and 8 <= self.gan_batch <= 8192,
               "an integer in [8, 8192]")
        val_size = math.ceil((self.train_limit or FASHION_MNIST_TRAIN) * self.val_fraction)
        _check("quality_samples", self.quality_samples, isinstance(self.quality_samples, int)
               and 50 <= self.quality_samples <= val_size,
               f"an integer in [50, {val_size}] (the validation images of this profile: the real reference set)")
        steps = self.interpolation_steps
        _check("interpolation_steps", steps, isinstance(steps, int) and 3 <= steps <= 100,
               "an integer in [3, 100] (both ends of a path included, and at least one image between them)")
        pairs = self.interpolation_pairs
        most = min(10000, test_size)
        _check("interpolation_pairs", pairs, isinstance(pairs, int) and 2 <= pairs <= most and pairs % 2 == 0,
               f"an even integer in [2, {most}] (half of the pairs within a class, half across classes; at "
               f"most the test images of this profile)")
        for field in ("grid_samples", "variant_samples"):
            value = getattr(self, field)
            _check(field, value, isinstance(value, int) and 1 <= value <= 10000, "an integer in [1, 10000]")
        widest = min(3136, self.train_size)
        _check("map_components", self.map_components, isinstance(self.map_components, int)
               and 2 <= self.map_components <= widest,
               f"an integer in [2, {widest}] (at most the 64x7x7 numbers of a feature map and the training "
               f"images of this profile)")
        _check("denoising_noise", self.denoising_noise, isinstance(self.denoising_noise, float)
               and 0.0 < self.denoising_noise <= 1.0, "a float in (0, 1]")
        _check("confident_errors", self.confident_errors, isinstance(self.confident_errors, int)
               and 1 <= self.confident_errors <= 100, "an integer in [1, 100]")
        _check("seed", self.seed, isinstance(self.seed, int) and self.seed >= 0, "an integer >= 0")
        for field in ("folds", "search_folds"):
            value = getattr(self, field)
            _check(field, value, isinstance(value, int) and 2 <= value <= 20, "an integer in [2, 20]")
        _check("reg_batch", self.reg_batch, self.reg_batch is None or (
            isinstance(self.reg_batch, int) and 1 <= self.reg_batch <= self.reg_limit),
            f"None (the profile's batch_size) or an integer in [1, {self.reg_limit}] (reg_limit)")
        _check("reg_limit", self.reg_limit, isinstance(self.reg_limit, int) and 100 <= self.reg_limit <= self.train_size,
               f"an integer in [100, {self.train_size}] (the training split of this profile)")
        _check("fidelity_configs", self.fidelity_configs, isinstance(self.fidelity_configs, int)
               and 2 <= self.fidelity_configs <= 100, "an integer in [2, 100] (with the start: 3 or more points)")
        for field in ("trials", "search_finalists", "seeds", "sampler_seeds", "clf_trials", "ablation_seeds"):
            value = getattr(self, field)
            _check(field, value, isinstance(value, int) and value >= 1, "an integer >= 1")
        _check("label_steps", self.label_steps, isinstance(self.label_steps, int) and 1 <= self.label_steps <= 100000,
               "an integer in [1, 100000]")
        _check("label_draws", self.label_draws, isinstance(self.label_draws, int) and self.label_draws >= 1,
               "an integer >= 1")
        train_size = self.train_size
        _check("label_counts", self.label_counts, len(self.label_counts) > 0 and all(
            isinstance(n, int) and 10 <= n <= train_size for n in self.label_counts),
            f"a non-empty tuple of integers in [10, {train_size}] (the training split of this profile)")
        for field in ("compare_limit", "search_limit", "search_cv_limit", "fidelity_limit", "clf_search_limit",
                      "clf_cv_limit"):
            value = getattr(self, field)
            if value is not None:
                _check(field, value, value <= train_size, f"None or at most {train_size} (the training split of this "
                                                          f"profile)")

    @property
    def train_size(self) -> int:
        """Images in the training split after the validation images are held out."""
        total = self.train_limit or FASHION_MNIST_TRAIN
        return total - math.ceil(total * self.val_fraction)

    def as_dict(self) -> dict:
        return asdict(self)


def _check(field: str, value: object, ok: bool, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"Profile field '{field}' = {value!r} is not allowed; allowed: {allowed}.")


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="tiny subset, 1-2 epochs: checks the whole notebook runs (CI, minutes on 2 CPU cores)",
        train_limit=2000,
        test_limit=1000,
        val_fraction=0.2,
        batch_size=64,
        eval_batch_size=1000,
        ae_epochs=2,
        compare_epochs=1,
        sweep_epochs=1,
        compare_limit=500,
        folds=2,
        trials=3,
        search_limit=400,
        search_epochs=1,
        sampler_seeds=2,
        reg_limit=200,
        reg_epochs=3,
        ablation_seeds=2,
        search_folds=2,
        search_finalists=1,
        search_cv_limit=200,
        fidelity_configs=2,
        fidelity_limit=200,
        clf_trials=3,
        clf_search_limit=200,
        clf_search_epochs=1,
        clf_cv_limit=200,
        clf_epochs=1,
        hw1_epochs=1,  # = seed_epochs and clf_epochs: 3a's runs double as the first seed's and the table's
        seeds=2,
        seed_epochs=1,
        label_counts=(100,),
        label_draws=1,
        label_steps=4,
        tsne_points=300,
        samples_per_class=20,
        nll_images=100,
        nll_samples=10,
        simclr_epochs=1,
        simclr_batch=128,
        self_training_epochs=1,
        self_training_batch=8,
        self_training_counts=(100,),
        gan_epochs=1,
        gan_batch=64,
        quality_samples=400,
        interpolation_pairs=20,
    ),
    "quick": Profile(
        name="quick",
        description="reduced but real study for a CPU: 20,000 training images, fewer epochs",
        train_limit=20000,
        test_limit=None,
        val_fraction=0.1,
        batch_size=32,  # on 2 CPU cores small batches learn far more per second
        eval_batch_size=2000,
        ae_epochs=8,
        compare_epochs=4,
        sweep_epochs=6,
        # every comparison trains on these 3,000 (section 1's ablations and code sizes, section 3's cross-validation
        # and fine-tuning study, section 5's VAE variants): half of 6,000, so that section 1's seeded ablations (3
        # seeds each) fit its minutes
        compare_limit=3000,
        folds=3,
        trials=16,  # Hyperband stops most trials after one or two of their four epochs
        search_limit=1000,
        search_epochs=4,  # stage 2 trains the finalists at ae_epochs on the whole training split
        sampler_seeds=3,
        reg_limit=600,  # 6 regularizers x 3 seeds x 30 epochs: fewer images than 1,000 keep section 1 in budget
        reg_epochs=30,
        ablation_seeds=3,
        search_folds=5,
        search_finalists=1,  # each costs a final-budget run on the whole training split (about two minutes here)
        search_cv_limit=1500,  # the paired 5-fold comparison on a class-balanced 1,500 images
        fidelity_configs=12,
        fidelity_limit=1500,  # final-budget epochs on a class-balanced 1,500 images
        clf_trials=12,
        clf_search_limit=1000,
        clf_search_epochs=4,
        clf_cv_limit=1500,
        clf_epochs=8,
        hw1_epochs=12,  # Homework 1's recipe: about 14 s an epoch for the HW1 network on 2 Zen 3 cores (fp32)
        seeds=2,
        seed_epochs=8,  # = clf_epochs: seed 0 of the comparison is the strategy table's own run
        label_counts=(100, 600, 1000, 3000),
        label_draws=3,
        label_steps=400,
        tsne_points=5000,  # scikit-learn's t-SNE: 16-29 s per map on 2 cores, with the machine's load
        samples_per_class=200,
        nll_images=1000,  # a class-balanced tenth of the test set ...
        nll_samples=200,  # ... with 200 importance samples each: 200,000 decoder passes
        simclr_epochs=40,  # about 6 s an epoch on 2 cores (two views of 18,000 images)
        simclr_batch=256,
        self_training_epochs=5,  # 800 steps, 0.053 s each (0.007 without the unlabeled term) on one Zen 3 core
        self_training_batch=16,
        self_training_counts=(100,),  # 1,000 labels: label propagation only (self-training would double it)
        gan_epochs=12,  # about 11.5 s an epoch on 2 cores (138 s for the 12 in the committed run)
        gan_batch=64,
        quality_samples=2000,  # all the validation images
        interpolation_pairs=100,
    ),
    "full": Profile(
        name="full",
        description="every training image (54,000 / 6,000) for the headline models; ablations, search trials, "
                    "folds and seeds on stated subsets or shorter budgets",
        # Sized to BUDGET.md (135 min on 2 Zen 4 cores, about 337 on the Zen 3 below) from an inventory of every
        # run it trains: image-epochs per section times the rates measured on 2 AMD EPYC Zen 3 cores (fp32,
        # channels-last: Homework 1 network 41.5 s a 54,000-image epoch of its recipe; autoencoder 2,930 images/s
        # with the transposed decoder, about 1.7x slower with the resize one). Sized for one GPU before, it
        # estimated about 685 min there; now about 400. Section 3 keeps Homework 1's two 50-epoch runs (its own
        # recipe, about 35 min each there), so it takes minutes from the other sections and still runs over.
        train_limit=None,
        test_limit=None,
        val_fraction=0.1,
        batch_size=128,
        eval_batch_size=5000,
        ae_epochs=20,
        compare_epochs=5,  # 15 optimizer runs (5 optimizers x 3 learning rates) and their seeds on compare_limit images
        sweep_epochs=6,
        compare_limit=12000,  # ablations on a class-balanced subset; the main models train on all 54,000
        folds=5,  # = search_folds, so section 3 reuses section 2's folds of the kept fine-tuning
        trials=20,  # meant to be cheap: Hyperband may stop a trial after its first rung
        search_limit=2000,
        search_epochs=4,
        sampler_seeds=3,
        # few images in small batches for many steps (1,900), so that the unregularized network overfits (a
        # shorter earlier setting, 30 epochs in batches of 128, left its validation MSE still falling)
        reg_limit=1000,
        reg_epochs=60,
        reg_batch=32,
        ablation_seeds=3,
        search_folds=5,
        search_finalists=1,  # a final-budget run on all 54,000 images: 11 to 35 min on the Zen 3 by width
        search_cv_limit=4000,  # the paired 5-fold comparison of the autoencoders at the final budget
        fidelity_configs=8,
        fidelity_limit=3000,  # final-budget epochs of the fidelity check on a class-balanced 3,000 images
        clf_trials=12,
        clf_search_limit=3000,
        clf_search_epochs=4,
        clf_cv_limit=12000,  # = compare_limit, so section 3's cross-validation reuses these folds
        clf_epochs=6,  # 6 epochs of 54,000 images in batches of 64: about 5,000 steps a strategy
        hw1_epochs=50,  # Homework 1's own budget (early stopping, patience 10)
        seeds=3,
        seed_epochs=6,  # = clf_epochs: seed 0 of the comparison is the strategy table's own run
        label_steps=400,
        tsne_points=5000,
        samples_per_class=500,
        nll_images=1000,  # a class-balanced tenth of the test set ...
        nll_samples=500,  # ... with 500 importance samples each
        simclr_epochs=20,
        simclr_batch=512,
        self_training_epochs=5,  # 600 steps of 64 labelled + 448 unlabeled images
        self_training_batch=64,
        self_training_counts=(100, 1000),
        gan_epochs=20,
        gan_batch=128,
        quality_samples=5000,
        interpolation_pairs=200,
    ),
}


def default_profile_name() -> str:
    """`full` where a CUDA GPU is present, otherwise `quick`."""
    return "full" if torch.cuda.is_available() else "quick"


def resolve_profile(name: str | None = None) -> Profile:
    """The profile named by the argument (the notebook's `PROFILE`, a command's profile option), else by
    `HW2_PROFILE`, else the default for this machine."""
    valid = ", ".join(PROFILES)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"Profile {name!r} (type {type(name).__name__}) is not a profile name. Valid profiles: "
                          f"{valid} (a string, e.g. PROFILE = \"quick\"), or None for {PROFILE_ENV}, else this "
                          f"machine's default ({default_profile_name()}).")
    from_env = not name and bool(os.environ.get(PROFILE_ENV))
    chosen = name or os.environ.get(PROFILE_ENV) or default_profile_name()
    key = chosen.strip().lower()
    if key not in PROFILES:
        raise ConfigError(
            f"Unknown profile {chosen!r}{f' in {PROFILE_ENV}' if from_env else ''}. Valid profiles: {valid}. "
            f"Set it in the notebook's parameters cell or with {PROFILE_ENV}=<name>."
        )
    return PROFILES[key]


def resolve_dataset(name: str | None = None) -> Dataset:
    """The image collection named by the argument (the notebook's `DATASET`, `make run DATASET=...`), else by
    `HW2_DATASET`, else Fashion-MNIST; an unknown name stops with the valid ones."""
    valid = ", ".join(DATASETS)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"Data set {name!r} (type {type(name).__name__}) is not a data set name. Valid: {valid} "
                          f"(a string, e.g. DATASET = \"mnist\"), or None for {DATASET_ENV}, else {DEFAULT_DATASET}.")
    from_env = not name and bool(os.environ.get(DATASET_ENV, "").strip())
    chosen = name or os.environ.get(DATASET_ENV, "").strip() or DEFAULT_DATASET
    key = chosen.strip().lower()
    if key not in DATASETS:
        raise ConfigError(f"Unknown data set {chosen!r}{f' in {DATASET_ENV}' if from_env else ''}. Valid data sets: "
                          f"{valid}. Set it in the notebook's parameters cell, with {DATASET_ENV}=<name> or with "
                          f"make run DATASET=<name>.")
    return DATASETS[key]


def results_root() -> Path:
    """Folder holding one sub-folder per profile (`HW2_RESULTS`, default `./results`); a clear error when
    `HW2_RESULTS` names a file, or a folder that cannot be made or written."""
    value = os.environ.get(RESULTS_ENV, "")
    if not value.strip():
        return (REPO_ROOT / "results").resolve()
    root = Path(value).expanduser().resolve()
    existing = next(p for p in (root, *root.parents) if p.exists())
    problem = (f"{existing} is a file, not a folder" if not existing.is_dir() else
               f"{existing} is not writable" if not os.access(existing, os.W_OK | os.X_OK) else None)
    if problem:
        raise ConfigError(f"{RESULTS_ENV}={value!r} cannot hold results: {problem}. Allowed: a folder you can write "
                          f"(made if missing) that gets one sub-folder per profile, or unset for "
                          f"{REPO_ROOT / 'results'}.")
    return root


def results_dir(profile: Profile, dataset: Dataset | None = None) -> Path:
    """Where a run of `profile` on `dataset` (default: `resolve_dataset()`) writes: `<profile><suffix>`, so each
    profile and each image collection has its own (`smoke` never touches `full`, MNIST never Fashion-MNIST)."""
    return results_root() / f"{profile.name}{(dataset or resolve_dataset()).suffix}"


def int_option(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse `type`: an integer in [low, high] (no upper bound when `high` is None); anything else is
    refused with a message that says what is allowed."""
    allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer; allowed: {allowed}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range; allowed: {allowed}")
        return value
    return parse


def profile_arguments(argv: list[str], command: str, flag: str, also: tuple[str, ...] = ()) -> str | None:
    """The optional profile name of a command that takes `[PROFILE] [flag]`; anything else (an unknown option, a
    second name) raises ConfigError with the command's usage."""
    names = [a for a in argv if not a.startswith("-")]
    unknown = [a for a in argv if a.startswith("-") and a not in (flag, *also)]
    if unknown or len(names) > 1:
        what = f"unknown option {unknown[0]!r}" if unknown else f"one profile at most, got {' '.join(names)}"
        usage = " ".join(f"[{f}]" for f in (flag, *also))
        raise ConfigError(f"{what}; usage: python -m {command} [PROFILE] {usage} (PROFILE: {', '.join(PROFILES)})")
    return names[0] if names else None


def main(argv: list[str]) -> int:
    try:
        profile = resolve_profile(profile_arguments(argv, "helpers.config", "--dir", ("--dataset",)))
        dataset = resolve_dataset()
        print(results_dir(profile, dataset) if "--dir" in argv else dataset.name if "--dataset" in argv else
              profile.name)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
