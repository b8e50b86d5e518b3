"""Sample quality in the judge's feature space, for every generator of the study (section 7; its notebook step
is `generators`).

The features are the penultimate features of the judge (`finetune.Classifiers.judge`: Homework 1's network
trained from scratch on every label, which never saw an autoencoder; see `judging` and `latent.Penultimate`).
The Frechet distance computed in them is therefore NOT the Inception FID (which needs ImageNet weights and
means little on 28x28 grey images); call it the classifier-feature Frechet distance. Precision and recall
(k-nearest-neighbour manifolds, Kynkaanniemi et al. 2019) separate the two things the Frechet distance mixes:
how many generated images look real (precision) and how much of the real data the generator covers (recall).
Density and coverage (Naeem et al. 2020) draw balls around the real features only. `Scorer` puts every score
of one image set in one row, and `references` gives the rows every generator is read against: real held-out
images (the floor), training images (what a copying generator would score) and uniform noise (the ceiling).

Every score is checked against those references first (`judging.check`): a score on which a real set does not
come above every generator, or uniform noise does not come last, is dropped, and generators are ranked only by
the scores of `RANKED_BY` that pass (overall: Frechet distance, fidelity: density, diversity: coverage). Every
score is a mean over independent draws of the images, and a generator leads another only beyond the larger
of their standard deviations over those draws (`level`). The same draws are also scored in the best section-3
classifier's features (which may start from the autoencoder): a second opinion, kept as a ranking only where
it agrees with the judge (`judging.agreement`), and absent where that classifier is the judge itself.

Generators are compared in explicit groups (`groups`: group name -> generator names, e.g. `UNCONDITIONAL` and
`CONDITIONAL`): a generator that draws each sample for a given class used the labels, so it is ranked only
against the other class-conditional generators. `metrics` stores the scores, checks, groups and rankings that
`findings.generators` puts in words.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

from . import gan, judging, latent, vae
from .context import Context
from .data import ImageSet, nearest, to_uint8
from .findings import generators as gen_text
from .findings.words import percent, plus_minus, sig, verdict, wider
from .judging import (DENSITY_K, confident_share, density_coverage,  # noqa: F401 (density_coverage: shared)
                      features, kth_distance)
from .results import markdown_table, slug
from .statistics import mean_std, pooled
from .training import outputs

if TYPE_CHECKING:
    from .autoencoder import Autoencoder
    from .finetune import Classifiers


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
    a, b = features(real), features(generated)
    if min(len(a), len(b)) <= k:
        raise ValueError(f"precision_recall needs more than k = {k} rows in each set.")
    precision = _covered(b, a, kth_distance(a, k, batch_size), batch_size).float().mean()
    recall = _covered(a, b, kth_distance(b, k, batch_size), batch_size).float().mean()
    return {"precision": float(precision), "recall": float(recall), "k": k}


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
        self.density_radii = kth_distance(features(self.pr_reference), density_k)  # shared by every set

    def score(self, images: torch.Tensor, intended: torch.Tensor | None = None, *,
              pixels: bool = True) -> dict:
        """Frechet distance, precision, recall, density, coverage, the classifier's mean top probability, its
        confident share (`judging.confident_share`) and mean entropy, the share of the smallest predicted
        class, the share recognised as `intended` (class-conditional sets), and with `pixels` the median pixel
        MSE to the nearest training image with the count of exact copies (the same in every feature space)."""
        return self.judged(images, intended, pixels=pixels)[0]

    def judged(self, images: torch.Tensor, intended: torch.Tensor | None = None, *,
               pixels: bool = True) -> tuple[dict, torch.Tensor]:
        """`score`'s row and the classifier's class probabilities [N, C] of the images it was computed
        from."""
        feats, probs = self.embed(images)
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
        row = {"n": len(images), "frechet": frechet_distance(self.reference, feats),
               **precision_recall(self.pr_reference, feats, k=self.k),
               **density_coverage(self.pr_reference, feats, k=self.density_k, radii=self.density_radii),
               "mean_top_probability": float(probs.max(1).values.mean()),
               "confident_share": confident_share(probs), "entropy": entropy(probs),
               "smallest_class_share": float(counts.min() / counts.sum())}
        if pixels:
            images = to_uint8(images)
            index, distance = nearest(images, self.train)
            copies = (images.flatten(1).to(self.train.device) == self.train[index].flatten(1)).all(1)
            row.update(nearest_train_mse=float(distance.median()), copies=int(copies.sum()))
        if intended is not None:
            row["recognised"] = float((probs.argmax(1) == intended.cpu()).float().mean())
        return row, probs


def references(data_val: torch.Tensor, data_train: torch.Tensor, n: int, *, seed: int) -> dict[str, torch.Tensor]:
    """The image sets every generator is read against, `n` images each (seeded): real held-out images (the
    validation split, never trained on: the floor), real training images (their nearest training image is
    themselves: what memorization would score) and uniform noise on [0, 1] (the ceiling)."""
    rng = np.random.default_rng(seed)
    pick = lambda x: x[torch.as_tensor(np.sort(rng.choice(len(x), min(n, len(x)), replace=False)),  # noqa: E731
                                       device=x.device)]
    noise = judging.uniform_noise(n, seed=seed, device=data_val.device)
    return {REAL: pick(data_val), TRAIN: pick(data_train), NOISE: noise}


REAL, TRAIN, NOISE = "real held-out images", "real training images", "uniform noise"
REFERENCE = "reference"  # the group of the three reference sets in tables and metrics
ROLES = {REAL: "as a perfect generator", TRAIN: "as a generator copying its training images",
         NOISE: "as a generator of noise"}  # what each reference set stands for, as the table's group column says it
UNCONDITIONAL, CONDITIONAL = "unconditional", "class-conditional"

Groups = Mapping[str, Sequence[str]]

# Every score a generator is checked by, and whether higher is better.
MEASURES = {"frechet": False, "density": True, "coverage": True, "precision": True, "recall": True,
            "mean_top_probability": True, "confident_share": True}
# overall, fidelity, diversity: generators are ranked by those that pass the check (`judging.check`), never by
# the others
RANKED_BY = ("frechet", "density", "coverage")
REAL_SETS = (REAL, TRAIN)  # the references every generator must score below on a score that passes the check


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
    higher = MEASURES[by]
    return sorted(scores if names is None else names, key=lambda n: -scores[n][by] if higher else scores[n][by])


def checks(scores: dict[str, dict], groups: Groups | Sequence[str]) -> dict[str, dict]:
    """Every score of `MEASURES` the sets carry, checked against the reference sets (`judging.check`): real
    held-out and training images above every generator, uniform noise below every other set."""
    return judging.check(scores, generators_of(as_groups(scores, groups)), MEASURES, real=REAL_SETS,
                         noise=NOISE)


def ranked_by(found_checks: dict[str, dict]) -> list[str]:
    """The scores of `RANKED_BY` that passed the check: the only ones generators are ranked by."""
    return judging.passed(found_checks, RANKED_BY)


def rankings(scores: dict[str, dict], groups: Groups | Sequence[str],
             by: Sequence[str] = RANKED_BY) -> dict[str, dict[str, list[str]]]:
    """Within each group only, the generators from best to worst on each score of `by` (by default overall
    (Frechet distance), in fidelity (density) and in diversity (coverage); pass `ranked_by(checks(...))` to
    rank by the scores that passed the check only)."""
    return {group: {score: ranked(scores, names, score) for score in by}
            for group, names in as_groups(scores, groups).items()}


def spread(a: dict, b: dict, by: str) -> float | None:
    """The spread two sets' means on `by` are compared within: the larger of their standard deviations over
    draws (`<by>_std`); None where neither has one (a single draw)."""
    return wider(a.get(f"{by}_std"), b.get(f"{by}_std"))


def level(scores: dict[str, dict], names: Sequence[str], by: str) -> dict[str, list[str]]:
    """For each of `names`, the others level with it on `by`, best first: by the one tie rule
    (`words.verdict`), their means differ by no more than the larger of the two standard deviations over
    draws (`spread`); with a single draw only an equal mean is level."""
    order = ranked(scores, names, by)
    return {n: [m for m in order if m != n and
                verdict(scores[n][by] - scores[m][by], spread(scores[n], scores[m], by)) == 0] for n in names}


def beaten_by_noise(scores: dict[str, dict], generators: Sequence[str], by: str, noise: str = NOISE) -> list[str]:
    """The generators that uniform noise outscores on `by`: where there are any, `by` cannot rank them."""
    if noise not in scores:
        return []
    better = (lambda a, b: a > b) if MEASURES[by] else (lambda a, b: a < b)  # noqa: E731
    return [g for g in generators if better(scores[noise][by], scores[g][by])]


COLUMNS = {"frechet": "Fréchet distance", "precision": "precision", "recall": "recall", "density": "density",
           "coverage": "coverage", "mean_top_probability": "mean top probability",
           "confident_share": f"confident share (p ≥ {judging.CONFIDENT:g})"}
FAILS = "✗ fails the check"  # beside a column whose score failed the check (`judging.check`)


def table(scores: dict[str, dict], groups: Groups | Sequence[str] | None = None, *,
          pixels: bool = True) -> str:
    """One row per image set, in blocks: the references (floor, memorization, ceiling), then each group of
    generators best first by the first score that passed the check, with its rank inside its group (no rank
    where no score of `RANKED_BY` passed). A column whose score failed the check says so in its header.
    `pixels`: with the nearest-training-image columns (the same in every feature space)."""
    if groups is None:
        groups = [n for n in scores if n not in ROLES]
    groups = as_groups(scores, groups)
    found_checks = checks(scores, groups)
    order = ranked_by(found_checks)
    def cell(r: dict, by: str, say=sig) -> str:
        if by not in r:
            return "–"
        if r.get(f"{by}_std"):  # a mean over draws of the images
            return plus_minus(r[by], r[f"{by}_std"], *((100, "%") if say is percent else ()))
        return say(r[by])
    rows = []
    blocks = [(n, f"{REFERENCE} ({ROLES[n]})" if n in ROLES else REFERENCE) for n in references_of(scores, groups)]
    for group, names in groups.items():
        if order:
            blocks += [(n, f"{group} ({i} of {len(names)})")
                       for i, n in enumerate(ranked(scores, names, order[0]), 1)]
        else:
            blocks += [(n, group) for n in names]
    shown = [by for by in COLUMNS if any(by in r for r in scores.values())]
    for name, label in blocks:
        r = scores[name]
        row = [name, label, *[cell(r, by, percent if by == "confident_share" else sig) for by in shown],
               cell(r, "recognised", percent)]
        if pixels:
            row += [cell(r, "nearest_train_mse"), cell(r, "copies")]
        rows.append(row)
    rank = (f"group (rank by {COLUMNS[order[0]]})" if order else
            "group (no score passed the check: not ranked)")
    headers = [COLUMNS[by] + ("" if found_checks.get(by, {}).get("passed", True) else f" ({FAILS})")
               for by in shown]
    copies = ["nearest training image (median MSE)", "exact copies"] if pixels else []
    return markdown_table(["image set", rank, *headers, "recognised as intended", *copies], rows)


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


def key(name: str) -> str:
    """An image set's name as a metrics.json key ("VAE prior, beta 0.5" -> "vae_prior_beta_0_5")."""
    return slug(name).replace("-", "_")


