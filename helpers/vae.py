"""Section 5: a convolutional VAE on the shared loop, its likelihood bounds, and its comparisons.

The likelihood is Bernoulli over the 784 pixels, on dynamically binarized images: every time an image is
used in training, each pixel is drawn as 1 with probability equal to its grey level. Binary data make the
Bernoulli likelihood a proper distribution (binary cross-entropy against grey levels is not one), and it is
the standard density-estimation protocol, so the test negative log-likelihood in nats can be held against
published numbers. The test set is binarized once, with a fixed seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .config import Profile
from .data import Batch, ImageSet, Splits
from .models import AEConfig, VAE
from .results import markdown_table
from .training import Run, TrainSpec, evaluate_set, outputs, train_model

LOG_2PI = math.log(2 * math.pi)
# test NLL in nats, dynamically binarized Fashion-MNIST, Bernoulli likelihood (Exemplar VAE paper, REFERENCE.md)
PUBLISHED_NLL = {"VAE, Gaussian prior (MLP)": 228.70, "VampPrior": 227.35, "Exemplar VAE": 226.75,
                 "convolutional hierarchical VAE": 225.38, "PixelSNAIL": 223.68}
CONFIDENT = 0.9  # a prior sample counts as recognised when the classifier gives some class at least this


# ----------------------------------------------------------------------------- the model's mathematics


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over the latent dimensions (closed form)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)


def reparameterize(mean: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mean + std * eps with eps ~ N(0, I): a sample of q(z|x) through which gradients flow."""
    eps = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype, generator=generator)
    return mean + (0.5 * log_var).exp() * eps


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) in nats per image, summed over the pixels, for binary pixels `x` and Bernoulli logits."""
    return -F.binary_cross_entropy_with_logits(logits.float(), x, reduction="none").flatten(1).sum(1)


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each pixel of float images on [0, 1] drawn as 1 with its grey level as the probability (batched)."""
    return torch.bernoulli(images, generator=generator)


def vae_loss(model: VAE, batch: Batch) -> dict[str, torch.Tensor]:
    """Negative ELBO in nats per image with the KL term weighted (the warm-up's weight in training, `beta` in
    evaluation), on a fresh binarization of the batch; also its two terms and the unweighted bound `nelbo`.
    The VAE reads pixels on [0, 1]: train it with mean 0 and std 1 (no normalization)."""
    x = binarize(batch.images)
    mean, log_var = model.encode(x)
    z = reparameterize(mean, log_var)
    recon = -bernoulli_log_likelihood(model.decoder(z), x)
    kl = kl_divergence(mean.float(), log_var.float())
    weight = model.kl_weight if model.training else model.beta
    return {"loss": (recon + weight * kl).mean(), "recon": recon.mean(), "kl": kl.mean(),
            "nelbo": (recon + kl).mean()}


def log_weights(model: VAE, x: torch.Tensor, samples: int, generator: torch.Generator | None = None,
                chunk: int = 64) -> torch.Tensor:
    """log p(x, z_k) - log q(z_k | x) for `samples` draws z_k of q(z|x) per image: [samples, B] (nats)."""
    mean, log_var = model.encode(x)
    mean, log_var = mean.float(), log_var.float()
    std = (0.5 * log_var).exp()
    out = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        eps = torch.randn((k, *mean.shape), device=mean.device, generator=generator)
        z = mean + std * eps  # [k, B, d]
        logits = model.decoder(z.flatten(0, 1)).float().view(k, len(x), -1)
        log_px = -F.binary_cross_entropy_with_logits(logits, x.flatten(1).expand(k, -1, -1), reduction="none").sum(2)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(2)
        log_qz = -0.5 * (eps.pow(2) + LOG_2PI + log_var).sum(2)
        out.append(log_px + log_pz - log_qz)
    return torch.cat(out)


