"""Sentences of section 4 (the latent space), built from the `latent` section of `metrics.json`: the
structure measures, how the classes mix in each space, generation from the codes and paths through them.
Each returns plain prose; the notebook adds its "Measured:" label. Generated images are judged by the judge
(Homework 1's network trained from scratch, which never saw an autoencoder); fidelity is read only from a
score that passed its check against real images and uniform noise, never from the judge's confidence."""
from __future__ import annotations

from typing import Sequence

from ..results import slug
from .words import TIE_ACCURACY, capital, interval, interval_call, join, percent, plural, points, sig, verdict

SPACE_WORDS = {"raw": "raw pixels", "pca": "PCA", "ae": "the autoencoder's code",  # the spaces, in words
               "vae": "the VAE's mean code", "classifier": "the classifier's features"}
SPACE_ORDER = ("raw", "pca", "ae", "vae")  # unsupervised spaces first; others (the supervised one) after them
RELATION = {1: "higher than", 0: "level with", -1: "lower than"}
PAIR_WORDS = {"within": "within a class", "across": "across classes", "all": "all pairs"}  # kinds of pair
PATH_WORDS = {"code": "the code path", "pixels": "the cross-fade",  # the sets of the interpolation check
              "real_held_out_images": "real held-out images", "uniform_noise": "uniform noise"}
AHEAD = {1: "the code path scores higher", 0: "level", -1: "the cross-fade scores higher"}


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
    """Images generated from the codes (the `latent.generation` entry): the share the judge recognises as the
    class they were drawn for, the easiest and hardest class (named from `classes`, else by key), the copy
    check against the training set with real test images and their reconstructions as yardsticks, and how
    the judge spreads the single Gaussian's samples over the classes."""
    rec, new = found["recognition"], found["novelty"]
    names = {slug(n).replace("-", "_"): n for n in classes or ()}
    per_class = {names.get(key, key): share for key, share in rec["per_class"].items()}
    worst, best = min(per_class, key=per_class.get), max(per_class, key=per_class.get)
    closer = verdict(new["median_mse"] - new["reconstruction_median_mse"], None) < 0
    nearer = "closer to" if closer else "no closer to"
    shares = {names.get(key, key): share for key, share in found["gaussian"]["shares"].items()}
    return (f"The judge labels {percent(rec['recognised'])} of the {rec['n']:,} class-conditional "
            f"samples as the class they were drawn for, with a mean probability of "
            f"{sig(rec['mean_confidence'], 2)} on that class; best {best} ({percent(per_class[best], 0)}), "
            f"worst {worst} ({percent(per_class[worst], 0)}). {new['identical']:,} of them equal their "
            f"nearest training image. The median distance to it is {sig(new['median_mse'])} (pixel MSE), "
            f"against {sig(new['test_median_mse'])} for real test images and "
            f"{sig(new['reconstruction_median_mse'])} for the decoder's reconstructions of those test "
            f"images, which are as smooth as the samples but come from images never trained on: the samples "
            f"are {nearer} the training set than those. {_gaussian_shares(shares)}")


def _gaussian_shares(shares: dict[str, float]) -> str:
    """How the judge spreads the single Gaussian's samples over the classes: the least and the most chosen
    class, and every class it never chooses."""
    rarest, commonest = min(shares, key=shares.get), max(shares, key=shares.get)
    never = [name for name, share in shares.items() if share == 0]
    if never:
        return (f"The judge assigns none of the single Gaussian's samples to {join(never)}, and "
                f"{percent(shares[commonest], 0)} to {commonest}, the most chosen class.")
    return (f"The judge assigns between {percent(shares[rarest], 0)} ({rarest}) and "
            f"{percent(shares[commonest], 0)} ({commonest}) of the single Gaussian's samples to each class.")


def _check_failure(check: dict) -> str:
    """Why the interpolation's score failed its check, in words."""
    said, words = [], lambda keys: join([PATH_WORDS.get(k, k) for k in keys])  # noqa: E731
    if check["noise_not_last"]:
        said.append(f"uniform noise scores at least as high as {words(check['noise_not_last'])}")
    for real, names in check["real_not_above"].items():
        if names:
            verb = "scores" if len(names) == 1 else "score"
            said.append(f"{words(names)} {verb} at least as high as {PATH_WORDS.get(real, real)}")
    return "; ".join(said)


