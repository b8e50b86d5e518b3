"""Sentences about the study's representations: SimCLR against the other encoders (section 6) and every
representation side by side (section 7), built from `metrics.json` (`latent.structure`, `few_labels`,
`simclr`, `finetune`, `representations`). Each returns plain prose for the notebook and the report alike."""
from __future__ import annotations

from typing import Sequence

from ..results import is_control
from .words import (TIE_ACCURACY, interval_call, join, percent, plural, plus_minus, points, points_between,
                    relation, shown_difference, signed, verdict, wider)

REPRESENTATION_WORDS = {  # the representations learned without labels, in words
    "raw": "raw pixels", "pca": "PCA", "ae": "the autoencoder's code", "vae": "the VAE's mean code",
    "ae_features": "the autoencoder's feature map", "vae_features": "the VAE's feature map",
    "simclr": "SimCLR's feature map", "simclr_code": "SimCLR's code",
    "ae_random": "the random encoder's code", "ae_features_random": "the random encoder's feature map"}
READ_OUTS = (("knn_accuracy", "k-NN"), ("linear_probe_accuracy", "a linear probe"),
             ("few_n100", "an SVM from 100 labels"), ("few_n1000", "an SVM from 1,000 labels"))
UNCONDITIONAL = "unconditional"  # the `generators.best` group of the generators that used no labels


def _name(key: str, row: dict | None = None) -> str:
    """A representation in words: `REPRESENTATION_WORDS`, else its row's label or name."""
    row = row or {}
    return REPRESENTATION_WORDS.get(key) or row.get("label") or row.get("name", key)


def _against(value: float, reference: float) -> str:
    """'2.6 points above', 'level with' or '1.1 points below' (closer than `TIE_ACCURACY` is level)."""
    return relation(value - reference, verdict(value - reference, TIE_ACCURACY))


def _unsupervised(reps: dict[str, dict], key: str, raw: str | None = None) -> dict[str, float]:
    """The measured `key` of every representation learned without labels (but `raw` and the random-encoder
    controls, which learned nothing)."""
    return {n: r[key] for n, r in reps.items()
            if n != raw and not r.get("supervised") and not r.get("control") and r.get(key) is not None}


CONTROL_WORDS = {"ae_random": "code", "ae_features_random": "last feature map"}  # where a control is read
STRUCTURE_READS = (("knn_accuracy", "k-NN"), ("linear_probe_accuracy", "linear probe"))


def _gain(value: float, control: float, spread: float | None) -> str:
    """A trained value against its control's mean: the signed difference in points, or 'within the
    control's spread' where `verdict` calls it a tie."""
    return "within the control's spread" if verdict(value - control, spread) == 0 else points(value - control)


def over_random(rows: dict[str, dict], keys: Sequence[str] | None = None) -> str:
    """What training adds over the random-encoder control (the `latent.structure` entries by key): for each
    control (a row with `inits`), its k-NN and linear-probe accuracy (mean ± standard deviation over its
    initializations), and for each trained representation among `keys` (default: all) that names it as its
    `random_control`, the difference of its accuracy from the control's mean; one within the control's
    standard deviation is a tie (`verdict`). Empty where no measured representation has a control."""
    sentences = []
    for control, c in ((k, r) for k, r in rows.items() if is_control(r)):
        trained = [k for k, r in rows.items() if r.get("random_control") == control and (keys is None or k in keys)]
        if not trained:
            continue
        where = CONTROL_WORDS.get(control, c.get("name", control))
        reads = " and ".join(f"{plus_minus(c[m], c.get(f'{m}_std'), 100, '%')} by {words}"
                             for m, words in STRUCTURE_READS)
        gains = join([f"{_name(k, rows[k])} " + ", ".join(
            f"{percent(rows[k][m])} ({_gain(rows[k][m], c[m], c.get(f'{m}_std'))})"
            for m, _ in STRUCTURE_READS) for k in trained])
        sentences.append(f"The same encoder with random weights ({c['inits']} initializations, batch norms set "
                         f"to the training images' statistics) reaches {reads} at its {where}; against it, "
                         f"k-NN and linear probe read {gains}.")
    return " ".join(sentences)