def _keyed(found_checks: dict[str, dict]) -> dict[str, dict]:
    """`checks` with every set under its metrics.json key."""
    return {by: {"passed": c["passed"], "noise_not_last": [key(n) for n in c["noise_not_last"]],
                 "real_not_above": {key(r): [key(g) for g in names]
                                    for r, names in c["real_not_above"].items()}}
            for by, c in found_checks.items()}


def space(model: str | None) -> str:
    """A feature space in words, for metrics.json and tables: the penultimate features of `model` (None: of
    the judge)."""
    return f"penultimate features of {model or 'the judge'} (not the Inception FID)"


def second_opinion(scores: dict[str, dict], second: dict[str, dict], groups: Groups | Sequence[str],
                   by: Sequence[str], *, name: str, seed: int) -> dict:
    """The `generators.second_opinion` entry: the same sets scored in a second feature space (`second`, the
    features of `name`), checked like the judge's scores, and whether that space ranks the generators as the
    judge does on the scores `by` (`judging.agreement`); its rankings are kept only where it agrees."""
    groups = as_groups(scores, groups)
    second_checks = checks(second, groups)
    agree = judging.agreement(scores, second, groups, by, MEASURES, second_checks, seed=seed)
    agreement = {score: {**row, "best": {key(g): key(n) for g, n in row["best"].items()}}
                 for score, row in agree["scores"].items()}
    return {"model": name, "feature_space": space(name),
            "sets": {key(n): {"name": n, **row} for n, row in second.items()},
            "checks": _keyed(second_checks), "kept": judging.passed(second_checks),
            "agreement": agreement, "agrees": agree["agrees"], "threshold": agree["threshold"],
            "rankings": ({key(g): {score: [key(n) for n in ranked(second, names, score)] for score in by}
                          for g, names in groups.items()} if agree["agrees"] else {})}