def bounds(log_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the ELBO estimate (mean of the log weights) and the importance-weighted bound
    log (1/K) sum_k w_k, which is never below it (Jensen) and tends to log p(x) as K grows."""
    k = log_w.shape[0]
    return log_w.mean(0), torch.logsumexp(log_w, 0) - math.log(k)


def held_out_likelihood(model: VAE, data: ImageSet, *, samples: int, seed: int, batch_size: int = 100) -> dict:
    """Test ELBO and importance-weighted NLL estimate (nats per image) on `data` binarized once with `seed`,
    with `samples` importance samples per image."""
    generator = torch.Generator(device=data.device).manual_seed(seed)
    model.to(data.device).eval()
    elbo, iw = [], []
    with torch.inference_mode():
        for start in tqdm(range(0, len(data), batch_size), desc="importance sampling", leave=False):
            x = binarize(data.images[start:start + batch_size].float() / 255, generator)
            e, b = bounds(log_weights(model, x, samples, generator))
            elbo.append(e)
            iw.append(b)
    elbo_t, iw_t = torch.cat(elbo), torch.cat(iw)
    return {"images": len(data), "samples": samples, "elbo": float(elbo_t.mean()), "nll": float(-iw_t.mean()),
            "nll_sem": float(iw_t.std() / math.sqrt(len(iw_t))), "likelihood": "Bernoulli, dynamically binarized pixels"}


# ----------------------------------------------------------------------------- training


def spec(profile: Profile, epochs: int | None = None) -> TrainSpec:
    """Adam (lr 1e-3), cosine schedule, the profile's batch size and the autoencoder's epochs by default."""
    return TrainSpec(epochs=epochs or profile.ae_epochs, optimizer="adam", lr=1e-3, batch_size=profile.batch_size,
                     scheduler="cosine", seed=profile.seed)


def train_vae(cfg: AEConfig, train_spec: TrainSpec, splits: Splits, *, beta: float = 1.0, warmup_epochs: float = 0.0,
              train: ImageSet | None = None, run_dir: Path | None = None, desc: str = "vae",
              eval_batch_size: int = 2000) -> Run:
    """A VAE trained on the shared loop (cached and resumable like every run), validated every epoch."""
    model, history = train_model(lambda: VAE(cfg, beta=beta, warmup_epochs=warmup_epochs), vae_loss,
                                 train or splits.train, splits.val, train_spec,
                                 model_key=("vae", cfg.as_dict(), beta, warmup_epochs, "bernoulli, dynamic binarization"),
                                 run_dir=run_dir, desc=desc, mean=0.0, std=1.0, eval_batch_size=eval_batch_size)
    return Run(model, history)


def terms(model: VAE, data: ImageSet, *, seed: int, batch_size: int = 2000) -> dict:
    """Mean reconstruction term, KL term and negative ELBO (nats per image) on `data`, one binarization."""
    torch.manual_seed(seed)
    found = evaluate_set(model, vae_loss, data, batch_size=batch_size)
    return {"recon": found["recon"], "kl": found["kl"], "nelbo": found["nelbo"]}


def reconstruct(model: VAE, data: ImageSet, batch_size: int = 2000) -> torch.Tensor:
    """Pixel probabilities decoded from the mean code of each (grey) image of `data`."""
    return outputs(model, data, lambda m, x: m(x), batch_size=batch_size)


def train_variants(variants: Sequence[Variant], cfg: AEConfig, train_spec: TrainSpec, splits: Splits,
                   train: ImageSet, warmup_epochs: float, *, run_dir: Path | None,
                   eval_batch_size: int = 2000) -> dict[str, Run]:
    """Each variant trained at the same budget on `train` (cached runs), by name."""
    return {variant_name(v): train_vae(cfg, train_spec, splits, beta=v.beta,
                                       warmup_epochs=warmup_epochs if v.warmup else 0.0, train=train, run_dir=run_dir,
                                       desc=f"vae {variant_name(v)}", eval_batch_size=eval_batch_size)
            for v in variants}


def compare_variants(variants: Sequence[Variant], runs: dict[str, Run], splits: Splits,
                     classify: Callable[[torch.Tensor], torch.Tensor], *, samples: int, seed: int) -> dict[str, dict]:
    """Each trained variant's test terms, active dimensions, and the share of `samples` prior samples that
    `classify` (images on [0, 1] -> class probabilities) labels confidently."""
    rows = {}
    for v in variants:
        name = variant_name(v)
        model = runs[name].model
        probs = classify(prior_samples(model, samples, seed=seed, device=splits.train.device))
        rows[name] = {"beta": v.beta, "warmup": v.warmup, **terms(model, splits.test, seed=seed),
                      "confident_share": confident_share(probs), "active_dims": active_dims(model, splits.test)}
    return rows


def prior_samples(model: VAE, n: int, *, seed: int, device: torch.device | str) -> torch.Tensor:
    """`n` images decoded from z ~ N(0, I): pixel probabilities on [0, 1] (the Bernoulli means)."""
    z = torch.randn(n, model.cfg.latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    model.to(device).eval()
    with torch.inference_mode():
        return torch.sigmoid(model.decoder(z)).float()


def latent_grid(model: VAE, steps: int, *, device: torch.device | str, quantile: float = 0.95) -> torch.Tensor:
    """A 2-D VAE's decoded manifold: images [steps * steps, 1, 28, 28] at the Gaussian quantiles of an evenly
    spaced grid of probabilities over each axis (row by row, second latent decreasing down the rows)."""
    if model.cfg.latent_dim != 2:
        raise ValueError(f"latent_grid needs a 2-D latent, this VAE has {model.cfg.latent_dim}.")
    p = torch.linspace(1 - quantile, quantile, steps)
    values = torch.distributions.Normal(0.0, 1.0).icdf(p)
    z = torch.stack(torch.meshgrid(values.flip(0), values, indexing="ij"), -1).view(-1, 2)[:, [1, 0]]
    model.to(device).eval()
    with torch.inference_mode():
        return torch.sigmoid(model.decoder(z.to(device))).float()


# ----------------------------------------------------------------------------- comparisons and text


@dataclass(frozen=True)
class Variant:
    beta: float
    warmup: bool


def variant_name(v: Variant) -> str:
    return f"beta {v.beta:g}, warm-up {'on' if v.warmup else 'off'}"


def variants_metrics(rows: dict[str, dict]) -> dict:
    """The `vae.variants` entries of metrics.json, keyed like `beta0p5_warmup` (report macros need no dots)."""
    key = lambda r: f"beta{r['beta']:g}_{'warmup' if r['warmup'] else 'nowarmup'}".replace(".", "p")
    return {key(r): r for r in rows.values()}


def confident_share(probs: torch.Tensor, threshold: float = CONFIDENT) -> float:
    """Share of images a classifier gives some class with probability at least `threshold`."""
    return float((probs.float().max(1).values >= threshold).float().mean())


def variants_table(rows: dict[str, dict]) -> str:
    return markdown_table(["variant", "test reconstruction term (nats)", "test KL (nats)", "test negative ELBO (nats)",
                           f"prior samples recognised with p ≥ {CONFIDENT:g}", "active latent dims"],
                          [(n, r["recon"], r["kl"], r["nelbo"], r["confident_share"], r["active_dims"])
                           for n, r in rows.items()])


def active_dims(model: VAE, data: ImageSet, threshold: float = 0.01, batch_size: int = 2000) -> int:
    """Latent dimensions whose posterior mean varies across images (variance above `threshold`): the ones
    the model uses; the rest have collapsed onto the prior."""
    means = outputs(model.mean_encoder(), data, lambda m, x: m(x), batch_size=batch_size)
    return int((means.var(0) > threshold).sum())


def likelihood_findings(found: dict, published: dict[str, float], target: float = 230.0) -> str:
    best = min(published, key=published.get)
    return (f"**Measured:** on {found['images']:,} test images binarized once (Bernoulli likelihood over 784 "
            f"pixels), the VAE's test ELBO (a lower bound on log p(x)) is {found['elbo']:.1f} nats and its importance-weighted "
            f"estimate of the "
            f"negative log-likelihood, with {found['samples']:,} samples per image, is {found['nll']:.1f} ± "
            f"{found['nll_sem']:.1f} nats (target: at most {target:g}, {'met' if found['nll'] <= target else 'missed'}). "
            f"Published under the same protocol: VAE with a Gaussian prior {published['VAE, Gaussian prior (MLP)']:.2f}, "
            f"best listed {published[best]:.2f} ({best}).")


def variants_findings(rows: dict[str, dict]) -> str:
    by_kl = sorted(rows, key=lambda n: rows[n]["kl"])
    by_recon = sorted(rows, key=lambda n: rows[n]["recon"])
    best_samples = max(rows, key=lambda n: rows[n]["confident_share"])
    return (f"**Measured:** the lowest reconstruction term is *{by_recon[0]}* ({rows[by_recon[0]]['recon']:.1f} nats), "
            f"the lowest KL *{by_kl[0]}* ({rows[by_kl[0]]['kl']:.1f} nats, {rows[by_kl[0]]['active_dims']} active "
            f"dimensions); the prior samples the classifier recognises most confidently come from *{best_samples}* "
            f"({rows[best_samples]['confident_share']:.0%} with p ≥ {CONFIDENT:g}).")


def few_label_findings(stats: dict[str, dict[int, dict]], *, vae: str, ae: str, raw: str,
                       targets: dict[int, float], references: dict[str, dict[int, float]]) -> str:
    """The "Measured:" sentence of the few-label table: the best representation per count against the aims and
    against each reference (at the counts the reference has), and the VAE against the autoencoder."""
    counts = sorted(stats[raw])
    best = {n: max(stats, key=lambda name: stats[name][n]["mean"]) for n in counts}
    top = {n: stats[best[n]][n]["mean"] for n in counts}
    vae_vs_ae = [n for n in counts if stats[vae][n]["mean"] > stats[ae][n]["mean"]]
    parts = [f"{n:,}: *{best[n]}* {top[n]:.1%}" + (
        f" (aim {targets[n]:.0%}, {'met' if top[n] >= targets[n] else 'missed'})" if n in targets else "")
        for n in counts]
    beaten = []
    for name, ref in references.items():
        shared = [n for n in counts if n in ref]
        if shared:
            wins = [n for n in shared if top[n] > ref[n]]
            beaten.append(f"{name} at {len(wins)} of {len(shared)}")
    beats_raw = [n for n in counts if stats[best[n]][n]["mean"] > stats[raw][n]["mean"] and best[n] != raw]
    return (f"**Measured:** best representation per label count (RBF SVM): {'; '.join(parts)}. The best one beats "
            f"raw pixels in this run at {len(beats_raw)} of {len(counts)} counts, and the references: "
            f"{'; '.join(beaten)} counts. The VAE mean beats the autoencoder code at "
            f"{', '.join(f'{n:,}' for n in vae_vs_ae) or 'none'} of the label counts.")


def decoder_rows(runs: dict[str, Run], splits: Splits, *, seed: int) -> dict[str, dict]:
    """Per decoder (`AEConfig.decoder`): the validation negative ELBO of the kept weights and the test terms."""
    return {name: {"val_nelbo": run.history.kept["val_loss"], **terms(run.model, splits.test, seed=seed)}
            for name, run in runs.items()}


def decoder_findings(rows: dict[str, dict], chosen: str) -> str:
    """One sentence: the two decoders' negative ELBO and which one the VAE keeps."""
    new, old = rows["resize"], rows["transposed"]
    return (f"**Measured:** the VAE whose decoder upsamples and then convolves reaches a validation negative ELBO of "
            f"{new['val_nelbo']:.1f} nats against {old['val_nelbo']:.1f} with transposed convolutions (test "
            f"{new['nelbo']:.1f} against {old['nelbo']:.1f}); the study keeps the "
            f"{'resize' if chosen == 'resize' else 'transposed-convolution'} decoder for the VAE.")


def variants_note(images: int, epochs: int, main_images: int, main_epochs: int) -> str:
    """What the variants table is compared at, stated beside it."""
    return (f"Every variant trains {epochs} epoch{'s' if epochs != 1 else ''} on the same {images:,} images, the same budget for all, smaller than "
            f"the main VAE's ({main_epochs} epochs on {main_images:,} images); the main run is therefore compared only "
            f"with its matched variant at this budget, β = 1 with warm-up, never with these rows directly.")
