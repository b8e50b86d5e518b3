"""Sentences of section 1 (the autoencoder), each built from its section of `metrics.json`: the two
decoders (`autoencoder`), the optimizers (`ae_optimizers`), the regularizers (`ae_regularization`),
the code-size sweep against PCA (`ae_code_size`) and the denoiser (`ae_denoising`). Each returns plain
prose; the notebook adds its "Measured:" label."""
from __future__ import annotations

from .words import capital, join, percent, plural, sig, verdict

DECODER_WORDS = {"resize": "the resize decoder", "transposed": "the transposed-convolution decoder"}
BASE = "none"  # the unregularized run of the regularization comparison


def decoder_finding(autoencoder: dict) -> str:
    """The two decoders of `autoencoder` (its `decoders` rows and the kept `decoder`): validation and
    test MSE, training time, and which one the study keeps."""
    rows, kept = autoencoder["decoders"], autoencoder["decoder"]
    new, old = rows["resize"], rows["transposed"]
    change = new["val_mse"] / old["val_mse"] - 1
    side = verdict(change, None)
    relation = ("the same validation MSE as" if side == 0 else
                f"a validation MSE {percent(abs(change))} {'lower' if side < 0 else 'higher'} than")
    ratio = new["seconds"] / old["seconds"]
    return (f"With the same parameters and recipe, upsampling then convolving gives {relation} "
            f"transposed convolutions ({sig(new['val_mse'])} against {sig(old['val_mse'])}; test "
            f"{sig(new['test_mse'])} against {sig(old['test_mse'])}) in {sig(ratio, 2)} times the "
            f"training time{' (it convolves at the larger size)' if ratio > 1 else ''}, so the study "
            f"keeps {DECODER_WORDS.get(kept, kept)} from here on.")


def optimizer_finding(optimizers: dict) -> str:
    """The optimizers of `ae_optimizers` (`by_optimizer`, `images`, `epochs`), each at its best learning
    rate on the validation split: the lowest and the highest, and those whose best rate lies at the
    edge of the grid."""
    best = optimizers["by_optimizer"]
    ranked = sorted(best, key=lambda name: best[name]["val_mse"])
    first, last = best[ranked[0]], best[ranked[-1]]
    edge = [name for name in ranked if best[name]["best_lr_at_edge"]]
    above = percent(last["val_mse"] / first["val_mse"] - 1, 0)
    text = (f"Each optimizer at the best of three learning rates on the validation split "
            f"({plural(optimizers['epochs'], 'epoch')} on {optimizers['images']:,} images): {ranked[0]} "
            f"is lowest (validation MSE {sig(first['val_mse'])} at learning rate {first['lr']:g}), "
            f"{ranked[-1]} highest ({sig(last['val_mse'])} at rate {last['lr']:g}, {above} above).")
    if edge:
        text += (f" For {join(edge)} the best rate is at the edge of the three tried, so a rate beyond "
                 f"them might do better still.")
    return text


def regularization_rows(regularization: dict) -> dict[str, dict]:
    """The variants' rows of `ae_regularization` (every entry with a train/validation gap)."""
    return {name: row for name, row in regularization.items() if isinstance(row, dict) and "gap" in row}


def regularization_finding(regularization: dict) -> str:
    """The regularization comparison of `ae_regularization`: how far the unregularized network
    overfits, which regularizers narrow its gap (validation minus training MSE), the lowest validation
    MSE and early stopping's epochs. One seed per variant."""
    rows = regularization_rows(regularization)
    none = rows[BASE]
    text = (f"Without regularization the network fits its {regularization['images']:,} training images "
            f"ever more closely: after {plural(none['epochs'], 'epoch')} its training MSE is "
            f"{sig(none['train_mse'])} and its validation MSE {sig(none['val_mse'])}, "
            f"{sig(none['val_mse'] / none['train_mse'], 2)} times as high; the validation MSE was lowest "
            f"at epoch {none['best_val_epoch']} ({sig(none['best_val_mse'])}). ")
    others = [name for name in rows if name != BASE]
    by_gap = sorted(others, key=lambda name: rows[name]["gap"])
    narrower = [name for name in by_gap if verdict(rows[name]["gap"] - none["gap"], None) < 0]
    count = (f"All {len(others)}" if len(narrower) == len(others) else
             "None of the" if not narrower else f"{len(narrower)} of the {len(others)}")
    text += (f"{count} regularizers narrow the gap (validation minus training MSE, {sig(none['gap'])} "
             f"without); the narrowest is that of {by_gap[0]} ({sig(rows[by_gap[0]]['gap'])}). ")
    best = min(rows, key=lambda name: rows[name]["val_mse"])
    if best == BASE:
        text += "No regularizer lowers the validation MSE below that of the unregularized run. "
    else:
        change = rows[best]["val_mse"] / none["val_mse"] - 1
        text += (f"The lowest validation MSE is that of {best} ({sig(rows[best]['val_mse'])}, "
                 f"{percent(abs(change), 0)} {'below' if change < 0 else 'above'} the unregularized run). ")
    for name in (n for n in others if n.startswith("early stopping")):
        row = rows[name]
        text += (f"Early stopping stopped after epoch {row['epochs']} and kept epoch {row['kept_epoch']} "
                 f"(validation {sig(row['val_mse'])}). " if row["stopped_early"] else
                 f"Early stopping did not trigger within {plural(row['epochs'], 'epoch')}. ")
    return text + ("One seed per variant: differences of a few per cent are within what a second seed could "
                   "move.")


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


def main_summary(autoencoder: dict) -> str:
    """One line on the main model of `autoencoder`: size, budget and final losses."""
    return (f"{autoencoder['parameters']:,} parameters, {plural(autoencoder['epochs'], 'epoch')} in "
            f"{sig(autoencoder['seconds'])} s; final train MSE {sig(autoencoder['final_train_mse'])}, "
            f"validation MSE {sig(autoencoder['final_val_mse'])}, test MSE {sig(autoencoder['test_mse'])}")


def denoising_summary(denoising: dict) -> str:
    """One line on the denoiser of `ae_denoising`: the test PSNR of the noisy inputs and of its outputs."""
    gain = denoising["psnr_denoised_db"] - denoising["psnr_noisy_db"]
    return (f"test PSNR: noisy {sig(denoising['psnr_noisy_db'])} dB -> denoised "
            f"{sig(denoising['psnr_denoised_db'])} dB ({'+' if gain >= 0 else ''}{sig(gain)} dB)")
