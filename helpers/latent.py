"""The latent space: tools that work with ANY encoder
(the autoencoder's, a VAE's, SimCLR's, a classifier's features): encoding a whole split, 2-D maps (PCA,
t-SNE), structure measures (k-NN accuracy, silhouette, a linear probe), samplers over codes (one Gaussian,
a Gaussian mixture per class), interpolation, and the nearest training image of generated images.

Fitting is left to scikit-learn; what runs on tensors (encoding, decoding, nearest neighbours) stays on the
data's device, batched, without gradients.

Section 4's steps (`representations`, `class_maps`, `new_images`, `interpolation`, `principal_sweep`) each
merge their part of metrics.json and return what the notebook shows. `Representations` holds the study's
representations of the same images, their structure measures, maps and few-label table; sections 5-7 add
theirs to it.
"""
from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from torch import nn

from . import autoencoder as ae, fewlabels, finetune, judging, statistics
from .context import Context, Shown
from .data import Batches, ImageSet, Splits, balanced_subset, nearest, to_uint8  # noqa: F401 (nearest: callers use it)
from .findings import latent as latent_text, representations as rep_text
from .findings.words import percent, plus_minus, sig, strategy
from .models import AEConfig, Encoder
from .results import array_digest, cached_json, initialization_name, is_control, markdown_table, slug
from .statistics import paired_bootstrap
from .training import outputs

if TYPE_CHECKING:
    from .autoencoder import Autoencoder
    from .finetune import Classifiers


# ----------------------------------------------------------------------------- encoding and decoding


def encode(encoder: nn.Module | Callable[[torch.Tensor], torch.Tensor], data: ImageSet, *, mean: float,
           std: float, batch_size: int = 2000) -> torch.Tensor:
    """`encoder(normalized images)` for every image of `data`, in order: batched, on the data's device, in
    eval mode, without gradients. Any module mapping [B, 1, 28, 28] to [B, ...] serves (its output is flattened)."""
    module = encoder if isinstance(encoder, nn.Module) else _Wrapped(encoder)
    return outputs(module, data, lambda m, x: m(x).flatten(1), mean=mean, std=std, batch_size=batch_size)


class _Wrapped(nn.Module):
    """A plain function as a module, so `outputs` can put it in eval mode and on the device."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def decode(decoder: nn.Module, codes: torch.Tensor | np.ndarray, *, device: torch.device | str,
           batch_size: int = 2000) -> torch.Tensor:
    """Images on [0, 1] ([N, 1, 28, 28], float) decoded from `codes`, batched on `device`, without gradients."""
    codes = torch.as_tensor(codes, dtype=torch.float32, device=device)
    decoder.to(device).eval()
    with torch.inference_mode():
        return torch.cat([decoder(chunk).float() for chunk in codes.split(batch_size)])


class Penultimate(nn.Module):
    """A classifier seen up to its last linear layer: returns that layer's input (the penultimate features).

    Works for any classifier whose last `nn.Linear` (in module order) makes the class scores, e.g. the
    Homework 1 network (128 pooled features) or an encoder with a two-layer head (its 256 hidden units)."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        linears = [m for m in classifier.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(f"{type(classifier).__name__} has no nn.Linear layer to take the features before.")
        self.classifier, self.last = classifier, linears[-1]
        self.width = self.last.in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen: list[torch.Tensor] = []
        handle = self.last.register_forward_hook(lambda module, args, out: seen.append(args[0]))
        try:
            self.classifier(x)
        finally:
            handle.remove()
        return seen[-1]