def few_over_random(few: dict, *, method: str = "svm") -> str:
    """What training adds over the random-encoder control in the few-label table (the `few_labels` entries by
    key; a control has `inits`, a trained entry names its `random_control`): at the fewest and the most labels,
    each trained representation's mean accuracy against its control's, pooled over initializations and draws.
    A difference within the larger standard deviation of the two is a tie (`verdict`)."""
    entries = {k: e for k, e in few.items() if isinstance(e, dict) and method in e}
    pairs = [(k, e["random_control"]) for k, e in entries.items() if e.get("random_control") in entries]
    if not pairs:
        return ""
    counts = sorted(int(n[1:]) for n in entries[pairs[0][1]][method])
    parts = []
    for n in dict.fromkeys((counts[0], counts[-1])):
        said = []
        for key, control in pairs:
            a, b = entries[key][method].get(f"n{n}"), entries[control][method].get(f"n{n}")
            if a is None or b is None:
                continue
            call = verdict(a["mean"] - b["mean"], wider(a.get("std"), b.get("std")))
            said.append(f"{_name(key, entries[key])} {percent(a['mean'])} against "
                        f"{plus_minus(b['mean'], b.get('std'), 100, '%')} "
                        f"({'within the spread' if call == 0 else points(a['mean'] - b['mean'])})")
        if said:
            parts.append(f"with {n:,} labels, {join(said)}")
    return ("Against the same encoder with random weights, read by the same SVM on the same draws: "
            + "; ".join(parts) + ".") if parts else ""


def representations(reps: dict[str, dict], raw: str = "raw") -> str:
    """Which representation learned without labels is best for each read-out (the `representations` rows),
    with its gain over raw pixels and any runner-up within `TIE_ACCURACY` of it, and how far the
    supervised features lead."""
    found = []
    for key, words in READ_OUTS:
        candidates = _unsupervised(reps, key, raw)
        if not candidates or reps[raw].get(key) is None:
            continue  # e.g. a profile without that label count
        order = sorted(candidates, key=lambda n: (-candidates[n], n))  # equal values: by key, in any order
        best = order[0]
        spreads = (reps[best].get(f"{key}_std"), reps[raw].get(f"{key}_std"))  # over label draws, where drawn
        numbers = (f"{percent(candidates[best])}, {points_between(candidates[best], reps[raw][key], *spreads)} "
                   f"over raw pixels")
        level = [n for n in order[1:] if verdict(candidates[best] - candidates[n], TIE_ACCURACY) == 0]
        if level:
            numbers += ", level with " + join([f"{_name(n, reps[n])} ({percent(candidates[n])})"
                                               for n in level])
        found.append((best, words, numbers, bool(level)))
    if not found:
        return ""
    opening = "Among the representations learned without labels,"
    if len({best for best, *_ in found}) == 1:
        lead = "leads or is level on" if any(tied for *_, tied in found) else "is the best for"
        text = (f"{opening} {_name(found[0][0], reps[found[0][0]])} {lead} every accuracy read-out: "
                + "; ".join(f"{words} {numbers}" for _, words, numbers, _ in found) + ".")
    else:
        text = (f"{opening} the best for "
                + "; for ".join(f"{words} is {_name(best, reps[best])} ({numbers})"
                                for best, words, numbers, _ in found) + ".")
    supervised = [r["linear_probe_accuracy"] for r in reps.values()
                  if r.get("supervised") and r.get("linear_probe_accuracy") is not None]
    unsupervised = _unsupervised(reps, "linear_probe_accuracy")
    if supervised and unsupervised:
        best = max(unsupervised.values())
        text += (f" The classifier's features, trained with every label, are {_against(supervised[0], best)} "
                 f"the best of them in the linear probe"
                 + (", which is what the labels add." if verdict(supervised[0] - best, TIE_ACCURACY) > 0 else "."))
    return text


