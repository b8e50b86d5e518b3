"""Statistics the sections share: a mean with its spread, a difference paired by seed or fold with its
Student-t interval, a difference paired over many items with its bootstrap interval, and a rank correlation
with its bootstrap interval. Plain numbers in, plain numbers out."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from scipy.stats import spearmanr, t as student_t


def mean_std(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (n - 1; None for a single value; exactly 0 for equal values, whose
    computed deviation would be rounding noise)."""
    v = np.asarray(values, dtype=float)
    if len(v) > 1 and np.all(v == v[0]):
        return {"mean": float(v[0]), "std": 0.0, "n": len(v)}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None, "n": len(v)}


def pooled(rows: Sequence[dict], keys: Iterable[str] | None = None, *, tag: str | None = "seeds") -> dict:
    """The numbers of something measured once per repeat (`rows`, one per seed, initialization or draw),
    pooled: for each of `keys` the first row has, its mean, `<key>_std` (`mean_std`: sample standard
    deviation, None for one repeat) and, unless `tag` is None, every repeat's value as `<key>_<tag>`, in the
    order of `keys`.

    Without `keys`, every number of the first row that varies: a flag (bool), anything not a number and an
    integer equal in every repeat (a count such as a set's size) are left out. Only the pooled entries come
    back; the caller keeps what else it needs."""
    if keys is None:
        keys = [k for k, v in rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                and not (isinstance(v, int) and len({r[k] for r in rows}) == 1)]
    found = {}
    for key in (k for k in keys if k in rows[0]):
        values = [r[key] for r in rows]
        spread = mean_std(values)
        found.update({key: spread["mean"], f"{key}_std": spread["std"]})
        if tag is not None:
            found[f"{key}_{tag}"] = values
    return found


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
    """`a - b` paired by seed: mean, standard deviation, and the Student-t interval of the mean at `confidence`.

    `within_spread` is True when that interval contains 0 (the seeds do not settle which is better), None with a
    single seed (no spread to compare with). `same_every_seed` flags a difference without any spread (integer
    epoch counts can give one): its interval has zero width, which says little with two or three seeds."""
    if len(a) != len(b) or not len(a):
        raise ValueError(f"paired_difference needs two equally long, non-empty lists (got {len(a)} and {len(b)}).")
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    out = {"mean": float(d.mean()), "n": len(d), "std": None, "low": None, "high": None, "within_spread": None,
           "same_every_seed": len(d) > 1 and bool(np.all(d == d[0]))}
    if len(d) > 1:
        sd = float(d.std(ddof=1))
        half = float(student_t.ppf(0.5 + confidence / 2, len(d) - 1)) * sd / math.sqrt(len(d))
        out.update(std=sd, low=out["mean"] - half, high=out["mean"] + half,
                   within_spread=bool(out["mean"] - half <= 0.0 <= out["mean"] + half))
    return out


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                     confidence: float = 0.95) -> dict:
    """`a - b` paired by item (many items, e.g. pairs of images): the mean difference with a percentile
    bootstrap interval at `confidence` (the items resampled with replacement `resamples` times, seeded), and
    the share of items where `a` is strictly larger (`a_wins`) and where the two are equal (`ties`).
    `within_spread` is True when the interval contains 0."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or not len(x):
        raise ValueError(f"paired_bootstrap needs two equally long, non-empty lists (got {x.shape} and "
                         f"{y.shape}).")
    d = x - y
    means = d[np.random.default_rng(seed).integers(0, len(d), (resamples, len(d)))].mean(1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail]).tolist()
    return {"mean": float(d.mean()), "low": float(low), "high": float(high), "n": len(d),
            "resamples": resamples, "confidence": confidence, "within_spread": bool(low <= 0.0 <= high),
            "a_wins": float((d > 0).mean()), "ties": float((d == 0).mean())}


def rank_correlation(x: Sequence[float], y: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                     confidence: float = 0.95) -> dict:
    """Spearman's rank correlation of paired values `x` and `y`, with a percentile bootstrap interval at
    `confidence` (the pairs resampled with replacement `resamples` times; a resample whose ranks are all tied
    has no correlation and is left out, `resamples_used` says how many counted)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"rank_correlation needs two equally long lists of at least 3 values (got {x.shape} "
                         f"and {y.shape}).")
    rho = float(spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        idx = rng.integers(0, len(x), len(x))
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            draws.append(spearmanr(x[idx], y[idx]).statistic)
    draws = np.asarray(draws, dtype=float)
    draws = draws[np.isfinite(draws)]
    tail = (1 - confidence) / 2 * 100
    low, high = (np.percentile(draws, [tail, 100 - tail]).tolist() if len(draws) else (None, None))
    return {"rho": rho, "low": low, "high": high, "n": len(x), "resamples_used": int(len(draws)),
            "confidence": confidence}