@dataclass(frozen=True)
class Features:
    """One representation of the three splits, as float32 rows (numpy, on the CPU)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def dims(self) -> int:
        return int(self.train.shape[1])


def pixel_features(splits: Splits) -> Features:
    """Raw pixels on [0, 1]: the floor every learned representation is measured against."""
    return Features(*(fewlabels.pixels(part) for part in (splits.train, splits.val, splits.test)))


def pca_features(splits: Splits, components: int, *, seed: int) -> Features:
    """The first `components` principal components of the pixels, fitted on the training split."""
    raw = pixel_features(splits)
    pca = PCA(n_components=components, random_state=seed).fit(raw.train)
    return Features(*(pca.transform(x).astype(np.float32) for x in (raw.train, raw.val, raw.test)))


def project(features: Features, components: int, *, seed: int) -> tuple[Features, float]:
    """`features` on their first `components` principal directions (fitted on the training rows, no labels) and
    the share of their variance kept. Without whitening, distances between rows are kept up to the variance
    left out: a cheaper input for distance-based methods (k-NN, RBF kernels) on wide representations."""
    pca = PCA(n_components=components, random_state=seed).fit(features.train)
    reduced = Features(*(pca.transform(x).astype(np.float32) for x in (features.train, features.val, features.test)))
    return reduced, float(pca.explained_variance_ratio_.sum())


def encoder_features(encoder: nn.Module | Callable[[torch.Tensor], torch.Tensor], splits: Splits, *,
                     mean: float | None = None, std: float | None = None, batch_size: int = 2000) -> Features:
    """Any encoder's output for every image of the three splits, its inputs normalized as in its training
    (by default with the training pixels' mean and std; a VAE reads raw pixels: mean 0, std 1)."""
    mean, std = splits.mean if mean is None else mean, splits.std if std is None else std
    run = lambda d: encode(encoder, d, mean=mean, std=std, batch_size=batch_size).cpu().numpy()
    return Features(run(splits.train), run(splits.val), run(splits.test))


# ----------------------------------------------------------------------------- the random-encoder control

RANDOM_INITS = 3  # random initializations of every encoder architecture read as a control
CALIBRATION_IMAGES = 4096  # training images whose statistics a random encoder's batch norms take


def calibrate_batch_norm(module: nn.Module, data: ImageSet, *, mean: float, std: float, seed: int,
                         images: int = CALIBRATION_IMAGES, batch_size: int = 512) -> nn.Module:
    """`module` with every batch norm's running statistics set to the average over `images` random images of
    `data` (no labels, no gradients, no weight changed; every other layer in eval mode throughout), then in
    eval mode. A freshly initialized batch norm is
    the identity in eval mode; with the data's statistics a random encoder's layers are normalized as a trained
    one's are, which makes it the stronger, fairer control."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if norms:
        index = np.sort(np.random.default_rng(seed).choice(len(data), min(images, len(data)), replace=False))
        module.to(data.device).eval()  # dropout and every other layer as in use; only the batch norms learn
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.train()
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average over the calibration batches
        with torch.no_grad():
            for batch in Batches(data.subset(index), batch_size, shuffle=False, mean=mean, std=std):
                module(batch.inputs)
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
    return module.eval()


def random_encoders(build: Callable[[], nn.Module], splits: Splits, *, seed: int,
                    inits: int = RANDOM_INITS) -> list[nn.Module]:
    """`inits` encoders built by `build` with random weights (initialization `i` seeded with `seed + i`, the
    global random state left as it was), their batch norms calibrated on the training images
    (`calibrate_batch_norm`), inputs normalized as `encoder_features` normalizes them."""
    found = []
    for i in range(inits):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + i)
            module = build()
        found.append(calibrate_batch_norm(module, splits.train, mean=splits.mean, std=splits.std, seed=seed + i))
    return found


# ----------------------------------------------------------------------------- 2-D maps


def embed_2d(features: np.ndarray, method: str, *, seed: int, pca_dims: int = 50,
             perplexity: float = 30.0) -> tuple[np.ndarray, float]:
    """2-D coordinates of every row and the seconds they took. `"pca"`: the first two principal components;
    `"tsne"`: scikit-learn's t-SNE (seeded, all CPU cores) on a `pca_dims`-component PCA of the features."""
    features = np.asarray(features, dtype=np.float32)
    start = time.perf_counter()
    if method == "pca":
        coords = PCA(n_components=2, random_state=seed).fit_transform(features)
    elif method == "tsne":
        reduced = features
        if features.shape[1] > pca_dims:
            reduced = PCA(n_components=pca_dims, random_state=seed).fit_transform(features)
        coords = TSNE(n_components=2, perplexity=min(perplexity, (len(features) - 1) / 3), init="pca",
                      random_state=seed, n_jobs=-1).fit_transform(reduced)
    else:
        raise ValueError(f"Unknown map {method!r}; choose 'pca' or 'tsne'.")
    return coords.astype(np.float32), time.perf_counter() - start


def maps(features: dict[str, np.ndarray], *, seed: int, run_dir: str | Path | None = None,
         pca_dims: int = 50) -> dict[str, dict]:
    """PCA and t-SNE coordinates of each named representation (rows: the same images for all), with the
    seconds each took. Cached under `run_dir` by a key of the features themselves, so a changed encoder
    recomputes its map and an unchanged one is reused (with the seconds it took when computed)."""
    found = {}
    for name, x in features.items():
        def compute(x=x) -> dict:
            out = {}
            for method in ("pca", "tsne"):
                coords, seconds = embed_2d(x, method, seed=seed, pca_dims=pca_dims)
                out[method], out[f"{method}_seconds"] = coords.tolist(), seconds
            return out
        stored = cached_json(run_dir, f"map {name}", [array_digest(x), seed, pca_dims, "tsne perplexity 30"],
                             compute)
        found[name] = {**stored, "pca": np.asarray(stored["pca"], np.float32),
                       "tsne": np.asarray(stored["tsne"], np.float32)}
    return found


# ----------------------------------------------------------------------------- structure measures


PROBE_CS = (0.01, 0.1, 1.0)  # inverse regularization strengths the linear probe chooses among
# Newton-CG reaches the same optimum as scikit-learn's default L-BFGS in 16-20 iterations instead of 630-820 on raw
# pixels (quick: 18,000 x 784), about twice as fast (2-core AMD EPYC: 20 s against 40 s at C = 0.1, test accuracy
# 82.92% against 82.90%; 25 s against 53 s at C = 1).
PROBE_SOLVER = "newton-cg"


def structure(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray, *,
              seed: int, val: np.ndarray | None = None, val_labels: np.ndarray | None = None,
              silhouette_sample: int = 2000, k: int = 5, max_iter: int = 1000) -> dict:
    """How well a representation separates the classes, all with scikit-learn:
    - `knn_accuracy`: k-NN (k = 5) fitted on the training codes, scored on the test codes;
    - `silhouette`: silhouette score of the test codes against their true classes, on a seeded sample of
      `silhouette_sample` codes (all of them when fewer);
    - `linear_probe_accuracy`: logistic regression (Newton-CG) on standardized codes fitted on every training label
      and scored on test. With a validation split, its inverse regularization C is the one of `PROBE_CS` with the
      best validation accuracy (tried from strongest to weakest, stopping once accuracy falls: a high-
      dimensional input such as raw pixels overfits at scikit-learn's default C = 1); without one, C = 1.
    """
    train, test = np.asarray(train, dtype=np.float32), np.asarray(test, dtype=np.float32)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    knn = KNeighborsClassifier(n_neighbors=k).fit(train, train_labels)
    sample = min(silhouette_sample, len(test))
    silhouette = silhouette_score(test, test_labels, sample_size=sample if sample < len(test) else None,
                                  random_state=seed)
    scaler = StandardScaler().fit(train)
    scaled = scaler.transform(train)
    fit = lambda c: LogisticRegression(C=c, max_iter=max_iter, solver=PROBE_SOLVER).fit(scaled, train_labels)
    if val is None:
        chosen_c, probe, val_accuracy = 1.0, fit(1.0), None
    else:
        val_x = scaler.transform(np.asarray(val, dtype=np.float32))
        chosen_c = probe = val_accuracy = None
        # LogisticRegressionCV shifts accuracies (warm starts); GridSearchCV agrees but takes 1.5-3.5x as long
        for c in PROBE_CS:
            candidate = fit(c)
            accuracy = float(candidate.score(val_x, val_labels))
            if val_accuracy is not None and accuracy < val_accuracy:
                break
            chosen_c, probe, val_accuracy = c, candidate, accuracy
    return {"knn_accuracy": float(knn.score(test, test_labels)), "silhouette": float(silhouette),
            "silhouette_sample": sample,
            "linear_probe_accuracy": float(probe.score(scaler.transform(test), test_labels)),
            "probe_c": chosen_c, "probe_val_accuracy": val_accuracy, "dims": int(train.shape[1])}


def measure(representations: dict[str, Features], splits: Splits, *, seed: int, run_dir: str | Path | None = None,
            silhouette_sample: int = 2000) -> dict[str, dict]:
    """`structure` of every named representation (training codes to fit, validation codes to choose the probe's
    C, test codes to score), each cached by a key of its features and labels."""
    labels = [d.labels.cpu().numpy() for d in (splits.train, splits.val, splits.test)]
    rows = {}
    for name, f in representations.items():
        key = [array_digest(f.train, f.val, f.test, *labels), seed, silhouette_sample, PROBE_CS, PROBE_SOLVER]
        rows[name] = cached_json(run_dir, f"structure {name}", key, lambda f=f: structure(
            f.train, labels[0], f.test, labels[2], val=f.val, val_labels=labels[1], seed=seed,
            silhouette_sample=silhouette_sample))
    return rows


MEASURES = ("knn_accuracy", "silhouette", "linear_probe_accuracy")  # what `structure` measures


def pooled(rows: Sequence[dict]) -> dict:
    """One structure row for a representation measured once per random initialization (`rows`): per measure
    its mean over the initializations, their sample standard deviation (`<measure>_std`) and each one's value
    (`<measure>_inits`); the probe's most often chosen C; `inits`, how many."""
    chosen = [r["probe_c"] for r in rows]
    return {"dims": rows[0]["dims"], "silhouette_sample": rows[0]["silhouette_sample"], "inits": len(rows),
            **statistics.pooled(rows, MEASURES, tag="inits"), "probe_c": max(chosen, key=chosen.count)}


def structure_metrics(rows: dict[str, dict], keys: dict[str, str]) -> dict:
    """The `latent.structure` entries of metrics.json: each measured representation under its short key."""
    return {keys[name]: {"name": name, **row} for name, row in rows.items()}


def structure_table(rows: dict[str, dict]) -> str:
    """One Markdown row per representation: dimensions, k-NN accuracy, silhouette, linear probe."""
    sample = min(r["silhouette_sample"] for r in rows.values())
    cell = lambda r, m: plus_minus(r[m], r[f"{m}_std"]) if is_control(r) else r[m]  # noqa: E731
    return markdown_table(
        ["representation", "dims", "k-NN accuracy (k = 5)", f"silhouette ({sample:,} test codes)",
         "linear-probe accuracy", "probe C (chosen on validation)"],
        [(n, r["dims"], *[cell(r, m) for m in MEASURES], r["probe_c"]) for n, r in rows.items()])


def class_mixing(features: Features, splits: Splits, classes: Sequence[str], *, k: int = 5,
                 run_dir: str | Path | None = None) -> dict:
    """Which classes a representation keeps apart and which it mixes: a k-NN classifier (k = 5) fitted on the
    training rows and scored on the test rows, per class its recall (the share of its test images whose
    neighbours vote for it) and the class most of the others go to, with that share. Cached by its features."""
    labels = [d.labels.cpu().numpy() for d in (splits.train, splits.test)]

    def compute() -> dict:
        predicted = KNeighborsClassifier(n_neighbors=k).fit(features.train, labels[0]).predict(features.test)
        found = {}
        for c, name in enumerate(classes):
            mine = predicted[labels[1] == c]
            counts = np.bincount(mine, minlength=len(classes))
            others = counts.copy()
            others[c] = -1
            worst = int(others.argmax())
            found[class_key(name)] = {"name": name, "recall": float(counts[c] / max(1, len(mine))),
                                      "confused_with": classes[worst], "confused_share": float(counts[worst] / max(1, len(mine)))}
        return found
    return cached_json(run_dir, "class mixing", [array_digest(features.train, features.test, *labels), k],
                       compute)


# ----------------------------------------------------------------------------- sampling codes


def fit_gaussian(codes: np.ndarray, *, seed: int) -> GaussianMixture:
    """One full-covariance Gaussian over all codes (a one-component mixture, so it samples like the others)."""
    return GaussianMixture(n_components=1, covariance_type="full", random_state=seed).fit(
        np.asarray(codes, dtype=np.float64))


def fit_class_mixtures(codes: np.ndarray, labels: np.ndarray, *, components: int = 3,
                       seed: int) -> dict[int, GaussianMixture]:
    """A full-covariance Gaussian mixture per class, fitted on that class's codes only (seeded)."""
    # in float64: covariances fitted in float32 fail numpy's positive-semidefinite check when sampled
    codes, labels = np.asarray(codes, dtype=np.float64), np.asarray(labels)
    return {int(c): GaussianMixture(n_components=components, covariance_type="full", random_state=seed + int(c))
            .fit(codes[labels == c]) for c in np.unique(labels)}


def sample(mixture: GaussianMixture, n: int, *, seed: int) -> np.ndarray:
    """`n` codes drawn by scikit-learn from a fitted mixture with `seed` (the fitted mixture is left unchanged),
    in a seeded random order (scikit-learn returns them grouped by component)."""
    drawn, _ = copy.copy(mixture).set_params(random_state=seed).sample(n)
    return drawn[np.random.default_rng(seed).permutation(n)].astype(np.float32)


def sample_classes(mixtures: dict[int, GaussianMixture], per_class: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` codes from each class's mixture, ordered by class, and the class each was drawn for."""
    codes = [sample(mixture, per_class, seed=seed + c) for c, mixture in sorted(mixtures.items())]
    labels = np.repeat(sorted(mixtures), per_class)
    return np.concatenate(codes), labels


# ----------------------------------------------------------------------------- paths and neighbours


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` points on the straight line from `a` to `b`, both ends included exactly ([steps, *a.shape]).

    Linear, not spherical: spherical interpolation keeps the norm of codes drawn from a high-dimensional
    standard Gaussian (a VAE's prior), whose mass sits on a shell; an autoencoder's codes have no such
    shell, so the straight line stays among codes the decoder has seen."""
    if steps < 2:
        raise ValueError(f"interpolate needs steps >= 2 (both ends), got {steps}.")
    t = torch.linspace(0, 1, steps, device=a.device, dtype=torch.float32).view(-1, *([1] * a.dim()))
    return (1 - t) * a.float() + t * b.float()


# ----------------------------------------------------------------------------- generation and its checks


def class_key(name: str) -> str:
    """A class name as a metrics.json key ("T-shirt/top" -> "t_shirt_top")."""
    return slug(name).replace("-", "_")


@dataclass(frozen=True)
class Generated:
    """Images decoded from sampled codes: one set per class (from that class's mixture) and one from the
    single Gaussian over all codes."""

    per_class: ImageSet  # labels: the class each code was drawn for
    gaussian: ImageSet  # labels: -1 (drawn without a class)


def generate(decoder: nn.Module, codes: np.ndarray, labels: np.ndarray, classes: Sequence[str], *, per_class: int,
             gaussian: int, components: int = 3, seed: int, device: torch.device | str) -> Generated:
    """Fit both samplers on training `codes`, draw, and decode on `device` (seeded throughout)."""
    class_codes, intended = sample_classes(fit_class_mixtures(codes, labels, components=components, seed=seed),
                                           per_class, seed=seed)
    single = sample(fit_gaussian(codes, seed=seed), gaussian, seed=seed)
    images = to_uint8(decode(decoder, class_codes, device=device))
    return Generated(ImageSet(images, torch.as_tensor(intended, device=images.device), tuple(classes)),
                     as_set(decode(decoder, single, device=device), classes))


def mixture_samples(decoder: nn.Module, codes: np.ndarray | torch.Tensor, n: int, *, components: int = 10, seed: int,
                    device: torch.device | str) -> torch.Tensor:
    """`n` images (uint8, [n, 1, 28, 28]) decoded from codes drawn from ONE full-covariance Gaussian mixture of
    `components` components fitted to all training `codes` WITHOUT their labels (EM, Dempster, Laird and Rubin
    1977, by scikit-learn; seeded): an unconditional generator, unlike the per-class mixtures of `generate`,
    which are fitted on each class's codes and so use the labels. Ten components: one per class if the codes
    cluster by class, though nothing makes them."""
    # in float64, as in fit_class_mixtures
    codes = np.asarray(codes.cpu() if isinstance(codes, torch.Tensor) else codes, dtype=np.float64)
    if codes.ndim != 2 or len(codes) < components:
        raise ValueError(f"mixture_samples needs [N, D] codes with N >= components = {components}, got {codes.shape}.")
    mixture = GaussianMixture(n_components=components, covariance_type="full", random_state=seed).fit(codes)
    return to_uint8(decode(decoder, sample(mixture, n, seed=seed), device=device))


def recognition(probs: torch.Tensor, intended: torch.Tensor, classes: Sequence[str]) -> dict:
    """How a classifier sees images generated for given classes: the share labelled as intended (overall and
    per class), the mean probability it gives the intended class, and its mean top probability."""
    probs, intended = probs.float().cpu(), intended.cpu()
    hit = (probs.argmax(1) == intended).float()
    per_class = {class_key(name): float(hit[intended == c].mean()) for c, name in enumerate(classes)
                 if (intended == c).any()}
    return {"recognised": float(hit.mean()), "per_class": per_class,
            "mean_confidence": float(probs.gather(1, intended.view(-1, 1)).mean()),
            "mean_top_probability": float(probs.max(1).values.mean()), "n": len(intended)}


def predicted_shares(probs: torch.Tensor, classes: Sequence[str]) -> dict:
    """The share of images a classifier assigns to each class, and its mean top probability: for samples drawn
    without a class, whether they cover every class."""
    counts = torch.bincount(probs.argmax(1).cpu(), minlength=len(classes)).float()
    return {"shares": {class_key(n): float(c / counts.sum()) for n, c in zip(classes, counts)},
            "mean_top_probability": float(probs.float().max(1).values.mean()), "n": int(counts.sum())}


def novelty(generated: torch.Tensor, train: torch.Tensor, test: torch.Tensor, *, seed: int,
            reconstructed: torch.Tensor | None = None, batch_size: int = 256) -> dict:
    """Are generated images new, or copies? Each one's nearest training image (pixel MSE on [0, 1]) and the
    count of exact copies (every pixel equal), held against the same distance for as many real test images
    (never trained on) and, when given, for the decoder's reconstructions of those test images
    (`reconstructed`, aligned with `test`): as smooth as generated images, which blur brings closer to
    everything in pixel distance."""
    index, distance = nearest(generated, train, batch_size=batch_size)
    identical = (generated.flatten(1) == train[index.to(train.device)].flatten(1).to(generated.device)).all(1)
    pick = torch.as_tensor(np.random.default_rng(seed).choice(len(test), min(len(generated), len(test)),
                                                              replace=False), device=test.device)
    _, test_distance = nearest(test[pick], train, batch_size=batch_size)
    found = {"index": index.cpu(), "distance": distance.cpu(), "identical": int(identical.sum()),
             "min_mse": float(distance.min()), "median_mse": float(distance.median()),
             "test_median_mse": float(test_distance.median()), "test_min_mse": float(test_distance.min())}
    if reconstructed is not None:
        _, recon_distance = nearest(reconstructed[pick.to(reconstructed.device)], train, batch_size=batch_size)
        found["reconstruction_median_mse"] = float(recon_distance.median())
    return found


def sample_checks(made: Generated, probs: torch.Tensor, gaussian_probs: torch.Tensor, splits: Splits, *,
                  reconstructed_test: torch.Tensor, seed: int) -> tuple[dict, dict]:
    """Everything measured on generated images: the metrics (recognition by a classifier whose class
    probabilities are `probs` / `gaussian_probs`, the copy check against the training split, with the test
    images and their reconstructions `reconstructed_test` as yardsticks) and the nearest training image of
    each class-conditional sample (indices and distances, for figures)."""
    classes = made.per_class.classes
    rec = recognition(probs, made.per_class.labels, classes)
    new = novelty(made.per_class.images, splits.train.images, splits.test.images, seed=seed,
                  reconstructed=to_uint8(reconstructed_test))
    nearest_found = {"index": new.pop("index"), "distance": new.pop("distance")}
    return {"samples_per_class": len(made.per_class) // len(classes), "recognition": rec, "novelty": new,
            "gaussian": predicted_shares(gaussian_probs, classes)}, nearest_found


def recognition_table(found: dict, classes: Sequence[str]) -> str:
    """Per class: the share of its samples the classifier labels as that class."""
    per_class, shares = found["recognition"]["per_class"], found["gaussian"]["shares"]
    return markdown_table(["class", "per-class mixture: share recognised as this class",
                           "single Gaussian: share of its samples given this class"],
                          [(n, per_class[class_key(n)], shares[class_key(n)]) for n in classes]
                          + [("all classes", found["recognition"]["recognised"], "")])


# ----------------------------------------------------------------------------- paths through the space


def interpolation_pairs(labels: torch.Tensor, class_pairs: Sequence[tuple[int, int]], *, seed: int) -> list[tuple[int, int]]:
    """For each (class a, class b), a seeded random image index of class a and one of class b."""
    y, rng = labels.cpu().numpy(), np.random.default_rng(seed)
    return [(int(rng.choice(np.flatnonzero(y == a))), int(rng.choice(np.flatnonzero(y == b)))) for a, b in class_pairs]


PAIR_KINDS = ("within", "across")  # pairs of two images of one class, of two different classes


def random_pairs(labels: torch.Tensor, n: int, *, seed: int) -> dict[str, list[tuple[int, int]]]:
    """`n` seeded random pairs of two different images: `n // 2` of one class (`"within"`) and the others of
    two classes (`"across"`). The first image of a pair is drawn uniformly (for a within pair, among the
    classes with at least two images), the second uniformly among the images that fit its kind."""
    y, rng = labels.cpu().numpy(), np.random.default_rng(seed)
    counts = np.bincount(y)
    paired = np.flatnonzero(counts[y] >= 2)  # images whose class has another image
    if n and (len(paired) == 0 or len(counts[counts > 0]) < 2):
        raise ValueError("random_pairs needs two images of one class and images of two classes.")
    found: dict[str, list[tuple[int, int]]] = {kind: [] for kind in PAIR_KINDS}
    for kind, count in zip(PAIR_KINDS, (n // 2, n - n // 2)):
        for _ in range(count):
            i = int(rng.choice(paired) if kind == "within" else rng.integers(len(y)))
            same = y == y[i]
            same[i] = False
            pool = np.flatnonzero(same if kind == "within" else y != y[i])
            found[kind].append((i, int(rng.choice(pool))))
    return found


def path_batch(encoder: nn.Module, decoder: nn.Module, data: ImageSet, pairs: Sequence[tuple[int, int]],
               steps: int, *, mean: float, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """For every pair of images at once: `steps` images along the straight line between their codes (decoded)
    and along the straight line between their pixels (a cross-fade), both on [0, 1], each [pairs, steps, 1,
    28, 28]."""
    first, second = (data.subset([pair[end] for pair in pairs]) for end in (0, 1))
    codes = [encode(encoder, part, mean=mean, std=std) for part in (first, second)]
    line = interpolate(codes[0], codes[1], steps).transpose(0, 1)  # [pairs, steps, dim]
    code_paths = decode(decoder, line.flatten(0, 1), device=data.device).view(len(pairs), steps, 1, 28, 28)
    pixels = [part.images.float() / 255 for part in (first, second)]
    return code_paths, interpolate(pixels[0], pixels[1], steps).transpose(0, 1)


def paths(encoder: nn.Module, decoder: nn.Module, data: ImageSet, pairs: Sequence[tuple[int, int]], steps: int, *,
          mean: float, std: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each pair of images, `steps` images along the straight line between their codes (decoded) and along
    the straight line between their pixels (a cross-fade), both on [0, 1] ([steps, 1, 28, 28] each)."""
    code_paths, pixel_paths = path_batch(encoder, decoder, data, pairs, steps, mean=mean, std=std)
    return list(zip(code_paths, pixel_paths))


def as_set(images: torch.Tensor, classes: Sequence[str]) -> ImageSet:
    """Images on [0, 1] (e.g. decoded) as an unlabelled uint8 set (labels -1), ready for a classifier."""
    images = to_uint8(images)
    return ImageSet(images, torch.full((len(images),), -1, device=images.device), tuple(classes))


def inner(paths: torch.Tensor) -> torch.Tensor:
    """The images of paths [pairs, steps, ...] between their two ends, [pairs * (steps - 2), ...] in order."""
    return paths[:, 1:-1].flatten(0, 1)


def per_pair(values: np.ndarray, pairs: int) -> np.ndarray:
    """The mean of each pair's values, for values of `inner` images (pairs in order, as many each)."""
    return np.asarray(values, dtype=float).reshape(pairs, -1).mean(1)


def reconstruction_fades(code_paths: torch.Tensor) -> torch.Tensor:
    """The control for the code paths' blur: per pair, the cross-fade in pixels between the two ends of its code
    path (the decoder's reconstructions of the two images), as many steps, [pairs, steps, 1, 28, 28]. A code
    path and its fade begin and end at the same decoded images; they differ only in the way between."""
    return interpolate(code_paths[:, 0], code_paths[:, -1], code_paths.shape[1]).transpose(0, 1)


def path_statistics(code: np.ndarray, pixels: np.ndarray, kinds: Sequence[str], *, seed: int) -> dict:
    """Per kind of pair (`kinds`: each pair's kind, aligned with `code` and `pixels`, the per-pair scores of
    the two paths; higher is better) and over all pairs: the number of pairs, the mean over pairs of each
    path, the paired difference code - pixels with its bootstrap interval (`statistics.paired_bootstrap`)
    and the share of pairs where the code path scores higher (`code_wins`)."""
    code, pixels, kinds = np.asarray(code, dtype=float), np.asarray(pixels, dtype=float), np.asarray(kinds)
    if not (code.shape == pixels.shape == kinds.shape) or code.ndim != 1:
        raise ValueError(f"path_statistics needs aligned per-pair scores and kinds, got {code.shape}, "
                         f"{pixels.shape} and {kinds.shape}.")
    found = {}
    for kind in [*dict.fromkeys(kinds.tolist()), "all"]:
        mine = np.ones(len(kinds), bool) if kind == "all" else kinds == kind
        difference = paired_bootstrap(code[mine], pixels[mine], seed=seed)
        found[kind] = {"pairs": int(mine.sum()), "code": float(code[mine].mean()),
                       "pixels": float(pixels[mine].mean()), "difference": difference,
                       "code_wins": difference["a_wins"]}
    return found


def path_table(found: dict) -> str:
    """One Markdown row per kind of pair: pairs, mean score through the code and through the pixels, the
    paired difference with its interval and the share of pairs the code path wins."""
    rows = []
    for kind, row in found.items():
        d = row["difference"]
        rows.append((latent_text.PAIR_WORDS.get(kind, kind), row["pairs"], sig(row["code"]),
                     sig(row["pixels"]), f"{sig(d['mean'])} [{sig(d['low'])}, {sig(d['high'])}]",
                     percent(row["code_wins"], 0)))
    return markdown_table(["pairs", "count", "code path", "pixel cross-fade",
                           "code − pixels (95% bootstrap interval)", "pairs the code path wins"], rows)


def principal_axes(codes: np.ndarray, k: int, *, seed: int) -> dict:
    """The mean code and its first `k` principal directions, each scaled to one standard deviation of the codes
    along it, with the share of the code variance each explains."""
    pca = PCA(n_components=k, random_state=seed).fit(np.asarray(codes, dtype=np.float32))
    return {"mean": pca.mean_.astype(np.float32),
            "axes": (pca.components_ * np.sqrt(pca.explained_variance_)[:, None]).astype(np.float32),
            "explained": pca.explained_variance_ratio_.astype(float).tolist()}


def sweep(axes: dict, steps: int, spread: float = 2.5) -> np.ndarray:
    """Codes [k, steps, dim]: from the mean code, -spread to +spread standard deviations along each axis."""
    t = np.linspace(-spread, spread, steps, dtype=np.float32)
    return axes["mean"][None, None] + t[None, :, None] * axes["axes"][:, None, :]


def _png(image: torch.Tensor, scale: int = 5) -> bytes:
    from PIL import Image  # comes with matplotlib

    pixels = (255 - to_uint8(image).squeeze().cpu().numpy())  # dark garment on white, as in the figures
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((28 * scale, 28 * scale), Image.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def explorer(decoder: nn.Module, axes: dict, *, device: torch.device | str, spread: float = 2.5):
    """An ipywidgets explorer: one slider per principal axis (in standard deviations of the codes), and the
    image decoded from the code they set, redrawn as they move. It only builds widgets: displayed where no
    front end is attached (papermill, nbval) it neither blocks nor fails. Returns None, saying why, where
    ipywidgets is not installed."""
    try:
        import ipywidgets as widgets
    except ImportError:
        print("ipywidgets is not installed: the interactive explorer is skipped (the static sweep above shows the "
              "same thing).")
        return None
    sliders = [widgets.FloatSlider(value=0.0, min=-spread, max=spread, step=0.1,
                                   description=f"PC{i + 1} ({share:.0%})", continuous_update=True)
               for i, share in enumerate(axes["explained"])]
    picture = widgets.Image(format="png", width=140, height=140)

    def redraw(_change=None) -> None:
        weights = np.array([s.value for s in sliders], dtype=np.float32)
        code = axes["mean"] + weights @ axes["axes"]
        picture.value = _png(decode(decoder, code[None], device=device)[0])

    for s in sliders:
        s.observe(redraw, names="value")
    redraw()
    box = widgets.HBox([widgets.VBox(sliders), picture])
    box.redraw, box.sliders, box.picture = redraw, sliders, picture
    return box


# ----------------------------------------------------------------------------- the study's representations


RAW = fewlabels.RAW
MAPPED = ("raw", "ae", "classifier")  # section 4's maps and class mixing: pixels, code, supervised features
INTERPOLATION_PAIRS = (("Sneaker", "Ankle boot"), ("T-shirt/top", "Dress"), ("Trouser", "Bag"))  # near to far
EXAMPLE_PAIRS = {"fashion-mnist": INTERPOLATION_PAIRS,  # the example paths' classes on each image collection
                 "mnist": (("4 - four", "9 - nine"), ("3 - three", "8 - eight"), ("0 - zero", "1 - one"))}
SWEEP_AXES = 4  # principal directions of the code that the sweep and the explorer move along
SWEEP_STEPS = 9  # decoded images along each swept direction
SWEEP_SPREAD = 2.5  # the sweep runs from -SWEEP_SPREAD to +SWEEP_SPREAD standard deviations of the codes


@dataclass
class Representations:
    """The study's representations of the same images, extended section by section (sections 4-7): each
    one's features by name with its key in metrics.json, the structure measures of the ones measured, the 2-D
    maps of the ones drawn (all on the same class-balanced test images, `points`), and the few-label table
    (`few`) that reads representations from few labels on one set of label draws. Which control serves which
    trained representation is kept once, in `few.control_of`."""

    ctx: Context = field(repr=False)
    points: np.ndarray
    few: fewlabels.Registry
    features: dict[str, Features] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # name -> key in metrics.json
    rows: dict[str, dict] = field(default_factory=dict)  # name -> structure measures
    maps: dict[str, dict] = field(default_factory=dict)  # name -> PCA and t-SNE coordinates of `points`
    controls: dict[str, list[Features]] = field(default_factory=dict)  # name -> one Features per random init

    @classmethod
    def start(cls, ctx: Context) -> Representations:
        """No representation yet; the maps' test images (the profile's `tsne_points`, class-balanced) and the
        few-label draws (the profile's label counts and draws, the same as section 3's) fixed."""
        splits, profile = ctx.splits, ctx.profile
        points = balanced_subset(splits.test.labels, profile.tsne_points or len(splits.test), profile.seed)
        labels = [part.labels.cpu().numpy() for part in (splits.train, splits.test)]
        few = fewlabels.Registry.of(ctx.run_dir, *labels, profile.label_counts, profile.label_draws,
                                    profile.seed)
        return cls(ctx, points, few)

    def name(self, key: str) -> str:
        """The representation kept under `key`."""
        found = [n for n, k in self.keys.items() if k == key]
        if not found:
            raise KeyError(f"no representation has the key {key!r} (keys: {sorted(self.keys.values())}).")
        return found[0]

    def __getitem__(self, key: str) -> Features:
        return self.features[self.name(key)]

    def add(self, key: str, name: str, features: Features) -> None:
        """Keep `features` under `name` and `key`."""
        self.features[name], self.keys[name] = features, key

    def add_control(self, key: str, name: str, inits: Sequence[Features], *, of: Sequence[str]) -> None:
        """Keep a random-encoder control under `name` and `key`: one `Features` per random initialization of
        the architecture behind the trained representations under the keys `of`."""
        self.add(key, name, inits[0])
        self.controls[name] = list(inits)
        self.few.control_of.update({k: key for k in of})

    def measure(self, keys: Sequence[str]) -> dict:
        """The structure measures of the representations under `keys` (`measure`, cached), kept in `rows`; a
        control is measured once per initialization and `pooled`. A trained representation's row names its
        control (`random_control`). Merges the whole `latent.structure` table into metrics.json and returns it."""
        ctx = self.ctx
        names = [self.name(k) for k in keys]
        run = lambda found: measure(found, ctx.splits, seed=ctx.seed, run_dir=ctx.run_dir)  # noqa: E731
        found = run({n: self.features[n] for n in names if n not in self.controls})
        for name in (n for n in names if n in self.controls):
            inits = run({initialization_name(name, i): f for i, f in enumerate(self.controls[name])})
            found[name] = pooled(list(inits.values()))
        self.rows.update({n: found[n] for n in names})  # in the order of `keys`
        for name, row in self.rows.items():
            if self.keys[name] in self.few.control_of:
                row["random_control"] = self.few.control_of[self.keys[name]]
        return ctx.merge("latent", {"structure": structure_metrics(self.rows, self.keys)})["structure"]

    def read_few(self, keys: Sequence[str]) -> None:
        """Read the representations under `keys` by the few-label protocol (`few`): a control once per
        initialization with the RBF SVM (`fewlabels.Registry.add_control`), the others with every method."""
        for key in keys:
            name = self.name(key)
            if name in self.controls:
                self.few.add_control(key, name, [(f.train, f.test) for f in self.controls[name]])
            else:
                self.few.add(key, name, self[key].train, self[key].test)

    def draw(self, keys: Sequence[str]) -> dict[str, dict]:
        """The PCA and t-SNE maps of the representations under `keys` on the test images `points` (`maps`,
        cached), kept in `maps`; returns them by name."""
        found = maps({self.name(k): self[k].test[self.points] for k in keys}, seed=self.ctx.seed,
                     run_dir=self.ctx.run_dir)
        self.maps.update(found)
        return found

    @property
    def point_labels(self) -> np.ndarray:
        """The class of each test image on the maps."""
        return self.ctx.splits.test.labels.cpu().numpy()[self.points]

    def joined(self, shown: Sequence[str]) -> Joined:
        """The structure table as it stands and the drawn maps of the representations under `shown`."""
        return Joined(structure_table(self.rows), {self.name(k): self.maps[self.name(k)] for k in shown},
                      self.point_labels, len(self.points))


@dataclass(frozen=True)
class Joined:
    """What a later section's representation adds to section 4's measures: the structure table with its row
    and the maps a figure sets side by side, on the same test images (`labels`: their classes)."""

    table: str
    maps: dict[str, dict]
    labels: np.ndarray
    points: int


@dataclass(frozen=True)
class Structure(Shown):
    """Section 4's structure measures: the representations (which later sections extend), the
    `latent.structure` entries, their table and their sentence."""

    reps: Representations


def add_random_controls(ctx: Context, reps: Representations, config: AEConfig) -> None:
    """The random-encoder controls (`RANDOM_INITS` initializations of the `Encoder` of `config`, batch norms
    calibrated, `random_encoders`), read where the trained encoders are: at the code (`ae_random`, the control
    of the autoencoder's, the VAE's mean and SimCLR's code) and at the last feature map projected on its first
    `map_components` principal directions (`ae_features_random`, the control of the three feature maps). The VAE
    and SimCLR use the same architecture: the VAE's last layer has twice the outputs and its first half is the
    mean, a random linear read-out of the same features, so one control serves all three."""
    splits, n = ctx.splits, ctx.profile.map_components
    encoders = random_encoders(lambda: Encoder(config), splits, seed=ctx.seed)
    codes = [encoder_features(e, splits) for e in encoders]
    feature_maps = [project(encoder_features(e.features, splits), n, seed=ctx.seed)[0] for e in encoders]
    reps.add_control("ae_random", f"random encoder, code ({config.latent_dim})", codes,
                     of=("ae", "vae", "simclr_code"))
    reps.add_control("ae_features_random", f"random encoder, feature map (PCA {n})", feature_maps,
                     of=("ae_features", "vae_features", "simclr"))


def representations(ctx: Context, ae_final: Autoencoder, clfs: Classifiers) -> Structure:
    """Raw pixels, PCA with as many components as the code, the autoencoder's code, the same encoder with random
    weights (`add_random_controls`) and the best section-3 classifier's penultimate features of every image;
    their structure measures, merged as `latent.structure`."""
    reps, splits, dim = Representations.start(ctx), ctx.splits, ae_final.config.latent_dim
    reps.add("raw", RAW, pixel_features(splits))
    reps.add("pca", f"PCA ({dim} components)", pca_features(splits, dim, seed=ctx.seed))
    reps.add("ae", f"autoencoder code ({dim})", encoder_features(ae_final.run.model.encoder, splits))
    add_random_controls(ctx, reps, ae_final.config)
    reps.add("classifier", f"best classifier's features ({strategy(clfs.best_name)})",
             encoder_features(Penultimate(clfs.best_model), splits))
    found = reps.measure(["raw", "pca", "ae", "ae_random", "classifier"])
    finding = " ".join(t for t in (latent_text.structure(found), rep_text.over_random(found, keys=("ae",))) if t)
    return Structure(reps, found=found, table=structure_table(reps.rows), finding=finding)


@dataclass(frozen=True)
class ClassMaps:
    """Section 4's maps of raw pixels, the code and the supervised features, with how each full space mixes
    the classes (`latent.mixing`) and its sentence."""

    maps: dict[str, dict]  # name -> PCA and t-SNE coordinates
    labels: np.ndarray  # the class of each test image on the maps
    seconds: dict[str, float]  # name -> seconds its t-SNE map took (when it was computed)
    mixing: dict
    finding: str


def class_maps(ctx: Context, reps: Representations) -> ClassMaps:
    """PCA and t-SNE maps of the `MAPPED` representations, and per class the k-NN recall in each of those
    spaces and the class it is mixed with most; merges `latent.maps` and `latent.mixing`."""
    found = reps.draw(MAPPED)
    seconds = {f"{reps.keys[n]}_tsne_seconds": m["tsne_seconds"] for n, m in found.items()}
    ctx.merge("latent", {"maps": {"points": len(reps.points), **seconds}})
    mixing = {k: class_mixing(reps[k], ctx.splits, ctx.classes, run_dir=ctx.run_dir) for k in MAPPED}
    mixing = ctx.merge("latent", {"mixing": mixing})["mixing"]
    return ClassMaps(found, reps.point_labels, {n: round(m["tsne_seconds"], 1) for n, m in found.items()},
                     mixing, latent_text.mixing(mixing))


def captions(probs: torch.Tensor, classes: Sequence[str]) -> list[str]:
    """Each image's class as a classifier labels it and the probability it gives that class, as captions."""
    return [f"{classes[int(p.argmax())]}\np = {float(p.max()):.2f}" for p in probs]


@dataclass(frozen=True)
class NewImages:
    """Section 4's images decoded from sampled codes and their checks (`latent.generation`): the samples, the
    judge's label of each single-Gaussian sample, the recognition table, one class-conditional sample per
    class with its nearest training image, and the sentence."""

    made: Generated
    gaussian_captions: list[str]
    generation: dict
    table: str
    shown: torch.Tensor  # the first class-conditional sample of each class
    neighbours: torch.Tensor  # the nearest training image of each shown sample
    distances: list[float]  # their pixel MSE
    shown_classes: list[str]
    finding: str


def new_images(ctx: Context, ae_final: Autoencoder, clfs: Classifiers, reps: Representations) -> NewImages:
    """Codes drawn from a Gaussian mixture per class (the profile's `samples_per_class` each) and from one
    Gaussian over all training codes (`grid_samples`), decoded; the judge's (`clfs.judge`) recognition of them
    and the copy check against the training images, merged as `latent.generation`."""
    splits, classes, model = ctx.splits, ctx.classes, ae_final.run.model
    made = generate(model.decoder, reps["ae"].train, splits.train.labels.cpu().numpy(), classes,
                    per_class=ctx.profile.samples_per_class, gaussian=ctx.profile.grid_samples, seed=ctx.seed,
                    device=ctx.device)
    gaussian_probs = finetune.probabilities(clfs.judge, made.gaussian, splits)
    probs = finetune.probabilities(clfs.judge, made.per_class, splits)
    generation, nearest_found = sample_checks(made, probs, gaussian_probs, splits, seed=ctx.seed,
                                              reconstructed_test=ae.reconstruct(model, splits.test, splits))
    generation = ctx.merge("latent", {"generation": generation})["generation"]
    labels = made.per_class.labels.cpu().numpy()
    show = [int(np.flatnonzero(labels == c)[0]) for c in range(len(classes))]
    neighbours = splits.train.images[nearest_found["index"][show].to(splits.train.device)]
    distances = nearest_found["distance"][show].tolist()
    return NewImages(made, captions(gaussian_probs, classes), generation,
                     recognition_table(generation, classes), made.per_class.images[show], neighbours,
                     distances, list(classes), latent_text.generation(generation, classes))


@dataclass(frozen=True)
class Interpolation:
    """Section 4's paths between two test images, through the code and through the pixels: the example paths
    the figure shows (one seeded pair of test images for each of `INTERPOLATION_PAIRS`), and the judged paths
    between the profile's `interpolation_pairs` random pairs (`latent.interpolation`), with their table and
    sentence."""

    class_pairs: tuple[tuple[str, str], ...]
    pairs: list[tuple[int, int]]  # the two test images of each class pair
    steps: int
    paths: list[tuple[torch.Tensor, torch.Tensor]]  # per pair: through the code, through the pixels
    found: dict
    table: str
    finding: str
    reading: str  # the code path against a cross-fade of its own decoded ends (`findings.latent.paths_reading`)

    @property
    def rows(self) -> list[torch.Tensor]:
        return [path for pair in self.paths for path in pair]

    @property
    def row_labels(self) -> list[str]:
        return [f"{a} → {b}\n{kind}" for a, b in self.class_pairs for kind in ("code", "pixels")]

    @property
    def col_labels(self) -> list[str]:
        return [f"t = {t:.2f}" for t in np.linspace(0, 1, self.steps)]


def judge_features(judge: nn.Module, images: torch.Tensor | ImageSet, splits: Splits) -> np.ndarray:
    """The judge's penultimate features of images on [0, 1] (rounded to uint8, like real images) or of an
    image set, normalized as the judge was trained."""
    data = images if isinstance(images, ImageSet) else as_set(images, splits.test.classes)
    return encode(Penultimate(judge), data, mean=splits.mean, std=splits.std).cpu().numpy()


REAL_KEY, NOISE_KEY = "real_held_out_images", "uniform_noise"  # the interpolation check's reference sets


def interpolation(ctx: Context, ae_final: Autoencoder, clfs: Classifiers) -> Interpolation:
    """The example paths: for each pair of classes of `EXAMPLE_PAIRS` (the run's image collection's), a seeded
    test image of either class and the profile's `interpolation_steps` images between them through the
    autoencoder's code and through the pixels.

    The judged paths: the profile's `interpolation_pairs` seeded random pairs of test images (`random_pairs`:
    half within a class, half across classes), each path through the code against the cross-fade of the same
    steps. Every image between the ends is scored by its density in the judge's features (`clfs.judge`;
    `judging.image_density`, k = `judging.DENSITY_K`, against the test images that end no path: an image
    next to an end would otherwise sit inside that end's own ball), averaged per pair; per kind of pair and
    over all, `path_statistics`. The score is checked first (`judging.check`): real held-out images
    (the validation split) must score above both kinds of path and uniform noise (as many images) below every
    other set. The control for the decoder's blur (`against_reconstruction_fade`, over all pairs): the code
    path against the cross-fade between its own two ends, the decoder's reconstructions of the two images
    (`reconstruction_fades`). Merged as `latent.interpolation`."""
    splits, classes, steps, seed = ctx.splits, ctx.classes, ctx.profile.interpolation_steps, ctx.seed
    model = ae_final.run.model
    named = EXAMPLE_PAIRS[ctx.dataset.name]
    pairs = interpolation_pairs(splits.test.labels, [(classes.index(a), classes.index(b)) for a, b in named],
                                seed=seed)
    shown = paths(model.encoder, model.decoder, splits.test, pairs, steps, mean=splits.mean, std=splits.std)
    drawn = random_pairs(splits.test.labels, ctx.profile.interpolation_pairs, seed=seed)
    every = [pair for kind in PAIR_KINDS for pair in drawn[kind]]
    kinds = [kind for kind in PAIR_KINDS for _ in drawn[kind]]
    code_paths, pixel_paths = path_batch(model.encoder, model.decoder, splits.test, every, steps,
                                         mean=splits.mean, std=splits.std)
    ends = sorted({i for pair in every for i in pair})  # the paths' own ends are no reference for them
    others = np.setdiff1d(np.arange(len(splits.test)), ends)
    real = judging.features(judge_features(clfs.judge, splits.test.subset(others.tolist()), splits))
    radii = judging.kth_distance(real, judging.DENSITY_K)

    def density(images: torch.Tensor) -> np.ndarray:
        return judging.image_density(real, judge_features(clfs.judge, images, splits), radii=radii)

    per_kind = {"code": per_pair(density(inner(code_paths)), len(every)),
                "pixels": per_pair(density(inner(pixel_paths)), len(every))}
    noise = judging.uniform_noise(len(splits.val), seed=seed, device=splits.val.device)
    means = {REAL_KEY: float(density(splits.val.images.float() / 255).mean()),
             NOISE_KEY: float(density(noise).mean()), **{k: float(v.mean()) for k, v in per_kind.items()}}
    check = judging.check({k: {"density": v} for k, v in means.items()}, list(per_kind), {"density": True},
                          real=[REAL_KEY], noise=NOISE_KEY)["density"]
    by_kind = path_statistics(per_kind["code"], per_kind["pixels"], kinds, seed=seed)
    fades = per_pair(density(inner(reconstruction_fades(code_paths))), len(every))
    control = path_statistics(per_kind["code"], fades, kinds, seed=seed)["all"]
    control["fade"] = control.pop("pixels")  # the cross-fade of the decoded ends, not of the images
    found = ctx.merge("latent", {"interpolation": {
        "steps": steps, "pairs": len(every), "score": "density", "k": judging.DENSITY_K,
        "judge": clfs.judge_name, "reference_images": len(real), "check": {**check, "mean_density": means},
        "against_reconstruction_fade": control, **by_kind}})["interpolation"]
    return Interpolation(named, pairs, steps, shown, found, path_table(by_kind),
                         latent_text.paths(found), latent_text.paths_reading(found))


@dataclass(frozen=True)
class Sweep:
    """Section 4's decoded images along the code's first principal directions (`latent.explorer`), their row
    and column labels, and the interactive explorer over the same directions (None without ipywidgets)."""

    axes: dict
    rows: list[torch.Tensor]
    row_labels: list[str]
    col_labels: list[str]
    found: dict
    explorer: Any


def principal_sweep(ctx: Context, ae_final: Autoencoder, reps: Representations) -> Sweep:
    """The first `SWEEP_AXES` principal directions of the training codes, `SWEEP_STEPS` decoded images along
    each from -`SWEEP_SPREAD` to +`SWEEP_SPREAD` standard deviations (the others at the mean code), and the
    share of the code variance they explain, merged as `latent.explorer`."""
    decoder = ae_final.run.model.decoder
    axes = principal_axes(reps["ae"].train, SWEEP_AXES, seed=ctx.seed)
    grid = sweep(axes, SWEEP_STEPS, spread=SWEEP_SPREAD)
    rows = decode(decoder, grid.reshape(-1, grid.shape[-1]), device=ctx.device)
    rows = rows.view(*grid.shape[:2], 1, 28, 28)
    found = ctx.merge("latent", {"explorer": {"axes": SWEEP_AXES, "explained": axes["explained"],
                                              f"explained_by_{SWEEP_AXES}": float(sum(axes["explained"]))}})
    return Sweep(axes, list(rows), [f"PC{i + 1} ({share:.0%} of variance)"
                                    for i, share in enumerate(axes["explained"])],
                 [f"{t:+.2g} σ" for t in np.linspace(-SWEEP_SPREAD, SWEEP_SPREAD, SWEEP_STEPS)],
                 found["explorer"], explorer(decoder, axes, device=ctx.device, spread=SWEEP_SPREAD))
