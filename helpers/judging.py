"""Judging generated images, for every section that does (4: decoded codes and interpolation paths; 5: the
VAE's prior samples; 7: every generator): the scores read in a classifier's penultimate features and class
probabilities, and the check that decides which scores may rank generators at all.

The classifier is the judge, `finetune.Classifiers.judge`: Homework 1's network trained from scratch on every
label, which never saw an autoencoder (the best section-3 classifier may start from the autoencoder's encoder,
and its features would then favour that autoencoder's decoder).

Scores: density and coverage (Naeem, Oh, Uh, Choi and Yoo 2020; `density_coverage`), density per image
(`image_density`: the same count for each image alone), and from the probabilities the mean top probability
and the confident share (`confident_share`: the share of images given some class with probability at least
`CONFIDENT`).

`check` tests a score against the reference sets: real held-out and real training images must score above
every generator and uniform noise below every other set. A score that fails cannot read fidelity in this
space, and nothing is ranked by it. `agreement` says whether a second feature space ranks the generators as
the judge does (the same best generator in every group and Spearman's rho at least `AGREEMENT_RHO` over the
generators).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from .statistics import rank_correlation

# Naeem et al. (2020) recommend k = 5 for density and coverage (with as many generated as real samples), where
# coverage of two samples of one distribution is 1 - (1/2)^k ~ 0.97; the k = 3 of precision and recall
# (Kynkaanniemi et al.) would put that at 0.875.
DENSITY_K = 5
CONFIDENT = 0.9  # an image counts as confidently recognised when the judge gives some class at least this
AGREEMENT_RHO = 0.8  # the least Spearman's rho over the generators for a second space to agree with the judge


def features(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Feature rows as a float32 tensor on the CPU."""
    return torch.as_tensor(np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x), dtype=torch.float32)


def kth_distance(x: torch.Tensor, k: int, batch_size: int = 1024) -> torch.Tensor:
    """Distance from every row of `x` to its k-th nearest other row of `x` (the radius of its k-NN ball)."""
    out = []
    for chunk in x.split(batch_size):
        d = torch.cdist(chunk, x)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # column 0 is the row itself
    return torch.cat(out)


def _balls(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor, k: int, batch_size: int,
           radii: torch.Tensor | np.ndarray | None, caller: str) -> tuple[torch.Tensor, torch.Tensor]:
    """For each generated row, the number of real balls B(X_i, NND_k(X_i)) holding it (open balls), and for
    each real row, the distance to its closest generated row; with the radii, checked against the rows."""
    a, b = features(real), features(generated)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"{caller} needs two [N, D] feature sets of the same D, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}.")
    if len(a) <= k or len(b) == 0:
        raise ValueError(f"{caller} needs more than k = {k} real rows and at least one generated row, "
                         f"got {len(a)} and {len(b)}.")
    radii = kth_distance(a, k, batch_size) if radii is None else torch.as_tensor(radii, dtype=torch.float32)
    if radii.shape != (len(a),):
        raise ValueError(f"{caller}: {len(radii)} radii for {len(a)} real rows.")
    counts, closest = [], torch.full((len(a),), float("inf"))
    for chunk in b.split(batch_size):
        d = torch.cdist(chunk, a)  # [chunk, N]
        counts.append((d < radii.view(1, -1)).sum(1))
        closest = torch.minimum(closest, d.min(0).values)
    return torch.cat(counts), (closest < radii)


def density_coverage(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor, *,
                     k: int = DENSITY_K, batch_size: int = 1024,
                     radii: torch.Tensor | None = None) -> dict[str, float]:
    """Density and coverage (Naeem, Oh, Uh, Choi and Yoo, "Reliable Fidelity and Diversity Metrics for
    Generative Models", ICML 2020). Balls are drawn around the REAL features X_1..X_N only, each reaching its
    k-th nearest real neighbour (radius NND_k(X_i)), so a generated set is never judged by its own outliers:

        density  = 1/(kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]   (M generated features Y_j)
        coverage = 1/N sum_i 1[some Y_j in B(X_i, NND_k(X_i))]

    Density (fidelity) counts how many real neighbourhoods hold each sample: about 1 for samples of the real
    distribution, above 1 where samples crowd the dense regions, near 0 off the real data. Coverage
    (diversity) is the share of real neighbourhoods holding at least one sample. The balls are open (distance
    strictly below the radius), as in the authors' implementation, so a set scored against itself gets
    density 1 (up to float rounding at the k-th neighbour) and coverage 1; two samples of one distribution get
    density about 1 and coverage about 1 - 2^-k.
    `radii` (NND_k of every real row) may be passed when one real set scores many generated sets."""
    counts, covered = _balls(real, generated, k, batch_size, radii, "density_coverage")
    return {"density": int(counts.sum()) / (k * len(counts)), "coverage": float(covered.float().mean()),
            "density_coverage_k": k}


