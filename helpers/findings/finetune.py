"""Sentences of section 3 (fine-tuning), each built from its sections of `metrics.json`: the search that
tunes the fine-tuning (`clf_search`, run in section 2), Homework 1's network under its own recipe
(`finetune_hw1`), section 1's encoder as a classifier (`finetune`, `finetune_cv`), the comparison over
seeds (`finetune_seeds`) and the label sweep (`finetune_labels`).
Single runs closer than `TIE_ACCURACY` are level; spreads over seeds, folds or draws are judged by
`words.verdict`. Each returns plain prose; the notebook adds its "Measured:" label."""
from __future__ import annotations

from ..published import HW1_TEST_ACCURACY
from .words import (TIE_ACCURACY, capital, interval_call, join, legend, percent, plural, plus_minus, points,
                    relation, shown_difference, sig, signed, strategy, verdict)

STRATEGY_WORDS = {  # a strategy's short name in words
    "fine-tuned (encoder lr x0.1)": "fine-tuned encoder (its learning rate a tenth of the head's)",
    "fine-tuned (one lr)": "fine-tuned encoder (one learning rate)",
    "fine-tuned (tuned)": "fine-tuned encoder (learning rates, weight decay and label smoothing tuned by the "
                          "fine-tuning search)"}


def _against(difference: float, spread: float | None, other: str) -> str:
    """'level with <other>' or '<n> points above/below <other>', by `words.verdict` on `spread`."""
    return f"{relation(difference, verdict(difference, spread))} {other}"


def _reached(row: dict) -> str:
    """'epoch 3 (41.0 s)' for a run that reached 90% validation accuracy; 'never' otherwise."""
    if row["epochs_to_90"] is None:
        return "never"
    return f"epoch {row['epochs_to_90']} ({sig(row['seconds_to_90'])} s)"


def _speed(row: dict, who: str, pretraining: str) -> str:
    """When `row` first reached 90% validation accuracy, with the seconds of `pretraining` added where it
    had any."""
    if row.get("epochs_to_90") is None:
        return f"{who} does not reach 90% validation accuracy within {plural(row['epochs'], 'epoch')}"
    whole = f", {sig(row['whole_seconds_to_90'])} s with {pretraining}" if row.get("pretrain_seconds") else ""
    return f"{who} reaches 90% at epoch {row['epochs_to_90']} ({sig(row['seconds_to_90'])} s{whole})"


def speed_verdict(pretrained: dict, scratch: dict, name: str = "pretrained network") -> str:
    """What the two runs' times to 90% validation accuracy mean (the rows `_speed` describes; one run each, so
    a difference in epochs is no ranking, but seconds are compared as measured): whether pretraining buys the
    `name`d run a faster start, and whether it still does with its own seconds counted. Empty where neither
    reached 90%."""
    mine, theirs = pretrained.get("seconds_to_90"), scratch.get("seconds_to_90")
    if mine is None and theirs is None:
        return ""
    if mine is None:
        return f" Pretraining does not speed learning here: the {name} never reaches 90%, the network from scratch does."
    if theirs is None:
        return (" Pretraining buys what training from scratch does not reach within its "
                f"{plural(scratch['epochs'], 'epoch')}.")
    if mine >= theirs:
        return (f" So with every label, the {name} learns no faster than the same network from scratch (one run "
                "each), even before its pretraining's seconds are counted.")
    whole = pretrained.get("whole_seconds_to_90") or mine
    return (f" Pretraining gives the {name} the faster start, " + (
        "and it stays faster with its own seconds counted." if whole < theirs else
        "but not once its own seconds are counted: as a way to reach 90% sooner, it does not pay here."))


# ----------------------------------------------------------------------------- Homework 1's network