def architecture_share(reps: dict[str, dict], raw: str = "raw") -> str:
    """The harder control: for each random-encoder control read at a feature map (a control whose trained
    representations are feature maps), its k-NN and linear-probe accuracy against raw pixels', and the range of
    what the trained feature maps add over it; for each map, where the control gains more over raw pixels than
    training adds over the control (on average over both read-outs), most of what that map offers is the
    architecture's. A leading space, or empty where no feature-map control was measured."""
    said = []
    for control, c in ((k, r) for k, r in reps.items() if is_control(r) and "features" in k):
        maps = [k for k, r in reps.items() if r.get("random_control") == control]
        reads = [m for m, _ in STRUCTURE_READS if c.get(m) is not None and reps.get(raw, {}).get(m) is not None]
        if not maps or not reads:
            continue
        # differences in points, with their decimals, as the printed values give them (`words.shown_difference`)
        apart = lambda a, b, m: shown_difference(a, b, c.get(f"{m}_std"))  # noqa: E731
        by_map = {k: [apart(reps[k][m], c[m], m) for m in reads if reps[k].get(m) is not None] for k in maps}
        added = [d for k in maps for d in by_map[k]]
        over_raw = [apart(c[m], reps[raw][m], m) for m in reads]
        mean = lambda pairs: sum(d for d, _ in pairs) / len(pairs)  # noqa: E731
        text = (f" The random encoder's feature map is the harder control: with no training it reaches "
                + " and ".join(f"{plus_minus(c[m], c.get(f'{m}_std'), 100, '%')} by {words}"
                               for m, words in STRUCTURE_READS if m in reads)
                + f" ({join([signed(d, p) for d, p in over_raw])} points over raw pixels), and the trained "
                f"feature maps add {signed(*min(added))} to {signed(*max(added))} points over it")
        mostly = [k for k in maps if by_map[k] and mean(over_raw) > mean(by_map[k])]
        trained = [k for k in maps if k not in mostly]
        if mostly and not trained:
            text += (", so most of what these maps offer a k-NN or a linear probe comes from the convolutional "
                     "architecture, not from what training taught it")
        elif mostly:
            text += (f": in {join([_name(k, reps[k]) for k in mostly])} most of what a k-NN or a linear probe "
                     f"reads comes from the convolutional architecture, while training adds more than the "
                     f"architecture to {join([_name(k, reps[k]) for k in trained])}")
        else:
            text += ", so training adds more to every one of these maps than the architecture alone gives"
        said.append(text + ".")
    return "".join(said)


def answers(metrics: dict, reached: Sequence[tuple[int, float, float]] = ()) -> str:
    """The study's answers in one sentence, each part where the run measured it: what the search bought the
    autoencoder in the paired cross-validation (`search_cv`: its interval over folds calls it), what pretraining
    Homework 1's network as an autoencoder changed over seeds (`finetune_seeds`, its paired difference with its
    95% interval), and `reached`: per aimed label count (labels, our aim, the best accuracy of all methods)."""
    parts = []
    cv = metrics.get("search_cv", {})
    difference = cv.get("difference") if cv.get("compared") else None
    side = interval_call(difference) if difference else None
    if side is not None:
        change = percent(abs(difference["mean"]) / cv["hand_set_mean"], 0)
        folds = f"lower in {cv['folds_tuned_lower']} of {cv['folds']} folds"
        parts.append({-1: f"the search lowered the autoencoder's cross-validated error by {change} ({folds})",
                      0: "the search's configuration and the hand-set one are level in cross-validation",
                      1: f"the search's configuration raised the cross-validated error by {change}"}[side])
    diff = metrics.get("finetune_seeds", {}).get("differences", {}).get("pretrained", {}).get("test_accuracy")
    if diff and diff.get("low") is not None:
        spread = (f"{plural(diff['n'], 'seed')}, 95% interval {signed(100 * diff['low'])} to "
                  f"{signed(100 * diff['high'])}")
        beyond = "within" if interval_call(diff) == 0 else "beyond"
        parts.append(f"pretraining Homework 1's network as an autoencoder changed its test accuracy by "
                     f"{points(diff['mean'])} ({spread}), {beyond} what the seeds vary")
    if reached:
        parts.append("the best accuracy from few labels is " + join(
            [f"{percent(best)} with {n:,} labels (our aim {percent(aim, 0)})" for n, aim, best in reached]))
    return f"In short, {'; '.join(parts)}." if parts else ""


