"""Published numbers the study holds its own results against, each with its source and what was measured.

Every entry names the key of its source in `report/references.bib` (`cite`) and says in one line what the
number is: the model, the data and the protocol. No other module, notebook cell or report line types a
published number: the notebook passes these values to the functions that compare with them, and the report
reads them under the `published.` key (`report_values`). A number whose source a reader cannot check is not
compared with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Published:
    """One published number: `value` in `unit`, from the source `cite` (a key of report/references.bib),
    `what` was measured, and the `protocol`'s own numbers (the report may name them beside the value)."""

    value: float
    unit: str  # "accuracy" (a share of the test images) or "nats" (negative log-likelihood per test image)
    cite: str
    what: str
    protocol: Mapping[str, int] = field(default_factory=dict)


HW1_TEST_ACCURACY = Published(
    0.9259, "accuracy", "hw1",
    "Homework 1's convolutional network (three conv-BN-ReLU-pool blocks) on the 10,000 Fashion-MNIST test "
    "images, trained up to 50 epochs with early stopping on a single 80/20 split of the training images.",
    {"epochs": 50, "split": "80/20"})

_NLL = ("Fashion-MNIST test set, dynamically binarized, Bernoulli likelihood over 784 pixels; negative "
        "log-likelihood in nats per image, importance-weighted with 5,000 samples")
_TABLE = "as listed in the source's density-estimation table"
VAE_NLL: dict[str, Published] = {
    "VAE, Gaussian prior (MLP)": Published(
        228.70, "nats", "norouzi2020", f"MLP VAE with a Gaussian prior and a 40-number code. {_NLL}.",
        {"importance_samples": 5000, "latent_dim": 40}),
    "VampPrior": Published(
        227.35, "nats", "norouzi2020", f"MLP VAE with a VampPrior and a 40-number code. {_NLL}."),
    "Exemplar VAE": Published(
        226.75, "nats", "norouzi2020", f"MLP VAE with the Exemplar prior and a 40-number code. {_NLL}."),
    "convolutional hierarchical VAE": Published(
        225.38, "nats", "norouzi2020", f"Convolutional hierarchical VAE, {_TABLE}. {_NLL}."),
    "PixelSNAIL": Published(
        223.68, "nats", "norouzi2020", f"PixelSNAIL (autoregressive), {_TABLE}. {_NLL}."),
}

_POISSON = ("FashionMNIST, 100 labels (10 per class), mean over the source's random label draws; graph-based "
            "and transductive: the labels are spread over a k-nearest-neighbour graph of the dataset's "
            "images and accuracy is read on the images of the graph left unlabeled, on features of the "
            "source's own VAE (fully connected, 30-number code)")
POISSON: dict[str, Published] = {
    "Poisson learning": Published(0.753, "accuracy", "calder2020", f"Poisson learning. {_POISSON}.",
                                  {"labels": 100}),
    "PoissonMBO": Published(0.761, "accuracy", "calder2020", f"Poisson learning with graph-cut refinement "
                            f"and class-size constraints (PoissonMBO). {_POISSON}.", {"labels": 100}),
}

_NLL_MNIST = _NLL.replace("Fashion-MNIST", "MNIST")
MNIST_VAE_NLL: dict[str, Published] = {
    "VAE, Gaussian prior (MLP)": Published(
        84.45, "nats", "norouzi2020", f"MLP VAE with a Gaussian prior and a 40-number code. {_NLL_MNIST}.",
        {"importance_samples": 5000, "latent_dim": 40}),
}


ENTRIES: dict[str, Published] = {  # every published number, by the key the report reads it under
    "hw1_test_accuracy": HW1_TEST_ACCURACY,
    "vae_nll_gaussian": VAE_NLL["VAE, Gaussian prior (MLP)"],
    "vae_nll_vampprior": VAE_NLL["VampPrior"],
    "vae_nll_exemplar": VAE_NLL["Exemplar VAE"],
    "vae_nll_conv_hierarchical": VAE_NLL["convolutional hierarchical VAE"],
    "vae_nll_pixelsnail": VAE_NLL["PixelSNAIL"],
    "poisson_100": POISSON["Poisson learning"],
    "poisson_mbo_100": POISSON["PoissonMBO"],
    "vae_nll_gaussian_mnist": MNIST_VAE_NLL["VAE, Gaussian prior (MLP)"],
}


@dataclass(frozen=True)
class Yardsticks:
    """The published numbers a run on one image collection is held against: Homework 1's reported accuracy
    (None where Homework 1 did not study the collection), the VAE test NLLs and the 100-label accuracies of
    graph-based learning (empty where no checkable source gives them under a comparable protocol)."""

    hw1: Published | None
    vae_nll: Mapping[str, Published]
    few_labels: Mapping[str, Published]


YARDSTICKS = {"fashion-mnist": Yardsticks(HW1_TEST_ACCURACY, VAE_NLL, POISSON),
              "mnist": Yardsticks(None, MNIST_VAE_NLL, {})}


def for_dataset(name: str) -> Yardsticks:
    """The published numbers of image collection `name` (a key of `config.DATASETS`)."""
    if name not in YARDSTICKS:
        raise ValueError(f"no published numbers are kept for data set {name!r}; known: {', '.join(YARDSTICKS)}")
    return YARDSTICKS[name]


def values(entries: Mapping[str, Published]) -> dict[str, float]:
    """The bare values of `entries`, by the same names: what the comparing functions take."""
    return {name: entry.value for name, entry in entries.items()}


def report_values() -> dict[str, dict]:
    """The report's `published.` section: for every entry of `ENTRIES`, its `value`, its `cite` key and its
    protocol's numbers (`\\metric{published.vae_nll_gaussian.value}`, `...importance_samples`)."""
    return {key: {"value": entry.value, "cite": entry.cite, **entry.protocol}
            for key, entry in ENTRIES.items()}