def hw1_runs(metrics: dict) -> str:
    """Which run each of Homework 1's network's accuracies comes from: Homework 1's own recipe
    (`finetune_hw1.scratch`), the recipe section 3's strategies share over its seeds (`finetune_seeds`, its
    `scratch` entry) and that recipe's first seed, the strategies table's row (`finetune.hw1`), which also judges
    the generated images. Empty where a run lacks one of them."""
    own, seeds, row = (metrics.get("finetune_hw1", {}).get("scratch"), metrics.get("finetune_seeds", {}),
                       metrics.get("finetune", {}).get("hw1"))
    stats = seeds.get("stats", {}).get(seeds.get("baseline", ""), {})
    if not own or not row or "test_accuracy" not in stats:
        return ""
    acc = stats["test_accuracy"]
    return (f"Homework 1's network is trained under two recipes, so its accuracy appears as three numbers: "
            f"{percent(own['test_accuracy'])} under Homework 1's own recipe (at most "
            f"{plural(own['epochs'], 'epoch')}); {plus_minus(acc['mean'], acc.get('std'), 100, '%')} over "
            f"{plural(len(stats['seeds']), 'seed')} of the shorter recipe the fine-tuning strategies share "
            f"({plural(seeds['epochs'], 'epoch')}); and {percent(row['test_accuracy'])} for that recipe's first "
            f"seed, the run compared with the strategies and used to judge generated images.")


def hw1_finding(hw1: dict, seeds: dict | None = None) -> str:
    """Homework 1's network from scratch and pretrained (`finetune_hw1`): test accuracy against the
    reported one and against each other, the verdict over seeds where `seeds` (`finetune_seeds`) holds
    it, and learning speed."""
    scratch, tuned, reported = hw1["scratch"], hw1["finetuned"], hw1.get("reported_test")
    against_scratch = _against(tuned["test_accuracy"] - scratch["test_accuracy"], TIE_ACCURACY,
                               "the network from scratch")
    if reported is None:  # an image collection Homework 1 did not study
        against = ("; Homework 1 studied Fashion-MNIST only, so its report gives no figure to compare with here, "
                   "and the network trained here is its own baseline")
    else:
        against = (f", {_against(scratch['test_accuracy'] - reported, TIE_ACCURACY, f'the {percent(reported)}')} "
                   f"reported in Homework 1 after up to {HW1_TEST_ACCURACY.protocol['epochs']} epochs on an "
                   f"{HW1_TEST_ACCURACY.protocol['split']} split of the training images")
    text = (f"Trained from scratch under its own recipe for at most {plural(hw1['epochs'], 'epoch')}, "
            f"Homework 1's network reaches {percent(scratch['test_accuracy'])} test accuracy{against}. "
            f"Pretrained as an "
            f"autoencoder and fine-tuned with the same recipe, it reaches "
            f"{percent(tuned['test_accuracy'])}, {against_scratch} (one seed each).")
    diff = (seeds or {}).get("differences", {}).get("pretrained", {}).get("test_accuracy")
    side = None if diff is None else interval_call(diff)
    if side is not None:
        said = ("so these seeds cannot tell the two apart" if side == 0 else
                f"so over these seeds the {'pretrained' if side > 0 else 'scratch'} network is ahead by more "
                f"than their spread")
        text += (f" Over {diff['n']} seeds of {plural(seeds['epochs'], 'epoch')} the pretrained network's "
                 f"test accuracy differs from the scratch network's by {points(diff['mean'])} (95% interval "
                 f"{signed(100 * diff['low'])} to {signed(100 * diff['high'])}), {said}.")
    return (text + f" In learning speed, {_speed(scratch, 'from scratch it', 'its pretraining')}; "
                   f"{_speed(tuned, 'pretrained it', 'its pretraining')}.")


def hw1_details(hw1: dict, main_test_mse: float, main_code: int) -> str:
    """What pretraining and the frozen variant of `finetune_hw1` add: the pretraining's reconstruction
    error against the main autoencoder's (`main_test_mse` with a code of `main_code` numbers), and the
    frozen blocks' accuracy."""
    frozen = hw1["frozen"]
    return (f"As an autoencoder, the network rebuilds the test images from its 128 pooled numbers with an "
            f"MSE of {sig(hw1['pretraining']['test_mse'])} per pixel, against {sig(main_test_mse)} for the "
            f"main autoencoder's {main_code}-number code. With the pretrained blocks frozen, a linear layer "
            f"on those 128 numbers ({frozen['trainable_parameters']:,} trainable parameters) reaches "
            f"{percent(frozen['test_accuracy'])}: what reconstruction alone put into the features the "
            f"classifier reads.")


