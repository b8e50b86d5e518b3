"""Sentences of section 1 (the autoencoder), each built from its section of `metrics.json`: the two
decoders (`autoencoder`), the optimizers (`ae_optimizers`), the regularizers (`ae_regularization`),
the code-size sweep against PCA (`ae_code_size`) and the denoiser (`ae_denoising`). Each returns plain
prose; the notebook adds its "Measured:" label."""
from __future__ import annotations

from .words import as_shown, capital, interval, interval_call, join, percent, plural, plus_minus, sig, verdict

DECODER_WORDS = {"resize": "the resize decoder", "transposed": "the transposed-convolution decoder"}
BASE = "none"  # the unregularized run of the regularization comparison


def _pm(row: dict, key: str = "val_mse") -> str:
    """A pooled row's `key` as mean ± standard deviation over its seeds, or its value with one seed."""
    return plus_minus(row[key], row.get(f"{key}_std"))


def _shown(row: dict, key: str = "val_mse") -> float:
    """A pooled row's `key` as `_pm` prints it (for a ratio the reader can check)."""
    return as_shown(row[key], row.get(f"{key}_std"))


def _call(difference: dict | None, fallback: float = 0.0) -> int:
    """A paired difference over seeds (`statistics.paired_difference`) as 1 (higher), 0 (a tie: its interval
    holds 0, `interval_call`) or -1 (lower); without a spread (one seed), the sign of the difference; without a
    paired difference (a run that stored none), the sign of `fallback`."""
    if difference is None:
        return verdict(fallback, None)
    call = interval_call(difference)
    return verdict(difference["mean"], None) if call is None else call


def _seeds(count: int) -> str:
    return plural(count, "seed")


def decoder_finding(autoencoder: dict) -> str:
    """The two decoders of `autoencoder` (its `decoders` rows pooled over seeds, the paired difference
    `decoder_comparison.resize_minus_transposed` and the kept `decoder`): validation and test MSE, training
    time, whether the difference is beyond the seeds' spread, and which one the study keeps."""
    rows, kept = autoencoder["decoders"], autoencoder["decoder"]
    new, old = rows["resize"], rows["transposed"]
    budget = autoencoder.get("decoder_comparison", {})
    difference = budget.get("resize_minus_transposed")
    change = new["val_mse"] / old["val_mse"] - 1
    side = _call(difference, change)
    over = (f"Over {_seeds(budget['seeds'])} ({plural(budget['epochs'], 'epoch')} on {budget['images']:,} "
            f"images), " if budget else "")
    if side == 0:
        call = "the two are level with each other, within the seeds' spread"
    else:
        call = f"upsampling is {percent(abs(change))} {'lower' if side < 0 else 'higher'}"
    if difference and difference.get("low") is not None:
        call += f" (paired difference {interval(difference, brackets=False)})"
    # the fastest seed of each: on a shared machine the one least slowed by other work
    fastest = {name: min(row.get("seconds_seeds") or [row["seconds"]]) for name, row in rows.items()}
    ratio = fastest["resize"] / fastest["transposed"]
    seeded = " (fastest seed of each)" if len(new.get("seconds_seeds") or []) > 1 else ""
    return (f"{over}upsampling then convolving reaches a validation MSE of {_pm(new)} and transposed "
            f"convolutions {_pm(old)} (test {_pm(new, 'test_mse')} against {_pm(old, 'test_mse')}), with the "
            f"same parameters and recipe: {call}. Upsampling takes {sig(ratio, 2)} times the training time"
            f"{seeded}{', as it convolves at the larger size' if ratio > 1 else ''}; the study keeps "
            f"{DECODER_WORDS.get(kept, kept)} from here on.")