def metrics(scores: dict[str, dict], groups: Groups | Sequence[str], *, judge: str | None = None,
            second: dict[str, dict] | None = None, second_name: str = "a second classifier",
            seed: int = 0) -> dict:
    """The `generators` section of metrics.json: the judge (`judge`: its name) and its feature space, every
    set's scores under its key with its group (references: "reference"), the groups, every score's check
    (`checks`) with the scores kept and dropped, the scores generators are ranked by (`ranked_by`: those of
    `RANKED_BY` that passed) with the rankings within each group (and each group's best on each), which
    generators are level with each other within the spread over draws (`level`: group -> score -> set key ->
    set keys; `level_with_best`: group -> score -> the names level with that best), the generators uniform
    noise outscores on each score, where each generator lands between the floor and the ceiling on the Frechet
    distance, each generator's coverage as a share of the real held-out set's own, and with `second` (the
    same sets scored in the features of `second_name`) the `second_opinion`. Where `second_name` is the judge
    itself there is no second feature space: `second_opinion` is None and `best_is_judge` True."""
    groups = as_groups(scores, groups)
    generators = generators_of(groups)
    group_of = {n: g for g, names in groups.items() for n in names}
    found_checks = checks(scores, groups)
    order = ranked_by(found_checks)
    where, within = placement(scores, groups), rankings(scores, groups, order)
    levels = {g: {by: level(scores, names, by) for by in order} for g, names in groups.items()}
    beaten = {by: [key(g) for g in beaten_by_noise(scores, generators, by)]
              for by in MEASURES if NOISE in scores and by in scores[NOISE]}
    real_coverage = scores[REAL]["coverage"]
    found = {"judge": judge, "feature_space": space(judge),
             "sets": {key(n): {"name": n, "reference": n not in group_of, "group": group_of.get(n, REFERENCE),
                               **row} for n, row in scores.items()},
             "groups": {key(g): [key(n) for n in names] for g, names in groups.items()},
             "group_names": {key(g): g for g in groups},
             "checks": _keyed(found_checks), "kept": judging.passed(found_checks),
             "dropped": [by for by in found_checks if not found_checks[by]["passed"]],
             "ranked_by": order, "default_ranked_by": list(RANKED_BY),
             "ranking": [key(n) for n in ranked(scores)],
             "rankings": {key(g): {by: [key(n) for n in names] for by, names in per.items()}
                          for g, per in within.items()},
             "best": {key(g): {by: names[0] for by, names in per.items()} for g, per in within.items()},
             "level": {key(g): {by: {key(n): [key(m) for m in others] for n, others in per.items()}
                                for by, per in levels[g].items()} for g in groups},
             "level_with_best": {key(g): {by: levels[g][by][names[0]] for by, names in per.items()}
                                 for g, per in within.items()},
             "noise_beats": beaten, "noise_beats_count": {by: len(v) for by, v in beaten.items()},
             "floor_best": where["floor_best"], "ceiling_worst": where["ceiling_worst"],
             "all_between": where["all_between"],
             "share_of_gap": {key(g): v for g, v in where["between"].items()},
             "coverage_of_real": {key(g): scores[g]["coverage"] / real_coverage if real_coverage else None
                                  for g in generators}}
    if judge is not None and second_name == judge:
        found.update(second_opinion=None, best_is_judge=True)
    elif second is not None:
        opinion = second_opinion(scores, second, groups, order, name=second_name, seed=seed)
        found.update(second_opinion=opinion, best_is_judge=False)
    return found


