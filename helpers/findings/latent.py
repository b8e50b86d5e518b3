"""Sentences of section 4 (the latent space), built from the `latent` section of `metrics.json`: the
structure measures, how the classes mix in each space, generation from the codes and paths through them.
Each returns plain prose; the notebook adds its "Measured:" label."""
from __future__ import annotations

from typing import Sequence

from ..results import slug
from .words import TIE_ACCURACY, capital, join, percent, points, sig, verdict

SPACE_WORDS = {"raw": "raw pixels", "pca": "PCA", "ae": "the autoencoder's code",  # the spaces, in words
               "vae": "the VAE's mean code", "classifier": "the classifier's features"}
SPACE_ORDER = ("raw", "pca", "ae", "vae")  # unsupervised spaces first; others (the supervised one) after them
RELATION = {1: "higher than", 0: "level with", -1: "lower than"}


def _space(key: str, row: dict | None = None) -> str:
    return SPACE_WORDS.get(key, (row or {}).get("name", key))


def structure(rows: dict[str, dict], *, raw: str = "raw", code: str = "ae", linear: str = "pca",
              supervised: str = "classifier") -> str:
    """The structure measures (the `latent.structure` entries, by key) in words: the code against raw
    pixels, against PCA of the same size, and the supervised reference. Accuracies closer than
    `TIE_ACCURACY` are level."""
    r, c, p, s = rows[raw], rows[code], rows[linear], rows[supervised]
    silhouette = RELATION[verdict(c["silhouette"] - r["silhouette"], None)]
    knn = RELATION[verdict(c["knn_accuracy"] - r["knn_accuracy"], TIE_ACCURACY)]
    return (f"{capital(_space(code, c))} has a silhouette of {sig(c['silhouette'])}, {silhouette} the "
            f"{sig(r['silhouette'])} of raw pixels, and a k-NN accuracy of {percent(c['knn_accuracy'])}, "
            f"{knn} their {percent(r['knn_accuracy'])}. {_space(linear, p)} with as many components, the "
            f"best linear code of that size, reaches {percent(p['knn_accuracy'])} by k-NN and a silhouette "
            f"of {sig(p['silhouette'])}: the nonlinear code changes k-NN accuracy by "
            f"{points(c['knn_accuracy'] - p['knn_accuracy'])} and linear-probe accuracy by "
            f"{points(c['linear_probe_accuracy'] - p['linear_probe_accuracy'])} against it. A linear probe "
            f"reads {percent(c['linear_probe_accuracy'])} from the code and "
            f"{percent(r['linear_probe_accuracy'])} from raw pixels; {_space(supervised, s)}, trained with "
            f"every label, reach {percent(s['linear_probe_accuracy'])} and a silhouette of "
            f"{sig(s['silhouette'])}: the distance to them is what supervision adds to the space.")


def mixing(found: dict[str, dict], *, separated: float = 0.95) -> str:
    """How each space mixes the classes (the `latent.mixing` entries: per space key, per class its k-NN
    recall and the class most of its other images go to): the classes every space keeps apart (recall at
    least `separated`), and the most mixed class of each space with what it is mixed with."""
    keys = sorted(found, key=lambda k: (SPACE_ORDER.index(k) if k in SPACE_ORDER else len(SPACE_ORDER), k))
    first = found[keys[0]]
    apart = sorted(row["name"] for key, row in first.items()
                   if all(found[k][key]["recall"] >= separated for k in keys))
    text = ""
    if apart:
        text = (f"{join(apart)} {'stays' if len(apart) == 1 else 'stay'} apart in every space (k-NN recall "
                f"at least {percent(separated, 0)}). ")
    worst = {k: min(found[k].values(), key=lambda row: row["recall"]) for k in keys}
    if len({(w["name"], w["confused_with"]) for w in worst.values()}) == 1:
        w = worst[keys[0]]
        recalls = join([f"{percent(worst[k]['recall'], 0)} in {_space(k)}" for k in keys])
        shares = join([percent(worst[k]["confused_share"], 0) for k in keys])
        return text + (f"{w['name']} is the most mixed class in every space, mostly with "
                       f"{w['confused_with']}: its k-NN recall is {recalls} ({shares} of its images go to "
                       f"{w['confused_with']}).")
    return text + capital("; ".join(
        f"in {_space(k)} the most mixed class is {worst[k]['name']} (recall "
        f"{percent(worst[k]['recall'], 0)}, {percent(worst[k]['confused_share'], 0)} of its images go to "
        f"{worst[k]['confused_with']})"
        for k in keys)) + "."


def generation(found: dict, classes: Sequence[str] | None = None) -> str:
    """Images generated from the codes (the `latent.generation` entry): the share the classifier recognises
    as the class they were drawn for, the easiest and hardest class (named from `classes`, else by key), and
    the copy check against the training set with real test images and their reconstructions as yardsticks."""
    rec, new = found["recognition"], found["novelty"]
    names = {slug(n).replace("-", "_"): n for n in classes or ()}
    per_class = {names.get(key, key): share for key, share in rec["per_class"].items()}
    worst, best = min(per_class, key=per_class.get), max(per_class, key=per_class.get)
    closer = verdict(new["median_mse"] - new["reconstruction_median_mse"], None) < 0
    nearer = "closer to" if closer else "no closer to"
    return (f"The classifier labels {percent(rec['recognised'])} of the {rec['n']:,} class-conditional "
            f"samples as the class they were drawn for, with a mean probability of "
            f"{sig(rec['mean_confidence'], 2)} on that class; best {best} ({percent(per_class[best], 0)}), "
            f"worst {worst} ({percent(per_class[worst], 0)}). {new['identical']:,} of them equal their "
            f"nearest training image. The median distance to it is {sig(new['median_mse'])} (pixel MSE), "
            f"against {sig(new['test_median_mse'])} for real test images and "
            f"{sig(new['reconstruction_median_mse'])} for the decoder's reconstructions of those test "
            f"images, which are as smooth as the samples but come from images never trained on: the samples "
            f"are {nearer} the training set than those. The single Gaussian's samples are given a class with "
            f"a mean top probability of {sig(found['gaussian']['mean_top_probability'], 2)} (per-class "
            f"mixtures: {sig(rec['mean_top_probability'], 2)}).")


def paths(interpolation: dict) -> str:
    """The classifier's mean top probability along the decoded code paths against the pixel cross-fades
    (the `latent.interpolation` entry; the paths' ends left out)."""
    code, pixels, inner = interpolation["code"], interpolation["pixels"], interpolation["steps"] - 2
    reading = ("the code path stays among images that look like one garment"
               if verdict(code - pixels, None) > 0
               else "the cross-fade looks no less like a garment than the code path here")
    return (f"Along the inner {inner} steps, the classifier's mean top probability is {sig(code, 2)} on the "
            f"decoded code path and {sig(pixels, 2)} on the pixel cross-fade: {reading}.")