def pretraining_summary(pretraining: dict, main_test_mse: float) -> str:
    """One line on Homework 1's network trained as an autoencoder (`finetune_hw1` -> `pretraining`): its
    epochs, seconds and test MSE beside the kept autoencoder's `main_test_mse`."""
    return (f"pretraining: {plural(pretraining['epochs'], 'epoch')} in {sig(pretraining['seconds'])} s; test "
            f"MSE {sig(pretraining['test_mse'])} per pixel (main autoencoder: {sig(main_test_mse)})")


# ------------------------------------------------------------------------ section 1's encoder as a classifier


def strategy_rows(finetune: dict) -> dict[str, dict]:
    """The strategies' rows of `finetune`, by tag (every entry with a test accuracy)."""
    return {tag: row for tag, row in finetune.items() if isinstance(row, dict) and "test_accuracy" in row}


def _kept(finetune: dict) -> dict:
    """The fine-tuning variant `finetune` kept (chosen on validation)."""
    return next(row for row in strategy_rows(finetune).values() if row["name"] == finetune["finetune_kept"])


def encoder_finding(finetune: dict, cv: dict | None = None) -> str:
    """The kept autoencoder's encoder as a classifier: the kept fine-tuning variant of `finetune` against the same
    network from scratch, in test accuracy, in cross-validated accuracy where `cv` (`finetune_cv`) holds
    both, and in learning speed."""
    tuned, scratch = _kept(finetune), finetune["scratch"]
    against = _against(tuned["test_accuracy"] - scratch["test_accuracy"], TIE_ACCURACY,
                       "the same network from scratch")
    name = STRATEGY_WORDS.get(tuned["name"], tuned["name"])
    text = (f"On the autoencoder's own encoder ({scratch['total_parameters']:,} parameters with its head), "
            f"the {name} reaches {percent(tuned['test_accuracy'])} test accuracy, {against} "
            f"({percent(scratch['test_accuracy'])}, one run each)")
    if cv and "finetuned" in cv and "scratch" in cv:
        fine, base = cv["finetuned"], cv["scratch"]
        side = verdict(fine["mean"] - base["mean"], max(fine["std"], base["std"]))
        folds = f"{cv['folds']}-fold " if "folds" in cv else ""
        text += (f"; in {folds}cross-validation it scores {plus_minus(fine['mean'], fine['std'], 100, '%')} "
                 f"against {plus_minus(base['mean'], base['std'], 100, '%')}, "
                 + ("within the folds' spread" if side == 0 else
                    f"{'above' if side > 0 else 'below'} it by more than the folds' spread"))
    return (text + f". In learning speed, {_speed(tuned, 'fine-tuned it', 'the autoencoder training')}, and "
                   f"{_speed(scratch, 'from scratch it', 'no pretraining')}." + speed_verdict(tuned, scratch, strategy(tuned["name"]).removeprefix("the ")))


def strategies_sentence(finetune: dict) -> str:
    """The other strategies of `finetune`: Homework 1's network at this budget, the fine-tuning variants
    on validation, the best strategy on validation, and each one's first epoch at 90% validation
    accuracy."""
    rows = strategy_rows(finetune)
    hw1, fine = finetune["hw1"], _kept(finetune)
    others = [row for row in rows.values() if row["name"].startswith("fine-tuned") and row is not fine]
    best = max(rows.values(), key=lambda row: row["val_accuracy"])
    ratio = sig(fine["trainable_parameters"] / hw1["trainable_parameters"], 2)
    text = (f"At this budget Homework 1's network reaches {percent(hw1['test_accuracy'])} test accuracy "
            f"with {hw1['trainable_parameters']:,} parameters; the fine-tuned encoder trains "
            f"{fine['trainable_parameters']:,}, {ratio} times as many. ")
    higher = [row for row in others if row["val_accuracy"] > fine["val_accuracy"]]
    if others and not higher:
        text += (f"Of the fine-tuning variants, {fine['name']} validates best "
                 f"({percent(fine['val_accuracy'])} against "
                 f"{join([percent(row['val_accuracy']) for row in others])}). ")
    elif higher:  # kept by the fine-tuning search, not by this validation
        text += (f"Of the fine-tuning variants, {fine['name']} is the one the fine-tuning search "
                 f"chose, at {percent(fine['val_accuracy'])} validation accuracy here against "
                 + join([f"{row['name']} {percent(row['val_accuracy'])}" for row in higher]) + ". ")
    reached = join([f"{row['name']} {_reached(row)}" for row in rows.values()])
    return (text + f"Best on validation among these strategies: {best['name']}, "
                   f"{percent(best['test_accuracy'])} on test. First epoch at 90% validation accuracy: "
                   f"{reached}.")


