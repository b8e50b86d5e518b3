"""Sentences about few labels with the unlabeled images (the `unlabeled` section of `metrics.json`): the best
semi-supervised method at each label count, each method against its supervised-only baseline on the same
draws, and the aims met or missed. Each returns plain prose for the notebook and the report alike."""
from __future__ import annotations

from typing import Mapping

from ..results import is_control
from .words import capital, join, percent, plural, plus_minus, points, relation, spread_points, verdict, wider

AIMS = {100: 0.80, 1000: 0.88}  # our aims on `full` (mean over draws), held against the best method of all
AIMS_BY_DATASET = {"fashion-mnist": AIMS, "mnist": {}}  # set for Fashion-MNIST only: on digits they say little
RELATION = {1: "above", 0: "level with", -1: "below"}
SHORT_RELATION = {1: "above", 0: "level", -1: "below"}  # in tables and tallies
KINDS = {"label_propagation": "label propagation", "self_training": "self-training"}


def _pm(s: Mapping) -> str:
    """Mean ± standard deviation over draws in percent (the mean alone for one draw, whose spread is 0)."""
    return plus_minus(s["mean"], s["std"], 100, "%")


def methods(found: Mapping) -> dict[tuple[str, str], dict]:
    """Every method entry of the section, by (kind, key): label propagation per representation, self-training
    per encoder."""
    return {(kind, key): m for kind in KINDS for key, m in found.get(kind, {}).get("methods", {}).items()}


def counts(found: Mapping) -> list[int]:
    """The label counts at which some method was measured, in order."""
    return sorted({int(k[1:]) for m in methods(found).values() for k in m
                   if k.startswith("n") and k[1:].isdigit()})


def _grouped(names: list[str]) -> str:
    """Method names joined, a shared 'label propagation on' said once: 'label propagation on A, B and C'."""
    out, seen = [], {}
    for name in names:
        head, sep, rest = name.partition(" on ")
        if sep and head in KINDS.values():
            seen.setdefault(head, []).append(rest)
        else:
            out.append(name)
    return join([*[f"{head} on {join(rests)}" for head, rests in seen.items()], *out])


def best(found: Mapping) -> str:
    """Which method reaches the highest mean accuracy at each label count that has an aim (`targets`; every
    count without aims), with its mean ± spread over draws."""
    parts, aims = [], found.get("targets") or found.get("best", {})
    for key, b in sorted(found.get("best", {}).items(), key=lambda item: int(item[0][1:])):
        if key not in aims:
            continue
        entry = methods(found)[(b["kind"], b["key"])][key]
        level = [m["name"] for m in methods(found).values() if key in m and m["name"] != b["name"]
                 and verdict(entry["mean"] - m[key]["mean"], wider(entry.get("std"), m[key].get("std"))) == 0]
        tie = f", level within the spread over draws with {_grouped(level)}" if level else ""
        parts.append(f"With {int(key[1:]):,} labels the best of the methods that use the unlabeled images is "
                     f"{b['name']}, {_pm(entry)} over {plural(b['draws'], 'draw')}{tie}.")
    return " ".join(parts)


def _comparison(m: Mapping, n: int) -> str:
    s = m[f"n{n}"]
    base = s["baseline"]
    call = s["verdict"]
    gap = "" if call == 0 else f", {points(s['difference'])}"
    return (f"{m['name']} {_pm(s)} against {_pm(base)} for {base['name']} ({RELATION[call]} it{gap}; spread "
            f"{spread_points(s['spread'])})")


def baselines(found: Mapping, n: int | None = None) -> str:
    """Each method against its supervised-only baseline on the same draws at `n` labels (default: the fewest):
    above, level with or below it by the larger standard deviation over draws of the two (`words.verdict`)."""
    n = min(counts(found)) if n is None else n
    measured = [m for m in methods(found).values() if f"n{n}" in m]
    if not measured:
        return ""
    calls = [m[f"n{n}"]["verdict"] for m in measured]
    tally = join([f"{plural(calls.count(c), 'method')} {RELATION[c]}" for c in (1, 0, -1) if c in calls])
    return (f"Against its supervised-only baseline on the same {n:,}-label draws (level when the difference "
            f"is within the larger spread over draws): {'; '.join(_comparison(m, n) for m in measured)}. In "
            f"all, {tally} {'its baseline' if len(measured) == 1 else 'their baselines'}.")


def tally(found: Mapping, n: int | None = None) -> str:
    """Per kind of method, how many of its entries are above, level with or below their supervised-only
    baselines at `n` labels (default: the fewest); a single entry with its difference and spread."""
    n = min(counts(found)) if n is None else n
    parts = []
    for kind, words in KINDS.items():
        measured = [m for (k, _), m in methods(found).items() if k == kind and f"n{n}" in m]
        if len(measured) == 1:
            s = measured[0][f"n{n}"]
            parts.append(f"{words} is {relation(s['difference'], s['verdict'])} {s['baseline']['name']} "
                         f"(spread {spread_points(s['spread'])})")
        elif measured:  # the level ones counted, the others named
            calls = [m[f"n{n}"]["verdict"] for m in measured]
            named = lambda c: join([m.get("representation", m["name"]) for m in measured  # noqa: E731
                                    if m[f"n{n}"]["verdict"] == c])
            states = join([f"{SHORT_RELATION[c]} in {calls.count(c)} of its {len(measured)} representations"
                           if c == 0 else f"{SHORT_RELATION[c]} on {named(c)}" for c in (0, 1, -1) if c in calls])
            parts.append(f"{words}, against the RBF SVM on the same representation, is {states}")
    return f"With {n:,} labels, {'; '.join(parts)}." if parts else ""


