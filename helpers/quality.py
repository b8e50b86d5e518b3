"""Sample quality in a classifier's feature space, for every generator of the study (section 7's library layer).

The features are the penultimate features of the best Fashion-MNIST classifier of section 3 (see
`latent.Penultimate`). The Frechet distance computed in them is therefore NOT the Inception FID (which needs
ImageNet weights and means little on 28x28 grey images); call it the classifier-feature Frechet distance.
Precision and recall (k-nearest-neighbour manifolds, Kynkaanniemi et al. 2019) separate the two things the
Frechet distance mixes: how many generated images look real (precision) and how much of the real data the
generator covers (recall). Precision is fooled by a tight cluster of features inside the wide balls of the real
set's outliers (uniform noise scores high on it), so fidelity and diversity are ranked by density and coverage
(Naeem et al. 2020), which draw balls around the real features only. `Scorer` puts every score of one image set
in one row, and `references` gives the rows every generator is read against: real held-out images (the floor),
training images (what a copying generator would score) and uniform noise (the ceiling).

Generators are compared in explicit groups (`groups`: group name -> generator names, e.g. `UNCONDITIONAL` and
`CONDITIONAL`): a generator that draws each sample for a given class used the labels, so it is ranked only
against the other class-conditional generators. Every sentence says which score it rests on.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from scipy import linalg
from torch import nn

from .data import ImageSet, nearest, to_uint8
from .results import markdown_table, slug
from .training import outputs


def frechet_distance(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor) -> float:
    """||mu_r - mu_g||^2 + Tr(C_r + C_g - 2 (C_r C_g)^(1/2)) between Gaussians fitted to two feature sets
    (rows: images), in float64; the matrix square root by scipy (its tiny imaginary part from round-off
    is dropped, a large one is an error)."""
    a, b = (np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64) for x in (real, generated))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance needs two [N, D] feature sets of the same D, got {a.shape} and {b.shape}.")
    if min(len(a), len(b)) < 2:
        raise ValueError("frechet_distance needs at least 2 rows in each set to estimate a covariance.")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)
        try:
            root = linalg.sqrtm(cov_a @ cov_b)
            singular = not np.all(np.isfinite(root))
        except linalg.LinAlgWarning:
            singular = True
    if singular:  # a singular product (fewer images than dimensions, dead features): nudge both off singularity
        eps = 1e-6 * np.trace(cov_a + cov_b) / len(cov_a) * np.eye(len(cov_a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    if np.iscomplexobj(root):
        if np.abs(root.imag).max() > 1e-3 * max(1.0, np.abs(root.real).max()):
            raise ValueError("frechet_distance: the matrix square root has a large imaginary part; "
                             "the covariances are badly conditioned (use more images).")
        root = root.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))


def _kth_distance(x: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance from every row of `x` to its k-th nearest other row of `x` (the radius of its k-NN ball)."""
    out = []
    for chunk in x.split(batch_size):
        d = torch.cdist(chunk, x)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # column 0 is the row itself
    return torch.cat(out)


