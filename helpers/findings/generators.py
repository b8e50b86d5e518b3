"""Sentences about the generators (section 7), built from the `generators` section of `metrics.json`: which
scores pass the check in the judge's features (real held-out and training images above every generator,
uniform noise last) and why the others are dropped, each group's best generator on the scores that passed
(ranked only within its group: overall by the Fréchet distance, fidelity by density, diversity by coverage),
whether the best classifier's features agree with the judge, the DCGAN's own reading, and what the
generators of the class sheets get wrong (blur, rare classes, images the judge is unsure of). Every sentence
names the score it rests on; a score that failed the check is never read as fidelity. A generator leads or
outranks another only beyond the spread over the draws of the images (the stored `level`, by the one tie
rule); generators within it are said to be level."""
from __future__ import annotations

from typing import Sequence

from .words import capital, join, percent, plus_minus, sig, strategy, verdict, wider

FLOOR, MEMORY, CEILING = "real_held_out_images", "real_training_images", "uniform_noise"  # reference keys
UNCONDITIONAL = "unconditional"  # the key of the group of generators that used no labels
MEASURE_WORDS = {"frechet": "Fréchet distance", "density": "density", "coverage": "coverage",
                 "precision": "precision", "recall": "recall", "mean_top_probability": "mean top probability",
                 "confident_share": "confident share"}
ASPECTS = {"frechet": "overall", "density": "fidelity", "coverage": "diversity"}  # what each ranked one reads
ASPECT_WORDS = {"overall": "overall quality", "fidelity": "fidelity", "diversity": "diversity"}
USED_LABELS = {"class-conditional": "it used the labels"}  # group label -> why it is ranked apart
REFERENCE_WORDS = {FLOOR: "real held-out images", MEMORY: "real training images", CEILING: "uniform noise"}


def generators_noun(group: str) -> str:
    """A group's label as a plural noun: 'unconditional' -> 'unconditional generators'; 'generators'
    stays."""
    return group if group.endswith("generators") else f"{group} generators"


def _group_keys(found: dict) -> list[str]:
    """The groups' keys: the generators that used no labels first, then the others alphabetically."""
    return sorted(found["groups"], key=lambda g: (g != UNCONDITIONAL, g))


def _generators(found: dict) -> list[str]:
    """Every generator's set key, group by group."""
    return [k for g in _group_keys(found) for k in found["groups"][g]]


def _name(found: dict, key: str) -> str:
    return found["sets"][key]["name"]


def _key(found: dict, name: str) -> str:
    keys = [k for k, row in found["sets"].items() if row["name"] == name]
    if not keys:
        scored = [row["name"] for row in found["sets"].values()]
        raise ValueError(f"no scored set is called {name!r} (scored: {scored}).")
    return keys[0]


def _counted(keys: list[str], among: list[str], found: dict, noun: str = "generators") -> str:
    """'every generator', '2 of the 6 generators (a and b)', '5 of the 6 generators (all but c)'."""
    if len(keys) == len(among):
        return f"every {noun[:-1]}"
    counted = f"{len(keys)} of the {len(among)} {noun}"
    if 2 * len(keys) > len(among):
        return f"{counted} (all but {join([_name(found, k) for k in among if k not in keys])})"
    return f"{counted} ({join([_name(found, k) for k in keys])})"


def _why_dropped(found: dict, check: dict) -> str:
    """Why one score failed the check: what uniform noise scores at least as well as, and which generators
    reach each real set (real sets reached by the same generators are named together)."""
    generators, said = _generators(found), []
    noise_ties = check["noise_not_last"]
    if noise_ties:
        beaten = [k for k in noise_ties if k in generators]
        real = [REFERENCE_WORDS.get(k, _name(found, k)) for k in noise_ties if k not in generators]
        what = ([_counted(beaten, generators, found)] if beaten else []) + real
        said.append(f"uniform noise is not last: it scores at least as well as {join(what)}")
    reached: dict[tuple[str, ...], list[str]] = {}
    for real, keys in check["real_not_above"].items():
        if keys:
            reached.setdefault(tuple(keys), []).append(REFERENCE_WORDS.get(real, real))
    for keys, reals in reached.items():
        one = len(keys) == 1 or len(keys) == len(generators)  # 'every generator scores'
        said.append(f"{_counted(list(keys), generators, found)} {'scores' if one else 'score'} at "
                    f"least as well as {join(reals)}")
    return "; ".join(said)


