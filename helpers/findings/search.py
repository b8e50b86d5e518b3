"""Sentences of section 2 (the hyperparameter search), each built from its sections of `metrics.json`:
the fidelity check (`search_fidelity`), stage 1 (`search`), stage 2 (`search_promotion`) and the paired
cross-validated comparison at the final budget (`search_cv`). Each returns plain prose; the notebook adds
its "Measured:" label."""
from __future__ import annotations

import math

from .words import OPTIMIZERS, SCHEDULES, as_shown, capital, join, plural, plus_minus, sig, signed, verdict

KINDS = ("tpe", "random", "grid")  # the order in which the searches are named


def _kinds(search: dict) -> list[dict]:
    """The rows of the searches `search` holds, in the order of `KINDS`."""
    return [search[kind] for kind in KINDS if kind in search]


def _best(row: dict) -> str:
    """One search's best validation MSE: the median over its sampler seeds with the range, or its one run."""
    if len(row["best"]) == 1:
        return f"{row['search']} {sig(row['median_best'])} (one run)"
    return f"{row['search']} {sig(row['median_best'])} ({sig(row['min_best'])} to {sig(row['max_best'])})"


def search_spread_finding(search: dict) -> str:
    """Each search's best validation MSE over its sampler seeds (median and range) against the hand-set
    start."""
    start = ("did not complete in any study" if search["start_value"] is None else
             f"scores {sig(search['start_value'])}")
    ranking = sampler_ranking(search)
    seeds = max(len(row["best"]) for row in _kinds(search))
    over = f" (median over {seeds} sampler seeds, with its range)" if seeds > 1 else ""
    return (f"With {search['trials']} trials of at most {plural(search['trial_epochs'], 'epoch')} on "
            f"{search['images']:,} images per study, the best validation MSE found{over} was: "
            f"{join([_best(row) for row in _kinds(search)])}; the hand-set start {start}."
            + (f" {ranking}" if ranking else ""))


def sampler_ranking(search: dict) -> str:
    """Which searches the seeds rank: taken in order of their median best, each against every search with a lower
    median, either every run of the lower one lies below every run of the higher (ranked), or their ranges over
    the sampler seeds overlap (not ranked by these seeds). '' with fewer than two searches."""
    rows = sorted(_kinds(search), key=lambda row: row["median_best"])
    clauses = []
    for at, upper in enumerate(rows[1:], start=1):
        lower = rows[:at]
        overlap = [row["search"] for row in lower if row["max_best"] >= upper["min_best"]]
        below = [row["search"] for row in lower if row["max_best"] < upper["min_best"]]
        if overlap:
            clauses.append(f"the seeds do not rank {join(overlap + [upper['search']])}, whose runs overlap")
        if below:
            above = f"{upper['search']}'s one run" if upper["runs"] == 1 else f"every run of {upper['search']}"
            which = "both" if len(below) == 2 and below == [row["search"] for row in lower] else join(below)
            clauses.append(f"every run of {which} lies below {above}")
    return capital("; ".join(clauses)) + "." if clauses else ""


def search_cost_sentence(search: dict) -> str:
    """What each search spent per study (medians over seeds): epochs, seconds and pruned trials."""
    spent = [f"{row['search']} trained {plural(row['epochs'], 'epoch')} in {sig(row['seconds'])} s with "
             f"{plural(row['pruned'], 'trial')} pruned" for row in _kinds(search)]
    return (f"Per study (median over seeds), {join(spent)}, of the "
            f"{plural(search['unpruned_epochs'], 'epoch')} a study trains when no trial is pruned.")


def _against_start(row: dict, start: float) -> str:
    """One search's median best against the start, judged against its range over seeds."""
    if not row["below_start"]:
        some = (f" ({row['improved_seeds']} of its {row['runs']} seeds went below it)"
                if row["improved_seeds"] else "")
        return f"the median best of {row['search']} is not below it{some}"
    gain, spread = 100 * row["improvement"] / start, 100 * row["spread"] / start
    if row["runs"] == 1:
        return (f"{row['search']} ends {sig(gain, 2)}% below it (one run: no spread over seeds to compare "
                f"with)")
    if verdict(gain, spread) > 0:
        return (f"{row['search']} ends {sig(gain, 2)}% below it, more than its range over seeds "
                f"({sig(spread, 2)}%)")
    return (f"{row['search']} ends {sig(gain, 2)}% below it, within its range over seeds "
            f"({sig(spread, 2)}%): the improvement is within what the seeds vary")