def _covered(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Whether each query lies inside at least one ball (centre, radius)."""
    out = []
    for chunk in queries.split(batch_size):
        out.append((torch.cdist(chunk, centres) <= radii.view(1, -1)).any(1))
    return torch.cat(out)


def precision_recall(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor, *, k: int = 3,
                     batch_size: int = 1024) -> dict[str, float]:
    """Improved precision and recall: the real manifold is the union of balls around every real feature
    reaching its k-th nearest real neighbour, and likewise for the generated one. Precision: the share of
    generated images inside the real manifold; recall: the share of real images inside the generated one."""
    a, b = (torch.as_tensor(np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float32)
            for x in (real, generated))
    if min(len(a), len(b)) <= k:
        raise ValueError(f"precision_recall needs more than k = {k} rows in each set.")
    precision = _covered(b, a, _kth_distance(a, k, batch_size), batch_size).float().mean()
    recall = _covered(a, b, _kth_distance(b, k, batch_size), batch_size).float().mean()
    return {"precision": float(precision), "recall": float(recall), "k": k}


# Naeem et al. (2020) recommend k = 5 for density and coverage (with as many generated as real samples), where
# coverage of two samples of one distribution is 1 - (1/2)^k ~ 0.97; the k = 3 of precision and recall
# (Kynkaanniemi et al.) would put that at 0.875.
DENSITY_K = 5


def _features(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float32)


def density_coverage(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor, *, k: int = DENSITY_K,
                     batch_size: int = 1024, radii: torch.Tensor | None = None) -> dict[str, float]:
    """Density and coverage (Naeem, Oh, Uh, Choi and Yoo, "Reliable Fidelity and Diversity Metrics for Generative
    Models", ICML 2020). Balls are drawn around the REAL features X_1..X_N only, each reaching its k-th nearest
    real neighbour (radius NND_k(X_i)), so a generated set is never judged by its own outliers:

        density  = 1/(kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]   (M generated features Y_j)
        coverage = 1/N sum_i 1[some Y_j in B(X_i, NND_k(X_i))]

    Density (fidelity) counts how many real neighbourhoods hold each sample: about 1 for samples of the real
    distribution, above 1 where samples crowd the dense regions, near 0 off the real data. Coverage (diversity)
    is the share of real neighbourhoods holding at least one sample. The balls are open (distance strictly
    below the radius), as in the authors' implementation, so a set scored against itself gets density 1 (up to
    float rounding at the k-th neighbour) and coverage 1; two samples of one distribution get density about 1
    and coverage about 1 - 2^-k.
    `radii` (NND_k of every real row) may be passed when one real set scores many generated sets."""
    a, b = _features(real), _features(generated)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"density_coverage needs two [N, D] feature sets of the same D, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}.")
    if len(a) <= k or len(b) == 0:
        raise ValueError(f"density_coverage needs more than k = {k} real rows and at least one generated row, "
                         f"got {len(a)} and {len(b)}.")
    radii = _kth_distance(a, k, batch_size) if radii is None else torch.as_tensor(radii, dtype=torch.float32)
    if radii.shape != (len(a),):
        raise ValueError(f"density_coverage: {len(radii)} radii for {len(a)} real rows.")
    inside, closest = 0, torch.full((len(a),), float("inf"))
    for chunk in b.split(batch_size):
        d = torch.cdist(chunk, a)  # [chunk, N]
        inside += int((d < radii.view(1, -1)).sum())
        closest = torch.minimum(closest, d.min(0).values)
    return {"density": inside / (k * len(b)), "coverage": float((closest < radii).float().mean()),
            "density_coverage_k": k}


def entropy(probs: torch.Tensor) -> float:
    """Mean entropy (nats) of a classifier's predicted distributions: low when every image looks like one class."""
    p = probs.float().clamp_min(1e-12)
    return float(-(p * p.log()).sum(1).mean())


# ----------------------------------------------------------------------------- scoring image sets


Embed = Callable[[torch.Tensor], tuple[np.ndarray, torch.Tensor]]


def classifier_embedding(penultimate: nn.Module, *, mean: float, std: float, batch_size: int = 2000) -> Embed:
    """images -> (penultimate features [N, D] as numpy, class probabilities [N, C] on the CPU), in one forward
    pass of a classifier seen through `latent.Penultimate` (its `.last` layer turns the features into logits).
    Images are rounded to uint8 first, like the real ones, and normalized with the classifier's `mean` / `std`."""
    def embed(images: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
        images = to_uint8(images)
        dummy = torch.zeros(len(images), dtype=torch.long, device=images.device)
        feats = outputs(penultimate, ImageSet(images, dummy, ()), lambda m, x: m(x), mean=mean, std=std,
                        batch_size=batch_size)
        with torch.inference_mode():
            probs = penultimate.last(feats.to(next(penultimate.last.parameters()).dtype)).float().softmax(1)
        return feats.cpu().numpy(), probs.cpu()
    return embed


class Scorer:
    """Scores image sets against real test images in one classifier's penultimate features.

    `reference`: the real images every set is compared with (all of them for the Frechet distance; a seeded
    random subsample of `n` for precision / recall (k = `k`) and density / coverage (k = `density_k`), which
    compare sets of equal size); `train`: the training images (uint8), for each generated image's nearest
    training image in pixels."""

    def __init__(self, embed: Embed, reference: torch.Tensor, train: torch.Tensor, *, n: int, k: int = 3,
                 density_k: int = DENSITY_K, seed: int = 0) -> None:
        self.embed, self.train, self.n, self.k, self.density_k, self.seed = embed, train, n, k, density_k, seed
        self.reference, _ = embed(reference)
        pick = np.random.default_rng(seed).choice(len(self.reference), min(n, len(self.reference)), replace=False)
        self.pr_reference = self.reference[np.sort(pick)]
        self.density_radii = _kth_distance(_features(self.pr_reference), density_k, 1024)  # shared by every set

    def score(self, images: torch.Tensor, intended: torch.Tensor | None = None) -> dict:
        """Frechet distance, precision, recall, density, coverage, the classifier's mean top probability and mean
        entropy, the share of each predicted class, the share recognised as `intended` (class-conditional sets),
        and the median pixel MSE to the nearest training image with the count of exact copies."""
        feats, probs = self.embed(images)
        images = to_uint8(images)
        index, distance = nearest(images, self.train)
        copies = (images.flatten(1).to(self.train.device) == self.train[index].flatten(1)).all(1)
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
        row = {"n": len(images), "frechet": frechet_distance(self.reference, feats),
               **precision_recall(self.pr_reference, feats, k=self.k),
               **density_coverage(self.pr_reference, feats, k=self.density_k, radii=self.density_radii),
               "mean_top_probability": float(probs.max(1).values.mean()), "entropy": entropy(probs),
               "smallest_class_share": float(counts.min() / counts.sum()),
               "nearest_train_mse": float(distance.median()), "copies": int(copies.sum())}
        if intended is not None:
            row["recognised"] = float((probs.argmax(1) == intended.cpu()).float().mean())
        return row


def references(data_val: torch.Tensor, data_train: torch.Tensor, n: int, *, seed: int) -> dict[str, torch.Tensor]:
    """The image sets every generator is read against, `n` images each (seeded): real held-out images (the
    validation split, never trained on: the floor), real training images (their nearest training image is
    themselves: what memorization would score) and uniform noise on [0, 1] (the ceiling)."""
    rng = np.random.default_rng(seed)
    pick = lambda x: x[torch.as_tensor(np.sort(rng.choice(len(x), min(n, len(x)), replace=False)),  # noqa: E731
                                       device=x.device)]
    noise = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)).to(data_val.device)
    return {REAL: pick(data_val), TRAIN: pick(data_train), NOISE: noise}