# ----------------------------------------------------------------------------- what each generator gets wrong


RARE = 0.5  # a class is rare in a set where the judge gives it less than this fraction of an even share
SHEET_COLUMNS = 8  # images per class row of a class sheet
# d/dx by Sobel, scaled so that grey levels rising by 1 per pixel give 1 (d/dy: its transpose)
SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
EDGE_MEASURE = "root-mean-square Sobel gradient"  # what `edge_strength` is (grey levels on [0, 1] per pixel)


def edge_strength(images: torch.Tensor, batch_size: int = 2000) -> float:
    """The sharpness measure (`EDGE_MEASURE`): the root of the mean squared Sobel gradient magnitude (the
    Tenengrad focus measure, in grey levels per pixel) over each image's interior (no padding) and over the
    images, rounded to uint8 as the judge sees them. Squared, a step spread over w pixels by blur counts about
    1/w as much, so blur lowers it (a plain mean of the magnitude barely moves: a spread step keeps its
    total rise); noise and speckle raise it."""
    kernel = torch.stack([SOBEL, SOBEL.T]).unsqueeze(1)  # [2, 1, 3, 3]: d/dx and d/dy
    total, count = 0.0, 0
    for chunk in to_uint8(images).split(batch_size):
        gradient = F.conv2d(chunk.float().div(255), kernel.to(chunk.device))
        total, count = total + float(gradient.double().pow(2).sum()), count + gradient[:, 0].numel()
    return math.sqrt(total / count)


