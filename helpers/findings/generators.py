"""Sentences about the generators (section 7), built from the `generators` section of `metrics.json`: how
the classifier-feature Fréchet distance places the reference sets and the generators, each group's best
generator (ranked only within its group: overall by the Fréchet distance, fidelity by density, diversity by
coverage), the scores uniform noise outscores generators on, and the DCGAN's own reading. Every sentence
names the score it rests on."""
from __future__ import annotations

from .words import capital, join, percent, sig

FLOOR, MEMORY, CEILING = "real_held_out_images", "real_training_images", "uniform_noise"  # reference keys
UNCONDITIONAL = "unconditional"  # the key of the group of generators that used no labels
MEASURE_WORDS = {"frechet": "Fréchet distance", "density": "density", "coverage": "coverage",
                 "precision": "precision", "recall": "recall", "mean_top_probability": "mean top probability"}
ASPECTS = {"density": "fidelity", "coverage": "diversity"}
USED_LABELS = {"class-conditional": "it used the labels"}  # group label -> why it is ranked apart
NOISE_READ = ("precision", "mean_top_probability")  # scores noise may win outright: never read as fidelity
NOISE_WHY = {"precision": "noise features gather in one small region inside the wide neighbourhood balls of "
                          "real outliers",
             "mean_top_probability": "the classifier is confident on inputs unlike any it was trained on"}


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


def ordering(found: dict) -> str:
    """How the Fréchet distance orders the reference sets and the generators: which set scores best and
    worst, and whether every generator lies between real held-out images and uniform noise."""
    sets, order = found["sets"], found["ranking"]
    fd = lambda key: sig(sets[key]["frechet"])  # noqa: E731
    if found["floor_best"]:
        lowest = f"real {'held-out' if order[0] == FLOOR else 'training'} images score best ({fd(order[0])})"
    else:
        lowest = (f"{_name(found, order[0])} scores lower ({fd(order[0])}) than real held-out images "
                  f"({fd(FLOOR)})")
    if found["ceiling_worst"]:
        highest = f"uniform noise worst ({fd(CEILING)})"
    else:
        highest = (f"{_name(found, order[-1])} scores higher ({fd(order[-1])}) than uniform noise "
                   f"({fd(CEILING)})")
    generators = _generators(found)
    floor, ceiling = sets[FLOOR]["frechet"], sets[CEILING]["frechet"]
    outside = [k for k in generators if not floor <= sets[k]["frechet"] <= ceiling]
    if outside:
        verb = "does" if len(outside) == 1 else "do"
        between = (f"{len(generators) - len(outside)} of the {len(generators)} generators lie between them "
                   f"({join([_name(found, k) for k in outside])} {verb} not)")
    else:
        between = f"all {len(generators)} generators lie between the two"
    return (f"By the Fréchet distance in the classifier's features (the overall score), {lowest} and "
            f"{highest}, and {between}.")


def group_bests(found: dict) -> str:
    """Each group's best generator by the Fréchet distance, density (fidelity) and coverage (diversity),
    ranked only within the group; a one-member group is described, not ranked."""
    sets, said = found["sets"], []
    real_density = sets.get(FLOOR, {}).get("density")
    for group in _group_keys(found):
        label, members = found["group_names"][group], found["groups"][group]
        why = f" ({USED_LABELS[label]})" if label in USED_LABELS else ""
        if len(members) == 1:
            row = sets[members[0]]
            scores = [f"Fréchet distance {sig(row['frechet'])}", *[f"{by} {sig(row[by])}" for by in ASPECTS
                                                                   if by in row]]
            said.append(f"The only {generators_noun(label)[:-1]}, {row['name']}, is ranked on its own{why}: "
                        f"{join(scores)}.")
            continue
        best = {by: _key(found, name) for by, name in found["best"][group].items()}
        rows = {by: sets[key] for by, key in best.items()}
        densest = rows.get("density", {}).get("density", 0)
        above = (f", above the {sig(real_density)} of real held-out images"
                 if real_density is not None and densest > real_density else "")
        opening = f"Among the {len(members)} {generators_noun(label)}, ranked only among themselves{why},"
        if len(set(best.values())) == 1:
            row = rows["frechet"]
            aspects = "".join(f", {by} ({ASPECTS[by]}) {sig(row[by])}" for by in ASPECTS if by in row)
            said.append(f"{opening} {row['name']} leads on every score: Fréchet distance "
                        f"{sig(row['frechet'])}{aspects}{above}.")
            continue
        parts = [f"{rows['frechet']['name']} comes closest to real images by the Fréchet distance "
                 f"({sig(rows['frechet']['frechet'])})"]
        parts += [f"{rows[by]['name']} has the highest {by}, the {ASPECTS[by]} score ({sig(rows[by][by])}"
                  f"{above if by == 'density' else ''})" for by in ASPECTS if by in rows]
        said.append(f"{opening} {join(parts)}.")
    return " ".join(said)