def _checked(found: dict) -> tuple[list[str], list[str]]:
    """The scores that passed the check and the ones dropped, in `MEASURE_WORDS` order (one order, in memory
    or read back from metrics.json)."""
    found_checks = found["checks"]
    checked = [by for by in MEASURE_WORDS if by in found_checks]
    return ([by for by in checked if found_checks[by]["passed"]],
            [by for by in checked if not found_checks[by]["passed"]])


def _passed(found: dict, by: str) -> bool:
    """Whether the score `by` passed the check in the judge's features."""
    return found["checks"].get(by, {}).get("passed", False)


def _scores(scores: list[str]) -> str:
    return join([MEASURE_WORDS[by] for by in scores])


def checks(found: dict, shown: Sequence[str] | None = None) -> str:
    """The check in brief: the judge, the scores that passed (real held-out and training images above every
    generator, uniform noise last), the dropped ones by the part of the check they failed, and where a
    score of the default ranking failed, what the generators are ranked by instead (`dropped` gives every
    reason). With `shown`, a passing score outside the ranking is named only if it is among them (the scores a
    table beside the sentence shows)."""
    found_checks, (kept, dropped) = found["checks"], _checked(found)
    judge = "the judge"
    if found.get("judge"):
        named = found["judge"].replace("HW1 network", "Homework 1's network")
        judge += f" ({named}, not initialized from an autoencoder)"
    text = (f"In the features of {judge}, a score ranks generators only if real held-out and training images "
            f"score better than every generator and uniform noise worse than every other set.")
    default = found.get("default_ranked_by", list(ASPECTS))
    ranked_kept = [by for by in kept if by in default]
    other_kept = [by for by in kept if by not in default and (shown is None or by in shown)]
    if kept:  # the ranking's own scores first; the others are reported beside them and rank nothing
        first = ranked_kept or other_kept
        text += f" {capital(_scores(first))} {'passes' if len(first) == 1 else 'pass'}"
        if ranked_kept and other_kept:
            text += (f", and so {'does' if len(other_kept) == 1 else 'do'} {_scores(other_kept)}, reported beside "
                     f"them but ranking nothing: the ranking reads only the scores set for it in advance "
                     f"({_scores(default)})")
        text += "."
    if dropped:
        noisy = [by for by in dropped if found_checks[by]["noise_not_last"]]
        reached = [by for by in dropped if any(found_checks[by]["real_not_above"].values())]
        on_all = {1: "it", 2: "either"}.get(len(dropped), "any of them")  # every dropped score, for one reason
        reasons = ([f"uniform noise is not last on {on_all if noisy == dropped else _scores(noisy)}"]
                   if noisy else []) + (
            [f"a generator reaches real images on {on_all if reached == dropped else _scores(reached)}"]
            if reached else [])
        text += (f" {capital(_scores(dropped))} {'is' if len(dropped) == 1 else 'are'} dropped, since "
                 f"{'; '.join(reasons)}")
    ranked_by = found["ranked_by"]
    failed = [by for by in default if by not in ranked_by]
    if failed and ranked_by:  # the ranking's own score(s) among the dropped: what it falls back on
        text += f"{', so the' if dropped else ' The'} generators are ranked by {_scores(ranked_by)} only"
    text += "." if dropped or (failed and ranked_by) else ""
    if not ranked_by:
        text += " No score of the ranking passes, so the generators are not ranked."
    return text


def dropped(found: dict) -> str:
    """Every dropped score with why it failed the check: what uniform noise scores at least as well as, and
    which generators reach which real set. Empty where every score passed."""
    _, failed = _checked(found)
    if not failed:
        return ""
    return ("Why each dropped score failed: " + "; ".join(
        f"{MEASURE_WORDS[by]}, {_why_dropped(found, found['checks'][by])}" for by in failed) + ".")


def _value(row: dict, by: str) -> str:
    """A set's score `by`: its mean ± its standard deviation over draws where it has one, else the value."""
    return plus_minus(row[by], row.get(f"{by}_std"))


