"""Section 7's library layer: the classifier-feature Frechet distance, k-NN precision / recall and density /
coverage on made-up features where the answer is known; the check that drops a score on which noise is not
last or a generator reaches real images; generators ranked only within their group by the scores that pass;
the second opinion's agreement rule; and the table and metrics the sentences of `findings.generators` are
read from."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import linalg

from helpers import judging, latent, plots, quality
from helpers.findings import generators as gen_text
from helpers.findings.words import sig

from .tiny import GROUPS, SCORES, quality_row, with_spread


def test_frechet_distance_matches_the_closed_form_for_two_gaussians():
    rng = np.random.default_rng(0)
    cov_a = np.diag([1.0, 2.0, 0.5])
    cov_b = np.array([[1.5, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.8]])
    a = rng.multivariate_normal([0.0, 0.0, 0.0], cov_a, size=200000)
    b = rng.multivariate_normal([1.0, -1.0, 0.5], cov_b, size=200000)
    exact = 1.0 + 1.0 + 0.25 + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert quality.frechet_distance(a, b) == pytest.approx(exact, rel=0.02)
    assert quality.frechet_distance(a[:100000], a[100000:]) < 0.01  # two samples of one distribution
    with pytest.raises(ValueError, match="same D"):
        quality.frechet_distance(a[:, :2], b)


def test_precision_and_recall_separate_fidelity_from_coverage():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4, 6) * 10
    real = centres[torch.arange(2000) % 4] + torch.randn(2000, 6, generator=g)
    one_mode = centres[torch.zeros(500, dtype=torch.long)] + torch.randn(500, 6, generator=g)
    found = quality.precision_recall(real, one_mode, k=3)
    assert found["precision"] > 0.8 and found["recall"] < 0.35  # faithful but covers one mode of four
    noise = torch.randn(500, 6, generator=g) * 20
    assert quality.precision_recall(real, noise, k=3)["precision"] < 0.2  # far from the real manifold
    same = quality.precision_recall(real[:1000], real[1000:], k=3)
    assert same["precision"] > 0.8 and same["recall"] > 0.8


def test_entropy_is_zero_for_certain_and_log_classes_for_uniform_predictions():
    assert quality.entropy(torch.eye(10)) == pytest.approx(0.0, abs=1e-6)
    assert quality.entropy(torch.full((3, 10), 0.1)) == pytest.approx(math.log(10), abs=1e-6)


def test_frechet_distance_is_zero_for_identical_sets_even_when_they_are_singular():
    x = np.random.default_rng(1).normal(size=(500, 8))
    assert quality.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    few = np.random.default_rng(2).normal(size=(20, 64))  # fewer rows than dimensions: singular covariances
    assert quality.frechet_distance(few, few) == pytest.approx(0.0, abs=1e-3)


def test_precision_and_recall_are_one_for_identical_sets_and_fall_for_a_shifted_one():
    real = torch.randn(800, 5, generator=torch.Generator().manual_seed(3))
    same = quality.precision_recall(real, real.clone(), k=3)
    assert same["precision"] == 1.0 and same["recall"] == 1.0
    shifted = quality.precision_recall(real, real + 3.0, k=3)
    assert shifted["precision"] < 0.3 and shifted["recall"] < 0.3


def _toy_embedding(images: torch.Tensor):
    """Features: the mean of each 7x7 block (16 numbers); probabilities: a fixed linear map of them."""
    x = quality.to_uint8(images).float().div(255)
    feats = torch.nn.functional.avg_pool2d(x, 7).flatten(1)
    probs = (feats @ torch.linspace(-1, 1, 16 * 10).view(16, 10) * 5).softmax(1)
    return feats.numpy(), probs


def test_the_scorer_ranks_real_images_above_noise_and_counts_copies():
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 28, 28, generator=g), 3, 1, 1)
    def real_like(n, spread=0.1):  # noisy variations of one smooth image
        return (base + spread * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)
    test, train, val = real_like(600), quality.to_uint8(real_like(600)), real_like(300)
    scorer = quality.Scorer(_toy_embedding, test, train, n=300, seed=0)
    sets = quality.references(quality.to_uint8(val), train, 300, seed=0)
    sets["rough generator"] = real_like(300, spread=0.2)  # real-like, but farther from the real images
    scores = {name: scorer.score(images) for name, images in sets.items()}
    order = quality.ranked(scores)
    assert order[0] in (quality.REAL, quality.TRAIN) and order[-1] == quality.NOISE
    assert scores[quality.TRAIN]["copies"] == 300 and scores[quality.REAL]["copies"] == 0
    assert scores[quality.TRAIN]["nearest_train_mse"] == pytest.approx(0.0, abs=1e-6)
    labelled = scorer.score(sets[quality.REAL], intended=torch.full((300,), 3))
    assert 0.0 <= labelled["recognised"] <= 1.0
    for row in scores.values():  # density and coverage come with every row, against the same real subsample
        assert {"density", "coverage", "confident_share"} <= row.keys()
        assert row["density_coverage_k"] == quality.DENSITY_K
    assert scores[quality.REAL]["coverage"] > 0.8 and scores[quality.NOISE]["coverage"] < 0.1
    assert scores[quality.NOISE]["density"] < 0.5 * scores[quality.REAL]["density"]
    no_pixels = scorer.score(sets[quality.REAL], pixels=False)
    assert "copies" not in no_pixels and no_pixels["frechet"] == scores[quality.REAL]["frechet"]
    groups = {quality.UNCONDITIONAL: ["rough generator"]}
    found = quality.metrics(scores, groups)
    assert found["sets"]["real_held_out_images"]["reference"]
    assert not found["sets"]["rough_generator"]["reference"]
    assert found["sets"]["rough_generator"]["group"] == quality.UNCONDITIONAL
    assert found["sets"]["uniform_noise"]["group"] == quality.REFERENCE
    assert found["floor_best"] and found["checks"]["frechet"]["passed"] and "frechet" in found["ranked_by"]
    assert "reference (as a perfect generator)" in quality.table(scores, groups)
    assert "The only unconditional generator, rough generator" in gen_text.summary(found)
    # a generator worse than noise (blank images score nothing, like noise) leaves noise not last: dropped
    scores["blank generator"] = scorer.score(torch.zeros(300, 1, 28, 28))
    blank = quality.metrics(scores, {quality.UNCONDITIONAL: ["rough generator", "blank generator"]})
    assert not blank["checks"]["density"]["passed"]
    assert blank["checks"]["density"]["noise_not_last"] == ["blank_generator"]
    assert "density" not in blank["ranked_by"] and "density" in blank["dropped"]


# ----------------------------------------------------------------------------- density and coverage (Naeem et al.)


def _modes(n: int, seed: int, modes: torch.Tensor | None = None) -> torch.Tensor:
    """`n` points around four well-separated centres in 6-D (every mode in turn, or the given `modes`)."""
    g = torch.Generator().manual_seed(seed)
    which = torch.arange(n) % 4 if modes is None else modes
    return torch.eye(4, 6)[which] * 10 + torch.randn(n, 6, generator=g)


def test_density_and_coverage_are_one_for_identical_sets_and_near_one_for_one_distribution():
    real = _modes(2000, 0)
    same = judging.density_coverage(real, real.clone())
    assert same["density"] == pytest.approx(1.0, abs=0.02) and same["coverage"] == 1.0 and same["density_coverage_k"] == 5
    other = judging.density_coverage(real, _modes(2000, 1))  # a second sample of the same distribution
    assert other["density"] == pytest.approx(1.0, abs=0.1)
    assert other["coverage"] == pytest.approx(1 - 0.5 ** 5, abs=0.03)  # the paper's expectation for M = N, k = 5


def test_density_and_coverage_fall_for_a_shifted_set():
    real, moved = _modes(2000, 0), _modes(2000, 1) + 3.0
    same, shifted = judging.density_coverage(real, _modes(2000, 1)), judging.density_coverage(real, moved)
    assert shifted["density"] < 0.3 * same["density"] and shifted["coverage"] < 0.3 * same["coverage"]


def test_a_one_mode_set_keeps_its_density_but_loses_coverage():
    real = _modes(2000, 0)
    one_mode = judging.density_coverage(real, _modes(2000, 1, modes=torch.zeros(2000, dtype=torch.long)))
    assert one_mode["density"] > 0.8  # every sample is realistic...
    assert one_mode["coverage"] == pytest.approx(0.25, abs=0.05)  # ...but only one of four modes is covered


def test_uniform_noise_over_a_box_much_larger_than_the_data_gets_neither_density_nor_coverage():
    real = _modes(2000, 0)
    noise = (torch.rand(2000, 6, generator=torch.Generator().manual_seed(2)) - 0.5) * 400
    found = judging.density_coverage(real, noise)
    assert found["density"] < 0.02 and found["coverage"] < 0.02


def test_density_coverage_accepts_shared_radii_and_refuses_bad_input():
    real, fake = _modes(300, 0), _modes(300, 1)
    radii = judging.kth_distance(real, 5, 128)
    assert judging.density_coverage(real, fake, radii=radii) == judging.density_coverage(real, fake)
    with pytest.raises(ValueError, match="same D"):
        judging.density_coverage(real, fake[:, :3])
    with pytest.raises(ValueError, match="more than k = 5"):
        judging.density_coverage(real[:5], fake)
    with pytest.raises(ValueError, match="radii"):
        judging.density_coverage(real, fake, radii=radii[:10])


# ----------------------------------------------------------------------------- groups and sentences




def test_groups_are_checked_and_generators_are_ranked_only_within_their_group():
    ranks = quality.rankings(SCORES, GROUPS)
    assert ranks[quality.UNCONDITIONAL]["frechet"] == ["mixture", "gan", "vae, beta 4"]  # per-class (23.3) not in it
    assert ranks[quality.UNCONDITIONAL]["density"][0] == "vae, beta 4"
    assert ranks[quality.UNCONDITIONAL]["coverage"] == ["mixture", "gan", "vae, beta 4"]
    assert ranks[quality.CONDITIONAL]["frechet"] == ["per-class"]
    assert quality.references_of(SCORES, GROUPS) == [quality.REAL, quality.TRAIN, quality.NOISE]
    with pytest.raises(ValueError, match="two groups"):
        quality.as_groups(SCORES, {"a": ["gan"], "b": ["gan"]})
    with pytest.raises(ValueError, match="no scores"):
        quality.as_groups(SCORES, {"a": ["missing"]})
    with pytest.raises(ValueError, match="reference set"):
        quality.as_groups(SCORES, {"a": [quality.NOISE]})
    assert quality.beaten_by_noise(SCORES, quality.generators_of(GROUPS), "precision") == ["gan", "mixture", "per-class"]


def test_frechet_distances_are_printed_with_three_significant_digits():
    assert [sig(v) for v in (3.8512, 23.296, 124.41, 725.66, 1234.5, 0.012345)] == [
        "3.85", "23.3", "124", "726", "1,230", "0.0123"]


def test_the_table_lists_references_then_each_group_with_ranks_inside_it():
    lines = quality.table(SCORES, GROUPS).splitlines()
    header = lines[0]
    for column in ("group (rank by Fréchet distance)", "Fréchet distance", "precision", "recall", "density",
                   "coverage", "mean top probability", "recognised as intended"):
        assert column in header
    cells = header.split(" | ")
    assert f"density ({quality.FAILS})" in cells and "coverage" in cells  # density fails the check in SCORES
    names = [line.split(" | ")[0].lstrip("| ") for line in lines[2:]]
    assert names == [quality.REAL, quality.TRAIN, quality.NOISE, "mixture", "gan", "vae, beta 4", "per-class"]
    assert "| unconditional (1 of 3) |" in lines[5] and "| class-conditional (1 of 1) |" in lines[8]
    assert "| 726 |" in lines[4] and "85.9%" in lines[8]
    assert "nearest training image" not in quality.table(SCORES, GROUPS, pixels=False)


def test_metrics_store_groups_checks_rankings_and_what_noise_beats():
    found = quality.metrics(SCORES, GROUPS, judge="HW1 network from scratch")
    assert found["judge"] == "HW1 network from scratch"
    assert "HW1 network from scratch" in found["feature_space"]
    assert found["groups"] == {"unconditional": ["gan", "vae_beta_4", "mixture"], "class_conditional": ["per_class"]}
    # density: vae, beta 4 (1.46), mixture (1.03) and per-class (1.19) reach the real sets (1.0 and 0.97)
    assert not found["checks"]["density"]["passed"]
    assert found["checks"]["density"]["real_not_above"]["real_held_out_images"] == ["vae_beta_4", "mixture",
                                                                                    "per_class"]
    assert found["checks"]["frechet"]["passed"] and found["checks"]["coverage"]["passed"]
    assert found["ranked_by"] == ["frechet", "coverage"] and found["kept"] == ["frechet", "coverage"]
    assert set(found["dropped"]) == {"density", "precision", "recall", "mean_top_probability"}
    assert found["rankings"]["unconditional"] == {"frechet": ["mixture", "gan", "vae_beta_4"],
                                                  "coverage": ["mixture", "gan", "vae_beta_4"]}
    assert found["best"]["unconditional"] == {"frechet": "mixture", "coverage": "mixture"}
    assert found["noise_beats_count"] == {"frechet": 0, "precision": 3, "recall": 0, "density": 0,
                                          "coverage": 0, "mean_top_probability": 2}
    assert found["coverage_of_real"]["gan"] == pytest.approx(0.35 / 0.97)
    assert found["sets"]["per_class"]["density"] == 1.19 and found["sets"]["per_class"]["group"] == "class-conditional"
    assert found["floor_best"] and found["ceiling_worst"] and found["all_between"]


def _calm(**changed) -> dict[str, dict]:
    """SCORES where every score of the ranking passes the check (densities below the real sets'), with
    `changed` sets replaced."""
    scores = {**SCORES, "vae, beta 4": quality_row(355.37, 0.92, 0.0, 0.80, 0.22, 0.60),
              "mixture": quality_row(31.67, 0.84, 0.56, 0.93, 0.86, 0.87),
              "per-class": quality_row(23.3, 0.90, 0.56, 0.95, 0.92, 0.90, recognised=0.859)}
    return {**scores, **changed}


def test_the_check_drops_a_score_on_which_noise_is_not_last_or_a_generator_reaches_real_images():
    calm = quality.checks(_calm(), GROUPS)
    assert all(calm[by]["passed"] for by in quality.RANKED_BY)
    assert not calm["precision"]["passed"]  # noise (0.91) outscores three generators on precision
    assert calm["precision"]["noise_not_last"] == [quality.REAL, quality.TRAIN, "gan", "mixture", "per-class"]
    noisy = quality.checks(_calm(gan=quality_row(124.41, 0.61, 0.32, 0.50, 0.35, 0.70)), GROUPS)
    assert not noisy["density"]["passed"] and noisy["density"]["noise_not_last"] == ["gan"]  # noise 0.54
    assert noisy["density"]["real_not_above"] == {quality.REAL: [], quality.TRAIN: []}
    tie = quality.checks(_calm(gan=quality_row(124.41, 0.61, 0.32, 0.54, 0.35, 0.70)), GROUPS)
    assert not tie["density"]["passed"]  # a tie with noise is not a win over it
    copied = quality.checks(_calm(mixture=quality_row(4.5, 0.84, 0.56, 0.93, 0.86, 0.87)), GROUPS)
    assert not copied["frechet"]["passed"]  # 4.5 is below the training images' 4.76: a real set not above it
    assert copied["frechet"]["real_not_above"] == {quality.REAL: [], quality.TRAIN: ["mixture"]}
    assert copied["density"]["passed"] and copied["coverage"]["passed"]


def test_rankings_use_only_the_scores_that_pass_and_fall_back_when_the_frechet_distance_fails():
    assert quality.metrics(_calm(), GROUPS)["ranked_by"] == list(quality.RANKED_BY)
    scores = _calm(mixture=quality_row(4.5, 0.84, 0.56, 0.93, 0.86, 0.87))
    found = quality.metrics(scores, GROUPS)
    assert found["ranked_by"] == ["density", "coverage"] and "frechet" in found["dropped"]
    assert set(found["rankings"]["unconditional"]) == {"density", "coverage"}
    assert found["rankings"]["unconditional"]["density"] == ["mixture", "vae_beta_4", "gan"]
    assert "group (rank by density)" in quality.table(scores, GROUPS)
    nothing = quality.metrics(_calm(mixture=quality_row(4.5, 0.84, 0.56, 1.5, 0.99, 0.87)), GROUPS)
    assert nothing["ranked_by"] == [] and nothing["rankings"]["unconditional"] == {}
    assert "not ranked" in quality.table(_calm(mixture=quality_row(4.5, 0.84, 0.56, 1.5, 0.99, 0.87)), GROUPS)


def test_the_second_opinion_is_kept_only_where_it_agrees_with_the_judge():
    judge = _calm()
    same = quality.metrics(judge, GROUPS, second=judge, second_name="fine-tuned")["second_opinion"]
    assert same["agrees"] and same["model"] == "fine-tuned"
    assert all(row["same_best"] and row["rho"] == pytest.approx(1.0) for row in same["agreement"].values())
    assert same["rankings"]["unconditional"]["frechet"] == ["mixture", "gan", "vae_beta_4"]
    # another best generator by coverage in the second space: no agreement, no ranking kept
    swapped = {**judge, "gan": {**judge["gan"], "coverage": 0.9}}
    other = quality.metrics(judge, GROUPS, second=swapped)["second_opinion"]
    assert not other["agrees"] and other["rankings"] == {}
    assert not other["agreement"]["coverage"]["same_best"] and other["agreement"]["frechet"]["agrees"]
    assert other["agreement"]["coverage"]["best"]["unconditional"] == "gan"
    # the same best generators, but the order below them reversed: Spearman's rho below the threshold
    reorder = {**judge, "gan": {**judge["gan"], "frechet": 400.0},
               "per-class": {**judge["per-class"], "frechet": 300.0}}
    rho = quality.metrics(judge, GROUPS, second=reorder)["second_opinion"]["agreement"]["frechet"]
    assert rho["same_best"] and rho["rho"] < judging.AGREEMENT_RHO and not rho["agrees"]
    # a score that fails the check in the second space cannot agree
    noisy = {**judge, quality.NOISE: {**judge[quality.NOISE], "coverage": 0.5}}
    failed = quality.metrics(judge, GROUPS, second=noisy)["second_opinion"]["agreement"]["coverage"]
    assert failed["same_best"] and not failed["passed_check"] and not failed["agrees"]


def test_a_generator_within_the_larger_spread_over_draws_is_level_with_the_best():
    close = _calm(gan=quality_row(33.0, 0.61, 0.32, 0.69, 0.35, 0.70))  # 1.33 above the mixture's 31.67
    wide = quality.metrics(with_spread(close, 2.0, ("frechet",)), GROUPS)
    assert wide["best"]["unconditional"]["frechet"] == "mixture"  # the best by the mean is kept
    assert wide["level_with_best"]["unconditional"]["frechet"] == ["gan"]
    assert wide["level"]["unconditional"]["frechet"] == {"mixture": ["gan"], "gan": ["mixture"],
                                                         "vae_beta_4": []}
    assert wide["level_with_best"]["unconditional"]["density"] == []  # no spread recorded: means decide
    narrow = quality.metrics(with_spread(close, 0.5, ("frechet",)), GROUPS)
    assert narrow["level_with_best"]["unconditional"]["frechet"] == []  # 1.33 is beyond 0.5: a lead
    one_draw = quality.metrics(close, GROUPS)
    assert all(not names for names in one_draw["level_with_best"]["unconditional"].values())
    # the larger of the two spreads decides: one wide set is enough
    one = {**close, "gan": {**close["gan"], "frechet_std": 2.0}}
    assert quality.level(one, ["mixture", "gan"], "frechet") == {"mixture": ["gan"], "gan": ["mixture"]}
    equal = {**close, "gan": {**close["gan"], "frechet": 31.67}}  # one draw: only an equal mean is level
    assert quality.level(equal, ["mixture", "gan", "vae, beta 4"], "frechet")["mixture"] == ["gan"]


def test_there_is_no_second_opinion_where_the_best_classifier_is_the_judge():
    judge = _calm()
    found = quality.metrics(judge, GROUPS, judge="HW1", second=judge, second_name="HW1")
    assert found["second_opinion"] is None and found["best_is_judge"]
    skipped = quality.metrics(judge, GROUPS, judge="HW1", second=None, second_name="HW1")
    assert skipped["second_opinion"] is None and skipped["best_is_judge"]
    other = quality.metrics(judge, GROUPS, judge="HW1", second=judge, second_name="fine-tuned")
    assert not other["best_is_judge"] and other["second_opinion"]["model"] == "fine-tuned"
    assert "second_opinion" not in quality.metrics(judge, GROUPS, judge="HW1")  # none asked for


def test_every_draw_is_scored_and_pooled_in_either_feature_space():
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 28, 28, generator=g), 3, 1, 1)

    def real_like(n: int, spread: float = 0.1) -> torch.Tensor:
        return (base + spread * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)

    test, train = real_like(400), quality.to_uint8(real_like(400))
    drawn = [quality.image_sets(quality.references(real_like(200), train, 200, seed=seed),
                                {quality.UNCONDITIONAL: {"rough": (real_like(200, 0.2), None)}})
             for seed in (0, 1, 2)]

    def halved(images: torch.Tensor):  # a second feature space: the first 8 of the toy features
        feats, probs = _toy_embedding(images)
        return feats[:, :8], probs

    for embed, pixels in ((_toy_embedding, True), (halved, False)):
        scorer = quality.Scorer(embed, test, train, n=200, seed=0)
        pooled = quality.score_draws(scorer, drawn, pixels=pixels)
        each = [scorer.score(sets["rough"][0], pixels=pixels)["frechet"] for sets, _ in drawn]
        assert pooled["rough"]["draws"] == 3 and ("copies" in pooled["rough"]) == pixels
        assert pooled["rough"]["frechet"] == pytest.approx(np.mean(each))
        assert pooled["rough"]["frechet_std"] == pytest.approx(np.std(each, ddof=1))


def test_density_per_image_averages_to_the_set_density_and_the_confident_share_counts_a_threshold():
    real, fake = _modes(500, 0), _modes(200, 1) + 0.5
    per_image = judging.image_density(real, fake)
    assert per_image.shape == (200,) and (per_image >= 0).all()
    assert per_image.mean() == pytest.approx(judging.density_coverage(real, fake)["density"])
    assert judging.image_density(real, torch.full((3, 6), 100.0)).tolist() == [0.0, 0.0, 0.0]
    probs = torch.tensor([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9]])
    assert judging.confident_share(probs) == pytest.approx(2 / 3)
    assert judging.confident_share(probs, 0.5) == 1.0


def test_the_quality_map_shows_density_and_coverage_by_group_with_legible_text():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.use_style()
    fig = plots.quality_map(SCORES, [quality.REAL, quality.TRAIN, quality.NOISE], GROUPS)
    try:
        left, right = fig.axes[:2]
        assert "density" in right.get_ylabel() and "coverage" in right.get_xlabel()
        assert len(right.collections) == len(SCORES)
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert len(legend) == len(SCORES) and all(any(n in t for t in legend) for n in SCORES)
        assert any("class-conditional" in t for t in legend) and any("(reference;" in t for t in legend)
        markers = {h.get_marker() for h in fig.legends[0].legend_handles}
        assert len(markers) == 3  # references, unconditional, class-conditional
        fig.canvas.draw()
        texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        assert texts and min(t.get_fontsize() for t in texts) >= plots.MIN_FONT  # as printed: drawn at print size
    finally:
        plt.close(fig)


def test_a_mixture_fitted_without_labels_samples_seeded_images():
    g = torch.Generator().manual_seed(0)
    codes = torch.cat([torch.randn(200, 4, generator=g) + 5 * c for c in range(3)]).numpy()
    decoder = torch.nn.Sequential(torch.nn.Linear(4, 784), torch.nn.Sigmoid(), torch.nn.Unflatten(1, (1, 28, 28)))
    images = latent.mixture_samples(decoder, codes, 50, components=3, seed=0, device="cpu")
    assert images.shape == (50, 1, 28, 28) and images.dtype == torch.uint8
    assert torch.equal(images, latent.mixture_samples(decoder, torch.as_tensor(codes), 50, components=3, seed=0,
                                                      device="cpu"))
    assert not torch.equal(images, latent.mixture_samples(decoder, codes, 50, components=3, seed=1, device="cpu"))
    with pytest.raises(ValueError, match="components"):
        latent.mixture_samples(decoder, codes[:2], 5, components=3, seed=0, device="cpu")


def test_scores_over_draws_of_the_images_carry_their_mean_and_spread():
    draws = [{"gan": {"n": 50, "frechet": f, "density": d, "group": "x", "copies": c}}
             for f, d, c in ((10.0, 0.5, 0), (12.0, 0.7, 1), (14.0, 0.6, 2))]
    row = quality.pooled_scores(draws)["gan"]
    assert row["draws"] == 3 and row["n"] == 50 and "n_std" not in row and row["group"] == "x"
    assert row["frechet"] == pytest.approx(12.0) and row["frechet_std"] == pytest.approx(2.0)
    assert row["density_std"] == pytest.approx(0.1) and row["copies"] == pytest.approx(1.0)
    assert "12 ± 2" in quality.table({"gan": row, **{n: {**row} for n in quality.ROLES}}, ["gan"])


def test_the_strip_shows_the_class_sheets_generators_evenly_through_their_draw():
    images = {name: torch.arange(64, dtype=torch.float32).view(64, 1, 1, 1) + i
              for i, name in enumerate(("VAE prior, resize decoder", "DCGAN", "autoencoder + mixture without labels",
                                        "uniform noise"))}
    sheets = {figure: quality.Sheet(name, [], [], [], 64)
              for figure, name in quality.sheet_sets("resize").items()}
    shown = quality.Generators({n: (x, None) for n, x in images.items()}, {}, [], {}, {}, {}, "", "", "", "", "",
                               sheets)
    rows, labels = shown.strip
    assert labels == ["VAE prior,\nresize decoder", "DCGAN", "autoencoder +\nmixture without labels"]
    assert [len(r) for r in rows] == [quality.STRIP] * 3
    assert rows[1][:3].flatten().tolist() == [1.0, 5.0, 9.0]  # every 64 // 16 = 4th image of the DCGAN's draw
    fig = plots.image_rows(rows, labels, "samples", max_cell=0.3)
    try:
        assert plots.smallest_font(fig) >= 7
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)