def _counted(losers: list[str], generators: list[str], found: dict, named: bool = True) -> str:
    """'every generator', '7 of the 9 generators (all but a and b)', '2 of the 9 generators (a and b)';
    without the names unless `named`."""
    if len(losers) == len(generators):
        return "every generator"
    counted = f"{len(losers)} of the {len(generators)} generators"
    if not named:
        return counted
    if 2 * len(losers) > len(generators):
        return f"{counted} (all but {join([_name(found, g) for g in generators if g not in losers])})"
    return f"{counted} ({join([_name(found, g) for g in losers])})"


def noise(found: dict) -> str:
    """The scores that cannot read fidelity here: uniform noise outscoring generators on precision or the
    classifier's mean top probability (computed, never assumed). Empty when noise was not scored."""
    noise_row, generators = found["sets"].get(CEILING), _generators(found)
    beaten = found.get("noise_beats", {})
    checked = [by for by in NOISE_READ if noise_row is not None and by in noise_row and by in beaten]
    if not checked:
        return ""
    fooled = [by for by in checked if beaten[by]]
    said = [f"a higher {MEASURE_WORDS[by]} ({sig(noise_row[by])}) than "
            f"{_counted(beaten[by], generators, found, named=False)}" if beaten[by] else
            f"a lower {MEASURE_WORDS[by]} ({sig(noise_row[by])}) than every generator" for by in checked]
    if not fooled:
        return f"Uniform noise gets {' and '.join(said)}."
    return (f"Uniform noise gets {' and '.join(said)}, so {join([MEASURE_WORDS[by] for by in fooled])} "
            f"{'is' if len(fooled) == 1 else 'are'} not read as fidelity here.")


def summary(found: dict) -> str:
    """The generators in three steps, for the notebook, the closing commentary and the report alike:
    `ordering`, `group_bests` and `noise`."""
    return " ".join(part for part in (ordering(found), group_bests(found), noise(found)) if part)