def class_shares(probs: torch.Tensor) -> np.ndarray:
    """The share of the images a classifier puts in each class (its most probable one), in class order."""
    counts = torch.bincount(probs.argmax(1).cpu(), minlength=probs.shape[1]).double()
    return (counts / counts.sum()).numpy()


def rare_share(n_classes: int) -> float:
    """The share below which a class is rare in a set: `RARE` of an even share (real images: about 1 / n)."""
    return RARE / n_classes


def flaws(drawn: Sequence[Mapping[str, ImageSetEntry]], probs: Sequence[Mapping[str, torch.Tensor]],
          classes: Sequence[str]) -> dict[str, dict]:
    """What each set gets wrong, measured in every draw (`drawn`: the sets of each draw; `probs`: the judge's
    probabilities of those same images, as `judged_draws` gives them) and averaged over the draws: its
    `edge_strength` (with `edge_strength_std` over the draws, and `edge_strength_of_real`, as a share of the
    real held-out images'), the share of its images the judge puts in each class (`class_shares`: class name
    -> share) and the classes it gives less than `rare_share` (`rare_classes`, in class order; a share of 0
    is a missing mode)."""
    if len(drawn) != len(probs):
        raise ValueError(f"flaws: {len(drawn)} draws of images but {len(probs)} of probabilities.")
    if REAL not in drawn[0]:
        raise ValueError(f"flaws: the {REAL!r} set is the reference and must be among the sets.")
    below, found = rare_share(len(classes)), {}
    for name in drawn[0]:
        for p in probs:
            if p[name].shape[1] != len(classes):
                raise ValueError(f"flaws: {name!r} has {p[name].shape[1]} class probabilities for "
                                 f"{len(classes)} classes.")
        edges = mean_std([edge_strength(sets[name][0]) for sets in drawn])
        shares = np.mean([class_shares(p[name]) for p in probs], axis=0)
        found[name] = {"edge_strength": edges["mean"], "edge_strength_std": edges["std"],
                       "class_shares": {c: float(x) for c, x in zip(classes, shares)},
                       "rare_classes": [c for c, x in zip(classes, shares) if x < below]}
    real = found[REAL]["edge_strength"]
    for row in found.values():
        row["edge_strength_of_real"] = row["edge_strength"] / real if real else None
    return found


