"""Sentences about the study's representations: SimCLR against the other encoders (section 6) and every
representation side by side (section 7), built from `metrics.json` (`latent.structure`, `few_labels`,
`simclr`, `finetune`, `representations`). Each returns plain prose for the notebook and the report alike."""
from __future__ import annotations

from .words import TIE_ACCURACY, join, percent, points, verdict

REPRESENTATION_WORDS = {  # the representations learned without labels, in words
    "raw": "raw pixels", "pca": "PCA", "ae": "the autoencoder's code", "vae": "the VAE's mean code",
    "ae_features": "the autoencoder's feature map", "vae_features": "the VAE's feature map",
    "simclr": "SimCLR's feature map", "simclr_code": "SimCLR's code"}
READ_OUTS = (("knn_accuracy", "k-NN"), ("linear_probe_accuracy", "a linear probe"),
             ("few_n100", "an SVM from 100 labels"), ("few_n1000", "an SVM from 1,000 labels"))
RELATION = {1: "above", 0: "level with", -1: "below"}
UNCONDITIONAL = "unconditional"  # the `generators.best` group of the generators that used no labels


def _name(key: str, row: dict | None = None) -> str:
    """A representation in words: `REPRESENTATION_WORDS`, else its row's label or name."""
    row = row or {}
    return REPRESENTATION_WORDS.get(key) or row.get("label") or row.get("name", key)


def _against(value: float, reference: float) -> str:
    """'2.6 points above', 'level with' or '1.1 points below' (closer than `TIE_ACCURACY` is level)."""
    call = verdict(value - reference, TIE_ACCURACY)
    return RELATION[0] if call == 0 else f"{abs(100 * (value - reference)):.1f} points {RELATION[call]}"


def _unsupervised(reps: dict[str, dict], key: str, raw: str | None = None) -> dict[str, float]:
    """The measured `key` of every representation learned without labels (but `raw`)."""
    return {n: r[key] for n, r in reps.items()
            if n != raw and not r.get("supervised") and r.get(key) is not None}


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
        numbers = f"{percent(candidates[best])}, {points(candidates[best] - reps[raw][key])} over raw pixels"
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
        text = (f"{opening} {_name(found[0][0], reps[found[0][0]])} {lead} every read-out: "
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
                 + (": what labels add." if verdict(supervised[0] - best, TIE_ACCURACY) > 0 else "."))
    return text


def discussion(metrics: dict) -> str:
    """The study's answer in two sentences, each chosen by the measured values: the autoencoder's code
    against raw pixels (k-NN and 100 labels; within `TIE_ACCURACY` is level), and which representation
    learned without labels a linear probe reads best and which generator that used no labels has the
    highest density and coverage."""
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
    text += (f" (k-NN {percent(code.get('knn_accuracy'))} against {percent(raw.get('knn_accuracy'))}; "
             f"100 labels {percent(code.get('few_n100'))} against {percent(raw.get('few_n100'))}).")
    candidates = _unsupervised(reps, "linear_probe_accuracy")
    best = max(candidates, key=candidates.get)
    text += (f" Of the representations learned without labels, {_name(best, reps[best])} is read best by a "
             f"linear probe")
    chosen = metrics.get("generators", {}).get("best", {}).get(UNCONDITIONAL, {})
    ranked = [by for by in ("density", "coverage") if by in chosen]  # those that passed section 7's check
    if not ranked:
        return text + "."
    if len(ranked) == 1:
        return text + (f", and of the generators that used no labels, {chosen[ranked[0]]} has the highest "
                       f"{ranked[0]}.")
    if chosen["density"] == chosen["coverage"]:
        return text + (f", and of the generators that used no labels, {chosen['density']} has both the "
                       f"highest density and the highest coverage.")
    return text + (f"; of the generators that used no labels, {chosen['density']} has the highest density "
                   f"and {chosen['coverage']} the highest coverage.")


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
    tuned = _fine_tuned(metrics)
    if tuned:
        text += " Fine-tuned with Homework 1's recipe: " + join([f"{n} {percent(a)}" for n, a in tuned]) + "."
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
