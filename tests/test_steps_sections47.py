"""Sections 4-7 as the notebook runs them, one step after another on tiny made-up splits named and set up as
MNIST's (the data-set switch; the nbval smoke run covers Fashion-MNIST): each step merges its part of
metrics.json under the expected keys, returns fields consistent with what it merged, and extends the one
`latent.Representations` object the later steps read."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from helpers import (autoencoder as ae, config, contrastive, data, finetune, gan, latent, quality, results,
                     sidebyside, unlabeled, vae)
from helpers.context import Context
from helpers.findings import latent as latent_text
from helpers.findings.words import strategy

from .tiny import DIGITS as CLASSES, banded_set
from helpers.models import DCGAN, AEConfig, count_parameters
from helpers.training import TrainSpec

CFG = AEConfig(channels=(8, 16), latent_dim=4)


TINY = replace(config.PROFILES["smoke"], name="tiny", ae_epochs=1, compare_epochs=1, compare_limit=None,
               label_counts=(20,), label_draws=1, tsne_points=50, samples_per_class=2, nll_images=10,
               nll_samples=2, simclr_epochs=1, simclr_batch=64, gan_epochs=1, gan_batch=64,
               quality_samples=50, interpolation_steps=3, grid_samples=4, variant_samples=10,
               map_components=8, self_training_counts=(20,), self_training_epochs=1, self_training_batch=4)


class _QuickMap:
    """Stands in for t-SNE (tested in test_latent.py): the first two columns, in no time."""

    def __init__(self, **settings) -> None:
        self.settings = settings

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, :2]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Every step of sections 4-7 in the notebook's order, with section 1-3's objects made small."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(latent, "TSNE", _QuickMap)
        return _steps(tmp_path_factory.mktemp("steps47"))


def _steps(run_dir):
    splits = data.Splits(*(banded_set(n, seed, CLASSES) for n, seed in ((20, 0), (6, 1), (10, 2))), 0.3, 0.3)
    ctx = Context(TINY, torch.device("cpu"), splits, run_dir, results.SectionClock(run_dir),
                  dataset=config.DATASETS["mnist"])  # the data-set switch through every step (nbval: Fashion)
    torch.manual_seed(0)
    spec = TrainSpec(epochs=1, batch_size=64)
    ae_final = SimpleNamespace(config=CFG, spec=spec, run=ae.train_autoencoder(CFG, spec, splits,
                                                                               eval_batch_size=1000))
    examples = ae.examples_per_class(splits.test, 2, seed=0)
    recon = SimpleNamespace(examples=examples, images=ae.reconstruct(ae_final.run.model, examples, splits),
                            names=[CLASSES[int(y)] for y in examples.labels[0::2]])
    clf_spec = TrainSpec(epochs=1, lr=1e-2, batch_size=64, monitor="accuracy", mode="max", patience=5)
    strategies = finetune.strategies(CFG, ae_final.run.model.encoder, clf_spec)
    kept = "fine-tuned (one lr)"
    runs = {n: finetune.train_strategy(n, strategies[n], splits, eval_batch_size=1000)
            for n in (finetune.HW1_SCRATCH, kept)}
    clfs = SimpleNamespace(spec=clf_spec, strategies=strategies, rows=finetune.summary(runs, splits, 1000),
                           fine_kept=kept, best_name=kept, best_model=runs[kept].model, colours={},
                           judge_name=finetune.HW1_SCRATCH, judge=runs[finetune.HW1_SCRATCH].model)
    found = SimpleNamespace(ctx=ctx, ae_final=ae_final, clfs=clfs)
    found.structure = latent.representations(ctx, ae_final, clfs)
    reps = found.reps = found.structure.reps
    found.class_maps = latent.class_maps(ctx, reps)
    found.new_images = latent.new_images(ctx, ae_final, clfs, reps)
    found.interpolation = latent.interpolation(ctx, ae_final, clfs)
    found.sweep = latent.principal_sweep(ctx, ae_final, reps)
    found.vae_main = vae.train_main(ctx, ae_final)
    found.gallery = vae.gallery(ctx, found.vae_main, ae_final, recon, clfs, found.interpolation)
    found.likelihood = vae.likelihood(ctx, found.vae_main)
    found.two_d = vae.two_d(ctx, found.vae_main, reps)
    found.variants = vae.variants(ctx, found.vae_main, clfs)
    found.vae_space = vae.representation(ctx, found.vae_main, reps)
    found.few = vae.few_labels(ctx, ae_final, found.vae_main, reps)
    found.simclr = contrastive.pretrain(ctx, ae_final)
    found.simclr_space = contrastive.representation(ctx, found.simclr, reps)
    found.simclr_few = contrastive.few_labels(ctx, reps)
    found.simclr_tuned = contrastive.fine_tuned(ctx, found.simclr, clfs)
    found.propagated = unlabeled.propagation(ctx, reps)
    found.self_trained = unlabeled.self_training(ctx, found.simclr, reps)
    found.semi = unlabeled.summary(ctx, reps, found.propagated, found.self_trained)
    found.dcgan = gan.dcgan(ctx)
    found.generators = quality.generators(ctx, ae_final, found.vae_main, found.dcgan, clfs, reps)
    found.side_by_side = sidebyside.compare(ctx, reps, found.generators)
    found.metrics = ctx.metrics()
    return found


def test_section_four_measures_four_representations_and_later_sections_add_theirs(run):
    first = run.structure.found
    assert list(first) == ["raw", "pca", "ae", "ae_random", "classifier"]
    assert first["classifier"]["name"] == f"best classifier's features ({strategy(run.clfs.best_name)})"
    assert first["pca"]["dims"] == first["ae"]["dims"] == CFG.latent_dim and first["raw"]["dims"] == 784
    assert run.structure.table.count("\n") == 1 + 5  # header, rule and one row each
    assert f"{run.structure.found['ae']['knn_accuracy']:.1%}" in run.structure.finding
    control = first["ae_random"]
    assert control["inits"] == latent.RANDOM_INITS == len(control["knn_accuracy_inits"])
    assert control["dims"] == CFG.latent_dim and first["ae"]["random_control"] == "ae_random"
    assert "random weights" in run.structure.finding
    structure = run.metrics["latent"]["structure"]
    assert sorted(structure) == sorted(["raw", "pca", "ae", "ae_random", "classifier", "vae", "ae_features",
                                        "vae_features", "ae_features_random", "simclr", "simclr_code"])
    features = structure["vae_features"]["random_control"]
    assert structure["simclr"]["random_control"] == features == "ae_features_random"
    assert structure["ae_features"]["name"] == "autoencoder feature map (PCA 8)"
    assert structure["simclr"]["dims"] == TINY.map_components
    assert {run.reps.keys[n]: {"name": n, **row} for n, row in run.reps.rows.items()} == structure


def test_maps_and_mixing_cover_the_mapped_spaces_on_the_same_test_images(run):
    latent_found = run.metrics["latent"]
    assert latent_found["maps"]["points"] == len(run.reps.points) == TINY.tsne_points
    assert sorted(k for k in latent_found["maps"] if k.endswith("tsne_seconds")) == [
        f"{k}_tsne_seconds" for k in sorted(latent.MAPPED)]
    assert sorted(latent_found["mixing"]) == sorted(latent.MAPPED) == sorted(run.class_maps.mixing)
    assert len(run.class_maps.labels) == TINY.tsne_points
    assert all(m["tsne"].shape == (TINY.tsne_points, 2) for m in run.class_maps.maps.values())
    assert sorted(run.reps.maps) == sorted(run.reps.name(k) for k in (*latent.MAPPED, "vae", "simclr"))


def test_new_images_are_checked_and_one_of_each_class_is_shown_with_its_neighbour(run):
    new, generation = run.new_images, run.metrics["latent"]["generation"]
    assert generation == new.generation and generation["samples_per_class"] == TINY.samples_per_class
    assert generation["gaussian"]["n"] == TINY.grid_samples == len(new.gaussian_captions)
    assert generation["recognition"]["n"] == TINY.samples_per_class * len(CLASSES)
    assert len(new.shown) == len(new.neighbours) == len(new.distances) == len(CLASSES)
    assert new.shown_classes == list(CLASSES)
    shown_labels = new.made.per_class.labels[[int(np.flatnonzero(new.made.per_class.labels.numpy() == c)[0])
                                              for c in range(len(CLASSES))]]
    assert shown_labels.tolist() == list(range(len(CLASSES)))


def test_interpolation_and_the_sweep_merge_their_entries_and_their_figure_rows(run):
    paths, found = run.interpolation, run.metrics["latent"]["interpolation"]
    assert found == paths.found and found["steps"] == TINY.interpolation_steps
    assert found["judge"] == finetune.HW1_SCRATCH and found["score"] == "density"
    assert found["pairs"] == TINY.interpolation_pairs == found["all"]["pairs"]
    assert found["within"]["pairs"] == found["across"]["pairs"] == TINY.interpolation_pairs // 2
    assert {"passed", "noise_not_last", "real_not_above", "mean_density"} <= set(found["check"])
    for kind in ("within", "across", "all"):
        row = found[kind]
        assert row["difference"]["mean"] == pytest.approx(row["code"] - row["pixels"])
        assert row["difference"]["low"] <= row["difference"]["mean"] <= row["difference"]["high"]
        assert 0 <= row["code_wins"] <= 1
    assert paths.table.count("\n") == 1 + 3 and paths.finding
    control = found["against_reconstruction_fade"]  # the same code paths against fades of their decoded ends
    assert control["code"] == pytest.approx(found["all"]["code"]) and control["pairs"] == found["pairs"]
    assert control["difference"]["mean"] == pytest.approx(control["code"] - control["fade"])
    fades = latent.reconstruction_fades(torch.stack([p[0] for p in paths.paths]))
    assert torch.equal(fades[:, 0], torch.stack([p[0][0] for p in paths.paths]))  # a fade starts at the decoded end
    assert paths.reading == latent_text.paths_reading(found)
    assert len(paths.rows) == len(paths.row_labels) == 2 * len(latent.EXAMPLE_PAIRS["mnist"])
    assert all(r.shape[0] == TINY.interpolation_steps for r in paths.rows)
    assert len(paths.col_labels) == TINY.interpolation_steps
    for (a, b), (i, j) in zip(latent.EXAMPLE_PAIRS["mnist"], paths.pairs):  # each pair of the classes it names
        labels = run.ctx.splits.test.labels
        assert (CLASSES[int(labels[i])], CLASSES[int(labels[j])]) == (a, b)
    explorer = run.metrics["latent"]["explorer"]
    assert explorer["axes"] == latent.SWEEP_AXES == len(run.sweep.rows) == len(run.sweep.row_labels)
    assert explorer[f"explained_by_{latent.SWEEP_AXES}"] == pytest.approx(sum(explorer["explained"]))
    assert all(r.shape == (latent.SWEEP_STEPS, 1, 28, 28) for r in run.sweep.rows)


def test_the_vae_steps_merge_the_decoders_likelihood_two_d_and_variants(run):
    found, main = run.metrics["vae"], run.vae_main
    assert {"config", "spec", "warmup_epochs", "test", "active_dims", "history", "decoders", "likelihood",
            "two_d", "variants", "variants_budget"} <= set(found)
    assert sorted(found["decoders"]) == sorted(main.decoder_runs)
    assert main.run is main.decoder_runs[main.config.decoder]
    assert found["config"]["decoder"] == main.config.decoder and found["warmup_epochs"] == main.warmup == 1
    assert found["test"] == main.test and found["active_dims"] == main.active
    assert found["likelihood"] == run.likelihood.found and found["likelihood"]["images"] == TINY.nll_images
    assert "84.45" in run.likelihood.finding and "228" not in run.likelihood.finding  # MNIST's yardstick only
    assert found["two_d"] == run.two_d.found and run.two_d.coords.shape == (TINY.tsne_points, 2)
    assert len(run.two_d.manifold) == vae.GRID_STEPS
    assert sorted(found["variants"]) == sorted(vae.variants_metrics(run.variants.rows))
    assert found["variants_budget"] == {"images": len(run.ctx.splits.train), "epochs": TINY.compare_epochs}
    assert len(run.gallery.reconstructions) == 3 and len(run.gallery.prior_captions) == TINY.grid_samples
    assert len(run.gallery.paths) == len(run.gallery.path_labels) == 2 * len(latent.EXAMPLE_PAIRS["mnist"])


def test_the_few_label_table_grows_by_section_and_keeps_its_keys(run):
    few = run.metrics["few_labels"]
    keys = ["raw", f"pca{vae.FEW_LABEL_PCA}", "ae", "ae_features", "vae", "vae_features", "ae_random",
            "ae_features_random"]
    assert [run.few.found[k]["name"] for k in keys] == list(run.few.stats["svm"])
    assert set(few) == {*keys, "simclr", "protocol", "ae_features_variance_kept",
                        "vae_features_variance_kept"}
    assert few["ae_random"]["inits"] == latent.RANDOM_INITS and "logreg" not in few["ae_random"]
    assert few["ae"]["random_control"] == "ae_random" and few["simclr"]["random_control"] == "ae_features_random"
    assert few["ae_features_variance_kept"] == run.few.kept["ae"] and 0 < run.few.kept["vae"] <= 1
    assert list(run.simclr_few.stats["svm"]) == [*run.few.stats["svm"], run.reps.name("simclr")]
    simclr = run.simclr_few.stats["svm"][run.reps.name("simclr")]
    assert few["simclr"]["svm"]["n20"]["mean"] == simclr[20]["mean"]


def test_the_simclr_steps_merge_its_run_where_it_is_read_and_its_fine_tuning(run):
    found = run.metrics["simclr"]
    assert found["knn_monitor"] == run.simclr.knn_monitor and found["temperature"] == contrastive.TEMPERATURE
    assert found["read_at"] == f"feature map (64x7x7 flattened, PCA {TINY.map_components})"
    rows = run.reps.rows
    assert found["knn_accuracy"] == rows[run.reps.name("simclr")]["knn_accuracy"]
    code = rows[run.reps.name("simclr_code")]
    assert found["code"]["linear_probe_accuracy"] == code["linear_probe_accuracy"]
    name = f"SimCLR {run.clfs.fine_kept}"
    assert list(run.simclr_tuned.rows) == [finetune.HW1_SCRATCH, run.clfs.fine_kept, name]
    assert found["finetuned"] == results.plain(run.simclr_tuned.rows[name])
    assert len(run.simclr.views) == 3 and len(run.simclr.view_classes) == contrastive.VIEW_EXAMPLES
    assert found["views"]["flip"] is False  # SimCLR never mirrors a digit


def test_the_unlabeled_images_steps_merge_both_methods_on_the_few_label_draws(run):
    found, few = run.metrics["unlabeled"], run.reps.few
    assert found == results.plain(run.semi.found)
    assert found["targets"] == {} and "our aim" not in run.semi.finding  # Fashion-MNIST's aims, not MNIST's
    assert sorted(found["label_propagation"]["methods"]) == sorted(unlabeled.PROPAGATED)
    assert found["protocol"]["draw_digests"]["n20"] == [results.array_digest(i) for i in few.draws[20]]
    svm = few.statistics()["svm"]
    for key, m in found["label_propagation"]["methods"].items():
        assert m["n20"]["baseline"]["mean"] == svm[run.reps.name(key)][20]["mean"]  # its own SVM row
    st = found["self_training"]["methods"]["simclr"]
    assert st["pretrain_seconds"] == run.simclr.run.history.rows[-1]["seconds"]
    assert len(st["n20"]["draws"]) == len(st["n20"]["baseline"]["draws"]) == len(few.draws[20])
    measured = [m["n20"]["mean"] for kind in ("label_propagation", "self_training")
                for m in found[kind]["methods"].values()]
    assert found["best"]["n20"]["mean"] == max(measured)
    every_label = {len(run.ctx.splits.train): run.metrics["simclr"]["finetuned"]["test_accuracy"]}
    assert run.semi.references == {"SimCLR fine-tuned, every label": every_label}
    assert set(run.semi.curves) == set(run.semi.colours) == set(run.semi.styles)


def test_the_generators_are_scored_in_groups_and_the_closing_table_has_every_representation(run):
    assert run.metrics["gan"]["config"] == results.plain(gan.CONFIG)
    assert run.metrics["gan"]["history"] == results.plain(run.dcgan.run.history.rows)
    generators = run.metrics["generators"]
    assert generators == run.generators.found
    assert generators["judge"] == finetune.HW1_SCRATCH and finetune.HW1_SCRATCH in generators["feature_space"]
    assert set(generators["checks"]) == set(quality.MEASURES)
    assert generators["ranked_by"] == [by for by in quality.RANKED_BY if generators["checks"][by]["passed"]]
    second = generators["second_opinion"]
    assert generators["best_is_judge"] == (run.clfs.best_name == run.clfs.judge_name)
    if generators["best_is_judge"]:  # no second feature space to read
        assert second is None and run.generators.second == {} and not run.generators.second_table
    else:
        assert second["model"] == run.clfs.best_name and set(second["sets"]) == set(generators["sets"])
        assert set(second["agreement"]) == set(generators["ranked_by"])
        assert bool(run.generators.second_table) == second["agrees"] == bool(second["rankings"])
        assert "copies" not in second["sets"]["dcgan"]  # pixel scores are the judge's table's only
        assert second["sets"]["dcgan"]["draws"] == quality.SCORE_DRAWS  # pooled over the judge's draws
    assert generators["coverage_of_real"]["dcgan"] == pytest.approx(
        generators["sets"]["dcgan"]["coverage"] / generators["sets"]["real_held_out_images"]["coverage"])
    assert list(run.generators.sets)[:3] == run.generators.references == list(quality.ROLES)
    assert sorted(run.generators.groups) == [quality.CONDITIONAL, quality.UNCONDITIONAL]
    assert all(s["n"] == TINY.quality_samples for s in generators["sets"].values())
    assert "DCGAN" in run.generators.groups[quality.UNCONDITIONAL]
    for (images, drawn_for), shown in zip(run.generators.sets.values(), run.generators.shown):
        picked = list(range(0, len(images), max(1, len(images) // quality.SHOWN)))[:quality.SHOWN]
        assert torch.equal(shown, images[picked])  # spread through the set, not its first few
        if drawn_for is not None:  # a set drawn class by class shows one image of each class
            assert drawn_for[picked].unique().numel() == min(quality.SHOWN, drawn_for.unique().numel())
    reps = run.metrics["representations"]
    assert list(run.side_by_side.rows) == [key for _, key, _ in sidebyside.ROWS] + ["classifier"]
    assert reps == results.plain(run.side_by_side.rows)
    assert reps["classifier"]["supervised"] and reps["classifier"]["label"] == run.reps.name("classifier")
    assert reps["ae"]["knn_accuracy"] == run.reps.rows[run.reps.name("ae")]["knn_accuracy"]
    assert reps["simclr_code"]["few_n100"] is None  # not read from few labels
    assert run.metrics["side_by_side"]["closing"] == run.side_by_side.closing.replace("**", "")


def test_the_models_table_reads_each_trained_model_and_counts_its_own_parameters(run):
    metrics = run.metrics
    assert metrics["gan"]["parameters"] == count_parameters(run.dcgan.run.model) == count_parameters(DCGAN(gan.CONFIG))
    assert metrics["vae"]["parameters"] == count_parameters(run.vae_main.run.model)
    assert metrics["vae"]["seconds"] == run.vae_main.run.history.rows[-1]["seconds"]
    assert metrics["simclr"]["parameters"] == count_parameters(run.simclr.run.model)
    assert metrics["simclr"]["finetuned"]["pretrain_seconds"] == run.simclr.run.history.rows[-1]["seconds"]
    models = metrics["side_by_side"]["models"]
    assert models == results.plain(run.side_by_side.models) and list(run.side_by_side.models) == [
        m.key for m in sidebyside.MODELS]
    for key, section in (("vae", "vae"), ("simclr", "simclr"), ("dcgan", "gan")):
        assert models[key]["parameters"] == metrics[section]["parameters"]
    # the autoencoder's row is the model sections 3-7 read, section 2's kept one: this run has no section 2,
    # so its row stays empty rather than borrowing another model's numbers
    assert "search_cv" not in metrics and models["ae"]["parameters"] is models["ae"]["seconds"] is None
    assert models["simclr"]["seconds"] == metrics["simclr"]["finetuned"]["pretrain_seconds"]
    assert models["dcgan"]["seconds"] == metrics["gan"]["seconds"]
    reps, sets = metrics["representations"], metrics["generators"]["sets"]
    assert models["simclr"]["linear_probe_accuracy"] == max(reps[k]["linear_probe_accuracy"]
                                                            for k in ("simclr", "simclr_code"))
    assert models["vae"]["generator"] == quality.prior_name(metrics["vae"]["config"]["decoder"])
    for key in ("ae", "vae", "dcgan"):  # every generator's name is a scored set of section 7
        assert models[key]["frechet"] == sets[quality.key(models[key]["generator"])]["frechet"]
    # sections 1-3 did not run here: their models' parameters, and the Homework 1 network's row, are dashes
    assert models["ae"]["parameters"] is None and models["hw1"]["parameters"] is None
    hw1 = next(line for line in run.side_by_side.models_table.splitlines() if line.startswith("| Homework 1"))
    assert set(hw1.strip("| ").split(" | ")[1:]) == {"–"}
