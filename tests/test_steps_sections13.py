"""Sections 1-3 as the notebook runs them, one step after another on tiny made-up splits named and set up as
MNIST's (the data-set switch; the nbval smoke run covers Fashion-MNIST): each step merges its part of
metrics.json under the expected keys, returns fields consistent with what it merged, and hands the next steps the
objects they read (`ae_main`, `recon`, `ae_final`, `clfs`)."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from helpers import autoencoder as ae, config, data, finetune, results, tuning
from helpers.context import Context

from .tiny import DIGITS as CLASSES, banded_set
from helpers.findings import autoencoder as fa
from helpers.findings.words import plus_minus, sig



TINY = replace(config.PROFILES["smoke"], name="tiny", ae_epochs=1, compare_epochs=1, sweep_epochs=1,
               compare_limit=None, reg_limit=100, reg_epochs=2, code_sizes=(2, 4), trials=2,
               search_limit=None, search_epochs=1, sampler_seeds=1, search_folds=2, search_finalists=1,
               folds=2, clf_epochs=1, hw1_epochs=1, seeds=2, seed_epochs=1, label_counts=(20,), label_draws=1,
               label_steps=2, confident_errors=4, eval_batch_size=1000, search_cv_limit=None, fidelity_limit=None,
               fidelity_configs=2, clf_trials=2, clf_search_limit=None, clf_search_epochs=1, clf_cv_limit=None)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Every step of sections 1-3 in the notebook's order."""
    run_dir = tmp_path_factory.mktemp("steps13")
    splits = data.Splits(*(banded_set(n, seed, CLASSES) for n, seed in ((20, 0), (6, 1), (10, 2))), 0.3, 0.3)
    ctx = Context(TINY, torch.device("cpu"), splits, run_dir, results.SectionClock(run_dir),
                  dataset=config.DATASETS["mnist"])  # the data-set switch through every step (nbval: Fashion)
    torch.manual_seed(0)
    found = SimpleNamespace(ctx=ctx)
    found.decoders = ae.main_model(ctx)
    ae_main = found.ae_main = found.decoders.model
    found.recon = ae.reconstructions(ctx, ae_main)
    found.optimizers = ae.optimizers(ctx, ae_main)
    found.regularization = ae.regularization(ctx)
    found.code_sizes = ae.code_sizes(ctx, ae_main)
    found.denoising = ae.denoiser(ctx, ae_main)
    found.settings = tuning.search_settings(ctx, ae_main)
    found.fidelity = tuning.fidelity_check(ctx, found.settings)
    found.search = found.fidelity.search
    found.stage1 = tuning.stage_one(ctx, found.search)
    found.stage2 = tuning.stage_two(ctx, found.search, found.stage1)
    found.final = tuning.compare_final(ctx, found.search, found.stage2)
    ae_final = found.ae_final = found.final.kept
    found.clf_search = finetune.tune_fine_tuning(ctx, ae_final)
    found.hw1_pretraining = finetune.pretrain_hw1_network(ctx, ae_final, found.recon)
    found.hw1 = finetune.hw1_network(ctx, found.hw1_pretraining, ae_final)
    clfs = found.clfs = finetune.classifiers(ctx, ae_final, found.hw1, tuned=found.clf_search)
    found.seeds = finetune.over_seeds(ctx, found.hw1, clfs)
    found.cv = finetune.cross_validation(ctx, clfs)
    found.labels = finetune.label_efficiency(ctx, clfs)
    found.mistakes = finetune.best_model_errors(ctx, clfs)
    found.metrics = ctx.metrics()
    return found


def test_the_main_model_is_the_kept_decoder_trained_on_every_image_after_the_seeded_comparison(run):
    decoders, model, found = run.decoders, run.ae_main, run.metrics["autoencoder"]
    assert sorted(decoders.runs) == sorted(found["decoders"]) == sorted(decoders.rows)
    assert all(len(seeded) == TINY.ablation_seeds for seeded in decoders.runs.values())
    assert all(len(r["val_mse_seeds"]) == TINY.ablation_seeds for r in found["decoders"].values())
    assert found["decoder_comparison"]["seeds"] == TINY.ablation_seeds
    assert found["decoder"] == ae.choose_decoder(decoders.rows) == model.config.decoder
    assert model.config == replace(ae.HAND_SET, decoder=found["decoder"])
    assert model.spec == ae.hand_set_spec(TINY) and found["spec"] == results.plain(model.spec)
    assert len(model.run.history.rows) == TINY.ae_epochs  # the kept decoder, trained on the whole split
    assert found["test_mse"] == model.test_mse and found["epochs"] == TINY.ae_epochs and decoders.found == found
    assert decoders.table.count("\n") == 1 + 2
    resize = found["decoders"]["resize"]
    assert plus_minus(resize["val_mse"], resize["val_mse_std"]) in decoders.finding
    assert f"{found['parameters']:,} parameters" in decoders.summary


