"""Section 6: SimCLR contrastive pretraining on the shared loop.

Two strongly augmented views of every image of a batch are made at once on the device (`data.two_views`);
the encoder and a projection head map both, and the NT-Xent loss asks each view to pick its partner among
the 2N - 1 other views of the batch. No label reaches training: the only labelled images are a held-out
sample that a k-NN monitor scores after each epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import fewlabels, finetune, latent
from .context import Context
from .data import Batch, ImageSet, Splits, Views, fitted, two_views
from .findings import representations as rep_text
from .models import DECODERS, AEConfig, SimCLRNet, count_parameters
from .statistics import paired_difference
from .training import LossFn, Run, TrainSpec, outputs, train_model

if TYPE_CHECKING:
    from .autoencoder import Autoencoder
    from .finetune import Classifiers

DEFAULT_VIEWS = Views()
TEMPERATURE = 0.5  # of the NT-Xent loss
VIEW_EXAMPLES = 10  # training images shown with their two views


def _pair_logits(z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities between all 2N L2-normalized projections (each one's own entry set to -inf), and
    for each row the index of its partner view."""
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sims = (z @ z.T).fill_diagonal_(float("-inf"))
    partner = torch.arange(2 * n, device=z.device).roll(n)
    return sims, partner


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """The normalized-temperature cross-entropy of SimCLR for N positive pairs (z1[i], z2[i]): each of the 2N
    projections, L2-normalized, classifies its partner among the other 2N - 1 by cosine similarity / temperature;
    the mean of the 2N cross-entropies."""
    sims, partner = _pair_logits(z1, z2)
    return F.cross_entropy(sims / temperature, partner)