def details(found: dict) -> str:
    """What the notebook adds below `summary`: the reference sets' density and coverage, where each
    generator lands between real images and noise, the last of each group on every score, the share of
    class-conditional samples recognised, why noise can win on precision and confidence, and any density or
    coverage noise wins."""
    sets, said = found["sets"], []
    real, noise_row = sets.get(FLOOR, {}), sets.get(CEILING, {})
    generators = _generators(found)
    if "density" in real and "density" in noise_row:
        said.append(f"Density and coverage (k-nearest-neighbour balls around the real test features, k = "
                    f"{real.get('density_coverage_k', 5)}) are {sig(real['density'])} and "
                    f"{sig(real['coverage'])} for real held-out images and {sig(noise_row['density'])} and "
                    f"{sig(noise_row['coverage'])} for uniform noise.")
    share = found.get("share_of_gap", {})
    if share:
        said.append("Along the Fréchet distance from real held-out images (0%) to uniform noise (100%), "
                    + join([f"{_name(found, k)} lands at {percent(share[k], 0)}" for k in generators
                            if k in share]) + ".")
    for group in _group_keys(found):
        if len(found["groups"][group]) < 2:
            continue
        ranking = found["rankings"][group]
        last = {by: ranking[by][-1] for by in MEASURE_WORDS if by in ranking}
        said.append(f"Last among the {generators_noun(found['group_names'][group])}: "
                    + join([f"{_name(found, key)} on {MEASURE_WORDS[by]} ({sig(sets[key][by])})"
                            for by, key in last.items()]) + ".")
    recognised = [f"{percent(sets[k]['recognised'])} of the samples of {_name(found, k)}" for k in generators
                  if "recognised" in sets[k]]
    if recognised:
        said.append(f"The classifier recognises {join(recognised)} as the class they were drawn for.")
    beaten = found.get("noise_beats", {})
    for by in (by for by in NOISE_READ if beaten.get(by)):
        coverage = (f" (its coverage is only {sig(noise_row['coverage'])})"
                    if by == "precision" and "coverage" in noise_row else "")
        said.append(f"Uniform noise outscores {_counted(beaten[by], generators, found)} on "
                    f"{MEASURE_WORDS[by]} because {NOISE_WHY[by]}{coverage}.")
    for by, other in (("density", "coverage"), ("coverage", "density")):
        losers = beaten.get(by, [])
        if not losers:
            continue
        text = (f"{capital(by)}, too, is higher for uniform noise ({sig(noise_row[by])}) than for "
                f"{join([f'{_name(found, g)} ({sig(sets[g][by])})' for g in losers])}")
        if other in noise_row and all(sets[g][other] > noise_row[other] for g in losers):
            text += (f"; {other} still separates {'it' if len(losers) == 1 else 'them'} from noise "
                     f"({join([sig(sets[g][other]) for g in losers])} against {sig(noise_row[other])})")
        said.append(text + ".")
    return " ".join(said)


def dcgan(found: dict, name: str = "DCGAN") -> str:
    """The DCGAN's samples (the set called `name`) on every score, each against real held-out images and
    uniform noise and ranked within its own group; precision and the mean top probability are said to be no
    evidence of realism wherever uniform noise outscores the DCGAN on them."""
    sets, key = found["sets"], _key(found, name)
    g, r, z = sets[key], sets[FLOOR], sets[CEILING]
    group = next(gk for gk in found["groups"] if key in found["groups"][gk])
    size, ranked_once = len(found["groups"][group]), []

    def rank(by: str) -> str:  # the group is named at the first rank only
        if size < 2:
            return ""
        ranked_once.append(by)
        place = found["rankings"][group][by].index(key) + 1
        among = "" if len(ranked_once) > 1 else f" among the {generators_noun(found['group_names'][group])}"
        return f", rank {place} of {size}{among}"

    text = (f"The {name}'s samples have a classifier-feature Fréchet distance of {sig(g['frechet'])} (real "
            f"held-out images {sig(r['frechet'])}, uniform noise {sig(z['frechet'])}){rank('frechet')}.")
    if "density" in g:
        text += (f" Their density, the fidelity score, is {sig(g['density'])}{rank('density')} (real "
                 f"held-out images {sig(r['density'])}, uniform noise {sig(z['density'])}), and their "
                 f"coverage, the diversity score, is {sig(g['coverage'])}{rank('coverage')} (real held-out "
                 f"images {sig(r['coverage'])}, uniform noise {sig(z['coverage'])}).")
    text += (f" The classifier's mean top probability on them is {sig(g['mean_top_probability'])} (real "
             f"held-out images {sig(r['mean_top_probability'])}).")
    higher = [by for by in NOISE_READ if z[by] > g[by]]
    if higher:
        noise_scores = " and a higher ".join(f"{MEASURE_WORDS[by]} ({sig(z[by])})" for by in higher)
        which = "this score is no" if len(higher) == 1 else "neither score is"
        text += (f" Uniform noise gets a higher {noise_scores} than the {name} "
                 f"({' and '.join(sig(g[by]) for by in higher)}), so {which} evidence that the samples look "
                 f"real.")
    for by in (b for b in NOISE_READ if b not in higher):
        same = z[by] == g[by]
        text += (f" Uniform noise gets {'the same' if same else 'a lower'} {MEASURE_WORDS[by]} "
                 f"({sig(z[by])}) {'as' if same else 'than'} the {name} ({sig(g[by])}).")
    return text + f" Their recall is {sig(g['recall'])} (real held-out images {sig(r['recall'])})."