def discussion(metrics: dict) -> str:
    """The study's answer in two sentences, each chosen by the measured values: the autoencoder's code
    against raw pixels (k-NN and 100 labels; within `TIE_ACCURACY` is level), and which representation
    learned without labels a linear probe reads best and which generator that used no labels has the
    highest density and coverage, with the generators level with it within the spread over draws
    (`generators.level_with_best`)."""
    reps = metrics["representations"]
    raw, code = reps["raw"], reps["ae"]
    calls = {words: verdict(code[key] - raw[key], TIE_ACCURACY)
             for key, words in (("knn_accuracy", "for nearest neighbours"), ("few_n100", "with 100 labels"))
             if code.get(key) is not None and raw.get(key) is not None}
    by_call = {call: [words for words, c in calls.items() if c == call] for call in (1, 0, -1)}
    text = "Reconstruction alone makes the autoencoder's code "
    if by_call[1]:
        both = "both " if len(by_call[1]) > 1 else ""
        text += f"a better space than raw pixels {both}{' and '.join(by_call[1])}"
        rest = ([f"level with them {' and '.join(by_call[0])}"] if by_call[0] else []) + (
            [f"worse {' and '.join(by_call[-1])}"] if by_call[-1] else [])
        text += " but " + " and ".join(rest) if rest else ""
    elif by_call[0] and not by_call[-1]:
        text += f"a space level with raw pixels {' and '.join(by_call[0])}"
    else:
        text += "no better a space than raw pixels, neither for nearest neighbours nor with 100 labels"
    def pct(row: dict, key: str) -> str:  # with its spread over label draws or initializations where measured
        spread = row.get(f"{key}_std")
        return percent(row.get(key)) if spread is None or row.get(key) is None else plus_minus(row[key], spread, 100, "%")

    text += (f" (k-NN {pct(code, 'knn_accuracy')} against {pct(raw, 'knn_accuracy')}; "
             f"100 labels {pct(code, 'few_n100')} against {pct(raw, 'few_n100')}).")
    control = reps.get(code.get("random_control") or "")
    if control:
        said = []
        for column, words in (("knn_accuracy", "by k-NN"), ("few_n100", "with 100 labels")):
            if code.get(column) is None or control.get(column) is None:
                continue
            difference = code[column] - control[column]
            # the larger of the two spreads, as `few_over_random` calls the same comparison
            spread = wider(control.get(f"{column}_std"), code.get(f"{column}_std"))
            shown, places = shown_difference(code[column], control[column], spread)  # as the values print
            said.append(f"{relation(shown / 100, verdict(difference, spread), places=places)} it {words} "
                        f"({pct(code, column)} against {pct(control, column)})")
        if said:
            text += (f" The same encoder with random weights ({control['inits']} initializations) is the "
                     f"control for what training adds: the trained code is {join(said)}.")
    text += architecture_share(reps)
    candidates = _unsupervised(reps, "linear_probe_accuracy")
    best = max(candidates, key=candidates.get)
    text += (f" Of the representations learned without labels, {_name(best, reps[best])} is read best by a "
             f"linear probe")
    generators = metrics.get("generators", {})
    chosen = generators.get("best", {}).get(UNCONDITIONAL, {})
    level = generators.get("level_with_best", {}).get(UNCONDITIONAL, {})
    ranked = [by for by in ("density", "coverage") if by in chosen]  # those that passed section 7's check

    def leader(by: str) -> str:  # 'mix' or 'mix, level with gan,' (within the spread over draws)
        return chosen[by] + (f", level with {join(level[by])}," if level.get(by) else "")

    if not ranked:
        return text + "."
    if len(ranked) == 1:
        return text + (f", and of the generators that used no labels, {leader(ranked[0])} has the highest "
                       f"{ranked[0]}.")
    if chosen["density"] == chosen["coverage"] and not (level.get("density") or level.get("coverage")):
        return text + (f", and of the generators that used no labels, {chosen['density']} has both the "
                       f"highest density and the highest coverage.")
    return text + (f"; of the generators that used no labels, {leader('density')} has the highest density "
                   f"and {leader('coverage')} the highest coverage.")