def start_sentence(search: dict) -> str:
    """Whether any search's median best went below the hand-set start, and by how much against its
    spread."""
    start, kinds = search["start_value"], _kinds(search)
    if start is None:
        return "The hand-set start did not complete in any study, so nothing can be compared with it."
    if not search["any_improved_on_start"]:
        single = [f"{row['improved_seeds']} of the {row['runs']} seeds of {row['search']}" for row in kinds
                  if row["improved_seeds"]]
        return ("No search's median best went below the hand-set start at this budget"
                + (f" (only single seeds did: {join(single)})" if single else "") + ".")
    return f"Against the hand-set start, {join([_against_start(row, start) for row in kinds])}."


def race_finding(race: dict) -> str:
    """The time comparison of TPE and random search (`search` → `race`)."""
    if not race["random_improved_on_start"]:
        return ("Random search's median best over seeds never went below the hand-set start, so there is no "
                "improvement of random search for TPE to reach, and no time to compare.")
    text = (f"Random search's median curve over seeds reaches its final best, {sig(race['target'])}, after "
            f"{sig(race['random_seconds'])} s of trials; ")
    if race["tpe_seconds"] is None:
        return text + "TPE's median curve does not reach it within its trial budget."
    return (text + f"TPE's median curve reaches it after {sig(race['tpe_seconds'])} s, "
                   f"{sig(race['ratio'], 2)} times random search's time.")


def stage_one_finding(search: dict) -> str:
    """Stage 1 of `search` in full: the best values over seeds, what each search spent, the start, and
    the race."""
    sentences = [search_spread_finding(search), search_cost_sentence(search)]
    if search["start_value"] is not None:
        sentences += [start_sentence(search), race_finding(search["race"])]
    return " ".join(sentences)


def fidelity_finding(fidelity: dict) -> str:
    """The fidelity check (`search_fidelity`): how well a stage-1 trial ranks configurations against the final
    budget (Spearman's rho with its bootstrap interval), at the trial's last epoch and its first, and the first
    rung Hyperband therefore uses."""
    first, last = fidelity["by_epoch"][0], fidelity["by_epoch"][-1]

    def rho(row: dict) -> str:
        interval = ("" if row["low"] is None else
                    f" (95% bootstrap interval {sig(row['low'], 2)} to {sig(row['high'], 2)})")
        return f"ρ = {sig(row['rho'], 2)}{interval}"

    trial, final = (plural(fidelity[f"{k}_epochs"], "epoch") for k in ("trial", "final"))
    text = (f"Each trained as a search trial ({trial} on {fidelity['trial_images']:,} images) and at the final "
            f"budget ({final} on {fidelity['final_images']:,} images), {fidelity['configs']} configurations spread "
            f"over the space rank with Spearman's {rho(last)} between the two after the whole trial")
    if len(fidelity["by_epoch"]) > 1:
        text += f" and {rho(first)} after its first epoch"
    target = sig(fidelity["target"], 2)
    if not fidelity["met"]:
        return (text + f". That is below {target}: the short trial misranks configurations that the final budget "
                       f"separates, so Hyperband stops no trial before its last epoch and stage 2's retraining at "
                       f"the final budget decides.")
    rung = fidelity["min_resource"]
    text += (f". The first epoch count whose ρ reaches {target} is {rung}, so Hyperband's first rung is "
             f"{plural(rung, 'epoch')}")
    at = next((row for row in fidelity["by_epoch"] if row.get("epoch") == rung), None)
    if at is not None and at.get("low") is not None and at["low"] < fidelity["target"]:
        text += (f", though its interval reaches down to {sig(at['low'], 2)}: so early a rung may stop some "
                 f"trials too soon")
    return text + "."


def search_verdict(cv: dict) -> int | None:
    """The paired comparison of `search_cv` by its Student-t interval over folds: -1 the search's best is lower
    (the interval below 0), 0 a tie (it contains 0), 1 the hand-set one is lower; None when nothing was compared."""
    difference = cv.get("difference") if cv.get("compared") else None
    if difference is None:
        return None
    if difference["low"] is None:  # a single fold: no spread
        return verdict(difference["mean"], None)
    return -1 if difference["high"] < 0 else 1 if difference["low"] > 0 else 0