def best_sentence(finetune: dict) -> str:
    """The classifier later sections use (`finetune` -> `best_name`): the best on validation of 3a's classifiers
    and 3b's compared ones (the fine-tuning variant the search kept, not the other variants), with its test
    accuracy."""
    return (f"Best on validation of 3a's classifiers and those 3b compares (of the fine-tuning variants, the one "
            f"the search kept): *{legend(finetune['best_name'])}*, {percent(finetune['best_test_accuracy'])} on "
            f"test (sections 4 and 7 use it).")


# ----------------------------------------------------------------------------- over seeds


def difference_sentence(name_a: str, name_b: str, diff: dict, what: str = "test accuracy") -> str:
    """A paired difference `a - b` over seeds (fractions, said in percentage points) and whether the seeds
    settle it (`words.verdict` against the half-width of its 95% interval)."""
    head = f"{capital(what)} of {name_a} minus that of {name_b}: {points(diff['mean'])}"
    side = interval_call(diff)
    if side is None:
        return f"{head} from a single seed, which gives no spread to judge it by."
    span = f"95% interval {signed(100 * diff['low'])} to {signed(100 * diff['high'])} over {diff['n']} seeds"
    if side == 0:
        return f"{head} ({span}), within the spread of the seeds."
    return f"{head} ({span}); {name_a if side > 0 else name_b} is ahead beyond the spread of the seeds."


def epochs_sentence(speed: dict) -> str:
    """A paired difference in epochs to 90% validation accuracy over seeds, judged like
    `difference_sentence`."""
    text = f"In epochs to 90% validation accuracy the difference is {signed(speed['mean'])}"
    side = interval_call(speed)
    if side is None:
        return text + "."
    if speed["same_every_seed"]:
        return text + ", the same in every seed (too few seeds to call that a spread)."
    return (text + f" (95% interval {signed(speed['low'])} to {signed(speed['high'])}), "
            + ("within the spread." if side == 0 else "beyond the spread."))


def seeds_finding(seeds: dict) -> str:
    """`finetune_seeds` in words: each strategy against the baseline, paired by seed, in test accuracy
    and (where every seed of both reached it) in epochs to 90% validation accuracy."""
    stats = seeds["stats"]
    baseline = stats[seeds["baseline"]]["name"]
    sentences = []
    for entry in seeds["differences"].values():
        sentence = difference_sentence(entry["name"], baseline, entry["test_accuracy"])
        if "epochs_to_90" in entry:
            sentence += " " + epochs_sentence(entry["epochs_to_90"])
        sentences.append(sentence)
    short = [row["name"] for row in stats.values() if row["reached_90"] < len(row["seeds"])]
    if short:
        sentences.append(f"{capital(join(short))} did not reach 90% validation accuracy in every seed within "
                         f"{plural(seeds['epochs'], 'epoch')}, so no paired difference in epochs to 90% is "
                         f"given for {'it' if len(short) == 1 else 'them'}.")
    return (f"Over {plural(seeds['seeds'], 'seed')} at {plural(seeds['epochs'], 'epoch')} (same split; per "
            f"seed the same batch order and augmentation for every strategy): " + " ".join(sentences))


# ----------------------------------------------------------------------------- the label sweep