def simclr(metrics: dict, *, raw: str = "raw",
           rivals: tuple[str, ...] = ("ae_features", "vae_features")) -> str:
    """SimCLR against raw pixels and the other encoders read at the same layer (`rivals`), from
    `latent.structure` (keys `simclr`, `simclr_code`, ...), `few_labels` (the RBF SVM at the fewest and
    most labels) and the fine-tuned encoders (`simclr.finetuned`, and section 3's kept variant and
    Homework 1's network in `finetune`). Accuracies closer than `TIE_ACCURACY` are level."""
    rows = metrics["latent"]["structure"]
    s, r = rows["simclr"], rows[raw]
    names = [n for n in ("simclr", *rivals, raw) if n in rows]
    listed = lambda key: join([f"{_name(n, rows[n])} {percent(rows[n][key])}" for n in names])  # noqa: E731
    text = (f"Read at the encoder's last feature map, SimCLR's representation scores "
            f"{percent(s['knn_accuracy'])} by k-NN and {percent(s['linear_probe_accuracy'])} by a linear "
            f"probe, {_against(s['knn_accuracy'], r['knn_accuracy'])} and "
            f"{_against(s['linear_probe_accuracy'], r['linear_probe_accuracy'])} raw pixels (linear probe: "
            f"{listed('linear_probe_accuracy')}; k-NN: {listed('knn_accuracy')}).")
    if "simclr_code" in rows:
        c = rows["simclr_code"]
        code = f"its {c['dims']}-number code" if "dims" in c else "its code"
        text += (f" Read after the linear layer ({code}) it scores {percent(c['knn_accuracy'])} and "
                 f"{percent(c['linear_probe_accuracy'])}.")
    few = {n: e["svm"] for n, e in metrics.get("few_labels", {}).items()
           if isinstance(e, dict) and "svm" in e and n in names}
    if "simclr" in few:
        counts = sorted(int(k[1:]) for k in few["simclr"])
        for n in (counts[0], counts[-1]):
            mean = lambda k: few[k].get(f"n{n}", {}).get("mean", -1.0)  # noqa: E731
            best = max(few, key=mean)
            simclr_too = f"; SimCLR {percent(mean('simclr'))}" if best != "simclr" else ""
            text += (f" With {n:,} labels the best of these is {_name(best, rows[best])} "
                     f"({percent(mean(best))}{simclr_too}).")
    control = over_random(rows, keys=("simclr", "simclr_code", *rivals))
    if control:
        text += f" {control}"
    tuned = _fine_tuned(metrics)
    if tuned:
        text += " Fine-tuned with Homework 1's recipe: " + join([f"{n} {percent(a)}" for n, a in tuned]) + "."
    seeds = metrics.get("simclr", {}).get("finetuned_seeds")
    if seeds and seeds.get("seeds", 0) > 1:
        accuracy = seeds["stats"]["test_accuracy"]
        text += (f" Over {seeds['seeds']} seeds of {seeds['epochs']} epochs SimCLR's fine-tuned encoder scores "
                 f"{plus_minus(accuracy['mean'], accuracy['std'], 100, '%')}")
        said = []
        encoder = metrics.get("finetune_seeds", {}).get("differences", {}).get("encoder", {}).get("name")
        for role, words in (("scratch", "Homework 1's network from scratch"),
                            ("encoder", "the autoencoder's encoder" + (f" ({encoder})" if encoder else ""))):
            d = seeds.get("against", {}).get(role)
            if d and d.get("low") is not None:
                call = interval_call(d)
                said.append(f"{points(d['mean'])} against {words} (95% interval {points(d['low'])} to "
                            f"{points(d['high'])}: {'a tie' if call == 0 else 'ahead' if call > 0 else 'behind'})")
        text += (", " + join(said) + ", paired by seed." if said else ".")
    return text


def _fine_tuned(metrics: dict) -> list[tuple[str, float]]:
    """(name, test accuracy) of the fine-tuned SimCLR encoder, section 3's kept fine-tuning of the
    autoencoder's encoder (`finetune.finetune_kept`) and Homework 1's network from scratch, where the run
    has them."""
    finetune, found = metrics.get("finetune", {}), []
    rows = {r["name"]: r for r in finetune.values() if isinstance(r, dict) and "name" in r
            and "test_accuracy" in r}
    if "finetuned" in metrics.get("simclr", {}):
        found.append(("SimCLR's encoder", metrics["simclr"]["finetuned"]["test_accuracy"]))
    kept = finetune.get("finetune_kept")
    if kept in rows:
        found.append(("the autoencoder's encoder", rows[kept]["test_accuracy"]))
    if isinstance(finetune.get("hw1"), dict) and "test_accuracy" in finetune["hw1"]:
        found.append(("Homework 1's network from scratch", finetune["hw1"]["test_accuracy"]))
    return found