def image_density(real: np.ndarray | torch.Tensor, generated: np.ndarray | torch.Tensor, *,
                  k: int = DENSITY_K, batch_size: int = 1024,
                  radii: torch.Tensor | None = None) -> np.ndarray:
    """Density per generated image: the number of real k-NN balls holding it, divided by k (float64, one per
    row of `generated`). Its mean over a set is that set's `density_coverage` density."""
    counts, _ = _balls(real, generated, k, batch_size, radii, "image_density")
    return counts.double().numpy() / k


def uniform_noise(n: int, *, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """`n` images of uniform noise on [0, 1] ([n, 1, 28, 28], seeded): the set every score must rank last."""
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)).to(device)


def confident_share(probs: torch.Tensor, threshold: float = CONFIDENT) -> float:
    """Share of images a classifier gives some class with probability at least `threshold`."""
    return float((probs.float().max(1).values >= threshold).float().mean())


# ----------------------------------------------------------------------------- which scores may rank


def _better(higher: bool, a: float, b: float) -> bool:
    """Whether score `a` is strictly better than `b`; a value that is not finite is never better."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return a > b if higher else a < b


def check(scores: Mapping[str, Mapping[str, float]], generators: Sequence[str], higher: Mapping[str, bool], *,
          real: Sequence[str], noise: str) -> dict[str, dict]:
    """For every score of `higher` (score -> whether higher is better) that every set of `scores` carries:
    whether it passes the check, and why not. It passes when each set of `real` (those scored; at least one)
    is strictly better than every generator and uniform noise (`noise`) strictly worse than every other set.

    Per score: `passed`; `noise_not_last`: the sets noise scores at least as well as; `real_not_above`: per
    real set, the generators that score at least as well as it."""
    real = [r for r in real if r in scores]
    if not real or noise not in scores:
        raise ValueError(f"check needs a real set and the noise set among the scores (scored: "
                         f"{sorted(scores)}).")
    found = {}
    for by, up in higher.items():
        if not all(by in row for row in scores.values()):
            continue
        others = [n for n in scores if n != noise]
        noise_not_last = [n for n in others if not _better(up, scores[n][by], scores[noise][by])]
        not_above = {r: [g for g in generators if not _better(up, scores[r][by], scores[g][by])]
                     for r in real}
        found[by] = {"passed": not noise_not_last and not any(not_above.values()),
                     "noise_not_last": noise_not_last, "real_not_above": not_above}
    return found


def passed(checks: Mapping[str, Mapping], among: Sequence[str] | None = None) -> list[str]:
    """The scores of `checks` that passed, in the order of `among` (default: the checks' own order)."""
    return [by for by in (checks if among is None else among) if by in checks and checks[by]["passed"]]


def agreement(first: Mapping[str, Mapping[str, float]], second: Mapping[str, Mapping[str, float]],
              groups: Mapping[str, Sequence[str]], by: Sequence[str], higher: Mapping[str, bool],
              second_checks: Mapping[str, Mapping], *, seed: int, threshold: float = AGREEMENT_RHO) -> dict:
    """Whether a second feature space (`second`: the same sets scored there) ranks the generators as the
    judge's (`first`) does on each score of `by`: the score passes the check in the second space too
    (`second_checks`), every group (`groups`: group -> generators) has the same best generator in both, and
    Spearman's rho between the two spaces over every generator is at least `threshold` (with its bootstrap
    interval; with fewer than 3 generators there is no rho and the best generators decide). `agrees`: every
    score of `by` agrees (False when `by` is empty: nothing was ranked)."""
    generators = [g for names in groups.values() for g in names]
    per_score = {}
    for score in by:
        best = lambda scores, names: min(names, key=lambda n: -scores[n][score] if higher[score]  # noqa: E731
                                         else scores[n][score])
        bests = {group: best(second, names) for group, names in groups.items()}
        same = all(bests[group] == best(first, names) for group, names in groups.items())
        rho = {"rho": None, "low": None, "high": None}
        if len(generators) >= 3:
            rho = rank_correlation([first[g][score] for g in generators],
                                   [second[g][score] for g in generators], seed=seed)
            if not math.isfinite(rho["rho"]):  # a score without spread in one space has no rank correlation
                rho = {"rho": None, "low": None, "high": None}
        # a rho that equals the threshold up to round-off reaches it
        close = len(generators) < 3 or (rho["rho"] is not None and rho["rho"] >= threshold - 1e-9)
        check_passed = bool(second_checks.get(score, {}).get("passed", False))
        per_score[score] = {"passed_check": check_passed, "same_best": same, "best": bests, "rho": rho["rho"],
                            "rho_low": rho["low"], "rho_high": rho["high"], "close": close,
                            "agrees": check_passed and same and close}
    return {"threshold": threshold, "scores": per_score,
            "agrees": bool(per_score) and all(row["agrees"] for row in per_score.values())}