def label_counts(labels: dict, role: str) -> dict[int, dict]:
    """The statistics of `role` in `finetune_labels` by label count (`nall`: `labels['all']`), fewest
    first."""
    by_n = {labels["all"] if key == "nall" else int(key[1:]): entry for key, entry in labels[role].items()}
    return dict(sorted(by_n.items()))


def label_finding(labels: dict, pretrained: str = "finetuned", scratch: str = "scratch",
                  name: str | None = None) -> str:
    """The label sweep of `finetune_labels`: where the `pretrained` strategy (called `name`) beats the
    same network from `scratch`, where it is level and where it falls behind, and its margin at each
    label count. A margin is level within the larger standard deviation over draws, or within
    `TIE_ACCURACY` for a single draw."""
    ours, theirs = label_counts(labels, pretrained), label_counts(labels, scratch)
    margin, side = {}, {}
    for n, entry in ours.items():
        margin[n] = entry["mean"] - theirs[n]["mean"]
        spread = max(entry["std"], theirs[n]["std"]) if len(entry["draws"]) > 1 else TIE_ACCURACY
        side[n] = verdict(margin[n], spread)
    ahead, level, behind = ([f"{n:,}" for n in ours if side[n] == s] for s in (1, 0, -1))
    who = f"Starting from the pretrained encoder, {strategy(name) if name else 'the fine-tuned network'}"
    if len(ahead) == len(ours):
        verdicts = f"{who} beats the same network from scratch at every label count"
    elif len(behind) == len(ours):
        verdicts = f"{who} falls behind the same network from scratch at every label count"
    elif len(level) == len(ours):
        verdicts = f"{who} is level with the same network from scratch at every label count"
    else:
        parts = ([f"beats the same network from scratch with {join(ahead)} labels"] if ahead else []) + (
            [f"is level with it with {join(level)}"] if level else []) + (
            [f"falls behind it with {join(behind)}"] if behind else [])
        verdicts = f"{who} {join(parts)}"
    shown = {n: shown_difference(ours[n]["mean"], theirs[n]["mean"], ours[n]["std"], theirs[n]["std"])
             for n in margin}  # as the label table's rounded values give it
    listed = join([f"{n:,} labels {signed(*shown[n])}" for n in margin])
    return (f"{verdicts} (a margin within the larger spread over draws, or within half a point for a single "
            f"draw, is level); its margin in test accuracy points, mean over draws: {listed}.")


# ----------------------------------------------------------------------------- tuning the fine-tuning

CLF_SETTING_WORDS = {"lr": "the head's learning rate", "encoder_lr_scale": "the encoder's learning rate as a "
                     "multiple of the head's", "weight_decay": "the weight decay",
                     "label_smoothing": "the label smoothing"}


def _settings(params: dict) -> str:
    """A point of the fine-tuning space in words: 'head learning rate 0.001, encoder's 0.1 times it, ...'."""
    smoothing = params["label_smoothing"]
    return (f"head learning rate {sig(params['lr'], 2)}, the encoder's {sig(params['encoder_lr_scale'], 2)} "
            f"times it, weight decay {sig(params['weight_decay'], 2)} and "
            + (f"label smoothing {smoothing:g}" if smoothing else "no label smoothing"))


def clf_space_phrase(search: dict) -> str:
    """The searched settings of `clf_search` with their ranges and choices."""
    ranges = [f"{CLF_SETTING_WORDS.get(name, name)} ({sig(low, 1)} to {sig(high, 1)})"
              for name, (low, high) in search["space"].items()]
    choices = [f"{CLF_SETTING_WORDS.get(name, name)} ({join([f'{c:g}' for c in values])})"
               for name, values in search["choices"].items()]
    return f"{join(ranges)}, each on a log scale, and {join(choices)}"


def clf_search_verdict(search: dict) -> int | None:
    """`words.verdict` on the paired difference tuned - default of `clf_search` against the half-width of its
    95% interval: 1 the tuned fine-tuning is ahead beyond it, 0 a tie, -1 the default is; None when the
    search kept the default (nothing to compare)."""
    diff = search["cv"]["difference"]
    return None if search["default_kept"] or diff is None else interval_call(diff)