def search_finding(cv: dict) -> str:
    """Whether the search's best configuration beats the hand-set one in the paired cross-validation of
    `search_cv` (its 95% interval over folds), in percent of the hand-set mean."""
    side = search_verdict(cv)
    if side is None:
        return ("The searches found no configuration other than the hand-set one, so there is nothing to "
                "compare it with.")
    base, difference = cv["hand_set_mean"], cv["difference"]
    change = sig(100 * abs(difference["mean"]) / base, 2)
    low, high = (None, None) if difference["low"] is None else (100 * difference["low"] / base,
                                                                100 * difference["high"] / base)
    places = None if low is None else (0 if high - low >= 4 else 1)  # a narrow interval keeps a decimal
    interval = "" if low is None else f", 95% interval {signed(low, places)}% to {signed(high, places)}%"
    head = (f"Paired by fold, the search's best configuration has a {change}% "
            f"{'lower' if difference['mean'] < 0 else 'higher'} cross-validated MSE{interval} (lower in "
            f"{cv['folds_tuned_lower']} of {cv['folds']} folds)")
    if side == 0:
        return f"{head}: the search does not improve on the hand-set configuration by more than the folds vary."
    if side < 0:
        return f"{head}: the search improves on the hand-set configuration by more than the folds vary."
    return f"{head}: at the final budget it is worse than the hand-set one."


BATCH_WORDS = {0.5: "half the hand-set batch", 1.0: "the hand-set batch", 2.0: "twice the hand-set batch",
               4.0: "four times the hand-set batch"}


def tuned_settings(params: dict) -> str:
    """A point of the autoencoder's search space in words: 'channels 48 and 96, half the hand-set batch, Adam at a
    learning rate of 0.0069 with a one-cycle schedule, no augmentation' (the rate as it trains: the searched one
    times the square root of the batch factor)."""
    width, factor = params["base_channels"], params["batch_factor"]
    optimizer = OPTIMIZERS.get(params["optimizer"], params["optimizer"])
    if params["optimizer"] == "adamw":  # the space decays AdamW's weights only
        optimizer += f" (weight decay {sig(params['weight_decay'], 2)})"
    batch = BATCH_WORDS.get(factor, f"{factor:g} times the hand-set batch")
    augment = "no augmentation" if params["augment"] == "off" else f"augmentation ({params['augment']})"
    return (f"channels {width} and {2 * width}, {batch}, {optimizer} at a learning rate of "
            f"{sig(params['lr'] * factor ** 0.5, 2)} with a {SCHEDULES.get(params['schedule'], params['schedule'])} "
            f"schedule, {augment}")


EDGE_SHARE = 0.1  # a searched value within this share of its log range from an edge lies "at the edge"
RANGE_WORDS = {"lr": "searched learning rate (before its batch scaling)", "weight_decay": "weight decay"}


def edge_note(cv: dict) -> str:
    """Where the tuned configuration's continuous settings (`continuous_ranges`, log scale) lie within
    `EDGE_SHARE` of their range's edge: a wider range might hold a better value, so the search's answer there is
    bounded by its space. Empty where none does, or where the run recorded no ranges."""
    params, ranges = cv.get("tuned_params") or {}, cv.get("continuous_ranges") or {}
    said = []
    for name, (low, high) in ranges.items():
        value = params.get(name)
        if value is None or not low < high:
            continue
        share = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        if share >= 1 - EDGE_SHARE or share <= EDGE_SHARE:
            edge = "top" if share >= 1 - EDGE_SHARE else "bottom"
            said.append(f"its {RANGE_WORDS.get(name, name)}, {sig(value, 2)}, lies in the {edge} tenth of the "
                        f"searched range ({sig(low, 1)} to {sig(high, 1)}, log scale)")
    if not said:
        return ""
    return capital(join(said)) + ", so a wider range might hold a better value."


def later_model(cv: dict) -> str:
    """Which autoencoder the later sections build on, with the tuned one's settings where it is that one."""
    if cv.get("later_sections_use") != "tuned" or cv.get("tuned_is_hand_set") or "tuned_params" not in cv:
        return "The later sections build on the hand-set autoencoder."
    note = edge_note(cv)
    return (f"The later sections build on the tuned autoencoder ({tuned_settings(cv['tuned_params'])})."
            + (f" {note}" if note else ""))