def _reading(by: str, row: dict) -> str:
    """'Fréchet distance 31.7 ± 0.4', 'density (fidelity) 1.03'."""
    aspect = f" ({ASPECTS[by]})" if by != "frechet" else ""
    return f"{MEASURE_WORDS[by]}{aspect} {_value(row, by)}"


SPREAD_WORDS = "within the spread over the draws"  # what 'level' means, said at its first use in a sentence


def _level(found: dict, group: str, by: str, key: str) -> list[str]:
    """The generators of `group` level with `key` on `by` (the stored `level`: means within the larger
    standard deviation over draws), best first; none where the metrics record no `level`."""
    return found.get("level", {}).get(group, {}).get(by, {}).get(key, [])


def _level_with(found: dict, keys: list[str], by: str, first: bool) -> str:
    """', level with a (0.93 ± 0.02) and b (0.91 ± 0.03)', with `SPREAD_WORDS` where `first`; empty for no
    keys."""
    if not keys:
        return ""
    named = join([f"{_name(found, k)} ({_value(found['sets'][k], by)})" for k in keys])
    return f", level with {named}" + (f" {SPREAD_WORDS}" if first else "")


def group_bests(found: dict) -> str:
    """Each group's best generator on every score it is ranked by (`ranked_by`: the scores of the default
    ranking that passed the check), ranked only within the group; a one-member group is described, not
    ranked. The best leads only where no other generator of its group is level with it (`level`); otherwise
    the level ones are named with their scores. Empty where nothing is ranked."""
    sets, ranked_by, said = found["sets"], found["ranked_by"], []
    if not ranked_by:
        return ""
    for group in _group_keys(found):
        label, members = found["group_names"][group], found["groups"][group]
        why = f" ({USED_LABELS[label]})" if label in USED_LABELS else ""
        if len(members) == 1:
            row = sets[members[0]]
            said.append(f"The only {generators_noun(label)[:-1]}, {row['name']}, is ranked on its own{why}: "
                        f"{join([_reading(by, row) for by in ranked_by])}.")
            continue
        best = {by: _key(found, name) for by, name in found["best"][group].items()}
        level = {by: _level(found, group, by, best[by]) for by in ranked_by}
        opening = f"Among the {len(members)} {generators_noun(label)}, ranked only among themselves{why},"
        if len(set(best.values())) == 1 and not any(level.values()):
            row = sets[best[ranked_by[0]]]
            every = "every ranked score" if len(ranked_by) > 1 else f"the {MEASURE_WORDS[ranked_by[0]]}"
            said.append(f"{opening} {row['name']} leads on {every}: "
                        f"{join([_reading(by, row) for by in ranked_by])}.")
            continue
        parts, first = [], True
        for by in ranked_by:
            row = sets[best[by]]
            part = (f"{row['name']} comes closest to real images by the Fréchet distance ({_value(row, by)})"
                    if by == "frechet" else
                    f"{row['name']} has the highest {by}, the {ASPECTS[by]} score ({_value(row, by)})")
            parts.append(part + _level_with(found, level[by], by, first))
            first = first and not level[by]
        said.append(f"{opening} {join(parts)}.")
    return " ".join(said)


def second_opinion(found: dict) -> str:
    """Whether the best classifier's features (the `second_opinion` entry) rank the generators as the judge
    does on every ranked score: the score passes the check there too, the same best generator in every group
    and Spearman's ρ over the generators at least the threshold. Where the best classifier is the judge
    itself (`best_is_judge`), one sentence saying there is no second opinion; empty where none was scored."""
    if found.get("best_is_judge"):
        return ("The best classifier trained with labels is the judge itself, so no second feature space is "
                "read: there is no second opinion.")
    second = found.get("second_opinion")
    if not second:
        return ""
    opening = (f"In the features of the best classifier trained with labels ({strategy(second['model'])}), "
               f"which may start from the autoencoder,")
    rows = second["agreement"]
    order = [by for by in found["ranked_by"] if by in rows]
    if not order:
        return f"{opening} nothing is compared, since no score ranks the generators."
    if second["agrees"]:
        rho = [f"{MEASURE_WORDS[by]} {sig(rows[by]['rho'], 2)}" for by in order
               if rows[by]["rho"] is not None]
        rho_said = f", Spearman's ρ: {join(rho)}" if rho else ""
        return (f"{opening} the ranking agrees with the judge's on {_scores(order)} (the check passed, the "
                f"same best generators{rho_said}): it is a second opinion.")
    said = []
    for by in order:
        row = rows[by]
        why = ([] if row["passed_check"] else ["it fails the check there"]) + (
            [] if row["same_best"] else ["another best generator"]) + (
            [] if row["close"] else [f"Spearman's ρ {'n/a' if row['rho'] is None else sig(row['rho'], 2)}"])
        if why:
            said.append(f"{MEASURE_WORDS[by]}: {join(why)}")
    needs = (f"; agreement needs ρ ≥ {sig(second['threshold'], 2)}"
             if not all(rows[by]["close"] for by in order) else "")
    return (f"{opening} the ranking does not agree with the judge's ({'; '.join(said)}{needs}), so the ranking "
            f"rests on the judge's features alone.")


