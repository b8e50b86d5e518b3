"""Sentences reading the headline models' training curves, built from the histories that `metrics.json` keeps
(`autoencoder.history`, `vae.history`, `simclr.history`, `gan.history`) and from Homework 1's early-stopped runs
(`finetune_hw1`): whether each curve had flattened when training stopped, and by how much it still moved.

A curve "had flattened" when its last quarter of epochs moved it by less than `FLAT_SHARE` of its final value
(for a monitor accuracy, by less than `FLAT_POINTS`). Under a cosine schedule the learning rate reaches zero at
the end, so a flat end partly shows the schedule finishing; the sentences say so where it applies."""
from __future__ import annotations

import math

from .words import join, percent, plural, sig

FLAT_SHARE = 0.01  # a loss that moved less than 1% of its final value over the last quarter of the epochs
FLAT_POINTS = 0.01  # a monitor accuracy that moved less than one point over the last quarter
TAIL = 0.25  # the share of the epochs read as the curve's end


def tail(values: list[float], share: float = TAIL) -> tuple[float, float, int]:
    """(value where the curve's last `share` of epochs begins, last value, epochs in that stretch); at least one
    epoch, and the first value when the curve is shorter than two epochs."""
    if not values:
        raise ValueError("an empty curve has no end to read: pass the history's values for at least one epoch")
    span = max(1, math.ceil(share * len(values))) if len(values) > 1 else 0
    return values[-1 - span], values[-1], span


def loss_end(values: list[float], *, lower: bool = True) -> dict:
    """How a loss curve ended: `start`/`end` of its last quarter, the change as a share of the end value
    (`moved`, positive when it improved) and whether it `flat`tened (`FLAT_SHARE`)."""
    start, end, span = tail(values)
    moved = (start - end if lower else end - start) / abs(end) if end else 0.0
    return {"start": start, "end": end, "epochs": span, "moved": moved, "flat": abs(moved) < FLAT_SHARE}


def accuracy_end(values: list[float]) -> dict:
    """How a noisy accuracy curve ended: its mean over the last quarter of the epochs (`end`) against the quarter
    before (`start`), the rise as a share (`moved`) and whether it flattened (`FLAT_POINTS`)."""
    if len(values) < 2:
        raise ValueError("an accuracy curve needs at least two epochs to compare its end with what came before")
    span = max(1, min(math.ceil(TAIL * len(values)), len(values) // 2))
    end = sum(values[-span:]) / span
    start = sum(values[-2 * span:-span]) / span
    return {"start": start, "end": end, "epochs": span, "moved": end - start, "flat": abs(end - start) < FLAT_POINTS}


def _state(end: dict, what: str) -> str:
    """'had flattened' or 'was still falling' (rising, for an accuracy)."""
    if end["flat"]:
        return "had flattened"
    return f"was still {what}" if end["moved"] > 0 else "had turned back"


def loss_sentence(name: str, rows: list[dict], key: str, unit: str = "", *, quantity: str = "validation loss",
                  cosine: bool = True) -> str:
    """One model's validation `quantity` over its last quarter of epochs, and whether it had flattened."""
    end = loss_end([r[key] for r in rows])
    unit = f" {unit}" if unit else ""
    change = f"{percent(abs(end['moved']), 1)} of its final value"
    digits = next((d for d in (3, 4) if sig(end["start"], d) != sig(end["end"], d)), 5)  # as few as tell them apart
    text = (f"{name}'s {quantity} went from {sig(end['start'], digits)} to {sig(end['end'], digits)}{unit} over its "
            f"last {plural(end['epochs'], 'epoch')} of {len(rows)} ({change}), so it {_state(end, 'falling')}")
    if cosine and end["flat"]:
        text += " (with the learning rate annealed to zero by then)"
    return text


def curves_reading(metrics: dict) -> str:
    """The curves of the models that give headline numbers, as one paragraph: the main autoencoder's and the
    VAE's validation losses, SimCLR's k-NN monitor, the DCGAN's discriminator outputs, and where Homework 1's
    network stopped under early stopping. Models absent from `metrics` are left out; empty when none is there."""
    said = []
    if metrics.get("autoencoder", {}).get("history"):
        said.append(loss_sentence("The main autoencoder", metrics["autoencoder"]["history"], "val_loss",
                                   quantity="validation MSE"))
    if metrics.get("vae", {}).get("history"):
        said.append(loss_sentence("The VAE", metrics["vae"]["history"], "val_nelbo", "nats",
                                   quantity="validation negative ELBO"))
    rows = metrics.get("simclr", {}).get("history")
    if rows and len(rows) > 1 and "knn_monitor" in rows[-1]:
        end, loss = accuracy_end([r["knn_monitor"] for r in rows]), loss_end([r["train_loss"] for r in rows])
        level = "stayed level" if end["flat"] else ("still rose" if end["moved"] > 0 else "fell back")
        said.append(f"SimCLR's k-NN monitor on validation images {level} ({percent(end['end'])} on average over its "
                    f"last {plural(end['epochs'], 'epoch')} of {len(rows)}, against {percent(end['start'])} over "
                    f"the {end['epochs']} before), while its contrastive training loss moved "
                    f"{percent(abs(loss['moved']), 1)} over the same stretch")
    rows = metrics.get("gan", {}).get("history")
    if rows and "train_d_real" in rows[-1]:
        last = rows[-1]
        g_end = loss_end([r["train_g_loss"] for r in rows])
        said.append(f"the DCGAN's discriminator ended with a mean output of {sig(last['train_d_real'], 2)} on real and "
                    f"{sig(last['train_d_fake'], 2)} on generated images (0.5 on both when it cannot tell them "
                    f"apart), its generator's loss moving {percent(abs(g_end['moved']), 0)} over the last "
                    f"{plural(g_end['epochs'], 'epoch')}; a GAN's losses need not fall, so its samples are judged by "
                    f"their scores instead")
    hw1 = metrics.get("finetune_hw1", {})
    stopped = [(words, hw1[key]) for key, words in (("scratch", "from scratch"), ("finetuned", "pretrained"))
               if isinstance(hw1.get(key), dict) and "best_epoch" in hw1[key]]
    if stopped:
        budget = hw1.get("recipe", {}).get("epochs")
        runs = [f"{words} {_stop(row, budget)}" for words, row in stopped]
        said.append(f"Homework 1's network, under early stopping on validation accuracy, ran {join(runs)}")
    return " ".join(s[0].upper() + s[1:] + "." for s in said)


def _stop(row: dict, budget: int | None) -> str:
    """Where an early-stopped run ended: its whole budget or an early stop, with its best epoch."""
    if budget and row["epochs"] >= budget:
        return f"its whole budget of {plural(budget, 'epoch')} (best at epoch {row['best_epoch']})"
    of = f" of {budget}" if budget else ""
    return f"until epoch {row['epochs']}{of} (best at epoch {row['best_epoch']})"