def search_cv_finding(cv: dict) -> str:
    """The paired cross-validation of `search_cv`: both means with their spread over folds, the parameters,
    `search_finding`'s verdict, the test MSE (`on_test_sentence`) and the autoencoder the later sections use."""
    if not cv.get("compared"):
        return search_finding(cv)
    hand = plus_minus(cv["hand_set_mean"], cv["hand_set_std"])
    found = f"found by {cv['compared_from']}" if cv.get("compared_from") else ""
    if cv["tuned_parameters"] == cv["hand_set_parameters"]:  # the same widths: say the size once
        best, other = f" ({found})" if found else "", f" (both {cv['hand_set_parameters']:,} parameters)"
    else:
        best = f" ({found + '; ' if found else ''}{cv['tuned_parameters']:,} parameters)"
        other = f" ({cv['hand_set_parameters']:,} parameters)"
    epochs = f" ({plural(cv['epochs'], 'epoch')} per fold)" if cv.get("epochs") else ""
    return (f"In {cv['folds']}-fold cross-validation on {cv['images']:,} images{epochs}, the search's "
            f"best configuration{best} scores {plus_minus(cv['tuned_mean'], cv['tuned_std'])} against {hand} for "
            f"the hand-set one{other}. " + search_finding(cv) + " " + on_test_sentence(cv) + " " + later_model(cv))


def promotion_sentence(cv: dict, promotion: dict) -> str:
    """Stage 2 (`search_promotion`): which configuration wins on validation at the final budget, and why
    the hand-set one stays where it does."""
    rows = promotion["rows"]
    others = [name for name in rows if name != "hand-set"]
    if not others:
        return (f"No search found a configuration other than the hand-set start, so the tuned model is "
                f"the hand-set one (test MSE {sig(cv['hand_set_test_mse'])}).")
    if cv["chosen"] != "hand-set":
        return (f"At the final budget the configuration found by {cv['chosen_from']} has the lowest "
                f"validation MSE ({sig(rows[cv['chosen']]['val_mse'])} against {sig(cv['hand_set_val_mse'])} for "
                f"the hand-set configuration) and becomes the tuned model.")
    start = rows["hand-set"]["search_value"]
    found_by = lambda name: f"the one found by {rows[name]['search']}" if rows[name].get("search") else name  # noqa: E731
    better = [found_by(name) for name in others if start is not None and rows[name]["search_value"] < start]
    if start is None:
        why = "(the hand-set start has no score in the search to compare with)"
    elif better:
        why = (f"although {join(better)} scored better than it in the search: that advantage did not carry "
               f"over to the final budget on the whole training split")
    else:
        why = ("and none of them had scored better than the hand-set start in the search either: they are "
               "only the best of the other configurations tried")
    beaten = join([f"{found_by(name)} ({sig(rows[name]['val_mse'])})" for name in others])
    return (f"At the final budget no configuration found by the searches beats the hand-set one on the validation split "
            f"({sig(rows['hand-set']['val_mse'])} against {beaten}), {why}; the tuned model is the hand-set one "
            f"(test MSE {sig(cv['hand_set_test_mse'])}).")


def on_test_sentence(cv: dict) -> str:
    """The search's best configuration's test MSE against the hand-set one's (empty when nothing was
    compared)."""
    if not cv.get("compared"):
        return ""
    change = as_shown(cv["tuned_test_mse"]) / as_shown(cv["hand_set_test_mse"]) - 1  # as the values shown give it
    side = verdict(change, None)
    said = ("the same test MSE as" if side == 0 else
            f"a test MSE {sig(100 * abs(change), 2)}% {'lower' if side < 0 else 'higher'} than")
    return (f"Trained on the whole training split, the tuned configuration has {said} the hand-set one "
            f"({sig(cv['tuned_test_mse'])} against {sig(cv['hand_set_test_mse'])}).")


def final_finding(cv: dict, promotion: dict) -> str:
    """Stage 2 and the comparison at the final budget: `promotion_sentence`, and `search_cv_finding` (with the
    test MSE) where the search found any other configuration."""
    if not cv.get("compared"):
        return promotion_sentence(cv, promotion)
    return " ".join(filter(None, [promotion_sentence(cv, promotion), capital(search_cv_finding(cv))]))