@dataclass(frozen=True)
class Sheet:
    """One set's images grouped by the class the judge assigns them: one row per class, in class order, of
    the first `SHEET_COLUMNS` such images in draw order (no images where the judge gives the class none: a
    missing mode), with the share of all the set's images the judge puts in that class."""

    name: str
    classes: list[str]
    rows: list[torch.Tensor]
    shares: list[float]
    total: int

    @property
    def labels(self) -> list[str]:
        """'Sandal 3.1%': each row's class and its share."""
        return [f"{c} {percent(x)}" for c, x in zip(self.classes, self.shares)]

    @property
    def title(self) -> str:
        return f"{self.name}: by the judge's class (share of all {self.total:,}; first {SHEET_COLUMNS} shown)"


def with_flaws(found: dict, measured: Mapping[str, dict], shown: Sequence[str],
               classes: Sequence[str]) -> dict:
    """The `generators` section (`metrics`) with every set's `flaws` (`measured`) added to its entry under
    `sets` (new keys only), and `flaws`: the sets the sentences and class sheets read (`shown`, as keys), the
    classes in order, the rare-class share, the judge's confidence threshold and the sharpness measure."""
    sets = {k: dict(row) for k, row in found["sets"].items()}
    for name, row in measured.items():
        clash = set(row) & set(sets[key(name)])
        if clash:
            raise ValueError(f"with_flaws: {name!r} already has {sorted(clash)}.")
        sets[key(name)].update(row)
    missing = [name for name in shown if key(name) not in sets]
    if missing:
        raise ValueError(f"with_flaws: {missing} were not scored.")
    return {**found, "sets": sets,
            "flaws": {"sets": [key(name) for name in shown], "classes": list(classes),
                      "rare_below": rare_share(len(classes)), "confident": judging.CONFIDENT,
                      "edge_measure": EDGE_MEASURE}}


def sheet(name: str, images: torch.Tensor, probs: torch.Tensor, classes: Sequence[str],
          columns: int = SHEET_COLUMNS) -> Sheet:
    """The class `Sheet` of the set `name`: its images with the judge's probabilities of them (`probs`)."""
    if len(images) != len(probs) or probs.shape[1] != len(classes):
        raise ValueError(f"sheet: {len(images)} images, {tuple(probs.shape)} probabilities, "
                         f"{len(classes)} classes.")
    predicted = probs.argmax(1).cpu()
    rows = [images[torch.nonzero(predicted == c).flatten()[:columns].to(images.device)]
            for c in range(len(classes))]
    return Sheet(name, list(classes), rows, class_shares(probs).tolist(), len(images))


def prior_name(decoder: str) -> str:
    """The name of the set of prior samples decoded by section 5's VAE with `decoder`."""
    return f"VAE prior, {decoder} decoder"


def sheet_sets(kept_decoder: str) -> dict[str, str]:
    """Figure name -> set name of each class sheet: the VAE's prior through its kept decoder, the DCGAN and
    the autoencoder with the mixture fitted without labels."""
    return {"generators_sheet_vae": prior_name(kept_decoder), "generators_sheet_dcgan": "DCGAN",
            "generators_sheet_mixture": "autoencoder + mixture without labels"}


# ----------------------------------------------------------------------------- section 7's step