def optimizer_finding(optimizers: dict) -> str:
    """The optimizers of `ae_optimizers` (`by_optimizer`, `images`, `epochs`, `seeds`, `against_best`), each at
    its best learning rate on the validation split: the lowest, those within the seeds' spread of it (a tie),
    the highest, those whose grid grew past an edge, and those whose best rate still lies at an edge of the
    rates tried or next to one that diverged."""
    best = optimizers["by_optimizer"]
    ranked = sorted(best, key=lambda name: best[name]["val_mse"])
    first, last = best[ranked[0]], best[ranked[-1]]
    seeds = optimizers.get("seeds", 1)
    against = optimizers.get("against_best", {})
    level = [name for name in ranked[1:] if name in against and _call(against[name]) == 0]
    edge = [name for name in ranked if best[name]["best_lr_at_edge"]]
    grown = [name for name in ranked if best[name].get("rates_added")]
    diverged = [name for name in ranked if best[name].get("diverged_beyond")]
    above = percent(last["val_mse"] / first["val_mse"] - 1, 0)
    chosen = "on the first seed, then trained with " + _seeds(seeds) if seeds > 1 else "on the validation split"
    tried = "three learning rates" + (", more where the best lay at an edge" if grown else "")
    text = (f"With each optimizer at the best of {tried} ({chosen}; "
            f"{plural(optimizers['epochs'], 'epoch')} on {optimizers['images']:,} images), {ranked[0]} "
            f"reaches the lowest validation MSE ({_pm(first)} at learning rate {first['lr']:g}) and "
            f"{ranked[-1]} the highest ({_pm(last)} at rate {last['lr']:g}, {above} above).")
    if level:
        text += (f" {capital(join([f'{name} ({_pm(best[name])})' for name in level]))} "
                 f"{'is' if len(level) == 1 else 'are'} within the seeds' spread of {ranked[0]}: paired by seed, "
                 f"the 95% interval of the difference holds zero, so these seeds do not rank "
                 f"{'the two' if len(level) == 1 else 'them'}.")
    if grown:
        text += " The grid grew past its edge for " + join(
            [f"{name} (to {plural(len(best[name]['val_mse_by_lr']), 'rate')})" for name in grown]) + "."
    if diverged:
        text += (f" For {join(diverged)} the best rate lies next to one that diverged, so no rate past it "
                 f"trains at all.")
    if edge:
        text += (f" For {join(edge)} the best rate is still at an edge of those tried, so a rate beyond "
                 f"them might do better still.")
    return text


def regularization_rows(regularization: dict) -> dict[str, dict]:
    """The variants' rows of `ae_regularization` (every entry with a train/validation gap)."""
    return {name: row for name, row in regularization.items() if isinstance(row, dict) and "gap" in row}


def regularization_finding(regularization: dict) -> str:
    """The regularization comparison of `ae_regularization` (rows pooled over `seeds`, and `against_none`: each
    regularizer's validation MSE and gap minus the unregularized run's, paired by seed): how far the
    unregularized network overfits; which regularizers lower the validation MSE beyond the seeds' spread (only
    those help), which are level with none and which raise it; and which narrow the train/validation gap while
    raising the validation MSE, a narrower gap that comes from fitting the training images worse."""
    rows = regularization_rows(regularization)
    none = rows[BASE]
    seeds = regularization.get("seeds", 1)
    text = (f"Without regularization the network fits its {regularization['images']:,} training images "
            f"ever more closely: after {plural(none['epochs'], 'epoch')} its training MSE is "
            f"{_pm(none, 'train_mse')} and its validation MSE {_pm(none)}, "
            f"{sig(_shown(none) / _shown(none, 'train_mse'), 2)} times as high; the validation MSE was lowest "
            f"at epoch {sig(none['best_val_epoch'], 2)} ({sig(none['best_val_mse'])}). ")
    others = [name for name in rows if name != BASE]
    against = regularization.get("against_none", {})
    call = {name: _call(against.get(name, {}).get("val_mse"), rows[name]["val_mse"] - none["val_mse"])
            for name in others}
    narrower = {name: _call(against.get(name, {}).get("gap"), rows[name]["gap"] - none["gap"]) < 0
                for name in others}  # a narrower gap beyond the seeds' spread
    helps = sorted((n for n in others if call[n] < 0), key=lambda n: rows[n]["val_mse"])
    level = [n for n in others if call[n] == 0]
    hurts = [n for n in others if call[n] > 0]
    over = f"over {_seeds(seeds)}, paired by seed" if seeds > 1 else "in one seed"
    beyond = " beyond the seeds' spread" if seeds > 1 else ""
    if helps:
        def lowered(name: str) -> str:
            paired = against.get(name, {}).get("val_mse")
            shown = (f"; paired difference {interval(paired, brackets=False)}"
                     if paired and paired.get("low") is not None else "")
            return f"{name} ({_pm(rows[name])}{shown})"
        text += (f"Measured {over}, only {join([lowered(n) for n in helps])} "
                 f"{'lowers' if len(helps) == 1 else 'lower'} the validation MSE below the unregularized "
                 f"{_pm(none)}{beyond}. ")
    else:
        text += f"Measured {over}, no regularizer lowers the validation MSE{beyond}. "
    if level:
        text += (f"{capital(join([f'{n} ({_pm(rows[n])})' for n in level]))} {'is' if len(level) == 1 else 'are'} "
                 f"level with no regularization. ")
    if hurts:
        text += (f"{capital(join([f'{n} ({_pm(rows[n])})' for n in hurts]))} "
                 f"{'raises' if len(hurts) == 1 else 'raise'} it. ")
    trade = [n for n in hurts + level if narrower[n]]
    if trade:
        text += (f"{capital(join(trade))} {'narrows' if len(trade) == 1 else 'narrow'} the gap between "
                 f"validation and training MSE ({sig(none['gap'])} without) without lowering the validation MSE: "
                 f"the gap closes because the training images are fitted worse, not because the model "
                 f"generalizes better. ")
    for name in (n for n in others if n.startswith("early stopping")):
        row = rows[name]
        stopped = row["stopped_early"]
        if not stopped:
            text += f"Early stopping did not trigger within {plural(row['epochs'], 'epoch')}. "
        elif seeds > 1:
            saved = 1 - row["epochs"] / none["epochs"]
            fewer = f" ({percent(saved, 0)} fewer than without it)" if saved >= 0.005 else ""
            text += (f"Early stopping stopped {stopped} of {_seeds(seeds)} early; over all seeds the runs "
                     f"lasted {sig(row['epochs'], 2)} epochs{fewer} and kept epoch {sig(row['kept_epoch'], 2)} "
                     f"on average. ")
        else:
            text += (f"Early stopping stopped after epoch {sig(row['epochs'], 2)} and kept epoch "
                     f"{sig(row['kept_epoch'], 2)}. ")
    return text.rstrip()


