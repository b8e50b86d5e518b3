"""The formatting every sentence of the study shares: one list joiner, one number formatter, one mean ± spread and
one verdict rule. Findings modules build their sentences from these and nothing else."""
from __future__ import annotations

import math
from typing import Sequence

TIE_ACCURACY = 0.005  # single-run accuracies closer than half a point are level: one run's spread is larger


def join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'; with semicolons where an item holds a comma and a space ('VAE prior, beta 4'),
    not for a thousands separator ('1,000')."""
    items = [str(item) for item in items]
    if not items:
        raise ValueError("join() needs at least one item.")
    if len(items) == 1:
        return items[0]
    sep = "; " if any(", " in item for item in items) else ", "
    return sep.join(items[:-1]) + (";" if sep == "; " and len(items) > 2 else "") + " and " + items[-1]


def sig(x: float | None, digits: int = 3) -> str:
    """`x` to `digits` significant digits with thousands separators and no exponent: 0.00941, 23.3, 1,230;
    'n/a' for None."""
    if x is None:
        return "n/a"
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 10 ** (digits - 1):
        return f"{x:,}"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    rounded = round(x, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > math.floor(math.log10(abs(x))):
        decimals -= 1  # 9.996 -> 10.0 with 3 digits, not 10.00
    return f"{round(x, decimals):,.{max(decimals, 0)}f}"


def spread_decimals(spread: float) -> int:
    """Decimal places a spread supports: its first significant digit, or its first two when that digit is 1."""
    digits = -int(math.floor(math.log10(spread)))
    if round(spread * 10 ** digits) == 1:
        digits += 1
    return max(digits, 0)


MOST_DIGITS = 4  # significant digits of a mean beside its spread, however small the spread


def plus_minus(mean: float, spread: float | None, scale: float = 1.0, unit: str = "") -> str:
    """`mean ± spread` rounded to what the spread supports (`spread_decimals`), the mean to at most `MOST_DIGITS`
    significant digits (a spread smaller than that is shown at the last place kept); `scale` 100 with `unit` '%'
    gives percentages. Without a spread (None, 0 or not finite), the mean alone to three significant digits."""
    mean = mean * scale
    if spread is None or spread == 0 or not math.isfinite(spread):
        return f"{sig(mean)}{unit}"
    spread = abs(spread) * scale
    places = spread_decimals(spread)
    if mean != 0 and math.isfinite(mean):  # a spread far below the mean: at most four significant digits
        places = min(places, max(MOST_DIGITS - 1 - math.floor(math.log10(abs(mean))), 0))
    spread = max(round(spread, places), 10.0 ** -places)  # never '± 0.000': the spread at the last place kept
    return f"{mean:,.{places}f} ± {spread:,.{places}f}{unit}"


def as_shown(mean: float, spread: float | None = None) -> float:
    """The mean as `plus_minus` shows it (rounded to what its spread supports), for a ratio or a difference a
    reader can check from the printed values."""
    return float(plus_minus(mean, spread).split(" ± ")[0].replace(",", ""))


def interval(difference: dict, brackets: bool = True) -> str:
    """A difference with its confidence interval (`mean`, `low`, `high`), each rounded to the decimals the
    interval's half-width supports (`spread_decimals`), with true minus signs: '−0.17 [−0.26, −0.08]', or with
    `brackets` False '−0.17, 95% interval −0.26 to −0.08'."""
    low, mean, high = difference["low"], difference["mean"], difference["high"]
    half = (high - low) / 2
    places = spread_decimals(half) if half > 0 and math.isfinite(half) else 3
    shown = [f"{value:,.{places}f}".replace("-", "−") for value in (mean, low, high)]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]" if brackets else f"{shown[0]}, 95% interval {shown[1]} to {shown[2]}"


def verdict(difference: float, spread: float | None) -> int:
    """The one rule for calling a difference: 0 (a tie) when it lies within its spread, else its sign (1 or -1).
    With no spread (None), any difference that is not exactly 0 counts."""
    if spread is not None and abs(difference) <= abs(spread):
        return 0
    return (difference > 0) - (difference < 0)


def wider(*spreads: float | None) -> float | None:
    """The larger of two or more spreads, the one a difference between their means must exceed (`verdict`);
    None where every spread is None or 0."""
    return max((abs(s) for s in spreads if s), default=0.0) or None


def interval_call(difference: dict) -> int | None:
    """`verdict` on a difference with a confidence interval (`statistics.paired_difference` or
    `paired_bootstrap`: `mean`, `low`, `high`), its spread the part of the interval between the mean and 0: 0 (a
    tie) when the interval holds 0, else the mean's sign; None without an interval (one seed)."""
    mean, low, high = difference["mean"], difference.get("low"), difference.get("high")
    if low is None or high is None:
        return None
    return verdict(mean, mean - low if mean >= 0 else high - mean)


def plural(count: float, noun: str) -> str:
    """'1 epoch', '2 epochs', '2.5 epochs' (a median of counts), '1,600 images'."""
    number = f"{count:,}" if float(count).is_integer() else f"{count:g}"
    return f"{number.removesuffix('.0')} {noun}" + ("" if count == 1 else "s")


def capital(text: str) -> str:
    """The sentence with its first letter upper-cased (the rest untouched)."""
    return text[:1].upper() + text[1:]


