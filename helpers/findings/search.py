"""Sentences of section 2 (the hyperparameter search), each built from its sections of `metrics.json`:
stage 1 (`search`), stage 2 (`search_promotion`) and the cross-validated comparison at the final budget
(`search_cv`). Each returns plain prose; the notebook adds its "Measured:" label."""
from __future__ import annotations

from .words import capital, join, plural, plus_minus, sig, verdict

KINDS = ("tpe", "random", "grid")  # the order in which the searches are named


def _kinds(search: dict) -> list[dict]:
    """The rows of the searches `search` holds, in the order of `KINDS`."""
    return [search[kind] for kind in KINDS if kind in search]


def _best(row: dict) -> str:
    """One search's best validation MSE: the median over its sampler seeds with the range, or its one run."""
    if len(row["best"]) == 1:
        return f"{row['search']} {sig(row['median_best'])}, one run"
    return (f"{row['search']} median over {len(row['best'])} sampler seeds {sig(row['median_best'])}, "
            f"range {sig(row['min_best'])} to {sig(row['max_best'])}")


def search_spread_finding(search: dict) -> str:
    """Each search's best validation MSE over its sampler seeds (median and range) against the hand-set
    start."""
    start = ("did not complete in any study" if search["start_value"] is None else
             f"scores {sig(search['start_value'])}")
    return (f"With {search['trials']} trials of at most {plural(search['trial_epochs'], 'epoch')} on "
            f"{search['images']:,} images per study, the best validation MSE found was: "
            f"{join([_best(row) for row in _kinds(search)])}; the hand-set start {start}.")


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


def search_verdict(cv: dict) -> int:
    """`words.verdict` on the tuned minus the hand-set cross-validated MSE of `search_cv`, against the larger
    fold spread: -1 the tuned one is lower beyond it, 0 a tie, 1 the hand-set one is lower beyond it."""
    return verdict(cv["tuned_mean"] - cv["hand_set_mean"], max(cv["tuned_std"], cv["hand_set_std"]))


def search_finding(cv: dict) -> str:
    """Whether the tuned configuration of `search_cv` beats the hand-set one by more than the fold spread
    (the larger of their standard deviations), by `words.verdict`, in percent of the hand-set mean."""
    if cv.get("tuned_is_hand_set"):
        return ("No configuration the searches found beat the hand-set one at the final budget, so the tuned "
                "configuration is the hand-set one and the later sections build on it.")
    base, difference = cv["hand_set_mean"], cv["tuned_mean"] - cv["hand_set_mean"]
    spread = max(cv["tuned_std"], cv["hand_set_std"])
    side = search_verdict(cv)
    change, folds = sig(100 * abs(difference) / base, 2), sig(100 * spread / base, 2)
    paired = (f" (lower in {cv['folds_tuned_lower']} of {cv['folds']} folds)" if "folds_tuned_lower" in cv
              else "")
    head = (f"The tuned configuration's cross-validated MSE is {change}% "
            f"{'lower' if difference < 0 else 'higher'}{paired}")
    if side == 0:
        return (f"{head}, within the fold spread of {folds}%: the search does not improve on the hand-set "
                f"configuration by more than the folds vary.")
    if side < 0:
        return (f"{head}, more than the fold spread of {folds}%: the search improves on the hand-set "
                f"configuration by more than the folds vary.")
    return (f"{head}, more than the fold spread of {folds}%: at the final budget it is worse than the "
            f"hand-set one.")


def search_cv_finding(cv: dict) -> str:
    """The cross-validated comparison of `search_cv` with `search_finding`'s verdict on it; when the
    search kept the hand-set configuration, its own cross-validated score instead of a comparison with
    itself."""
    hand = plus_minus(cv["hand_set_mean"], cv["hand_set_std"])
    folds = f"{cv['folds']}-fold " if "folds" in cv else ""
    if cv.get("tuned_is_hand_set"):
        return (f"No study found a configuration better than the hand-set start, so it is kept; its {folds}"
                f"cross-validated MSE is {hand}.")
    return (f"In {folds}cross-validation at the final budget the chosen configuration "
            f"({cv.get('chosen', 'tuned')}) scores {plus_minus(cv['tuned_mean'], cv['tuned_std'])} against "
            f"{hand} for the hand-set one. " + search_finding(cv))


def promotion_sentence(cv: dict, promotion: dict) -> str:
    """Stage 2 (`search_promotion`): which configuration wins on validation at the final budget, and why
    the hand-set one stays where it does."""
    rows = promotion["rows"]
    others = [name for name in rows if name != "hand-set"]
    if not others:
        return (f"No search found a configuration other than the hand-set start, so the tuned model is "
                f"section 1's (test MSE {sig(cv['hand_set_test_mse'])}).")
    if cv["chosen"] != "hand-set":
        return (f"At the final budget {cv['chosen']} (found by {cv['chosen_from']}) has the lowest "
                f"validation MSE ({sig(cv['tuned_val_mse'])} against {sig(cv['hand_set_val_mse'])} for the "
                f"hand-set configuration) and becomes the tuned model.")
    start = rows["hand-set"]["search_value"]
    better = [name for name in others if start is not None and rows[name]["search_value"] < start]
    if start is None:
        why = "(the hand-set start has no score in the search to compare with)"
    elif better:
        why = (f"although {join(better)} scored better than it in the search: that advantage did not carry "
               f"over to the final budget on the whole training split")
    else:
        why = ("and no finalist had scored better than the hand-set start in the search either: the "
               "finalists are only the best of the other configurations tried")
    beaten = join([f"{name} ({sig(rows[name]['val_mse'])})" for name in others])
    return (f"At the final budget no finalist beats the hand-set configuration on the validation split "
            f"({sig(rows['hand-set']['val_mse'])} against {beaten}), {why}; the tuned model is section 1's "
            f"(test MSE {sig(cv['hand_set_test_mse'])}).")


def on_test_sentence(cv: dict) -> str:
    """The tuned configuration's test MSE against the hand-set one's (empty when they are the same
    model)."""
    if cv["chosen"] == "hand-set":
        return ""
    change = cv["tuned_test_mse"] / cv["hand_set_test_mse"] - 1
    relation = {-1: "lower", 0: "the same", 1: "higher"}[verdict(change, None)]
    size = "" if relation == "the same" else f"{sig(100 * abs(change), 2)}% "
    return (f"On the test set its MSE is {size}{relation} ({sig(cv['tuned_test_mse'])} against "
            f"{sig(cv['hand_set_test_mse'])}).")


def final_finding(cv: dict, promotion: dict) -> str:
    """Stage 2 and the comparison at the final budget: `promotion_sentence`, `search_cv_finding` where
    the search found any other configuration, and the test MSE."""
    if not [name for name in promotion["rows"] if name != "hand-set"]:
        return promotion_sentence(cv, promotion)
    return " ".join(filter(None, [promotion_sentence(cv, promotion), capital(search_cv_finding(cv)),
                                  on_test_sentence(cv)]))
