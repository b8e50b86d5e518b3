"""Section 5: a convolutional VAE on the shared loop, its likelihood bounds, and its comparisons.

The likelihood is Bernoulli over the 784 pixels, on dynamically binarized images: every time an image is
used in training, each pixel is drawn as 1 with probability equal to its grey level. Binary data make the
Bernoulli likelihood a proper distribution (binary cross-entropy against grey levels is not one), and it is
the standard density-estimation protocol, so the test negative log-likelihood in nats can be held against
published numbers. The test set is binarized once, with a fixed seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import autoencoder as ae, fewlabels, finetune, latent, published
from .config import Profile
from .context import Context
from .data import Batch, ImageSet, Splits, balanced_subset, comparison_train
from .findings import representations as rep_text, vae as vae_text
from .judging import CONFIDENT, confident_share
from .models import DECODERS, AEConfig, VAE, count_parameters
from .results import markdown_table
from .training import Run, TrainSpec, evaluate_set, outputs, train_model

if TYPE_CHECKING:
    from .autoencoder import Autoencoder, Reconstructions
    from .finetune import Classifiers

LOG_2PI = math.log(2 * math.pi)


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


# ----------------------------------------------------------------------------- comparisons


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


def variants_table(rows: dict[str, dict]) -> str:
    return markdown_table(["variant", "test reconstruction term (nats)", "test KL (nats)",
                           "test negative ELBO (nats)", f"prior samples the judge gives some class p ≥ "
                           f"{CONFIDENT:g}", "active latent dims"],
                          [(n, r["recon"], r["kl"], r["nelbo"], r["confident_share"], r["active_dims"])
                           for n, r in rows.items()])


def active_dims(model: VAE, data: ImageSet, threshold: float = 0.01, batch_size: int = 2000) -> int:
    """Latent dimensions whose posterior mean varies across images (variance above `threshold`): the ones
    the model uses; the rest have collapsed onto the prior."""
    means = outputs(model.mean_encoder(), data, lambda m, x: m(x), batch_size=batch_size)
    return int((means.var(0) > threshold).sum())


def decoder_rows(runs: dict[str, Run], splits: Splits, *, seed: int) -> dict[str, dict]:
    """Per decoder (`AEConfig.decoder`): the validation negative ELBO of the kept weights and the test terms."""
    return {name: {"val_nelbo": run.history.kept["val_loss"], **terms(run.model, splits.test, seed=seed)}
            for name, run in runs.items()}


# ----------------------------------------------------------------------------- section 5's steps


VARIANTS = (Variant(0.5, True), Variant(1.0, True), Variant(4.0, True), Variant(1.0, False))  # beta, warm-up
DECODER_SAMPLES = 12  # prior codes each decoder decodes in the side-by-side figure
GRID_STEPS = 15  # decoded images along each axis of the 2-D VAE's manifold
FEW_LABEL_PCA = 50  # principal components of the pixels in the few-label table (the linear baseline)


def warmup_for(epochs: int) -> int:
    """Warm-up epochs of a VAE trained for `epochs`: a quarter of them, at least one."""
    return max(1, epochs // 4)


@dataclass(frozen=True)
class MainVAE:
    """Section 5's VAE: the autoencoder's configuration with the decoder kept on validation, its recipe and
    warm-up, the runs of both decoders, the kept run with its test terms and active dimensions, and the
    sentence about the two decoders."""

    config: AEConfig
    spec: TrainSpec
    warmup: int
    decoder_runs: dict[str, Run]
    run: Run
    test: dict
    active: int
    finding: str

    @property
    def summary(self) -> str:
        t = self.test
        return (f"test (one binarization): reconstruction {t['recon']:.1f} + KL {t['kl']:.1f} = negative "
                f"ELBO {t['nelbo']:.1f} nats per image; {self.active} of {self.config.latent_dim} latent "
                f"dimensions active")


def train_main(ctx: Context, ae_final: Autoencoder) -> MainVAE:
    """The VAE with each of section 1's decoders (the kept autoencoder's configuration, `spec`'s recipe, a
    warm-up over a quarter of the epochs), the decoder kept by section 1's rule on the validation negative
    ELBO, its test terms and active dimensions; merged into `vae` with the kept model's parameters and
    training seconds."""
    profile, splits = ctx.profile, ctx.splits
    train_spec, warmup = spec(profile), warmup_for(profile.ae_epochs)
    runs = {d: train_vae(replace(ae_final.config, decoder=d), train_spec, splits, warmup_epochs=warmup,
                         run_dir=ctx.run_dir, desc=f"vae ({d})", eval_batch_size=ctx.eval_batch_size)
            for d in DECODERS}
    rows = decoder_rows(runs, splits, seed=ctx.seed)
    config = replace(ae_final.config, decoder=ae.choose_decoder(rows, "val_nelbo"))
    run = runs[config.decoder]
    test, active = terms(run.model, splits.test, seed=ctx.seed), active_dims(run.model, splits.test)
    found = ctx.merge("vae", {"config": config, "spec": train_spec, "warmup_epochs": warmup, "test": test,
                              "active_dims": active, "history": run.history.rows, "decoders": rows,
                              "parameters": count_parameters(run.model), "seconds": run.history.rows[-1]["seconds"]})
    return MainVAE(config, train_spec, warmup, runs, run, test, active, vae_text.decoder_sentence(found))


@dataclass(frozen=True)
class Gallery:
    """Section 5's pictures: test images (one per class) with the VAE's and the autoencoder's reconstructions,
    prior samples with the classifier's label of each, the same prior codes through each decoder, and paths
    through the VAE's code beside the autoencoder's (section 4's pairs)."""

    reconstructions: list[torch.Tensor]  # original, the VAE's, the autoencoder's
    names: list[str]
    prior: torch.Tensor
    prior_captions: list[str]
    decoders: dict[str, torch.Tensor]  # decoder -> the same prior codes decoded
    paths: list[torch.Tensor]  # per class pair: through the VAE's code, through the autoencoder's
    path_labels: list[str]
    col_labels: list[str]


def gallery(ctx: Context, main: MainVAE, ae_final: Autoencoder, recon: Reconstructions, clfs: Classifiers,
            interpolation: latent.Interpolation) -> Gallery:
    """The images section 5's figures show (no metrics): reconstructions of `recon.examples` by the VAE
    (from the mean code) and by the kept autoencoder, the profile's `grid_samples` prior samples labelled by
    the judge (`clfs.judge`), `DECODER_SAMPLES` prior codes through each decoder, and the VAE's paths between
    section 4's interpolation pairs."""
    splits, classes, model, examples = ctx.splits, ctx.classes, main.run.model, recon.examples
    rows = [examples.images[0::2], reconstruct(model, examples)[0::2],
            ae.reconstruct(ae_final.run.model, examples, splits)[0::2]]
    prior = prior_samples(model, ctx.profile.grid_samples, seed=ctx.seed, device=ctx.device)
    prior_probs = finetune.probabilities(clfs.judge, latent.as_set(prior, classes), splits)
    decoders = {d: prior_samples(r.model, DECODER_SAMPLES, seed=ctx.seed, device=ctx.device)
                for d, r in main.decoder_runs.items()}
    vae_paths = latent.paths(model.mean_encoder(), model.image_decoder(), splits.test, interpolation.pairs,
                             interpolation.steps, mean=0.0, std=1.0)
    paths = [p for v, a in zip(vae_paths, interpolation.paths) for p in (v[0], a[0])]
    labels = [f"{a} → {b}\n{kind}" for a, b in interpolation.class_pairs for kind in ("VAE", "autoencoder")]
    return Gallery(rows, list(recon.names), prior, latent.captions(prior_probs, classes), decoders, paths,
                   labels, interpolation.col_labels)


@dataclass(frozen=True)
class Likelihood:
    """Section 5's test likelihood (`vae.likelihood`) and its sentence against the published numbers."""

    found: dict
    finding: str


def likelihood(ctx: Context, main: MainVAE) -> Likelihood:
    """The test ELBO and importance-weighted negative log-likelihood of the VAE on the profile's `nll_images`
    (class-balanced; all test images when None) with `nll_samples` importance samples each; merged into
    `vae.likelihood`."""
    splits, profile = ctx.splits, ctx.profile
    images = (splits.test.subset(balanced_subset(splits.test.labels, profile.nll_images, profile.seed))
              if profile.nll_images else splits.test)
    found = held_out_likelihood(main.run.model, images, samples=profile.nll_samples, seed=ctx.seed)
    found = ctx.merge("vae", {"likelihood": found})["likelihood"]
    yardsticks = published.for_dataset(ctx.dataset.name).vae_nll
    return Likelihood(found, vae_text.likelihood(found, published.values(yardsticks)))


@dataclass(frozen=True)
class TwoD:
    """Section 5's VAE with a two-number code: its run, its decoded manifold (`GRID_STEPS` rows), the mean
    codes of section 4's map images with their classes, and its test terms (`vae.two_d`)."""

    run: Run
    manifold: list[torch.Tensor]
    coords: np.ndarray
    labels: np.ndarray
    found: dict


def two_d(ctx: Context, main: MainVAE, reps: latent.Representations) -> TwoD:
    """The main VAE's recipe with a 2-D code: trained, its manifold decoded over a grid of prior quantiles,
    the test images of section 4's maps encoded; its test terms merged into `vae.two_d`."""
    splits = ctx.splits
    run = train_vae(replace(main.config, latent_dim=2), main.spec, splits, warmup_epochs=main.warmup,
                    run_dir=ctx.run_dir, desc="vae 2-d", eval_batch_size=ctx.eval_batch_size)
    grid = latent_grid(run.model, GRID_STEPS, device=ctx.device)
    coords = latent.encode(run.model.mean_encoder(), splits.test, mean=0.0, std=1.0).cpu().numpy()
    found = ctx.merge("vae", {"two_d": terms(run.model, splits.test, seed=ctx.seed)})["two_d"]
    manifold = list(grid.view(GRID_STEPS, GRID_STEPS, 1, 28, 28))
    return TwoD(run, manifold, coords[reps.points], reps.point_labels, found)


@dataclass(frozen=True)
class VariantComparison:
    """Section 5's β and warm-up variants: their rows, the `vae.variants` entries, the note on their budget,
    their table and their sentence."""

    rows: dict[str, dict]
    found: dict
    note: str
    table: str
    finding: str


def variants(ctx: Context, main: MainVAE, clfs: Classifiers) -> VariantComparison:
    """Each of `VARIANTS` trained at the comparison budget (the comparison images, `compare_epochs`), its
    test terms, active dimensions and the share of the profile's `variant_samples` prior samples the judge
    (`clfs.judge`) gives some class confidently; merged into `vae.variants` and `vae.variants_budget`."""
    profile, splits, classes = ctx.profile, ctx.splits, ctx.classes
    train = comparison_train(splits, profile)
    runs = train_variants(VARIANTS, main.config, spec(profile, profile.compare_epochs), splits, train,
                          warmup_for(profile.compare_epochs), run_dir=ctx.run_dir,
                          eval_batch_size=ctx.eval_batch_size)
    rows = compare_variants(
        VARIANTS, runs, splits,
        lambda images: finetune.probabilities(clfs.judge, latent.as_set(images, classes), splits),
        samples=profile.variant_samples, seed=ctx.seed)
    found = variants_metrics(rows)
    budget = {"images": len(train), "epochs": profile.compare_epochs}
    ctx.merge("vae", {"variants": found, "variants_budget": budget})
    note = vae_text.variants_note(len(train), profile.compare_epochs, len(splits.train), main.spec.epochs)
    return VariantComparison(rows, found, note, variants_table(rows),
                             vae_text.variants(found, confident=CONFIDENT))


def representation(ctx: Context, main: MainVAE, reps: latent.Representations) -> latent.Joined:
    """The VAE's mean code of every image (its encoder reads grey pixels) joins section 4's structure measures
    (`latent.structure`) and maps."""
    reps.add("vae", f"VAE mean ({main.config.latent_dim})",
             latent.encoder_features(main.run.model.mean_encoder(), ctx.splits, mean=0.0, std=1.0))
    reps.measure(["vae"])
    reps.draw(["vae"])
    return reps.joined(("ae", "vae"))


@dataclass(frozen=True)
class FewLabels:
    """Section 5's few-label table: statistics over draws per method and representation, the `few_labels`
    entries, the share of the feature maps' variance their projections keep, both tables and the sentence."""

    stats: dict[str, dict[str, dict[int, dict]]]
    found: dict
    kept: dict[str, float]  # "ae", "vae"
    svm_table: str
    logreg_table: str
    finding: str

    @property
    def projections(self) -> str:
        return (f"the projections keep {self.kept['ae']:.1%} (autoencoder) and {self.kept['vae']:.1%} (VAE) "
                f"of the feature maps' variance")


def few_labels(ctx: Context, ae_final: Autoencoder, main: MainVAE, reps: latent.Representations) -> FewLabels:
    """The autoencoder's and the VAE's 64x7x7 feature maps projected on their first `map_components` principal
    directions (kept in `reps` for section 6); raw pixels, `FEW_LABEL_PCA` principal components, both codes
    and both feature maps read from few labels (`reps.few`); merged into `few_labels`."""
    splits, n = ctx.splits, ctx.profile.map_components
    ae_map, kept = latent.project(latent.encoder_features(ae_final.run.model.encoder.features, splits), n,
                                  seed=ctx.seed)
    vae_maps = latent.encoder_features(main.run.model.encoder.features, splits, mean=0.0, std=1.0)
    vae_map, vae_kept = latent.project(vae_maps, n, seed=ctx.seed)
    reps.add("ae_features", f"autoencoder feature map (PCA {n})", ae_map)
    reps.add("vae_features", f"VAE feature map (PCA {n})", vae_map)
    pca = latent.pca_features(splits, FEW_LABEL_PCA, seed=ctx.seed)
    reps.add(f"pca{FEW_LABEL_PCA}", f"PCA ({FEW_LABEL_PCA} components)", pca)
    reps.read_few(["raw", f"pca{FEW_LABEL_PCA}", "ae", "ae_features", "vae", "vae_features", "ae_random",
                   "ae_features_random"])
    stats, found = reps.few.statistics(), reps.few.metrics()
    ctx.merge("few_labels", {**found, "ae_features_variance_kept": kept,
                             "vae_features_variance_kept": vae_kept})
    return FewLabels(stats, found, {"ae": kept, "vae": vae_kept},
                     fewlabels.sweep_table(stats["svm"], first="RBF SVM"),
                     fewlabels.sweep_table(stats["logreg"], first="logistic regression"),
                     " ".join(t for t in (vae_text.few_labels(found), rep_text.few_over_random(found)) if t))