REAL, TRAIN, NOISE = "real held-out images", "real training images", "uniform noise"
REFERENCE = "reference"  # the group of the three reference sets in tables and metrics
ROLES = {REAL: "floor", TRAIN: "memorization", NOISE: "ceiling"}
UNCONDITIONAL, CONDITIONAL = "unconditional", "class-conditional"
WHY = {CONDITIONAL: "drawing each sample for a given class used the labels"}  # why a group is ranked apart

Groups = Mapping[str, Sequence[str]]

# Every score a generator is ranked or checked by: its name in sentences and whether higher is better.
MEASURES = {"frechet": ("Fréchet distance", False), "density": ("density", True), "coverage": ("coverage", True),
            "precision": ("precision", True), "recall": ("recall", True),
            "mean_top_probability": ("mean top probability", True)}
RANKED_BY = ("frechet", "density", "coverage")  # overall, fidelity, diversity: the only scores generators are ranked by
NOISE_CHECKED = ("precision", "mean_top_probability", "density", "coverage")  # where noise may outscore generators


def as_groups(scores: dict[str, dict], groups: Groups | Sequence[str]) -> dict[str, list[str]]:
    """Group name -> its generators, checked against `scores` (every name scored, none in two groups, no reference
    set among them); empty groups are dropped. A plain list of names is one group called "generators"."""
    if isinstance(groups, str):
        raise TypeError("groups: give a dict of group name -> generator names (or a list of names), not a string.")
    found = ({str(g): list(names) for g, names in groups.items() if len(names)} if isinstance(groups, Mapping)
             else {"generators": list(groups)})
    seen: dict[str, str] = {}
    for group, names in found.items():
        if group == REFERENCE:
            raise ValueError(f"groups: {REFERENCE!r} is the reference sets' group; name generator groups otherwise.")
        for name in names:
            if name not in scores:
                raise ValueError(f"group {group!r} names {name!r}, which has no scores (scored: {sorted(scores)}).")
            if name in ROLES:
                raise ValueError(f"group {group!r} names the reference set {name!r}; references are not generators.")
            if name in seen:
                raise ValueError(f"{name!r} is in two groups, {seen[name]!r} and {group!r}.")
            seen[name] = group
    if not seen:
        raise ValueError("groups: no generator to score.")
    return found