def _evenly(images: torch.Tensor, count: int) -> torch.Tensor:
    """`count` of `images`, evenly spaced through them (all of them where there are fewer)."""
    return images[::max(1, len(images) // count)][:count]


SHOWN = 10  # images of every set in the figure of samples
STRIP = 16  # images of each class sheet's generator in the report body's strip


SCORE_DRAWS = 3  # independent draws of every generator's (and reference set's) images that each score is averaged over


def pooled_scores(draws: Sequence[dict[str, dict]]) -> dict[str, dict]:
    """Per image set, its scores over independent draws of its images: each score's mean and its standard
    deviation over the draws (`<score>_std`, sample; None for one draw); a count equal in every draw (the set's
    size `n`) stays as it is; `draws`, how many."""
    return {name: {"draws": len(draws), **draws[0][name], **pooled([d[name] for d in draws], tag=None)}
            for name in draws[0]}


def generator_sets(ctx: Context, ae_final: Autoencoder, main: vae.MainVAE, trained: gan.Trained,
                   reps: latent.Representations, seed: int | None = None) -> dict[str, dict[str, ImageSetEntry]]:
    """Every generator of the study by group, the profile's `quality_samples` images each (drawn with `seed`,
    by default the profile's): the autoencoder's code with one Gaussian, with a mixture fitted without labels
    and with a mixture per class (which used the labels: the class-conditional group), the VAE's prior through
    each of section 5's decoders, and the DCGAN."""
    n, device = ctx.profile.quality_samples, ctx.device
    seed = ctx.seed if seed is None else seed
    decoder, codes = ae_final.run.model.decoder, reps["ae"].train
    drawn = latent.generate(decoder, codes, ctx.splits.train.labels.cpu().numpy(), ctx.classes,
                            per_class=n // len(ctx.classes), gaussian=n, seed=seed, device=device)
    unlabelled = latent.mixture_samples(decoder, codes, n, seed=seed, device=device)
    prior = {prior_name(d): (vae.prior_samples(r.model, n, seed=seed, device=device), None)
             for d, r in main.decoder_runs.items()}
    return {UNCONDITIONAL: {"autoencoder + one Gaussian": (drawn.gaussian.images, None),
                            "autoencoder + mixture without labels": (unlabelled, None), **prior,
                            "DCGAN": (gan.sample(trained.run.model, n, seed=seed, device=device), None)},
            CONDITIONAL: {"autoencoder + per-class mixtures": (drawn.per_class.images,
                                                               drawn.per_class.labels)}}


@dataclass(frozen=True)
class Generators:
    """Section 7's sample quality: every scored set (references first, then the generators by group), the
    groups, the reference sets' names, every set's scores in the judge's features and in the best
    classifier's (`second`; empty where the best classifier is the judge), the `generators` section, the
    table, the second opinion's table (empty where there is none or it does not agree with the judge: it is
    then no ranking to show), the sentences (the check and the rankings within groups, the second
    opinion, the DCGAN's reading, and what the generators of the class sheets get wrong) and the class
    sheets."""

    sets: dict[str, ImageSetEntry]
    groups: dict[str, list[str]]
    references: list[str]
    scores: dict[str, dict]
    second: dict[str, dict]
    found: dict
    table: str
    second_table: str
    finding: str
    dcgan: str
    flaws: str
    sheets: dict[str, Sheet]  # figure name -> the class sheet it draws
    reading: str = ""  # the VAE's prior samples against the autoencoder's one-Gaussian ones (`gen_text.vae_reading`)

    @property
    def strip(self) -> tuple[list[torch.Tensor], list[str]]:
        """The class sheets' generators (the VAE's prior through its kept decoder, the DCGAN, the autoencoder with
        the mixture fitted without labels), `STRIP` images of each evenly spaced through the draw shown, and their
        names broken over two lines: the report body's figure of samples."""
        names = [sheet.name for sheet in self.sheets.values()]
        rows = [_evenly(self.sets[name][0], STRIP) for name in names]
        return rows, [name.replace(" + ", " +\n", 1).replace(", ", ",\n", 1) for name in names]

    @property
    def shown(self) -> list[torch.Tensor]:
        """`SHOWN` images of every set, evenly spaced through it: one per class from a set drawn class by class
        (the per-class mixtures), a random few from the others."""
        return [_evenly(images, SHOWN) for images, _ in self.sets.values()]


def score_draws(scorer: Scorer, drawn: Sequence[tuple[dict[str, ImageSetEntry], dict]], *,
                pixels: bool = True) -> dict[str, dict]:
    """Every set of every draw (`drawn`: `image_sets` results) scored by `scorer`, pooled over the draws
    (`pooled_scores`)."""
    return judged_draws(scorer, drawn, pixels=pixels)[0]


def judged_draws(scorer: Scorer, drawn: Sequence[tuple[dict[str, ImageSetEntry], dict]], *,
                 pixels: bool = True) -> tuple[dict[str, dict], list[dict[str, torch.Tensor]]]:
    """`score_draws`, and per draw the class probabilities of every set that its scores were computed from."""
    rows, probs = [], []
    for sets, _ in drawn:
        judged = {name: scorer.judged(images, intended, pixels=pixels)
                  for name, (images, intended) in sets.items()}
        rows.append({name: row for name, (row, _) in judged.items()})
        probs.append({name: p for name, (_, p) in judged.items()})
    return pooled_scores(rows), probs


def generators(ctx: Context, ae_final: Autoencoder, main: vae.MainVAE, trained: gan.Trained,
               clfs: Classifiers, reps: latent.Representations) -> Generators:
    """Every generator's images (`generator_sets`) and the reference sets (`references`: held-out and
    training images, uniform noise), scored against the test images in the penultimate features of the judge
    (`clfs.judge`), each score the mean over `SCORE_DRAWS` independent draws of the images with its spread
    (`pooled_scores`), and, as a second opinion, the same draws scored and pooled alike in the best section-3
    classifier's features (none where that classifier is the judge); with every set's `flaws`, measured on
    the same images with the judge's same probabilities, and the class sheets (`sheet_sets`) of the first
    draw; merged as `generators`."""
    splits, n = ctx.splits, ctx.profile.quality_samples
    best_is_judge = clfs.best_name == clfs.judge_name
    scorers = [Scorer(classifier_embedding(latent.Penultimate(model), mean=splits.mean, std=splits.std),
                      splits.test.images, splits.train.images, n=n, seed=ctx.seed)
               for model in ((clfs.judge,) if best_is_judge else (clfs.judge, clfs.best_model))]
    drawn = []
    for seed in range(ctx.seed, ctx.seed + SCORE_DRAWS):
        refs = references(splits.val.images, splits.train.images, n, seed=seed)
        drawn.append(image_sets(refs, generator_sets(ctx, ae_final, main, trained, reps, seed=seed)))
    sets, groups = drawn[0]  # the first draw is the one shown
    scores, probs = judged_draws(scorers[0], drawn)
    second = {} if best_is_judge else score_draws(scorers[1], drawn, pixels=False)
    shown = sheet_sets(main.config.decoder)
    measured = flaws([d for d, _ in drawn], probs, ctx.classes)
    found = metrics(scores, groups, judge=clfs.judge_name, second=second or None, second_name=clfs.best_name,
                    seed=ctx.seed)
    found = ctx.merge("generators", {**with_flaws(found, measured, list(shown.values()), ctx.classes),
                                     "draws": SCORE_DRAWS})
    agrees = bool(found["second_opinion"] and found["second_opinion"]["agrees"])
    sheets = {figure: sheet(name, sets[name][0], probs[0][name], ctx.classes)  # the draw shown
              for figure, name in shown.items()}
    return Generators(sets, groups, list(ROLES), scores, second, found, table(scores, groups),
                      table(second, groups, pixels=False) if agrees else "",
                      f"{gen_text.summary(found)} {gen_text.details(found)}", gen_text.dcgan(found),
                      gen_text.flaws(found), sheets, gen_text.vae_reading(found, main.config.decoder))