def test_the_reconstructions_are_two_test_images_per_class_rebuilt_by_the_main_model(run):
    recon = run.recon
    assert recon.examples.labels.tolist() == [c for c in range(10) for _ in range(ae.RECONSTRUCTED_PER_CLASS)]
    assert recon.images.shape == (len(recon.examples), 1, 28, 28)
    assert torch.equal(recon.images, ae.reconstruct(run.ae_main.run.model, recon.examples, run.ctx.splits))
    assert recon.names == list(CLASSES)


def test_the_optimizer_step_keeps_each_optimizer_s_best_rate_and_names_the_lowest(run):
    step, found = run.optimizers, run.metrics["ae_optimizers"]
    base = sum(len(lrs) for _, _, lrs in ae.OPTIMIZER_GRID.values())
    added = sum(r["rates_added"] for r in found["by_optimizer"].values())  # past an edge where a best lay
    diverged = sum(v is None for r in found["by_optimizer"].values() for v in r["val_mse_by_lr"].values())
    assert len(step.runs) == base + added - diverged and added <= ae.GRID_EXTENSIONS * len(ae.OPTIMIZER_GRID)
    assert sorted(found["by_optimizer"]) == sorted(ae.OPTIMIZER_GRID) == sorted(step.best)
    lowest = min(found["by_optimizer"], key=lambda n: found["by_optimizer"][n]["val_mse"])
    highest = max(found["by_optimizer"], key=lambda n: found["by_optimizer"][n]["val_mse"])
    assert (found["best"], found["worst"]) == (lowest, highest)
    assert found["images"] == len(run.ctx.splits.train) and found["epochs"] == TINY.compare_epochs
    assert list(step.curves) == [f"{n}, learning rate {r['lr']:g}" for n, r in step.best.items()]
    assert all(len(seeded) == TINY.ablation_seeds for seeded in step.curves.values())
    rows = found["by_optimizer"]
    assert all(plus_minus(rows[n]["val_mse"], rows[n]["val_mse_std"]) in step.finding for n in (lowest, highest))
    assert sorted(found["against_best"]) == sorted(set(rows) - {lowest}) and found["seeds"] == TINY.ablation_seeds


def test_the_regularization_step_names_the_lowest_validation_mse_and_the_extreme_gaps(run):
    step, found = run.regularization, run.metrics["ae_regularization"]
    assert sorted(step.rows) == sorted(ae.regularization_variants(TINY, mirror=False)) == sorted(step.histories)
    gaps = {n: r["gap"] for n, r in step.rows.items()}
    assert found["best"] == min(step.rows, key=lambda n: step.rows[n]["val_mse"])
    assert (found["largest_gap"], found["smallest_gap"]) == (max(gaps, key=gaps.get), min(gaps, key=gaps.get))
    assert found["images"] == step.images == TINY.reg_limit and found["epochs"] == TINY.reg_epochs
    assert found["config"] == results.plain(ae.OVERFIT)
    assert all(found[n] == results.plain(r) for n, r in step.rows.items())
    assert all(len(h) == TINY.ablation_seeds for h in step.histories.values())
    assert sorted(found["against_none"]) == sorted(set(step.rows) - {"none"})


def test_the_code_size_step_scores_every_size_beside_pca_on_the_same_images(run):
    step, found = run.code_sizes, run.metrics["ae_code_size"]
    assert step.sizes == list(TINY.code_sizes)
    assert step.ae_mse == [found[f"code_{k}"]["ae_test_mse"] for k in step.sizes]
    assert step.pca_mse == [found[f"code_{k}"]["pca_test_mse"] for k in step.sizes]
    train = data.comparison_train(run.ctx.splits, TINY)
    assert step.pca_mse == pytest.approx(ae.pca_reconstruction_mse(train, run.ctx.splits.test, step.sizes))
    assert found["beats_pca_at_every_size"] == all(a < p for a, p in zip(step.ae_mse, step.pca_mse))
    assert step.table.count("\n") == 1 + len(step.sizes)


def test_the_denoiser_uses_the_profile_s_noise_and_shows_one_image_per_class(run):
    step, found = run.denoising, run.metrics["ae_denoising"]
    assert found["noise_std"] == step.noise == TINY.denoising_noise
    assert found["epochs"] == TINY.compare_epochs == len(step.run.history.rows)
    assert all(rows.shape == (10, 1, 28, 28) for rows in step.rows) and step.names == list(CLASSES)
    assert sig(found["psnr_noisy_db"]) in step.summary and sig(found["psnr_denoised_db"]) in step.summary
    assert found["psnr_median_db"] > found["psnr_noisy_db"]  # a median filter removes some of the noise
    assert step.finding == fa.denoising_finding(found) and sig(found["psnr_clean_ae_db"]) in step.finding