def frozen_best(few: Mapping | None, n: int, method: str = "svm") -> dict | None:
    """The best mean accuracy at `n` labels of the few-label table (`few_labels`: a classifier on a frozen
    representation, the unlabeled images left aside; the random-encoder controls excluded), with its name and
    spread over draws; None where the table has no entry at `n`."""
    rows = [(e.get("name", k), e[method][f"n{n}"]) for k, e in (few or {}).items()
            if isinstance(e, dict) and method in e and not is_control(e) and f"n{n}" in e[method]]
    if not rows:
        return None
    name, s = max(rows, key=lambda r: r[1]["mean"])
    return {"name": name, "mean": s["mean"], "std": s.get("std")}


def against_frozen(found: Mapping, few: Mapping | None) -> str:
    """At each aimed label count, the best method that uses the unlabeled images against the best one that
    leaves them aside (`frozen_best`): above, level with (within the larger spread over draws) or below it."""
    rows = []
    for key in sorted(found.get("targets") or {}, key=lambda k: int(k[1:])):
        b, f = found.get("best", {}).get(key), frozen_best(few, int(key[1:]))
        if b is None or f is None:
            continue
        rows.append((int(key[1:]), verdict(b["mean"] - f["mean"], wider(b.get("std"), f.get("std"))), b, f))
    if not rows:
        return ""
    one_name = len(rows) > 1 and len({f["name"] for *_, f in rows}) == 1  # then named once, at the end
    parts, said = [], set()
    for n, call, b, f in rows:
        named = "" if one_name else f" for the RBF SVM on {f['name']}"
        relation_words = "" if call in said else f"{RELATION[call]} it "
        said.add(call)
        parts.append(f"{relation_words}with {n:,} labels ({percent(b['mean'])} against "
                     f"{plus_minus(f['mean'], f.get('std'), 100, '%')}{named})")
    tail = f", that classifier being the RBF SVM on {rows[0][3]['name']}" if one_name else ""
    return ("The best method that also trains on the unlabeled images, set against the best classifier trained on "
            f"the labels alone over a frozen representation, is {join(parts)}{tail}.")


def best_of_all(found: Mapping, few: Mapping | None, key: str) -> dict | None:
    """At the label count `key` ('n100'), the best method of all, with the unlabeled images (`found`'s `best`) or
    without them (`frozen_best` of the few-label table `few`): the one an aim is held against."""
    b = found.get("best", {}).get(key)
    if b is None:
        return None
    frozen = frozen_best(few, int(key[1:]))
    return frozen if frozen is not None and frozen["mean"] > b["mean"] else b


def targets(found: Mapping, few: Mapping | None = None) -> str:
    """The aims (`targets`, set for the `full` profile) held against the best mean accuracy at each label
    count measured, with or without the unlabeled images (`few`: the few-label table, `frozen_best`): met or
    missed, by how many points, on this run's profile."""
    parts = []
    for key, aim in sorted(found.get("targets", {}).items(), key=lambda item: int(item[0][1:])):
        b = best_of_all(found, few, key)
        if b is None:
            continue
        gap = b["mean"] - aim
        state = "met" if gap >= 0 else "missed"
        parts.append(f"at {int(key[1:]):,} labels our aim of {percent(aim, 0)} is {state} (best "
                     f"{percent(b['mean'])}, {points(gap)})")
    if not parts:
        return ""
    full = found.get("profile") == "full"
    return (f"{capital(join(parts))}" + ("." if full else
            ", in this reduced run (the aims are set for the study on every training image)."))


def published(found: Mapping, numbers: Mapping[str, float], n: int = 100) -> str:
    """The best measured mean at `n` labels beside published numbers (name -> accuracy) measured under another
    protocol."""
    b = found.get("best", {}).get(f"n{n}")
    if b is None or not numbers:
        return ""
    quoted = join([f"{percent(v)} ({name})" for name, v in numbers.items()])
    return (f"Published graph-based results with {n:,} labels are {quoted}, transductive (scored on the "
            f"images of the graph left unlabeled) on features of their own VAE; the best here is "
            f"{percent(b['mean'])} on held-out test images, so the two are only roughly comparable.")


def summary(found: Mapping, numbers: Mapping[str, float] | None = None, few: Mapping | None = None) -> str:
    """The section's sentences: the best method, each method against its baseline at the fewest labels, the
    best method against the best classifier that ignores the unlabeled images (`few`: the few-label table), the
    aims, and published numbers where given."""
    parts = (best(found), baselines(found), against_frozen(found, few), targets(found, few),
             published(found, numbers or {}))
    return " ".join(t for t in parts if t)


def brief(found: Mapping, few: Mapping | None = None) -> str:
    """The report body's sentences: the best method that uses the unlabeled images against the best classifier
    that ignores them (`few`: the few-label table), and the aims; `details` holds the rest for the appendix."""
    return " ".join(t for t in (against_frozen(found, few), targets(found, few)) if t)


def details(found: Mapping) -> str:
    """The report appendix's sentences: the best method at each aimed label count and the verdicts against the
    baselines in short (`tally`)."""
    return " ".join(t for t in (best(found), tally(found)) if t)