def code_sizes(code: dict) -> list[int]:
    """The code sizes of `ae_code_size`, smallest first."""
    return sorted(int(key.split("_")[1]) for key in code if key.startswith("code_"))


def pca_clause(code: dict) -> str:
    """At which code sizes of `ae_code_size` the autoencoder's test MSE is below PCA's with as many
    components, as a clause (lower case, no full stop)."""
    sizes = code_sizes(code)
    side = {k: verdict(code[f"code_{k}"]["ae_test_mse"] - code[f"code_{k}"]["pca_test_mse"], None)
            for k in sizes}
    ae_wins, pca_wins = [k for k in sizes if side[k] < 0], [k for k in sizes if side[k] > 0]
    level = [k for k in sizes if side[k] == 0]
    if len(ae_wins) == len(sizes):
        return "the autoencoder reconstructs the test images better than PCA at every code size"
    if len(pca_wins) == len(sizes):
        return "PCA reconstructs the test images better than the autoencoder at every code size"
    parts = []
    if ae_wins:
        parts.append(f"the autoencoder reconstructs the test images better than PCA with codes of "
                     f"{join([f'{k:,}' for k in ae_wins])} numbers")
    if pca_wins:
        parts.append(f"PCA does better with {join([f'{k:,}' for k in pca_wins])}")
    if level:
        parts.append(f"the two are level with {join([f'{k:,}' for k in level])}")
    return join(parts)


def code_size_finding(code: dict) -> str:
    """The code-size sweep of `ae_code_size`: where the autoencoder beats PCA (`pca_clause`)."""
    return f"{capital(pca_clause(code))}."


def code_size_details(code: dict) -> str:
    """How the sweep of `ae_code_size` was trained, and the code sizes where the autoencoder's error is
    the smallest and the largest share of PCA's."""
    sizes = code_sizes(code)
    ratio = {k: code[f"code_{k}"]["ae_test_mse"] / code[f"code_{k}"]["pca_test_mse"] for k in sizes}
    low, high = min(ratio, key=ratio.get), max(ratio, key=ratio.get)
    return (f"Each autoencoder trained {plural(code['epochs'], 'epoch')} on {code['images']:,} images, "
            f"and PCA was fitted on the same images. The autoencoder's test MSE is the smallest share of "
            f"PCA's at code {low} ({sig(ratio[low], 2)}) and the largest at code {high} "
            f"({sig(ratio[high], 2)}).")


def _budget_evidence(code: dict, main: dict | None) -> str:
    """Whether the sweep's training holds its error up, from the main model at one of the sweep's code sizes
    (trained longer on more images): a clause, or, without such a model, that the two are not separated."""
    if not main or f"code_{main['latent_dim']}" not in code:
        return ", which the study does not separate"
    swept = code[f"code_{main['latent_dim']}"]["ae_test_mse"]
    said = (f". At code {main['latent_dim']} the main model, trained for {plural(main['epochs'], 'epoch')} on "
            f"{main['images']:,} images, reaches a test MSE of {sig(main['test_mse'], 2)} against the sweep's "
            f"{sig(swept)}")
    if main["test_mse"] < 0.9 * swept:
        return said + (", so at this size the sweep's budget, not the decoder, limits the error (whether this "
                       "holds at the large codes, where PCA wins, is not measured)")
    return said + ", so more training barely helps, and the decoder's capacity is the likelier limit"


def main_model(autoencoder: dict, images: int) -> dict:
    """Section 1's main model as the code-size reading needs it: its test MSE, code size, epochs and training
    images (`images`: the training split's size, `data.n_train`)."""
    return {"test_mse": autoencoder["test_mse"], "latent_dim": autoencoder["config"]["latent_dim"],
            "epochs": autoencoder["epochs"], "images": images}


