"""The same study on two image collections side by side (Fashion-MNIST, the hand-in, and MNIST): the headline
number of every section from each run's `metrics.json`, each run's budget, and one sentence on what changes.
The report's appendix prints them (`tables.collections_tex`)."""
from __future__ import annotations

from typing import Any, Mapping

from ..published import for_dataset
from ..results import metric_at
from .words import join, percent, sig, signed

# label, key path in metrics.json, kind ("share": a share printed in per cent; "mse"; "nats"; "score"), short
# name in a sentence
HEADLINES = (
    ("autoencoder test MSE, code 32 (main model)", "autoencoder.test_mse", "mse", ""),
    ("PCA test MSE, 32 components", "ae_code_size.code_32.pca_test_mse", "mse", ""),
    ("hand-set autoencoder, test MSE", "search_cv.hand_set_test_mse", "mse", ""),
    ("tuned autoencoder, test MSE", "search_cv.tuned_test_mse", "mse", ""),
    ("Homework 1's network from scratch, test accuracy", "finetune_hw1.scratch.test_accuracy", "share",
     "Homework 1's network"),
    ("the same network pretrained, test accuracy", "finetune_hw1.finetuned.test_accuracy", "share",
     "its pretrained twin"),
    ("k-NN on the autoencoder's code", "representations.ae.knn_accuracy", "share", "k-NN on the code"),
    ("VAE test NLL (nats, importance-weighted)", "vae.likelihood.nll", "nats", ""),
    ("SimCLR's linear probe", "representations.simclr.linear_probe_accuracy", "share", "SimCLR's probe"),
    ("DCGAN Fréchet distance (judge's features)", "generators.sets.dcgan.frechet", "score", ""),
    ("DCGAN coverage", "generators.sets.dcgan.coverage", "score", ""),
    ("best accuracy from 100 labels", "side_by_side.best_few_n100", "share", "the best from 100 labels"),
)
LEVEL = 0.005  # accuracies closer than half a point are level (one run each: no spread to judge them by)
PUBLISHED_VAE = "VAE, Gaussian prior (MLP)"  # the published number set beside each collection's VAE


def shown(value: Any, kind: str) -> str:
    """A headline value as the table prints it: shares in per cent, MSE to three significant digits, nats and
    scores to four; '--' where the run has none."""
    if value is None:
        return "--"
    if kind == "share":
        return percent(value)
    return sig(value, 3 if kind == "mse" else 4)


def budget(metrics: Mapping) -> str:
    """A run's budget in short: its profile, training images and the main autoencoder's epochs."""
    profile = metric_at(metrics, "run.profile.name") or "?"
    images, epochs = metric_at(metrics, "data.n_train"), metric_at(metrics, "run.profile.ae_epochs")
    return f"{profile}, {images:,} images × {epochs} epochs" if images and epochs else profile


def rows(fashion: Mapping, mnist: Mapping) -> list[tuple[str, str, str]]:
    """(label, Fashion-MNIST's value, MNIST's value) for every headline, then each collection's published VAE
    test NLL (`PUBLISHED_VAE`) and each run's budget."""
    found = [(label, shown(metric_at(fashion, path), kind), shown(metric_at(mnist, path), kind))
             for label, path, kind, _ in HEADLINES]
    published = [for_dataset(name).vae_nll.get(PUBLISHED_VAE) for name in ("fashion-mnist", "mnist")]
    found.append(("published MLP VAE test NLL (nats)", *(sig(p.value, 4) if p else "--" for p in published)))
    found.append(("run", budget(fashion), budget(mnist)))
    return found


def change(fashion: Mapping, mnist: Mapping) -> str:
    """One sentence on what changes from Fashion-MNIST to MNIST: how the accuracies move (in points), how many
    times lower or higher the autoencoder's test MSE is, and the VAE's NLL against each collection's published
    one. Empty where the two runs share no headline."""
    moved = {short: metric_at(mnist, path) - metric_at(fashion, path) for _, path, kind, short in HEADLINES
             if kind == "share" and metric_at(mnist, path) is not None and metric_at(fashion, path) is not None}
    parts = []
    if moved:
        by = {way: [n for n, d in moved.items() if (d >= LEVEL, d <= -LEVEL) == way_of]
              for way, way_of in (("higher", (True, False)), ("lower", (False, True)), ("level", (False, False)))}
        if len(by["higher"]) == len(moved):
            low, high = min(moved.values()), max(moved.values())
            parts.append(f"every accuracy of the table is higher on MNIST, by {100 * low:.1f} to {100 * high:.1f} "
                         f"points")
        else:
            said = [f"{join(names)} {'is' if len(names) == 1 else 'are'} {way}" for way, names in by.items() if names]
            parts.append("on MNIST, " + join(said))
    ae = [metric_at(run, "autoencoder.test_mse") for run in (fashion, mnist)]
    if None not in ae:
        times, way = (ae[0] / ae[1], "lower") if ae[0] >= ae[1] else (ae[1] / ae[0], "higher")
        parts.append(f"the autoencoder's test MSE is {sig(times, 2)} times {way} on MNIST")
    nll = [metric_at(run, "vae.likelihood.nll") for run in (fashion, mnist)]
    published = [for_dataset(name).vae_nll.get(PUBLISHED_VAE) for name in ("fashion-mnist", "mnist")]
    if None not in nll and None not in published:
        parts.append(f"the VAE's test NLL is {sig(nll[1], 4)} nats on MNIST against {sig(nll[0], 4)} on "
                     f"Fashion-MNIST, {signed(nll[1] - published[1].value)} and {signed(nll[0] - published[0].value)} "
                     f"nats from the published MLP VAE on each (ours minus published)")
    if not parts:
        return ""
    text = "; ".join(parts)  # one sentence, its parts apart by semicolons
    return text[0].upper() + text[1:] + "."