ImageSetEntry = tuple[torch.Tensor, "torch.Tensor | None"]  # images, and the class each was drawn for (or None)


def image_sets(references: Mapping[str, torch.Tensor], generators: Mapping[str, Mapping[str, ImageSetEntry]]
               ) -> tuple[dict[str, ImageSetEntry], dict[str, list[str]]]:
    """Every set to score, name -> (images, intended classes or None): the `references` (see `references`) first,
    then the generators declared group by group (`generators`: group name -> {name: (images, intended)}); and
    the groups (group name -> generator names) that `metrics`, `table`, `findings` and the figures rank within."""
    sets: dict[str, ImageSetEntry] = {name: (images, None) for name, images in references.items()}
    for group, members in generators.items():
        for name, entry in members.items():
            if name in sets:
                raise ValueError(f"image_sets: {name!r} appears twice (group {group!r}).")
            if not (isinstance(entry, tuple) and len(entry) == 2):
                raise ValueError(f"image_sets: {name!r} must be (images, intended classes or None).")
            sets[name] = entry
    return sets, {group: list(members) for group, members in generators.items()}


def generators_of(groups: Groups) -> list[str]:
    """Every generator of `groups`, group by group."""
    return [name for names in groups.values() for name in names]


def references_of(scores: dict[str, dict], groups: Groups | Sequence[str]) -> list[str]:
    """The scored sets that are no generator: floor, memorization, ceiling first, then any other."""
    generators = set(generators_of(as_groups(scores, groups)))
    others = [n for n in scores if n not in generators]
    return [n for n in ROLES if n in others] + [n for n in others if n not in ROLES]


def ranked(scores: dict[str, dict], names: Sequence[str] | None = None, by: str = "frechet") -> list[str]:
    """`names` (default: every scored set) from best to worst by the score `by`: lowest first for the Frechet
    distance, highest first for the others (ties keep the given order)."""
    if by not in MEASURES:
        raise ValueError(f"ranked: unknown score {by!r}; one of {list(MEASURES)}.")
    higher = MEASURES[by][1]
    return sorted(scores if names is None else names, key=lambda n: -scores[n][by] if higher else scores[n][by])