def summary(found: dict, shown: Sequence[str] | None = None) -> str:
    """The generators in three steps, for the notebook, the closing commentary and the report alike: `checks`
    (naming, with `shown`, only the passing scores a table beside it shows), `group_bests` and `second_opinion`."""
    return " ".join(part for part in (checks(found, shown), group_bests(found), second_opinion(found)) if part)


def details(found: dict) -> str:
    """What the notebook adds below `summary`: why each dropped score failed (`dropped`), the reference sets'
    density and coverage, where each generator lands between real images and noise on the Fréchet distance
    (where it passed the check), the last of each group on every ranked score (with the generators level
    with it), each generator's coverage as a share of the real held-out images' own (where coverage passed
    the check), and the share of class-conditional samples recognised."""
    sets, said = found["sets"], [dropped(found)] if dropped(found) else []
    real, noise_row = sets.get(FLOOR, {}), sets.get(CEILING, {})
    generators = _generators(found)
    if "density" in real and "density" in noise_row:
        said.append(f"Density and coverage (k-nearest-neighbour balls around the real test features, k = "
                    f"{real.get('density_coverage_k', 5)}) are {sig(real['density'])} and "
                    f"{sig(real['coverage'])} for real held-out images and {sig(noise_row['density'])} and "
                    f"{sig(noise_row['coverage'])} for uniform noise.")
    share = found.get("share_of_gap", {})
    if share and "frechet" in found["ranked_by"]:
        said.append("Along the Fréchet distance from real held-out images (0%) to uniform noise (100%), "
                    + join([f"{_name(found, k)} lands at {percent(share[k], 0)}" for k in generators
                            if k in share]) + ".")
    for group in _group_keys(found):
        if len(found["groups"][group]) < 2 or not found["ranked_by"]:
            continue
        ranking = found["rankings"][group]
        last = {by: ranking[by][-1] for by in found["ranked_by"] if by in ranking}
        parts, first = [], True
        for by, key in last.items():
            level = _level(found, group, by, key)
            parts.append(f"{_name(found, key)} on {MEASURE_WORDS[by]} ({_value(sets[key], by)})"
                         + _level_with(found, level, by, first))
            first = first and not level
        said.append(f"Last among the {generators_noun(found['group_names'][group])}: {join(parts)}.")
    of_real = found.get("coverage_of_real", {})
    if _passed(found, "coverage") and of_real and all(of_real.get(k) is not None for k in generators):
        said.append("As a share of real held-out images' own coverage, the generators cover "
                    + join([f"{percent(of_real[k], 0)} ({_name(found, k)})" for k in generators]) + ".")
    recognised = [f"{percent(sets[k]['recognised'])} of the samples of {_name(found, k)}" for k in generators
                  if "recognised" in sets[k]]
    if recognised:
        said.append(f"The judge recognises {join(recognised)} as the class they were drawn for.")
    return " ".join(said)


def _place(found: dict, group: str, by: str, key: str) -> str:
    """Where `key` stands among its group on `by`: 'rank 2 of 5' where no generator is level with it,
    else 'tied with a for first of 5' or 'level with a and b, ranks 2 to 4 of 5': the rank range runs from
    one past the generators ahead of it beyond the spread to the size less those behind it beyond it."""
    ranking, level = found["rankings"][group][by], _level(found, group, by, key)
    size, place = len(ranking), ranking.index(key) + 1
    if not level:
        return f"rank {place} of {size}"
    low = 1 + sum(k not in level for k in ranking[:place - 1])
    high = size - sum(k not in level for k in ranking[place:])
    names = join([_name(found, k) for k in level])
    if low == 1:
        return f"tied with {names} for first of {size}"
    return f"level with {names}, ranks {low} to {high} of {size}"


