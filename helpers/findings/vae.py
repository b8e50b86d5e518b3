"""Sentences of section 5 (the VAE), built from the `vae` and `few_labels` sections of `metrics.json`: the
two decoders, the test likelihood against published numbers, the β / warm-up variants and the few-label
comparison. Each returns plain prose; the notebook adds its "Measured:" label."""
from __future__ import annotations

from typing import Mapping

from ..results import is_control
from .words import TIE_ACCURACY, capital, join, percent, plural, plus_minus, sig, verdict

DECODER_WORDS = {"resize": "the decoder that upsamples and then convolves",
                 "transposed": "the decoder with transposed convolutions"}
METHOD_WORDS = {"svm": "RBF SVM", "logreg": "logistic regression"}
RELATION = {-1: "lower than", 0: "level with", 1: "higher than"}
NLL_RELATION = {-1: "below (better than)", 0: "level with", 1: "above (worse than)"}  # against a published NLL


def decoder_sentence(vae: dict) -> str:
    """The two decoders' validation and test negative ELBO and the one the VAE keeps, from the `vae`
    section (its `decoders` rows and `config.decoder`). Lower is better; the kept decoder is the one
    `config` names (the resize decoder unless the other is lower on validation, `autoencoder.choose_decoder`).
    Each decoder trains once, so the sentence gives the difference and says that one run each gives it no
    spread: it settles no ranking."""
    rows, chosen = vae["decoders"], vae["config"].get("decoder", "transposed")
    other = next(name for name in rows if name != chosen)
    kept, rival = rows[chosen], rows[other]
    gap = kept["val_nelbo"] - rival["val_nelbo"]
    relation = RELATION[verdict(gap, None)]
    size = "" if relation == RELATION[0] else f"{sig(abs(gap), 2)} nats "
    return (f"In the VAE, {DECODER_WORDS.get(chosen, chosen)} reaches a validation negative ELBO of "
            f"{sig(kept['val_nelbo'], 4)} nats, {size}{relation} the {sig(rival['val_nelbo'], 4)} of "
            f"{DECODER_WORDS.get(other, other)} (test {sig(kept['nelbo'], 4)} against "
            f"{sig(rival['nelbo'], 4)}); the VAE keeps the {chosen} decoder. With one run each, the difference has "
            f"no spread to be judged by, so it settles no ranking of the two.")


def likelihood(found: dict, published: Mapping[str, float]) -> str:
    """The test ELBO and importance-weighted negative log-likelihood (the `vae.likelihood` entry) held
    against `published` test NLLs (name -> nats), with how far each lies; a published number within the
    estimate's standard error is level with it."""
    nll, sem = found["nll"], found["nll_sem"]
    text = (f"On {found['images']:,} test images binarized once (Bernoulli likelihood over 784 pixels), the "
            f"VAE's test ELBO, a lower bound on log p(x), is {sig(found['elbo'], 4)} nats, and its "
            f"importance-weighted estimate of the negative log-likelihood with "
            f"{plural(found['samples'], 'sample')} per image is {plus_minus(nll, sem)} nats (± one standard "
            f"error).")
    calls = {name: verdict(nll - value, sem) for name, value in published.items()}
    gap = lambda value: f", {sig(abs(nll - value), 2)} nats away"  # noqa: E731
    named = lambda call: join([f"{n} ({sig(value, 5)}{gap(value) if call else ''})"  # noqa: E731
                               for n, value in published.items() if calls[n] == call])
    said = [f"{NLL_RELATION[call]} {named(call)}" for call in (-1, 0, 1) if call in calls.values()]
    if not said:
        return text
    return text + (f" Against published test NLLs, whose protocols may differ in importance samples and "
                   f"binarization, it is {'; '.join(said)}.")


def variant_words(row: dict) -> str:
    """A variant as words: 'β = 4 with warm-up'."""
    return f"β = {row['beta']:g} {'with' if row['warmup'] else 'without'} warm-up"