def contrastive_loss(views: Views, *, mean: float, std: float, temperature: float = TEMPERATURE) -> LossFn:
    """The loop's loss for a `SimCLRNet`: two views of the batch's clean images (drawn with the default
    generator, which checkpoints save and restore), normalized with `mean` / `std`; NT-Xent, and the share of
    views whose most similar other view is their partner (`pair_accuracy`). Labels are never read."""
    def loss(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        v1, v2 = two_views(batch.images, views)
        z = model(torch.cat([(v1 - mean) / std, (v2 - mean) / std])).float()  # one pass: shared BatchNorm statistics
        sims, partner = _pair_logits(*z.chunk(2))
        return {"loss": F.cross_entropy(sims / temperature, partner),
                "pair_accuracy": (sims.detach().argmax(1) == partner).float().mean()}
    return loss


def knn_accuracy(reference: torch.Tensor, reference_labels: torch.Tensor, queries: torch.Tensor,
                 query_labels: torch.Tensor, k: int = 5) -> float:
    """k-NN accuracy by cosine similarity (majority vote of the k most similar reference rows), on the device."""
    ref, q = F.normalize(reference.float(), dim=1), F.normalize(queries.float(), dim=1)
    top = (q @ ref.T).topk(k, dim=1).indices
    votes = F.one_hot(reference_labels[top], int(reference_labels.max()) + 1).sum(1)
    return float((votes.argmax(1) == query_labels).float().mean())


def knn_monitor(labelled: ImageSet, *, mean: float, std: float, k: int = 5,
                batch_size: int = 2000) -> Callable[[nn.Module], dict[str, float]]:
    """After each epoch: encode `labelled` (held-out images, e.g. the validation split) with the model's encoder,
    and score k-NN of its second half against its first. Only this monitor reads these labels."""
    half = len(labelled) // 2

    def monitor(model: nn.Module) -> dict[str, float]:
        feats = outputs(model.encoder, labelled, lambda m, x: m(x), mean=mean, std=std, batch_size=batch_size)
        return {"knn_monitor": knn_accuracy(feats[:half], labelled.labels[:half], feats[half:],
                                            labelled.labels[half:], k)}
    return monitor


def spec(epochs: int, batch_size: int, seed: int, lr: float = 2e-3) -> TrainSpec:
    """AdamW with a cosine schedule and light weight decay; large batches (more negatives per view)."""
    return TrainSpec(epochs=epochs, optimizer="adamw", lr=lr, weight_decay=1e-4, batch_size=batch_size,
                     scheduler="cosine", seed=seed)


def train_simclr(cfg: AEConfig, train_spec: TrainSpec, splits: Splits, *, views: Views = DEFAULT_VIEWS,
                 temperature: float = TEMPERATURE, train: ImageSet | None = None, run_dir: Path | None = None,
                 desc: str = "simclr") -> Run:
    """SimCLR on the shared loop (cached and resumable like every run); the k-NN monitor uses the validation
    split. No validation loss: the contrastive loss of held-out images would cost a second pass for little."""
    views = fitted(views, train or splits.train)  # no flip of images it would relabel
    loss = contrastive_loss(views, mean=splits.mean, std=splits.std, temperature=temperature)
    cfg = replace(cfg, decoder=DECODERS[0])  # SimCLR has no decoder: the choice must not change its cache key
    model, history = train_model(lambda: SimCLRNet(cfg), loss, train or splits.train, None, train_spec,
                                 model_key=("simclr", cfg.as_dict(), views, temperature), run_dir=run_dir, desc=desc,
                                 mean=splits.mean, std=splits.std,
                                 monitor=knn_monitor(splits.val, mean=splits.mean, std=splits.std))
    return Run(model, history)


def view_examples(data: ImageSet, n: int, views: Views = DEFAULT_VIEWS, *, seed: int) -> list[torch.Tensor]:
    """The first `n` images of `data` on [0, 1] and two strong views of each, drawn with `seed`."""
    originals = data.images[:n].float() / 255
    views = fitted(views, data)  # as training draws them
    return [originals, *two_views(originals, views, torch.Generator(device=data.device).manual_seed(seed))]


# ----------------------------------------------------------------------------- section 6's steps


@dataclass(frozen=True)
class Pretrained:
    """Section 6's SimCLR run: the configuration of the encoder (the kept autoencoder's), the recipe, the
    run, `VIEW_EXAMPLES` training images with two views each (rows: original, view 1, view 2) and their
    classes, and the k-NN monitor after the last epoch."""

    config: AEConfig
    spec: TrainSpec
    run: Run
    views: list[torch.Tensor]
    view_classes: list[str]
    knn_monitor: float


def pretrain(ctx: Context, ae_final: Autoencoder) -> Pretrained:
    """SimCLR on the training split with the kept autoencoder's encoder architecture (the profile's
    `simclr_epochs` and `simclr_batch`); merged into `simclr` with its parameters (projection head included)."""
    splits = ctx.splits
    views = view_examples(splits.train, VIEW_EXAMPLES, seed=ctx.seed)
    classes = [ctx.classes[int(y)] for y in splits.train.labels[:VIEW_EXAMPLES]]
    train_spec = spec(ctx.profile.simclr_epochs, ctx.profile.simclr_batch, ctx.seed)
    run = train_simclr(ae_final.config, train_spec, splits, run_dir=ctx.run_dir)
    knn = run.history.rows[-1]["knn_monitor"]
    ctx.merge("simclr", {"spec": train_spec, "views": fitted(DEFAULT_VIEWS, splits.train),
                         "temperature": TEMPERATURE, "history": run.history.rows, "knn_monitor": knn,
                         "parameters": count_parameters(run.model)})
    return Pretrained(ae_final.config, train_spec, run, views, classes, knn)


def representation(ctx: Context, pretrained: Pretrained, reps: latent.Representations) -> latent.Joined:
    """SimCLR's encoder read at its last feature map (64x7x7, projected on its first `map_components`
    principal directions) and at its code join section 4's structure measures with the autoencoder's and the
    VAE's feature maps (`latent.structure`); its feature map is drawn. Merged into `simclr`: where it is read,
    the variance kept, and k-NN and linear-probe accuracy at both places."""
    splits, n, model = ctx.splits, ctx.profile.map_components, pretrained.run.model
    features, kept = latent.project(latent.encoder_features(model.encoder.features, splits), n, seed=ctx.seed)
    reps.add("simclr", f"SimCLR feature map (PCA {n})", features)
    reps.add("simclr_code", f"SimCLR code ({pretrained.config.latent_dim})",
             latent.encoder_features(model.encoder, splits))
    reps.measure(["ae_features", "vae_features", "ae_features_random", "simclr", "simclr_code"])
    reps.draw(["simclr"])
    read = lambda key: {k: reps.rows[reps.name(key)][k] for k in ("linear_probe_accuracy", "knn_accuracy")}
    ctx.merge("simclr", {"read_at": f"feature map (64x7x7 flattened, PCA {n})", "variance_kept": kept,
                         **read("simclr"), "code": read("simclr_code")})
    return reps.joined(("ae", "vae", "simclr"))


@dataclass(frozen=True)
class FewLabels:
    """The few-label table with SimCLR's row: statistics over draws per method and representation, and the
    RBF SVM's table."""

    stats: dict[str, dict[str, dict[int, dict]]]
    svm_table: str


def few_labels(ctx: Context, reps: latent.Representations) -> FewLabels:
    """SimCLR's feature map read from few labels by section 5's protocol on the same draws; the whole table
    merged into `few_labels`."""
    reps.read_few(["simclr"])
    stats = reps.few.statistics()
    ctx.merge("few_labels", reps.few.metrics())
    return FewLabels(stats, fewlabels.sweep_table(stats["svm"], first="RBF SVM"))


@dataclass(frozen=True)
class FineTuned:
    """SimCLR's encoder fine-tuned by section 3's kept variant: its run, its row beside Homework 1's network
    and section 3's fine-tuned autoencoder encoder, their table, and the sentence about SimCLR."""

    run: Run
    rows: dict[str, dict]
    table: str
    finding: str


def fine_tuned(ctx: Context, pretrained: Pretrained, clfs: Classifiers) -> FineTuned:
    """SimCLR's encoder fine-tuned with Homework 1's recipe exactly as section 3 fine-tuned the autoencoder's
    (the variant it kept); its summary row merged into `simclr.finetuned`."""
    name = f"SimCLR {clfs.fine_kept}"
    kept = finetune.on_encoder(clfs.strategies[clfs.fine_kept], pretrained.config,
                               pretrained.run.model.encoder)
    strategy = replace(kept, tag="simclr_finetuned")
    run = finetune.train_strategy(name, strategy, ctx.splits, run_dir=ctx.run_dir,
                                  eval_batch_size=ctx.eval_batch_size)
    seconds = {name: pretrained.run.history.rows[-1]["seconds"]}
    rows = {**{n: clfs.rows[n] for n in (finetune.HW1_SCRATCH, clfs.fine_kept)},
            **finetune.summary({name: run}, ctx.splits, ctx.eval_batch_size, seconds)}
    ctx.merge("simclr", {"finetuned": rows[name], "finetuned_seeds": over_seeds(ctx, name, strategy, seconds)})
    return FineTuned(run, rows, finetune.summary_table(rows), rep_text.simclr(ctx.metrics()))


def over_seeds(ctx: Context, name: str, strategy: finetune.Strategy, seconds: dict[str, float]) -> dict:
    """SimCLR's fine-tuning repeated over the profile's `seeds` at `seed_epochs`, as section 3 repeats its networks
    (`finetune.seed_runs`), and its test accuracy against section 3's runs of the same seeds (`finetune_seeds.runs`:
    Homework 1's network from scratch and the best strategy on the autoencoder's encoder), paired by seed: the
    `simclr.finetuned_seeds` entries."""
    profile = ctx.profile
    per_seed = finetune.seed_runs({name: strategy}, ctx.splits, seeds=profile.seeds, epochs=profile.seed_epochs,
                                  pretrain_seconds=seconds, run_dir=ctx.run_dir, eval_batch_size=ctx.eval_batch_size)
    mine = [r["test_accuracy"] for r in per_seed[name]]
    section3 = ctx.metrics().get("finetune_seeds", {}).get("runs", {})
    against = {role: paired_difference(mine, [r["test_accuracy"] for r in section3[role]])
               for role in ("scratch", "encoder")
               if [r["seed"] for r in section3.get(role, [])] == [r["seed"] for r in per_seed[name]]}
    return {"epochs": profile.seed_epochs, "seeds": len(mine), "stats": finetune.seed_stats(per_seed)[name],
            "against": against}