def coverage_of_real(found: dict, name: str = "DCGAN") -> str:
    """The share of the real held-out images' coverage that the samples of the set called `name` reach, where
    coverage passed the judge's check; where it failed, that coverage ranks no generator."""
    key = _key(found, name)
    if not _passed(found, "coverage"):
        return (f"Coverage fails the judge's check, so it ranks no generator and the {name}'s share of the "
                f"real held-out images' coverage is not read.")
    return (f"The {name}'s samples reach {percent(found['coverage_of_real'][key], 0)} of the real held-out "
            f"images' coverage.")


def dcgan(found: dict, name: str = "DCGAN") -> str:
    """The DCGAN's samples (the set called `name`) on the Fréchet distance, density and coverage, each against
    real held-out images and uniform noise, placed within its own group where the score passed the check
    (`_place`: a rank, or the generators level with it within the spread over draws) and flagged where it
    failed; its coverage as a share of the real held-out images' own where coverage passed; and its
    recall."""
    sets, key = found["sets"], _key(found, name)
    g, r, z = sets[key], sets[FLOOR], sets[CEILING]
    group = next(gk for gk in found["groups"] if key in found["groups"][gk])
    size, ranked_once = len(found["groups"][group]), []

    def rank(by: str) -> str:  # the group is named at the first rank only; a failed score is flagged instead
        if not _passed(found, by):
            return ", a score that fails the check and ranks nothing"
        if size < 2:
            return ""
        ranked_once.append(by)
        among = "" if len(ranked_once) > 1 else f" among the {generators_noun(found['group_names'][group])}"
        return f", {_place(found, group, by, key)}{among}"

    def against(by: str) -> str:
        return f"real held-out images {_value(r, by)}, uniform noise {_value(z, by)}"

    text = (f"The {name}'s samples have a Fréchet distance of {_value(g, 'frechet')} in the judge's "
            f"features ({against('frechet')}){rank('frechet')}.")
    if "density" in g:
        text += (f" Their density, the fidelity score, is {_value(g, 'density')}{rank('density')} "
                 f"({against('density')}), and their coverage, the diversity score, is "
                 f"{_value(g, 'coverage')}{rank('coverage')} ({against('coverage')}).")
        if _passed(found, "coverage") and found.get("coverage_of_real", {}).get(key) is not None:
            text += f" {coverage_of_real(found, name)}"
    return text + f" Their recall is {_value(g, 'recall')} (real held-out images {_value(r, 'recall')})."


def edge_call(found: dict, key: str) -> int:
    """The set `key`'s edge strength against the real held-out images' by the one tie rule (spread: the larger
    standard deviation over draws): -1 blurrier, 0 level, 1 sharper."""
    row, real = found["sets"][key], found["sets"][FLOOR]
    return verdict(row["edge_strength"] - real["edge_strength"],
                   wider(row.get("edge_strength_std"), real.get("edge_strength_std")))


def by_sharpness(found: dict) -> list[list[str]]:
    """The sets of the class sheets from blurriest to sharpest by edge strength, sets level within the
    spread over draws (the one tie rule against the blurriest of a run) grouped together."""
    sets = found["sets"]
    order = sorted(found["flaws"]["sets"], key=lambda k: sets[k]["edge_strength"])
    runs: list[list[str]] = []
    for k in order:
        if runs:
            first = sets[runs[-1][0]]
            spread = wider(first.get("edge_strength_std"), sets[k].get("edge_strength_std"))
            if verdict(sets[k]["edge_strength"] - first["edge_strength"], spread) == 0:
                runs[-1].append(k)
                continue
        runs.append([k])
    return runs


EDGE_WORDS = {-1: "blurrier", 0: "level within the spread over the draws", 1: "sharper"}  # by `edge_call`