def code_size_reading(code: dict, main: dict | None = None) -> str:
    """Why the sweep of `ae_code_size` comes out as it does, read from its numbers: how much each method's test
    MSE falls from the smallest to the largest code, and, where PCA wins at the large codes, that PCA's error is
    the least a linear code of that size can reach while the network, trained for the sweep's budget, puts the
    extra numbers to little use; where the autoencoder wins throughout, how its lead changes with the size."""
    sizes = code_sizes(code)
    row = lambda k: code[f"code_{k}"]  # noqa: E731
    small, large = sizes[0], sizes[-1]
    pca_wins = [k for k in sizes if row(k)["ae_test_mse"] > row(k)["pca_test_mse"]]
    fall = lambda method, a, b: row(a)[f"{method}_test_mse"] / row(b)[f"{method}_test_mse"]  # noqa: E731
    if not pca_wins:
        lead = [row(k)["ae_test_mse"] / row(k)["pca_test_mse"] for k in (small, large)]
        return (f"The autoencoder's error is {sig(lead[0], 2)} of PCA's at code {small} and {sig(lead[1], 2)} "
                f"at code {large}: the nonlinear decoder packs more into a few numbers, and "
                f"{'its lead narrows' if lead[1] > lead[0] else 'its lead holds'} as the code grows.")
    first = min(pca_wins)
    below = max([k for k in sizes if k < first], default=None)
    if below is None:
        return (f"PCA's error, the least any linear code of a given size can reach on these images, is below "
                f"the autoencoder's from the smallest code on, so at this budget "
                f"({plural(code['epochs'], 'epoch')} on {code['images']:,} images) the network does not beat a "
                f"linear code at all.")
    ratio, at = min((row(k)["ae_test_mse"] / row(k)["pca_test_mse"], k) for k in sizes)
    return (f"From code {below} to code {large}, PCA's test MSE falls {sig(fall('pca', below, large), 2)}-fold "
            f"({sig(row(below)['pca_test_mse'])} to {sig(row(large)['pca_test_mse'])}), each added component "
            f"removing the largest remaining share of the pixel variance (on its fitting images no linear code of "
            f"that size does better), while the autoencoder's falls only {sig(fall('ae', below, large), 2)}-fold "
            f"({sig(row(below)['ae_test_mse'])} to {sig(row(large)['ae_test_mse'])}): its error is limited "
            f"not by the code's size but by the sweep's training ({plural(code['epochs'], 'epoch')} on "
            f"{code['images']:,} images) or the decoder's capacity{_budget_evidence(code, main)}. With codes of "
            f"{below} numbers or fewer the nonlinear decoder beats PCA, its error as low as {sig(ratio, 2)} times "
            f"PCA's (at code {at}).")


def main_summary(autoencoder: dict) -> str:
    """One line on the main model of `autoencoder`: size, budget and final losses."""
    return (f"{autoencoder['parameters']:,} parameters, {plural(autoencoder['epochs'], 'epoch')} in "
            f"{sig(autoencoder['seconds'])} s; final train MSE {sig(autoencoder['final_train_mse'])}, "
            f"validation MSE {sig(autoencoder['final_val_mse'])}, test MSE {sig(autoencoder['test_mse'])}")


def denoising_finding(denoising: dict) -> str:
    """The denoiser of `ae_denoising` against its controls on the same noisy test images (where the run measured
    them): the noisy inputs, the autoencoder trained on clean images, and a 3 x 3 median filter; whether training
    on noise is what helps (the denoiser above both controls) or not."""
    noisy, denoised = denoising["psnr_noisy_db"], denoising["psnr_denoised_db"]
    text = (f"A denoising autoencoder trained on inputs with Gaussian noise of standard deviation "
            f"{sig(denoising['noise_std'], 2)} (pixels on [0, 1], clipped back to it) raises the test peak "
            f"signal-to-noise ratio (PSNR) from {sig(noisy)} dB to {sig(denoised)} dB")
    if "psnr_median_db" not in denoising:
        return text + "."
    clean, median = denoising["psnr_clean_ae_db"], denoising["psnr_median_db"]
    text += (f"; on the same noisy images the autoencoder trained on clean images reaches {sig(clean)} dB and a "
             f"3 × 3 median filter {sig(median)} dB")
    best = max(clean, median)
    if denoised > best:
        return text + f", so training on noise adds {sig(denoised - best, 2)} dB over the better control."
    return text + ", so training on noise does not beat the better of the two controls."


def denoising_summary(denoising: dict) -> str:
    """One line on the denoiser of `ae_denoising`: the test PSNR of the noisy inputs and of its outputs."""
    gain = denoising["psnr_denoised_db"] - denoising["psnr_noisy_db"]
    return (f"test PSNR: noisy {sig(denoising['psnr_noisy_db'])} dB -> denoised "
            f"{sig(denoising['psnr_denoised_db'])} dB ({'+' if gain >= 0 else ''}{sig(gain)} dB)")