def test_the_fidelity_check_sets_hyperband_s_first_rung_and_is_merged(run):
    found = run.metrics["search_fidelity"]
    assert run.fidelity.found == found and found["configs"] == TINY.fidelity_configs + 1
    assert run.search.min_resource == found["min_resource"] and run.search == replace(
        run.settings, min_resource=found["min_resource"])
    assert run.metrics["search"]["min_resource"] == found["min_resource"]
    assert sig(found["rho"], 2) in run.fidelity.finding and run.fidelity.table.count("\n") == 1 + len(
        found["by_epoch"])


def test_the_searches_start_from_the_main_model_and_stage_one_is_merged(run):
    assert run.search.start == (run.ae_main.config, run.ae_main.spec)
    stage1, found = run.stage1, run.metrics["search"]
    assert stage1.found == found and stage1.start_value == found["start_value"]
    assert sorted(stage1.studies) == sorted(tuning.plan(run.search))
    assert stage1.kept is stage1.studies[found["kept"]]
    assert sorted(stage1.curves) == sorted(found["names"].values())


def test_stage_two_and_the_final_comparison_hand_on_the_chosen_autoencoder(run):
    promotion, cv, kept = run.metrics["search_promotion"], run.metrics["search_cv"], run.ae_final
    assert run.stage2.found == promotion and sorted(run.stage2.runs) == sorted(promotion["rows"])
    assert kept is run.stage2.tuned and kept.run is run.stage2.runs[promotion["chosen"]]
    if promotion["tuned_is_hand_set"]:
        assert (kept.config, kept.spec) == (run.ae_main.config, run.ae_main.spec)
    else:
        params = promotion["rows"][promotion["chosen"]]["params"]
        assert (kept.config, kept.spec) == tuning.configuration(params, run.search.start)
    assert cv["later_sections_use"] == ("hand-set" if promotion["tuned_is_hand_set"] else "tuned")
    assert cv["later_sections_test_mse"] == kept.test_mse
    assert cv["later_sections_seconds"] == kept.run.history.rows[-1]["seconds"] > 0
    assert cv["later_sections_epochs"] == len(kept.run.history.rows) and cv["later_sections_images"] == len(
        run.ctx.splits.train)
    assert cv["later_sections_parameters"] == sum(p.numel() for p in kept.run.model.parameters())
    assert run.final.found == cv and run.final.table.count("\n") == (1 + 3 if cv["compared"] else 1 + 1)
    assert cv["compared"] in (None, *[name for name in promotion["rows"] if name != "hand-set"])


def test_the_fine_tuning_search_feeds_section_3_its_fine_tuned_network(run):
    search, found, clfs = run.clf_search, run.metrics["clf_search"], run.clfs
    assert search.found == found and found["budget"] == TINY.clf_trials
    if found["default_kept"]:
        assert clfs.fine_kept.startswith("fine-tuned (encoder lr") and found["cv"]["difference"] is None
    else:
        assert clfs.strategies[clfs.fine_kept] is search.tuned and clfs.roles[clfs.fine_kept] == "finetuned"
        assert found["cv"]["difference"]["n"] == TINY.search_folds


def test_the_hw1_steps_pretrain_on_the_kept_recipe_and_merge_the_three_networks(run):
    pretraining, hw1, found = run.hw1_pretraining, run.hw1, run.metrics["finetune_hw1"]
    assert found["pretraining"] == pretraining.found and pretraining.found["test_mse"] == pretraining.test_mse
    assert found["pretraining"]["epochs"] == run.ae_final.spec.epochs
    assert len(pretraining.rows) == 3 and all(r.shape == (10, 1, 28, 28) for r in pretraining.rows)
    assert sig(run.ae_final.test_mse) in pretraining.summary
    assert list(hw1.runs) == [finetune.HW1_SCRATCH, finetune.HW1_FINETUNED, finetune.HW1_FROZEN]
    assert found["reported_test"] is None and found["epochs"] == TINY.hw1_epochs  # MNIST: no Homework 1 figure
    assert found["target"] == finetune.HW1_TARGETS["mnist"] and "Fashion-MNIST only" in hw1.finding
    assert found["recipe"]["augment"]["flip"] is False  # a mirrored digit is no digit
    assert {found[k]["name"] for k in ("scratch", "finetuned", "frozen")} == set(hw1.runs)
    assert found["finding"] == hw1.finding and hw1.found == found
    assert set(hw1.pretrain_seconds) == {finetune.HW1_FINETUNED, finetune.HW1_FROZEN}