def clf_search_finding(search: dict) -> str:
    """`clf_search` in words: the space, the trials, the winner's settings and validation accuracy against
    the default's, the cross-validated means with their spread, the paired difference with its interval and
    the verdict (`clf_search_verdict`), the target, and Optuna's parameter importances."""
    cv = search["cv"]
    default = (f"the default fine-tuning ({_settings(search['start_params'])}) "
               + ("did not complete" if search["default_value"] is None
                  else f"scored {percent(search['default_value'], 2)} validation accuracy"))
    text = (f"The fine-tuning search varied {clf_space_phrase(search)}, the rest as in Homework 1's recipe. "
            f"TPE with Hyperband pruning ran {plural(search['finished'], 'trial')} of at most "
            f"{plural(search['trial_epochs'], 'epoch')} on {search['trial_images']:,} images "
            f"({search['pruned']} pruned); {default}. ")
    default_cv = plus_minus(cv["default"]["mean"], cv["default"]["std"], 100, "%")
    folds = (f"{cv['folds']}-fold cross-validation on {cv['images']:,} images at "
             f"{plural(cv['epochs'], 'epoch')}")
    if search["default_kept"]:
        text += (f"No configuration beat the default on validation, so the default stays the fine-tuning the "
                 f"strategies use; its {folds} gives {default_cv}.")
    else:
        diff = cv["difference"]
        side = clf_search_verdict(search)
        text += (f"The best, trial {search['best_trial']}, uses {_settings(search['best_params'])} and "
                 f"scored {percent(search['best_value'], 2)}. In {folds} (the same folds for both) it scores "
                 f"{plus_minus(cv['tuned']['mean'], cv['tuned']['std'], 100, '%')} against the default's "
                 f"{default_cv}: a paired difference of {points(diff['mean'])} (95% interval "
                 f"{signed(100 * diff['low'])} to {signed(100 * diff['high'])}), higher in "
                 f"{cv['folds_tuned_higher']} of {cv['folds']} folds. ")
        aim = (f"the mean gain {'reaches' if cv['target_met'] else 'falls short of'} the aim of "
               f"{points(cv['target'])}")
        if side == 0:
            text += f"The interval holds 0, so the folds cannot tell the two apart; {aim}."
        else:
            text += (f"The {'tuned' if side > 0 else 'default'} fine-tuning is ahead beyond the folds' "
                     f"spread, and {aim}.")
    ranked = search.get("importances")
    if ranked:
        text += (" Optuna's parameter importances (fANOVA): "
                 + join([f"{CLF_SETTING_WORDS.get(n, n)} {sig(v, 2)}" for n, v in ranked.items()]) + ".")
    return text


def clf_search_brief(search: dict) -> str:
    """`clf_search` in two sentences for the report: the study's size and winner, and its paired
    cross-validated difference from the default fine-tuning with the verdict."""
    cv = search["cv"]
    head = (f"The fine-tuning study ran {plural(search['finished'], 'trial')} of at most "
            f"{plural(search['trial_epochs'], 'epoch')} on {search['trial_images']:,} images")
    if search["default_kept"]:
        return (f"{head}, and none beat the default fine-tuning on validation, so the strategies keep it "
                f"({cv['folds']}-fold accuracy {plus_minus(cv['default']['mean'], cv['default']['std'], 100, '%')}).")
    diff, side = cv["difference"], clf_search_verdict(search)
    outcome = ("the folds cannot tell the two apart" if side == 0 else
               f"the {'tuned' if side > 0 else 'default'} one is ahead beyond the folds' spread")
    return (f"{head}; its best ({_settings(search['best_params'])}) reaches "
            f"{plus_minus(cv['tuned']['mean'], cv['tuned']['std'], 100, '%')} in {cv['folds']}-fold "
            f"cross-validation against the default's {plus_minus(cv['default']['mean'], cv['default']['std'], 100, '%')}, "
            f"a paired difference of {points(diff['mean'])} (95% interval {signed(100 * diff['low'])} to "
            f"{signed(100 * diff['high'])} points): {outcome}.")
