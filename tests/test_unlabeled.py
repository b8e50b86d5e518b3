"""Few labels with the unlabeled images (section 6, closing part): the draws both methods read, labels that
never leave the draw, label propagation on separable data, self-training on the loop and its run cache, the
comparison with the supervised-only baselines and the sentences about it. Tiny made-up data throughout."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.semi_supervised import LabelSpreading

from helpers import config, data, fewlabels, finetune, latent, plots, results, unlabeled
from helpers.context import Context
from helpers.findings import unlabeled as fu
from helpers.findings.words import plus_minus
from helpers.models import AEConfig, Encoder

from .tiny import banded_set

CFG = AEConfig(channels=(8, 16), latent_dim=4)


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = make_blobs(n_samples=1200, centers=10, n_features=8, cluster_std=1.0, center_box=(-12, 12),
                      random_state=seed)
    x = x.astype(np.float32)
    return x[:1000], y[:1000], x[1000:], y[1000:]


def _registry(train_labels: np.ndarray, test_labels: np.ndarray) -> fewlabels.Registry:
    return fewlabels.Registry.of(None, train_labels, test_labels, (20, 50), 2, seed=0)


# ----------------------------------------------------------------------------- the draws


def test_both_methods_read_the_few_label_tables_class_balanced_draws():
    train, y, _, y_test = _blobs()
    few = _registry(y, y_test)
    drawn = unlabeled.drawn_labels(few, [20, 50])
    for n in (20, 50):
        assert [idx.tolist() for idx, _ in drawn[n]] == [idx.tolist() for idx in few.draws[n]]
        for idx, labels in drawn[n]:
            assert len(idx) == n and np.array_equal(labels, y[idx])
            assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10  # class-balanced
    assert unlabeled.counts_of(few) == [20, 50] and unlabeled.counts_of(few, (50, 1000)) == [50]
    with pytest.raises(ValueError, match="label_counts"):
        unlabeled.counts_of(few, (1000,))
    found = unlabeled.protocol(few)
    assert found["draws"] == {"n20": 2, "n50": 2}
    assert found["draw_digests"]["n50"] == [results.array_digest(i) for i in few.draws[50]]


def test_the_unlabeled_set_carries_no_label_and_the_same_images():
    images = banded_set(3, 0)
    hidden = unlabeled.without_labels(images)
    assert torch.equal(hidden.images, images.images) and len(hidden) == len(images)
    assert set(hidden.labels.tolist()) == {unlabeled.UNLABELED}
    y = unlabeled.seeded_labels(6, np.array([1, 4]), np.array([7, 2]))
    assert y.tolist() == [-1, 7, -1, -1, 2, -1]


# ----------------------------------------------------------------------------- label propagation


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_label_propagation_beats_chance_on_separable_blobs_and_reuses_its_graph():
    train, y, test, y_test = _blobs()
    few = _registry(y, y_test)
    found = unlabeled.propagate(train, test, y_test, unlabeled.drawn_labels(few, [20, 50]))
    accuracies = [r["accuracy"] for rows in found["draws"].values() for r in rows]
    assert min(accuracies) > 0.5  # chance is 0.1
    assert all(r["steps"] == unlabeled.ITERATIONS for rows in found["draws"].values() for r in rows)
    # the kept graph changes nothing: the same predictions as a fresh LabelSpreading with the same settings
    idx = few.draws[20][0]
    plain = LabelSpreading(kernel="knn", n_neighbors=unlabeled.NEIGHBOURS, alpha=unlabeled.ALPHA,
                           max_iter=unlabeled.ITERATIONS)
    with pytest.warns(Warning):
        plain.fit(train, unlabeled.seeded_labels(len(train), idx, y[idx]))
    assert found["draws"][20][0]["accuracy"] == float(np.mean(plain.predict(test) == y_test))
    model = unlabeled.spreading()
    model.fit(train, unlabeled.seeded_labels(len(train), idx, y[idx]))
    graph, searched = model.kept_graph_[1], model.search_seconds
    model.predict(test)
    after_predict = model.search_seconds
    model.fit(train, unlabeled.seeded_labels(len(train), few.draws[20][1], y[few.draws[20][1]]))
    model.predict(test)
    assert model.kept_graph_[1] is graph and model.search_seconds == after_predict > searched > 0


def test_label_propagation_never_reads_a_label_outside_the_draw():
    train, y, test, y_test = _blobs(1)
    few = _registry(y, y_test)
    inside = np.zeros(len(y), bool)
    inside[np.concatenate([i for d in few.draws.values() for i in d])] = True
    corrupted = np.where(inside, y, (y + 3) % 10)
    other = fewlabels.Registry(None, corrupted, y_test, few.draws)
    first = unlabeled.propagate(train, test, y_test, unlabeled.drawn_labels(few, [20, 50]))
    second = unlabeled.propagate(train, test, y_test, unlabeled.drawn_labels(other, [20, 50]))
    accuracy = lambda found: [[r["accuracy"] for r in rows] for rows in found["draws"].values()]  # noqa: E731
    assert accuracy(first) == accuracy(second)


# ----------------------------------------------------------------------------- self-training


def _splits(labels: torch.Tensor | None = None) -> data.Splits:
    train = banded_set(20, 0)
    if labels is not None:
        train = data.ImageSet(train.images, labels, train.classes)
    return data.Splits(train, banded_set(4, 1), banded_set(6, 2), 0.3, 0.3)


def _encoder() -> Encoder:
    torch.manual_seed(0)
    return Encoder(CFG)


def test_the_consistency_loss_reads_no_label_of_the_unlabeled_batch():
    splits = _splits()
    labelled = splits.train.subset(np.arange(10))
    model = finetune.build_classifier(unlabeled.encoder_arch(CFG), _encoder())
    images = splits.train.images[:14].float() / 255
    batch = data.Batch(images, images, None)  # reading the labels would fail
    loss = unlabeled.consistency_loss(labelled, batch=4, weight=1.0, mean=0.3, std=0.3, threshold=0.0)
    out = loss(model, batch)
    assert {"loss", "supervised", "unlabeled", "confident", "accuracy"} <= out.keys()
    assert out["confident"].item() == 1.0 and out["unlabeled"].item() > 0  # threshold 0: every image a target
    assert out["loss"].item() == pytest.approx(out["supervised"].item() + out["unlabeled"].item(), rel=1e-5)
    alone = unlabeled.consistency_loss(labelled, batch=4, weight=0.0, mean=0.3, std=0.3)(model, batch)
    assert set(alone) == {"loss", "supervised", "accuracy"}


def test_self_training_is_bit_identical_whatever_the_labels_outside_the_draw():
    splits = _splits()
    index = data.balanced_subset(splits.train.labels, 20, 0)
    outside = torch.ones(len(splits.train), dtype=torch.bool)
    outside[torch.as_tensor(index)] = False
    corrupted = torch.where(outside, (splits.train.labels + 5) % 10, splits.train.labels)
    spec = unlabeled.recipe(1, 4, seed=0)
    runs = [unlabeled.self_train(CFG, _encoder(), s, index, spec, labelled_batch=4, weight=1.0)
            for s in (splits, _splits(corrupted))]
    a, b = (r.model.state_dict() for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert runs[0].history.rows == [{**row, "seconds": runs[0].history.rows[i]["seconds"]}
                                    for i, row in enumerate(runs[1].history.rows)]
    steps = len(splits.train) // (unlabeled.UNLABELED_RATIO * 4)
    assert steps > 1 and "train_confident" in runs[0].history.rows[-1]


# ----------------------------------------------------------------------------- comparisons and sentences


def test_against_calls_a_difference_within_the_larger_spread_a_tie():
    base = {"mean": 0.70, "std": 0.02, "draws": [0.68, 0.70, 0.72]}
    up = unlabeled.against({"mean": 0.75, "std": 0.01, "draws": [0.74, 0.75, 0.76]}, base)
    level = unlabeled.against({"mean": 0.71, "std": 0.01, "draws": [0.70, 0.71, 0.72]}, base)
    down = unlabeled.against({"mean": 0.60, "std": 0.03, "draws": [0.57, 0.60, 0.63]}, base)
    assert (up["verdict"], level["verdict"], down["verdict"]) == (1, 0, -1)
    assert up["spread"] == 0.02 and down["spread"] == 0.03
    assert up["difference"] == pytest.approx(0.05) and up["paired"] == pytest.approx([0.06, 0.05, 0.04])


def _stats(mean: float, std: float) -> dict:
    return {"mean": mean, "std": std, "draws": [mean - std, mean, mean + std]}


def _found(lp_means: dict[str, float], self_mean: float, supervised_mean: float) -> dict:
    svm = _stats(0.72, 0.02)
    lp = {key: unlabeled.entry(f"label propagation, {key}", "label propagation", key, 0.0,
                               {100: _stats(m, 0.01)}, {100: [1.0, 1.0, 1.0]},
                               {100: {"name": f"RBF SVM, {key}", **svm}})
          for key, m in lp_means.items()}
    st = {"simclr": unlabeled.entry("self-training, SimCLR", "self-training", "SimCLR", 600.0,
                                    {100: _stats(self_mean, 0.01)}, {100: [60.0, 60.0, 60.0]},
                                    {100: {"name": "the labels alone", **_stats(supervised_mean, 0.01)}})}
    methods = {"label_propagation": lp, "self_training": st}
    return results.plain({"label_propagation": {"methods": lp}, "self_training": {"methods": st},
                          "best": unlabeled.best(methods, [100, 1000]), "profile": "quick",
                          "targets": {f"n{n}": t for n, t in unlabeled.TARGETS["fashion-mnist"].items()}})


def test_the_best_method_and_the_aims_are_measured_facts():
    found = _found({"raw": 0.70, "simclr": 0.74}, self_mean=0.83, supervised_mean=0.76)
    assert found["best"] == {"n100": {"kind": "self_training", "key": "simclr",
                                      "name": "self-training, SimCLR", "mean": 0.83, "std": 0.01, "draws": 3}}
    assert found["self_training"]["methods"]["simclr"]["n100"]["whole_seconds"] == 660.0
    text = fu.summary(found)
    assert plus_minus(0.83, 0.01, 100, "%") in fu.best(found) and "self-training, SimCLR" in fu.best(found)
    assert "met" in fu.targets(found) and "missed" not in fu.targets(found)  # 83% against the 80% aim
    low = _found({"raw": 0.70, "simclr": 0.74}, self_mean=0.75, supervised_mean=0.76)
    assert low["best"]["n100"]["key"] == "simclr" and low["best"]["n100"]["kind"] == "self_training"
    assert "missed" in fu.targets(low) and "1,000" not in fu.targets(low)  # nothing measured at 1,000 labels
    assert fu.best(found) in text and fu.targets(found) in text


def test_each_method_is_called_above_level_or_below_its_own_baseline():
    found = _found({"raw": 0.705, "ae": 0.725, "simclr": 0.78}, self_mean=0.80, supervised_mean=0.795)
    calls = {key: m["n100"]["verdict"] for key, m in found["label_propagation"]["methods"].items()}
    assert calls == {"raw": 0, "ae": 0, "simclr": 1}  # against 72 ± 2%: a tie within 2 points
    assert found["self_training"]["methods"]["simclr"]["n100"]["verdict"] == 0
    text = fu.baselines(found)
    for m in fu.methods(found).values():
        assert plus_minus(m["n100"]["mean"], m["n100"]["std"], 100, "%") in text and m["name"] in text
    tally = fu.tally(found)
    assert f"{fu.SHORT_RELATION[0]} in 2 of its 3 representations" in tally  # the level ones counted
    above = found["label_propagation"]["methods"]["simclr"]
    assert f"{fu.SHORT_RELATION[1]} on {above.get('representation', above['name'])}" in tally  # the others named
    worse = _found({"raw": 0.60}, self_mean=0.70, supervised_mean=0.76)
    assert worse["label_propagation"]["methods"]["raw"]["n100"]["verdict"] == -1
    assert "6.0 points below" in fu.tally(worse)  # self-training, one entry: its difference in points
    numbers = {"Poisson learning": 0.753}
    assert "75.3%" in fu.published(found, numbers) and fu.published(found, {}) == ""


def test_the_figure_draws_bands_and_keeps_a_bar_for_a_single_count():
    stats = {"many": {100: _stats(0.7, 0.02), 1000: _stats(0.8, 0.01)}, "one": {100: _stats(0.75, 0.01)}}
    fig = plots.label_efficiency(stats, {"every label": {18000: 0.9}}, all_label=18000, bands=True,
                                 styles={"many": {"linestyle": ":"}})
    ax = fig.axes[0]
    assert len(ax.collections) >= 2  # the band of "many" and the error bar of "one"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "1,000", "all\n(18,000)"]
    assert ax.get_lines()[0].get_linestyle() == ":"
    plots.plt.close(fig)


def test_new_profile_fields_are_checked():
    with pytest.raises(config.ConfigError, match="self_training_counts"):
        replace(config.PROFILES["smoke"], self_training_counts=(5,))
    with pytest.raises(config.ConfigError, match="self_training_batch"):
        replace(config.PROFILES["smoke"], self_training_batch=1)
    with pytest.raises(config.ConfigError, match="self_training_epochs"):
        replace(config.PROFILES["smoke"], self_training_epochs=0)
    for profile in config.PROFILES.values():
        assert set(profile.self_training_counts) <= set(profile.label_counts), profile.name


# ----------------------------------------------------------------------------- the section on its run cache


def test_the_section_resumes_from_its_run_cache(tmp_path, monkeypatch):
    splits = _splits()
    tiny = replace(config.PROFILES["smoke"], name="tiny", label_counts=(20,), label_draws=2, tsne_points=50,
                   self_training_counts=(20,),
                   self_training_epochs=1, self_training_batch=4)
    ctx = Context(tiny, torch.device("cpu"), splits, tmp_path, results.SectionClock(tmp_path))
    reps = latent.Representations.start(ctx)
    reps.add("raw", fewlabels.RAW, latent.pixel_features(splits))
    reps.add("simclr", "SimCLR feature map", latent.project(latent.pixel_features(splits), 8, seed=0)[0])
    reps.read_few(["raw", "simclr"])
    history = SimpleNamespace(rows=[{"seconds": 5.0}])
    run = SimpleNamespace(model=SimpleNamespace(encoder=_encoder()), history=history)
    pretrained = SimpleNamespace(config=CFG, run=run)
    first = (unlabeled.propagation(ctx, reps), unlabeled.self_training(ctx, pretrained, reps))
    summary = unlabeled.summary(ctx, reps, *first)
    found = ctx.metrics()["unlabeled"]
    assert sorted(found["label_propagation"]["methods"]) == ["raw", "simclr"]
    assert found["label_propagation"]["methods"]["raw"]["n20"]["baseline"]["draws"] == \
        reps.few.statistics()["svm"][fewlabels.RAW][20]["draws"]  # the SVM row on the same draws
    assert found["protocol"]["draw_digests"]["n20"] == [results.array_digest(i) for i in reps.few.draws[20]]
    assert found["self_training"]["methods"]["simclr"]["pretrain_seconds"] == 5.0
    n20 = found["self_training"]["methods"]["simclr"]["n20"]
    assert n20["whole_seconds"] == n20["seconds"] + 5.0
    assert n20["baseline"]["whole_seconds"] == n20["baseline"]["seconds"] + 5.0
    assert found["self_training"]["settings"]["steps"] == len(splits.train) // (unlabeled.UNLABELED_RATIO * 4)
    measured = [m["n20"]["mean"] for kind in ("label_propagation", "self_training")
                for m in found[kind]["methods"].values()]
    assert found["best"]["n20"]["mean"] == max(measured)
    assert "self-training, SimCLR encoder" in summary.curves and summary.finding
    monkeypatch.setattr(unlabeled, "propagate", lambda *a, **k: pytest.fail("label propagation ran again"))
    again = (unlabeled.propagation(ctx, reps), unlabeled.self_training(ctx, pretrained, reps))
    assert again[0].found == first[0].found
    for pairs in again[1].runs.values():
        for run in (r for pair in pairs for r in pair):
            assert run.history.reused_epochs == len(run.history.rows)  # reused, not trained again
    assert again[1].found["methods"] == first[1].found["methods"]


def test_each_draw_s_self_training_recipe_differs_from_the_first_in_its_seed_alone():
    first = unlabeled.recipe(3, 4, 10)
    for d in range(3):
        assert replace(first, seed=10 + d) == unlabeled.recipe(3, 4, 10 + d)
    assert unlabeled.timing([2.0, 4.0], 10.0) == {"seconds": 3.0, "whole_seconds": 13.0}
    assert unlabeled.timing([2.0], None) == {"seconds": 2.0, "whole_seconds": None}


def test_the_codes_pretraining_is_the_kept_autoencoders_not_section_1s():
    """Sections 3-7 read the code of the autoencoder section 2 keeps; section 1's model trains for longer."""
    metrics = {"autoencoder": {"history": [{"seconds": 2750.0}]}, "vae": {"history": [{"seconds": 40.0}]},
               "search_cv": {"later_sections_seconds": 211.0}}
    assert unlabeled.pretraining_seconds(metrics, "ae") == 211.0
    assert unlabeled.pretraining_seconds(metrics, "vae") == 40.0
    assert unlabeled.pretraining_seconds(metrics, "raw") == 0.0
    assert unlabeled.pretraining_seconds({"autoencoder": {"history": [{"seconds": 5.0}]}}, "ae") == 5.0  # older runs
    assert unlabeled.pretraining_seconds({}, "simclr") is None


def test_the_best_method_is_set_against_the_best_classifier_that_ignores_the_unlabeled_images():
    low = _found({"raw": 0.70, "simclr": 0.74}, self_mean=0.75, supervised_mean=0.76)
    few = {"simclr": {"name": "SimCLR map", "svm": {"n100": {"mean": 0.81, "std": 0.01}}},
           "raw": {"name": "raw pixels", "svm": {"n100": {"mean": 0.70, "std": 0.02}}},
           "ae_random": {"name": "random", "inits": 3, "svm": {"n100": {"mean": 0.95, "std": 0.01}}}}  # a control
    said = fu.against_frozen(low, few)
    assert "below it with 100 labels (75.0% against 81.0 ± 1.0% for the RBF SVM on SimCLR map)" in said
    assert "met (best 81.0%" in fu.targets(low, few)  # the aim is for the best method, with or without them
    assert "missed" in fu.targets(low) and fu.against_frozen(low, None) == ""
    assert said in fu.summary(low, few=few) and said in fu.brief(low, few)