def _rare(found: dict, key: str) -> str:
    """The classes the judge gives the set `key` less than the rare share, each 'missing' (none) or 'rare'
    with its share; 'no class below 5%' where there are none."""
    measured, row = found["flaws"], found["sets"][key]
    if not row["rare_classes"]:
        return f"no class below {percent(measured['rare_below'], 0)}"
    shares = row["class_shares"]
    return join([f"{c} {'missing' if shares[c] == 0 else 'rare'} ({percent(shares[c])})"
                 for c in row["rare_classes"]])


def flaws(found: dict) -> str:
    """What each generator of the class sheets (`flaws.sets`) gets wrong, in numbers beside the real held-out
    images' own: blur (its edge strength as a share of the real images', called by the tie rule), missing
    and rare classes (those the judge gives less than `rare_below` of its images), and the share of its
    images the judge is unsure of (top probability below `confident`: ambiguous shapes and artefacts); then
    the blurriest and the sharpest of them. Empty where the run measured none."""
    measured = found.get("flaws")
    if not measured:
        return ""
    sets, real = found["sets"], found["sets"][FLOOR]
    said = [f"{sets[k]['name']}: edge strength {sig(sets[k]['edge_strength_of_real'], 2)} of theirs "
            f"({EDGE_WORDS[edge_call(found, k)]}), {_rare(found, k)}, unsure of "
            f"{percent(1 - sets[k]['confident_share'])}" for k in measured["sets"]]
    text = (f"Flaws, against real held-out images (edge strength, the "
            f"{measured['edge_measure']}, {sig(real['edge_strength'])}; {_rare(found, FLOOR)}; the judge "
            f"unsure, top probability below {sig(measured['confident'], 2)}, of "
            f"{percent(1 - real['confident_share'])}): {'; '.join(said)}.")
    runs = by_sharpness(found)
    if len(runs) > 1:
        blurriest, sharpest = (join([sets[k]["name"] for k in run]) for run in (runs[0], runs[-1]))
        text += f" Blurriest: {blurriest}; sharpest: {sharpest}."
    elif runs:
        text += " Their edge strengths are level within the spread over the draws."
    return text


ONE_GAUSSIAN = "autoencoder_one_gaussian"  # the autoencoder's codes drawn from one Gaussian, decoded


def vae_reading(found: dict, decoder: str) -> str:
    """Why the VAE's prior samples (the set of its kept `decoder`) compare with the autoencoder's codes drawn
    from one Gaussian as they do, both being decoded draws from a single Gaussian: where the VAE's are farther
    from real images by the Fréchet distance beyond the spread over draws, the reading names the VAE's
    training (noisy codes, codes pulled to the prior) and the blur it causes, with the measured edge strength
    where the run measured flaws; where they are not, it says so. Empty where either set or the Fréchet check
    is missing."""
    sets = found.get("sets", {})
    vae_key = next((k for k, r in sets.items() if r.get("name") == f"VAE prior, {decoder} decoder"), None)
    if vae_key is None or ONE_GAUSSIAN not in sets or not _passed(found, "frechet"):
        return ""
    vae, ae = sets[vae_key], sets[ONE_GAUSSIAN]
    call = verdict(vae["frechet"] - ae["frechet"], wider(vae.get("frechet_std"), ae.get("frechet_std")))
    numbers = f"Fréchet distance {_value(vae, 'frechet')} against {_value(ae, 'frechet')}"
    if call <= 0:
        return (f"The VAE's prior samples are {'level with' if call == 0 else 'closer to real images than'} the "
                f"autoencoder's codes drawn from one Gaussian and decoded ({numbers}).")
    edge = ""
    if "edge_strength_of_real" in vae and "edge_strength_of_real" in ae:
        edge = (f"; their edge strength is {sig(vae['edge_strength_of_real'], 2)} of the real images' against "
                f"{sig(ae['edge_strength_of_real'], 2)}")
    return (f"The VAE's prior samples and the autoencoder's samples from one Gaussian both decode draws from a "
            f"single Gaussian, yet the VAE's lie farther from real images ({numbers}{edge}). One explanation, "
            f"not tested here: the VAE trains its decoder on codes with its posterior's noise added and pulls "
            f"every code towards the prior, so the decoder learns to average over neighbouring codes, and the "
            f"average of several images is a blur.")