def variants(rows: dict[str, dict], *, confident: float | None = None) -> str:
    """Which variant (the `vae.variants` rows) has the lowest reconstruction term, the lowest KL (with its
    active dimensions) and the largest share of prior samples the judge gives some class confidently
    (`confident`: the probability that counts, for the sentence). That share is the judge's confidence, not
    fidelity: section 7 checks whether it separates real images from noise."""
    pick = lambda key, best: best(rows.values(), key=lambda r: r[key])  # noqa: E731
    recon, kl, samples = pick("recon", min), pick("kl", min), pick("confident_share", max)
    threshold = f" p ≥ {confident:g}" if confident is not None else " a confident probability"
    return (f"The lowest reconstruction term comes from {variant_words(recon)} ({sig(recon['recon'], 4)} "
            f"nats), the lowest KL from {variant_words(kl)} ({sig(kl['kl'], 3)} nats, "
            f"{plural(kl['active_dims'], 'active dimension')}); the judge gives some class{threshold} to the "
            f"largest share of prior samples for {variant_words(samples)} "
            f"({percent(samples['confident_share'], 0)}).")


def variants_note(images: int, epochs: int, main_images: int, main_epochs: int) -> str:
    """What the variants table is compared at, stated beside it."""
    return (f"Every variant trains {plural(epochs, 'epoch')} on the same {plural(images, 'image')}, one "
            f"budget for all and smaller than the main VAE's ({plural(main_epochs, 'epoch')} on "
            f"{plural(main_images, 'image')}); the main run is therefore compared only with its matched "
            f"variant at this budget, β = 1 with warm-up, never with these rows directly.")


def _counts(row: dict) -> dict[int, dict]:
    """A few-label entry's {'n100': {...}} as {100: {...}}."""
    return {int(key[1:]): value for key, value in row.items() if key.startswith("n") and key[1:].isdigit()}


def _count(key) -> int:
    """A label count given as 100 or 'n100'."""
    return int(str(key).removeprefix("n"))


def _spread(*stats: dict) -> float:
    """The spread a difference between few-label means must exceed: the larger standard deviation over
    draws, or `TIE_ACCURACY` where every mean comes from one draw."""
    return max(s.get("std", 0.0) for s in stats) or TIE_ACCURACY


def few_labels(few: dict, *, vae: str = "vae", ae: str = "ae", raw: str = "raw", method: str = "svm",
               references: Mapping[str, Mapping] | None = None) -> str:
    """The few-label comparison from the `few_labels` section (entries by key, each with its `name` and per
    method the mean and std over draws at every `nN` count): the best representation at each count, how
    often it beats raw pixels and each reference (name -> {count: accuracy}, at the counts the reference
    has), and the VAE's mean code against the autoencoder's code. A difference within the spread over draws
    (`_spread`) is a tie."""
    stats = {key: _counts(entry[method]) for key, entry in few.items()
             if isinstance(entry, dict) and method in entry and not is_control(entry)}
    name = lambda key: few[key].get("name", key)  # noqa: E731
    counts = sorted(stats[raw])
    best = {n: max((k for k in stats if n in stats[k]), key=lambda k: stats[k][n]["mean"]) for n in counts}
    top = {n: stats[best[n]][n] for n in counts}
    parts = [f"{n:,} labels: {name(best[n])}, {plus_minus(top[n]['mean'], top[n].get('std'), 100, '%')}"
             for n in counts]
    text = f"Best representation per label count ({METHOD_WORDS.get(method, method)}): {'; '.join(parts)}."
    against_raw = [verdict(top[n]["mean"] - stats[raw][n]["mean"], _spread(top[n], stats[raw][n]))
                   for n in counts if best[n] != raw]
    text += (f" It beats raw pixels at {against_raw.count(1)} of {len(counts)} counts"
             + (f" and is level with them at {against_raw.count(0)}" if against_raw.count(0) else "") + ".")
    said = []
    for ref_name, ref in (references or {}).items():
        ref = {_count(k): v for k, v in ref.items()}
        shared = [n for n in counts if n in ref]
        if shared:
            calls = [verdict(top[n]["mean"] - ref[n], _spread(top[n])) for n in shared]
            said.append(f"{ref_name} at {calls.count(1)} of {len(shared)}"
                        + (f" (level at {calls.count(0)})" if calls.count(0) else ""))
    if said:
        text += f" At the counts each reference reports, it beats {'; '.join(said)}."
    if vae in stats and ae in stats:
        shared = [n for n in counts if n in stats[vae] and n in stats[ae]]
        a, b = stats[vae], stats[ae]
        calls = {n: verdict(a[n]["mean"] - b[n]["mean"], _spread(a[n], b[n])) for n in shared}
        words = {1: "ahead", 0: "level", -1: "behind"}
        grouped = [f"{words[c]} at {join([str(n) for n in calls if calls[n] == c])}" for c in (1, 0, -1)
                   if c in calls.values()]
        text += f" {capital(name(vae))} against {name(ae)}: {'; '.join(grouped)} labels."
    return text