def percent(share: float | None, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: 0.8849 -> '88.5%'; 'n/a' for None."""
    return "n/a" if share is None else f"{100 * share:.{decimals}f}%"


def signed(value: float, decimals: int = 1) -> str:
    """A signed number with a true minus sign: '+3.1', '−0.4'."""
    return f"{value:+.{decimals}f}".replace("-", "−")


def points(difference: float) -> str:
    """A difference of two shares in signed percentage points: '+3.1 points', '−0.4 points'."""
    return f"{signed(100 * difference)} points"


def points_between(a: float, b: float, *spreads: float | None) -> str:
    """`a` − `b` (shares) in signed percentage points as a reader can check it from the two values shown: each
    rounded to one decimal of a point, or, with a spread, to the places the larger spread supports (as
    `plus_minus` shows it), and the difference of the rounded values at those places: '+4 points' for 73.4%
    against 69 ± 2%."""
    difference, places = shown_difference(a, b, *spreads)
    return f"{signed(difference, places)} points"


def shown_difference(a: float, b: float, *spreads: float | None) -> tuple[float, int]:
    """`points_between`'s difference in points and the decimal places it is shown at."""
    spread = wider(*spreads)
    places = spread_decimals(100 * spread) if spread else 1
    return round(100 * a, places) - round(100 * b, places), places


def spread_points(spread: float) -> str:
    """A spread of shares in percentage points, to two significant digits: '1.2 points'."""
    return f"{sig(100 * abs(spread), 2)} points"


def relation(difference: float, call: int, above: str = "above", below: str = "below",
             level: str = "level with", places: int = 1) -> str:
    """A difference of two shares by its `call` (from `verdict`): '2.6 points above', 'level with' or
    '1.1 points below' (`places`: decimals of the points)."""
    if call == 0:
        return level
    return f"{abs(100 * difference):.{places}f} points {above if call > 0 else below}"


SCHEDULES = {"cosine": "cosine", "warmup_cosine": "warm-up + cosine", "onecycle": "one-cycle",
             "plateau": "halved on plateau", None: "constant"}  # a learning-rate schedule by name
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop",
              "nesterov": "Nesterov SGD"}  # an optimizer by name


STRATEGY_SHORT = {  # a fine-tuning strategy's name in a sentence
    "fine-tuned (tuned)": "the tuned fine-tuning",
    "fine-tuned (one lr)": "fine-tuning at one learning rate",
    "fine-tuned (encoder lr x0.1)": "fine-tuning with the encoder at a tenth of the head's learning rate"}


LEGEND_WORDS = {  # a run's short name (a cache key, kept as it is) as a figure's legend or a table prints it
    "HW1 network from scratch": "Homework 1 network from scratch",
    "fine-tuned (tuned)": "fine-tuned, searched settings",
    "fine-tuned (one lr)": "fine-tuned, one learning rate",
    "fine-tuned (encoder lr x0.1)": "fine-tuned, encoder at 0.1 × the head's learning rate"}


def legend(name: str) -> str:
    """A run's name as a legend prints it (`LEGEND_WORDS`; other names as they are)."""
    return LEGEND_WORDS.get(name, name)


def strategy(name: str) -> str:
    """A classifier strategy's name as a sentence says it (`STRATEGY_SHORT`; other names as they are)."""
    return STRATEGY_SHORT.get(name, name)


PRECISION_WORDS = {"bf16 autocast": "bfloat16 mixed precision", "fp32": "32-bit floats",
                   ", channels-last": " with channels-last tensors"}  # `runtime.precision_summary`'s terms


def precision(summary: str) -> str:
    """A run's precision (`runtime.precision_summary`: "training fp32, channels-last; evaluation fp32") in
    words: "training in 32-bit floats with channels-last tensors; evaluation in 32-bit floats"."""
    parts = []
    for part in summary.split("; "):
        stage, _, how = part.partition(" ")
        for short, long in PRECISION_WORDS.items():
            how = how.replace(short, long)
        parts.append(f"{stage} in {how}")
    return "; ".join(parts)


def timing_limit(device: str) -> str:
    """On a CPU run, what its seconds are worth: wall-clock on a machine that other work sometimes shared (the
    decoders' ratio is read from the fastest seed, `findings.autoencoder.decoder_finding`); '' on a GPU."""
    if not device.startswith("cpu"):
        return ""
    return ("Times are wall-clock seconds on a CPU that other work sometimes shared, which slowed some epochs "
            "several-fold, so a time comparison is a rough guide (the decoders' is read from the fastest of their "
            "seeds).")


def machine(device: str) -> str:
    """The device a run names (`runtime.device_name`: "cpu (NAME; features; N threads)", "cuda (NAME)") as a
    sentence says it: "an AMD EPYC (family 25, model 1) CPU (AVX2, no native bf16; 2 threads)"."""
    kind, _, inside = device.partition(" (")
    inside = inside[:-1] if inside.endswith(")") else inside
    if kind == "cpu":
        name, _, rest = inside.partition("; ")
        return f"{'an' if name[:1].upper() in 'AEIOU' else 'a'} {name} CPU" + (f" ({rest})" if rest else "")
    if kind == "cuda":
        return f"one {inside} GPU" if inside else "one CUDA GPU"
    return inside or kind