def rankings(scores: dict[str, dict], groups: Groups | Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Within each group only, the generators from best to worst overall (Frechet distance), in fidelity
    (density) and in diversity (coverage)."""
    return {group: {by: ranked(scores, names, by) for by in RANKED_BY}
            for group, names in as_groups(scores, groups).items()}


def beaten_by_noise(scores: dict[str, dict], generators: Sequence[str], by: str, noise: str = NOISE) -> list[str]:
    """The generators that uniform noise outscores on `by`: where there are any, `by` cannot rank them (precision
    and the classifier's confidence often reward noise; density less often; coverage, near 0 for noise, hardly)."""
    if noise not in scores:
        return []
    better = (lambda a, b: a > b) if MEASURES[by][1] else (lambda a, b: a < b)  # noqa: E731
    return [g for g in generators if better(scores[noise][by], scores[g][by])]


def plural(group: str) -> str:
    """'unconditional' -> 'unconditional generators'; 'generators' stays."""
    return group if group.endswith("generators") else f"{group} generators"


def fd(value: float) -> str:
    """A Frechet distance with 3 significant digits and no exponent: 3.85, 23.3, 726, 1,230."""
    if not math.isfinite(value) or value == 0:
        return f"{value:.3g}"
    rounded = float(f"{value:.3g}")
    return f"{rounded:,.{max(0, 2 - math.floor(math.log10(abs(rounded))))}f}"


def listed(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'; with semicolons where a name holds a comma ('VAE prior, beta 4')."""
    names = list(names)
    if len(names) == 1:
        return names[0]
    sep = "; " if any("," in n for n in names) else ", "
    return sep.join(names[:-1]) + (";" if sep == "; " and len(names) > 2 else "") + " and " + names[-1]


def table(scores: dict[str, dict], groups: Groups | Sequence[str] | None = None) -> str:
    """One row per image set, in blocks: the references (floor, memorization, ceiling), then each group of
    generators best first by the Frechet distance, with its rank inside its group."""
    if groups is None:
        groups = [n for n in scores if n not in ROLES]
    groups = as_groups(scores, groups)
    cell = lambda r, by, fmt: "–" if by not in r else format(r[by], fmt)  # noqa: E731
    rows = []
    blocks = [(n, f"{REFERENCE} ({ROLES[n]})" if n in ROLES else REFERENCE) for n in references_of(scores, groups)]
    for group, names in groups.items():
        blocks += [(n, f"{group} ({i} of {len(names)})") for i, n in enumerate(ranked(scores, names), 1)]
    for name, label in blocks:
        r = scores[name]
        rows.append((name, label, fd(r["frechet"]), cell(r, "precision", ".2f"), cell(r, "recall", ".2f"),
                     cell(r, "density", ".2f"), cell(r, "coverage", ".2f"), cell(r, "mean_top_probability", ".2f"),
                     cell(r, "recognised", ".1%"), cell(r, "nearest_train_mse", ".4f"), r.get("copies", "–")))
    return markdown_table(["image set", "group (rank by Fréchet distance)", "Fréchet distance (classifier features)",
                           "precision", "recall", "density", "coverage", "mean top probability",
                           "recognised as intended", "nearest training image (median MSE)", "exact copies"], rows)


def placement(scores: dict[str, dict], generators: Groups | Sequence[str]) -> dict:
    """Where each generator lands between the floor (real held-out images) and the ceiling (noise), as the share
    of that gap on the Frechet distance (0: as good as real images, 1: as bad as noise), and whether the score
    ranks the floor best and the ceiling worst."""
    generators = generators_of(as_groups(scores, generators))
    floor, ceiling = scores[REAL]["frechet"], scores[NOISE]["frechet"]
    order = ranked(scores)
    return {"floor_best": order[0] in (REAL, TRAIN), "ceiling_worst": order[-1] == NOISE,
            "between": {g: (scores[g]["frechet"] - floor) / (ceiling - floor) for g in generators},
            "all_between": all(floor <= scores[g]["frechet"] <= ceiling for g in generators)}


def _reference_sentence(scores: dict[str, dict], generators: list[str]) -> str:
    """How the Frechet distance, density and coverage place the floor and the ceiling (a clause that follows
    "Measured: ")."""
    real, noise = scores[REAL], scores[NOISE]
    order = ranked(scores)
    lowest = (f"real {'held-out' if order[0] == REAL else 'training'} images score best "
              f"({fd(scores[order[0]]['frechet'])})" if order[0] in (REAL, TRAIN) else
              f"{order[0]} scores lower ({fd(scores[order[0]]['frechet'])}) than real held-out images "
              f"({fd(real['frechet'])})")
    highest = (f"uniform noise worst ({fd(noise['frechet'])})" if order[-1] == NOISE else
               f"{order[-1]} scores higher ({fd(scores[order[-1]]['frechet'])}) than uniform noise "
               f"({fd(noise['frechet'])})")
    outside = [g for g in generators if not real["frechet"] <= scores[g]["frechet"] <= noise["frechet"]]
    between = (f"all {len(generators)} generators lie between the two" if not outside else
               f"{len(generators) - len(outside)} of the {len(generators)} generators lie between real held-out "
               f"images and noise ({listed(outside)} {'does' if len(outside) == 1 else 'do'} not)")
    text = (f"by the Fréchet distance in the classifier's features (the overall score), {lowest} and {highest}, "
            f"and {between}.")
    if "density" in real and "density" in noise:
        k = real.get("density_coverage_k", DENSITY_K)
        text += (f" Density and coverage (k-nearest-neighbour balls around the real test features, k = {k}) are "
                 f"{real['density']:.2f} and {real['coverage']:.2f} for real held-out images and "
                 f"{noise['density']:.2f} and {noise['coverage']:.2f} for uniform noise.")
    return text


def _group_sentence(scores: dict[str, dict], group: str, names: list[str]) -> str:
    """A group's generators ranked among themselves: overall by the Frechet distance, fidelity by density,
    diversity by coverage (a one-member group is described, not ranked)."""
    why = f" ({WHY[group]})" if group in WHY else ""
    share = {}  # where each lands between real images and noise, when both were scored
    if REAL in scores and NOISE in scores and scores[NOISE]["frechet"] != scores[REAL]["frechet"]:
        share = {g: f"{v:.0%} of the way from real images to noise"
                 for g, v in placement(scores, names)["between"].items()}
    if len(names) == 1:
        g = names[0]
        values = [f"a Fréchet distance of {fd(scores[g]['frechet'])}" + (f" ({share[g]})" if g in share else "")]
        values += [f"{by} {scores[g][by]:.2f}" for by in ("density", "coverage") if by in scores[g]]
        recognised = (f", and the classifier recognises {scores[g]['recognised']:.1%} of its samples as the class they "
                      f"were drawn for" if "recognised" in scores[g] else "")
        return (f"The only {plural(group)[:-1]}, {g}, is not ranked against the others{why}: it has "
                f"{listed(values)}{recognised}.")
    fd_of = lambda g: fd(scores[g]["frechet"]) + (f", {share[g]}" if g in share else "")  # noqa: E731
    order = ranked(scores, names)
    parts = [f"overall, by the Fréchet distance, {order[0]} comes closest to real images ({fd_of(order[0])}) and "
             f"{order[-1]} is furthest ({fd_of(order[-1])})"]
    real_density = scores.get(REAL, {}).get("density", math.inf)
    for by, aspect in (("density", "fidelity"), ("coverage", "diversity")):
        if all(by in scores[g] for g in names):
            order = ranked(scores, names, by)
            first, last = scores[order[0]], scores[order[-1]]
            crowded = (f", above the {real_density:.2f} of real held-out images: its samples crowd the densest real "
                       f"neighbourhoods, with coverage {first['coverage']:.2f}"
                       if by == "density" and first["density"] > real_density else "")
            parts.append(f"in {aspect}, by {by}, {order[0]} leads ({first[by]:.2f}{crowded}) and {order[-1]} "
                         f"trails ({last[by]:.2f})")
    recognised = [f"{scores[g]['recognised']:.1%} of the samples of {g}" for g in names if "recognised" in scores[g]]
    return (f"The {len(names)} {plural(group)}, ranked only among themselves{why}: " + "; ".join(parts) + "."
            + (f" The classifier recognises {listed(recognised)} as the class they were drawn for."
               if recognised else ""))


def _counted(losers: Sequence[str], generators: Sequence[str]) -> str:
    """'every generator', '7 of the 9 generators (all but a and b)', '2 of the 9 generators (a and b)'."""
    if len(losers) == len(generators):
        return "every generator"
    if 2 * len(losers) > len(generators):
        return (f"{len(losers)} of the {len(generators)} generators "
                f"(all but {listed([g for g in generators if g not in losers])})")
    return f"{len(losers)} of the {len(generators)} generators ({listed(losers)})"


def noise_limitations(scores: dict[str, dict], generators: Sequence[str], noise: str = NOISE) -> str:
    """Sentences naming every score on which uniform noise outscores a generator (computed, never assumed): there
    that score says nothing about fidelity. Empty when noise was not scored."""
    if noise not in scores:
        return ""
    generators, z = list(generators), scores[noise]
    beaten = {by: beaten_by_noise(scores, generators, by, noise) for by in NOISE_CHECKED if by in z}
    said = [f"a higher {MEASURES[by][0]} ({z[by]:.2f}) than {_counted(beaten[by], generators)}" if beaten[by] else
            f"a lower {MEASURES[by][0]} ({z[by]:.2f}) than every generator"
            for by in ("precision", "mean_top_probability") if by in beaten]
    why = {"precision": "noise features gather in one small region inside the wide neighbourhood balls of real "
                        "outliers" + (f" (its coverage is only {z['coverage']:.2f})" if "coverage" in z else ""),
           "mean_top_probability": "the classifier is confident on inputs unlike any it was trained on"}
    fooled = [by for by in ("precision", "mean_top_probability") if beaten.get(by)]
    text = ""
    if said:
        text = "Limitation: uniform noise gets " + " and ".join(said) + (
            f", so {listed([MEASURES[by][0] for by in fooled])} {'is' if len(fooled) == 1 else 'are'} not read as "
            f"fidelity here: {'; '.join(why[by] for by in fooled)}." if fooled else
            "; even so, neither is used to rank the generators.")
    for by in ("density", "coverage"):
        losers = beaten.get(by, [])
        if not losers:
            continue
        text += (f" {by.capitalize()}, too, is higher for uniform noise ({z[by]:.2f}) than for "
                 f"{listed([f'{g} ({scores[g][by]:.2f})' for g in losers])}")
        other = "coverage" if by == "density" else "density"
        if other in z and all(scores[g][other] > z[other] for g in losers):
            text += (f"; {other} still separates {'it' if len(losers) == 1 else 'them'} from noise "
                     f"({listed([f'{scores[g][other]:.2f}' for g in losers])} against {z[other]:.2f})")
        text += "."
    return text.strip()


def findings(scores: dict[str, dict], groups: Groups | Sequence[str]) -> str:
    """The "Measured:" paragraph of the generator table: the references, each group ranked only within itself
    (overall by the Frechet distance, fidelity by density, diversity by coverage), and the scores noise beats
    generators on."""
    groups = as_groups(scores, groups)
    generators = generators_of(groups)
    parts = [_reference_sentence(scores, generators),
             *[_group_sentence(scores, group, names) for group, names in groups.items()],
             noise_limitations(scores, generators)]
    return "Measured: " + " ".join(p for p in parts if p)


def key(name: str) -> str:
    """An image set's name as a metrics.json key ("VAE prior, beta 0.5" -> "vae_prior_beta_0_5")."""
    return slug(name).replace("-", "_")


def metrics(scores: dict[str, dict], groups: Groups | Sequence[str]) -> dict:
    """The `generators` section of metrics.json: every set's scores under its key with its group (references:
    "reference"), the groups, the rankings within each group by the Frechet distance, density and coverage (and
    each group's best on each), the generators uniform noise outscores on each checked score, and where each
    generator lands between the floor and the ceiling."""
    groups = as_groups(scores, groups)
    generators = generators_of(groups)
    group_of = {n: g for g, names in groups.items() for n in names}
    where, within = placement(scores, groups), rankings(scores, groups)
    beaten = {by: [key(g) for g in beaten_by_noise(scores, generators, by)]
              for by in NOISE_CHECKED if NOISE in scores and by in scores[NOISE]}
    return {"feature_space": "penultimate features of the best section-3 classifier (not the Inception FID)",
            "sets": {key(n): {"name": n, "reference": n not in group_of, "group": group_of.get(n, REFERENCE), **row}
                     for n, row in scores.items()},
            "groups": {key(g): [key(n) for n in names] for g, names in groups.items()},
            "group_names": {key(g): g for g in groups},
            "ranking": [key(n) for n in ranked(scores)],
            "rankings": {key(g): {by: [key(n) for n in order] for by, order in found.items()}
                         for g, found in within.items()},
            "best": {key(g): {by: order[0] for by, order in found.items()} for g, found in within.items()},
            "noise_beats": beaten, "noise_beats_count": {by: len(v) for by, v in beaten.items()},
            "floor_best": where["floor_best"], "ceiling_worst": where["ceiling_worst"],
            "all_between": where["all_between"], "share_of_gap": {key(g): v for g, v in where["between"].items()}}