def paths(interpolation: dict) -> str:
    """The judged paths (the `latent.interpolation` entry): the score and its check (real held-out images
    above both kinds of path, uniform noise last), and where it passed, per kind of pair the mean density
    through the code against the cross-fade, the paired difference with its bootstrap interval (a tie when the
    interval holds 0: `words.interval_call`) and the share of pairs the code path wins. Without a passed check,
    no verdict."""
    f, check = interpolation, interpolation["check"]
    means = check["mean_density"]
    inside = plural(f["steps"] - 2, "image")
    text = (f"For {f['pairs']:,} random pairs of test images (half {PAIR_WORDS['within']}), the images "
            f"inside each path ({inside}) are scored by their density in the judge's features (k = {f['k']})"
            + (f" among the {f['reference_images']:,} test images that end no path" if f.get("reference_images")
               else "")
            + f", with a check of its own (validation images {sig(means['real_held_out_images'])}, uniform noise "
            f"{sig(means['uniform_noise'])})")
    if not check["passed"]:
        return (f"{text}. The score fails its check on these paths ({_check_failure(check)}), so it gives no "
                f"verdict on them: the code path averages {sig(means['code'])} and the cross-fade "
                f"{sig(means['pixels'])}, unranked.")
    said, wins = [], []
    for kind in ("all", "within", "across"):
        if kind not in f:
            continue
        row = f[kind]
        d = row["difference"]
        said.append(f"{PAIR_WORDS[kind]} ({row['pairs']:,}) {sig(row['code'], 2)} against {sig(row['pixels'], 2)} "
                    f"({interval(d)}), {AHEAD[interval_call(d)]}")
        wins.append(f"{round(row['code_wins'] * row['pairs']):,} of {row['pairs']:,}")
    text += ": both kinds of path score between the two, so the score passes."
    return (f"{text} Code path against cross-fade, mean density per pair (difference, 95% bootstrap interval): "
            f"{'; '.join(said)}; the code path is higher in {join(wins)} pairs.")


def paths_reading(interpolation: dict) -> str:
    """The control for the decoder's blur (the `latent.interpolation` entry's `against_reconstruction_fade`):
    every code path begins and ends at the decoder's reconstructions, every plain cross-fade at the real images,
    so the code path is also set against the cross-fade between its own two decoded ends: the two then differ
    only in the way between. A tie when the bootstrap interval of the paired difference holds 0. Empty without
    the control (an older run) or where the score failed its check."""
    control = interpolation.get("against_reconstruction_fade")
    if not control or not interpolation["check"]["passed"]:
        return ""
    d = control["difference"]
    text = (f"A control separates the decoder's blur from the way through the code: set against a cross-fade "
            f"between the decoder's reconstructions of the same two images, so that both paths begin and end "
            f"at the same decoded images, the code path scores {sig(control['code'])} against "
            f"{sig(control['fade'])} ({interval(d)}, {plural(control['pairs'], 'pair')}): ")
    call = interval_call(d)
    if call == 1:
        return text + ("the straight line through the code stays nearer real images than a fade does, so the "
                       "plain cross-fade's lead comes from the decoder's blur, not from the code's geometry.")
    if call == -1:
        return text + ("the fade still leads, so the straight line between two codes leaves the region of real "
                       "images beyond what the decoder's blur explains.")
    return text + ("level, so once the blur is matched the way through the code is worth no more than a fade, "
                   "and the plain cross-fade's lead is the decoder's blur.")


def novelty(found: dict) -> str:
    """Whether the images decoded from sampled codes are new (`latent.generation.novelty`): the exact copies
    of a training image, and the median pixel MSE to the nearest training image against two references, real
    test images and the decoder's reconstructions of them (as smooth as samples, which blur brings closer to
    everything); samples no nearer than those reconstructions are smooth, not copied."""
    copies, median = found["identical"], found["median_mse"]
    head = "no decoded image equals" if copies == 0 else f"{copies} decoded images equal"
    text = (f"{capital(head)} its nearest training image; their median pixel MSE to it is {sig(median, 2)}, "
            f"against {sig(found['test_median_mse'], 2)} for real test images")
    recon = found.get("reconstruction_median_mse")
    if recon is None:
        return text + "."
    text += f" and {sig(recon, 2)} for the decoder's reconstructions of those"
    if median >= recon:
        return text + (", so the samples lie no nearer the training images than reconstructions of images the "
                       "network never saw: they are not copies.")
    return text + ", nearer than even those reconstructions, so some samples may reproduce training images."
