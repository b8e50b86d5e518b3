"""Sample quality in a classifier's feature space, for every generator of the study (section 7; its notebook
step is `generators`).

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
against the other class-conditional generators. `metrics` stores the scores, groups and rankings that
`findings.generators` puts in words.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import torch
from scipy import linalg
from torch import nn

from . import gan, latent, vae
from .context import Context
from .data import ImageSet, nearest, to_uint8
from .findings import generators as gen_text
from .findings.words import percent, sig
from .results import markdown_table, slug
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

Groups = Mapping[str, Sequence[str]]

# Every score a generator is ranked or checked by, and whether higher is better.
MEASURES = {"frechet": False, "density": True, "coverage": True, "precision": True, "recall": True,
            "mean_top_probability": True}
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
    higher = MEASURES[by]
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
    better = (lambda a, b: a > b) if MEASURES[by] else (lambda a, b: a < b)  # noqa: E731
    return [g for g in generators if better(scores[noise][by], scores[g][by])]


def table(scores: dict[str, dict], groups: Groups | Sequence[str] | None = None) -> str:
    """One row per image set, in blocks: the references (floor, memorization, ceiling), then each group of
    generators best first by the Frechet distance, with its rank inside its group."""
    if groups is None:
        groups = [n for n in scores if n not in ROLES]
    groups = as_groups(scores, groups)
    cell = lambda r, by, say=sig: "–" if by not in r else say(r[by])  # noqa: E731
    rows = []
    blocks = [(n, f"{REFERENCE} ({ROLES[n]})" if n in ROLES else REFERENCE) for n in references_of(scores, groups)]
    for group, names in groups.items():
        blocks += [(n, f"{group} ({i} of {len(names)})") for i, n in enumerate(ranked(scores, names), 1)]
    for name, label in blocks:
        r = scores[name]
        shown = [cell(r, by) for by in ("frechet", "precision", "recall", "density", "coverage",
                                        "mean_top_probability")]
        rows.append((name, label, *shown,
                     cell(r, "recognised", percent), cell(r, "nearest_train_mse"), r.get("copies", "–")))
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


# ----------------------------------------------------------------------------- section 7's step


SHOWN = 10  # images of every set in the figure of samples


def generator_sets(ctx: Context, ae_final: Autoencoder, main: vae.MainVAE, trained: gan.Trained,
                   reps: latent.Representations) -> dict[str, dict[str, ImageSetEntry]]:
    """Every generator of the study by group, the profile's `quality_samples` images each: the autoencoder's
    code with one Gaussian, with a mixture fitted without labels and with a mixture per class (which used
    the labels: the class-conditional group), the VAE's prior through each of section 5's decoders, and the
    DCGAN."""
    n, seed, device = ctx.profile.quality_samples, ctx.seed, ctx.device
    decoder, codes = ae_final.run.model.decoder, reps["ae"].train
    drawn = latent.generate(decoder, codes, ctx.splits.train.labels.cpu().numpy(), ctx.classes,
                            per_class=n // len(ctx.classes), gaussian=n, seed=seed, device=device)
    unlabelled = latent.mixture_samples(decoder, codes, n, seed=seed, device=device)
    prior = {f"VAE prior, {d} decoder": (vae.prior_samples(r.model, n, seed=seed, device=device), None)
             for d, r in main.decoder_runs.items()}
    return {UNCONDITIONAL: {"autoencoder + one Gaussian": (drawn.gaussian.images, None),
                            "autoencoder + mixture without labels": (unlabelled, None), **prior,
                            "DCGAN": (gan.sample(trained.run.model, n, seed=seed, device=device), None)},
            CONDITIONAL: {"autoencoder + per-class mixtures": (drawn.per_class.images,
                                                               drawn.per_class.labels)}}


@dataclass(frozen=True)
class Generators:
    """Section 7's sample quality: every scored set (references first, then the generators by group), the
    groups, the reference sets' names, every set's scores, the `generators` section, the table and the
    sentences (the ranking within groups, and the DCGAN's reading)."""

    sets: dict[str, ImageSetEntry]
    groups: dict[str, list[str]]
    references: list[str]
    scores: dict[str, dict]
    found: dict
    table: str
    finding: str
    dcgan: str

    @property
    def shown(self) -> list[torch.Tensor]:
        """The first `SHOWN` images of every set, in order."""
        return [images[:SHOWN] for images, _ in self.sets.values()]


def generators(ctx: Context, ae_final: Autoencoder, main: vae.MainVAE, trained: gan.Trained,
               clfs: Classifiers, reps: latent.Representations) -> Generators:
    """Every generator's images (`generator_sets`) and the reference sets (`references`: held-out and
    training images, uniform noise), scored against the test images in the penultimate features of the best
    section-3 classifier; merged as `generators`."""
    splits, n = ctx.splits, ctx.profile.quality_samples
    by_group = generator_sets(ctx, ae_final, main, trained, reps)
    refs = references(splits.val.images, splits.train.images, n, seed=ctx.seed)
    sets, groups = image_sets(refs, by_group)
    embed = classifier_embedding(latent.Penultimate(clfs.best_model), mean=splits.mean, std=splits.std)
    scorer = Scorer(embed, splits.test.images, splits.train.images, n=n, seed=ctx.seed)
    scores = {name: scorer.score(images, intended) for name, (images, intended) in sets.items()}
    found = ctx.merge("generators", metrics(scores, groups))
    return Generators(sets, groups, list(refs), scores, found, table(scores, groups),
                      f"{gen_text.summary(found)} {gen_text.details(found)}", gen_text.dcgan(found))