def test_the_classifiers_step_chooses_on_validation_and_merges_the_strategies(run):
    clfs, found = run.clfs, run.metrics["finetune"]
    val = {n: r["val_accuracy"] for n, r in clfs.rows.items()}
    searched = finetune.DEFAULT_FINE_TUNING if run.clf_search.default_kept else finetune.TUNED_FINE_TUNING
    assert clfs.fine_kept == searched == found["finetune_kept"]  # the search chose it, not section 3's validation
    pretrained = [n for n, s in clfs.strategies.items() if s.pretrained is not None]
    assert clfs.encoder_best == max(pretrained, key=val.get)
    assert list(clfs.roles.values()) == ["hw1", "scratch", "finetuned", "frozen_mlp", "frozen_linear"]
    assert clfs.roles[clfs.fine_kept] == "finetuned" and list(clfs.compared) == list(clfs.roles)
    assert len(clfs.saved) == len(run.hw1.runs) + len(clfs.strategies)
    candidates = {n: e[2]["val_accuracy"] for n, e in clfs.saved.items() if n in clfs.roles
                  or n not in clfs.strategies}
    assert clfs.best_name == max(candidates, key=candidates.get) == found["best_name"]
    assert clfs.best_model is clfs.saved[clfs.best_name][1].model
    # the judge of generated images (sections 4, 5, 7): Homework 1's network from scratch, no autoencoder
    assert clfs.judge_name == finetune.HW1_SCRATCH and clfs.judge is clfs.runs[finetune.HW1_SCRATCH].model
    assert clfs.strategies[clfs.judge_name].pretrained is None
    assert found["best"] == clfs.saved[clfs.best_name][0].tag
    assert found["best_test_accuracy"] == clfs.saved[clfs.best_name][2]["test_accuracy"]
    assert all(found[s.tag]["name"] == n for n, s in clfs.strategies.items())
    assert clfs.spec == finetune.hw1_recipe(TINY.clf_epochs, seed=TINY.seed)
    assert sorted(clfs.colours) == sorted(clfs.strategies) and len(set(clfs.colours.values())) == 7
    assert clfs.best_name in clfs.finding


def test_the_seed_step_pairs_the_three_networks_by_seed(run):
    found = run.metrics["finetune_seeds"]
    assert list(run.seeds.per_seed) == [finetune.HW1_SCRATCH, finetune.HW1_FINETUNED, run.clfs.encoder_best]
    assert all(len(rows) == TINY.seeds for rows in run.seeds.per_seed.values())
    assert sorted(found["stats"]) == ["encoder", "pretrained", "scratch"] and found["baseline"] == "scratch"
    assert found["finding"] == run.seeds.finding and found["epochs"] == TINY.seed_epochs


def test_the_cross_validation_step_scores_the_five_compared_strategies_on_the_same_folds(run):
    found, images = run.metrics["finetune_cv"], len(data.comparison_train(run.ctx.splits, TINY))
    assert found["images"] == images == found["train_images_per_fold"] + found["held_out_images_per_fold"]
    for name, role in run.clfs.roles.items():
        assert found[role]["folds"] == run.cv.accuracies[name] and len(found[role]["folds"]) == TINY.folds
    assert run.cv.table.count("\n") == 1 + len(run.clfs.roles)


def test_the_label_step_says_where_pretraining_pays_and_draws_the_raw_pixel_line(run):
    step, found, n_all = run.labels, run.metrics["finetune_labels"], len(run.ctx.splits.train)
    assert step.all_label == found["all"] == n_all
    assert sorted(step.stats) == sorted(run.clfs.roles)
    for n in (*TINY.label_counts, n_all):
        key = f"n{'all' if n == n_all else n}"
        pays = step.stats[run.clfs.fine_kept][n]["mean"] > step.stats[finetune.SCRATCH][n]["mean"]
        assert found[f"pretrained_beats_scratch_{key}"] == pays
    assert step.stats[run.clfs.fine_kept][n_all]["mean"] == run.clfs.rows[run.clfs.fine_kept]["test_accuracy"]
    (line,) = step.references.values()
    assert sorted(line) == list(TINY.label_counts) and found["finding"] == step.finding


def test_the_error_step_saves_every_classifier_and_names_the_hardest_class(run):
    found, step = run.metrics["finetune_best"], run.mistakes
    assert found["name"] == run.clfs.best_name and (run.ctx.run_dir / found["checkpoint"]).exists()
    assert len(list((run.ctx.run_dir / "models").glob("classifier-*.pt"))) == len(run.clfs.saved)
    per_class = found["per_class_accuracy"]
    assert found["hardest_class"] == min(CLASSES, key=lambda c: per_class[results.slug(c).replace("-", "_")])
    assert step.confusion.sum() == len(run.ctx.splits.test)
    assert len(step.captions) == len(step.wrong_images) <= TINY.confident_errors
