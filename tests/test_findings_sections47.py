"""The sentences of sections 4-7 (`helpers.findings.latent`, `vae`, `representations`, `generators`), read
from small hand-made metrics sections: each states the winner the numbers give, carries those numbers, and
calls a difference within its spread a tie. The report's prose is the same text the notebook prints."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from helpers import quality, report
from helpers.findings import generators as gen_text
from helpers.findings import latent as latent_text
from helpers.findings import representations as rep_text
from helpers.findings import vae as vae_text
from helpers.findings.words import TIE_ACCURACY, percent, plus_minus, sig, strategy

from .tiny import GROUPS, SCORES, as_dcgan, quality_row, with_spread


def _json(value):
    """What the report reads back from metrics.json: sorted keys, string keys."""
    return json.loads(json.dumps(value, sort_keys=True))


def _segment(text: str, start: str, ends: tuple[str, ...]) -> str:
    """The text from `start` to the first of `ends` after it (or to the end)."""
    rest = text[text.index(start) + len(start):]
    cut = min([rest.index(e) for e in ends if e in rest] or [len(rest)])
    return rest[:cut]


# ----------------------------------------------------------------------------- layering


@pytest.mark.parametrize("module", ["latent", "vae", "representations", "generators", "unlabeled",
                                    "autoencoder", "search", "finetune"])
def test_findings_modules_import_no_section_module(module):
    path = Path(__file__).resolve().parents[1] / "helpers" / "findings" / f"{module}.py"
    tree = ast.parse(path.read_text())
    relative = {(node.level, node.module) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level}
    assert relative <= {(1, "words"), (2, "results"), (2, "published")}, relative  # published: cited numbers
    absolute = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in absolute if name.startswith("helpers")]


def test_the_reference_keys_and_group_names_match_the_quality_module():
    assert gen_text.FLOOR == quality.key(quality.REAL) and gen_text.CEILING == quality.key(quality.NOISE)
    assert gen_text.MEMORY == quality.key(quality.TRAIN)
    assert gen_text.UNCONDITIONAL == quality.key(quality.UNCONDITIONAL)
    assert quality.CONDITIONAL in gen_text.USED_LABELS
    assert set(gen_text.MEASURE_WORDS) == set(quality.MEASURES)


# ----------------------------------------------------------------------------- section 4


def _structure(code_knn: float, code_silhouette: float = 0.07) -> dict:
    row = lambda knn, sil, probe: {  # noqa: E731
        "knn_accuracy": knn, "silhouette": sil, "linear_probe_accuracy": probe}
    return {"raw": row(0.80, 0.05, 0.82), "pca": row(0.81, 0.06, 0.80),
            "ae": row(code_knn, code_silhouette, 0.83), "classifier": row(0.90, 0.20, 0.90)}


def test_the_structure_sentence_calls_the_code_against_raw_pixels_with_the_tie_rule():
    text = latent_text.structure(_structure(0.85))
    assert percent(0.85) in text and percent(0.80) in text and "+4.0 points" in text and "+3.0 points" in text
    assert text.count("higher than") == 2 and "level with" not in text and "lower than" not in text
    level = latent_text.structure(_structure(0.80 + TIE_ACCURACY / 2))
    assert "level with" in level and level.count("higher than") == 1  # the silhouette is still higher
    lower = latent_text.structure(_structure(0.79, 0.04))
    assert lower.count("lower than") == 2 and "higher than" not in lower
    assert percent(0.90) in text and sig(0.20) in text  # the supervised reference's numbers


def _mixing_row(name: str, recall: float, confused_with: str, share: float) -> dict:
    return {"name": name, "recall": recall, "confused_with": confused_with, "confused_share": share}


def _mixing(shirt_recall: dict[str, float], worst_elsewhere: str | None = None) -> dict:
    found = {}
    for space, recall in shirt_recall.items():
        found[space] = {"trouser": _mixing_row("Trouser", 0.98, "Dress", 0.01),
                        "bag": _mixing_row("Bag", 0.97 if space != "ae" else 0.90, "Shirt", 0.05),
                        "shirt": _mixing_row("Shirt", recall, "T-shirt/top", 0.2)}
    if worst_elsewhere:
        found[worst_elsewhere]["bag"] = _mixing_row("Bag", 0.1, "Sandal", 0.8)
    return found


def test_the_mixing_sentence_names_the_classes_kept_apart_and_the_most_mixed_one():
    found = _mixing({"raw": 0.5, "ae": 0.6, "classifier": 0.7})
    text = latent_text.mixing(found)
    apart = text[:text.index("apart")]
    assert "Trouser" in apart and "Bag" not in apart  # the bag mixes in the code (90% < 95%)
    assert "Shirt" not in apart
    assert "Shirt is the most mixed class in every space" in text and "T-shirt/top" in text
    spaces = ((0.5, "raw pixels"), (0.6, "the autoencoder's code"), (0.7, "the classifier's features"))
    for share, space in spaces:
        assert f"{percent(share, 0)} in {space}" in text
    assert latent_text.mixing(_json(found)) == text  # the report's metrics.json order says the same
    split = latent_text.mixing(_mixing({"raw": 0.5, "ae": 0.6}, worst_elsewhere="ae"))
    assert "in every space" not in split.split(".")[-2] and "Sandal" in split and "Shirt" in split


def _generation(median: float) -> dict:
    return {"recognition": {"recognised": 0.79, "n": 20, "mean_confidence": 0.7, "mean_top_probability": 0.8,
                            "per_class": {"t_shirt_top": 0.9, "bag": 0.68}},
            "novelty": {"identical": 0, "median_mse": median, "test_median_mse": 0.018,
                        "reconstruction_median_mse": 0.015},
            "gaussian": {"mean_top_probability": 0.6, "shares": {"t_shirt_top": 0.7, "bag": 0.3}}}


def test_the_generation_sentence_names_the_best_and_worst_class_and_the_copy_check():
    text = latent_text.generation(_generation(0.02), ("T-shirt/top", "Bag"))
    assert percent(0.79) in text and "best T-shirt/top (90%)" in text and "worst Bag (68%)" in text
    assert "no closer to" in text and sig(0.02) in text and sig(0.015) in text
    assert "no closer to" not in latent_text.generation(_generation(0.01), ("T-shirt/top", "Bag"))
    assert "target" not in text and "aim" not in text
    assert "30% (Bag) and 70% (T-shirt/top)" in text  # how the judge spreads the single Gaussian's samples
    assert "top probability" not in text
    never = _generation(0.02)
    never["gaussian"]["shares"] = {"t_shirt_top": 1.0, "bag": 0.0}
    text = latent_text.generation(never, ("T-shirt/top", "Bag"))
    assert "none of the single Gaussian's samples to Bag" in text and "every class" not in text


def _interpolation(within: float, across: float, *, passed: bool = True) -> dict:
    """A `latent.interpolation` entry: the code path's mean density per kind of pair (the cross-fade at 0.5),
    with bootstrap intervals of half-width 0.05 around each difference."""
    def row(code: float, pairs: int) -> dict:
        d = code - 0.5
        return {"pairs": pairs, "code": code, "pixels": 0.5, "code_wins": 0.9 if d > 0 else 0.1,
                "difference": {"mean": d, "low": d - 0.05, "high": d + 0.05, "n": pairs}}
    check = {"passed": passed, "noise_not_last": [] if passed else ["pixels"],
             "real_not_above": {"real_held_out_images": []},
             "mean_density": {"real_held_out_images": 1.0, "uniform_noise": 0.4 if passed else 0.6,
                              "code": (within + across) / 2, "pixels": 0.5}}
    return {"steps": 10, "pairs": 100, "score": "density", "k": 5, "judge": "HW1 network from scratch",
            "reference_images": 9802, "check": check, "within": row(within, 50), "across": row(across, 50),
            "all": row((within + across) / 2, 100)}


def test_the_path_sentence_calls_each_kind_of_pair_by_its_interval_and_only_after_the_check():
    text = latent_text.paths(_interpolation(0.8, 0.52))
    ends = ("; ",)
    assert "100 random pairs" in text and "each path (8 images)" in text
    assert "among the 9,802 test images that end no path" in text and "validation images 1.00" in text
    assert latent_text.AHEAD[1] in _segment(text, latent_text.PAIR_WORDS["within"] + " (50)", ends)
    across = _segment(text, latent_text.PAIR_WORDS["across"] + " (50)", ends)
    assert latent_text.AHEAD[0] in across  # 0.02 ± 0.05
    assert latent_text.AHEAD[1] in _segment(text, latent_text.PAIR_WORDS["all"] + " (100)", ends)
    assert "90 of 100" in text  # the pairs the code path wins
    behind = latent_text.paths(_interpolation(0.3, 0.35))
    assert latent_text.AHEAD[-1] in behind and latent_text.AHEAD[1] not in behind
    failed = latent_text.paths(_interpolation(0.8, 0.52, passed=False))
    assert all(latent_text.AHEAD[call] not in failed for call in (1, 0, -1))  # no verdict without the check
    assert "uniform noise" in _segment(failed, "fails its check", (")",))
    assert "top probability" not in text + behind + failed


# ----------------------------------------------------------------------------- section 5


def test_the_vae_decoder_sentence_names_the_kept_decoder_and_both_scores():
    rows = {"resize": {"val_nelbo": 245.8, "nelbo": 246.4},
            "transposed": {"val_nelbo": 246.5, "nelbo": 247.3}}
    text = vae_text.decoder_sentence({"decoders": rows, "config": {"decoder": "resize"}})
    assert "keeps the resize decoder" in text and "lower than" in text
    assert all(v in text for v in ("245.8", "246.5", "246.4", "247.3"))
    other = vae_text.decoder_sentence(_json({"decoders": rows, "config": {"decoder": "transposed"}}))
    assert "keeps the transposed decoder" in other and "higher than" in other


def test_the_likelihood_sentence_sorts_published_numbers_by_the_tie_rule():
    published = {"A": 230.0, "B": 227.3, "C": 226.8, "D": 223.7}
    found = {"images": 1000, "samples": 200, "elbo": -231.0, "nll": 227.0, "nll_sem": 0.5}
    text = vae_text.likelihood(found, published)
    assert plus_minus(227.0, 0.5) in text and "1,000" in text
    ends = ("below (better than)", "level with", "above (worse than)")
    assert "A (230.00, 3.0 nats away)" in _segment(text, "below (better than)", ends)
    assert {"B", "C"} <= set(_segment(text, "level with", ends).replace("(", " ").split())
    assert "nats away" not in _segment(text, "level with", ends)
    assert "D (223.70, 3.3 nats away)" in _segment(text, "above (worse than)", ends)
    assert "target" not in text
    worse = vae_text.likelihood({**found, "nll": 241.6, "nll_sem": 2.4}, published)
    assert "below" not in worse and "level with" not in worse and "above (worse than)" in worse


def test_the_variants_sentence_names_the_winner_of_each_measure():
    row = lambda beta, warmup, recon, kl, share, dims: {  # noqa: E731
        "beta": beta, "warmup": warmup, "recon": recon, "kl": kl, "confident_share": share,
        "active_dims": dims}
    rows = {"beta0p5_warmup": row(0.5, True, 228.5, 34.2, 0.16, 32),
            "beta4_warmup": row(4.0, True, 264.4, 7.9, 0.22, 12),
            "beta1_nowarmup": row(1.0, False, 239.3, 20.6, 0.30, 30)}
    text = vae_text.variants(rows, confident=0.9)
    assert _segment(text, "reconstruction term", ("KL",)).count("β = 0.5 with warm-up") == 1
    assert "β = 4 with warm-up" in _segment(text, "KL", ("prior",)) and "12 active dimensions" in text
    assert "β = 1 without warm-up" in _segment(text, "prior samples", ("p ≥",))
    assert "30%" in text and "0.9" in text
    note = vae_text.variants_note(6000, 1, 18000, 8)
    assert "6,000 images" in note and "18,000 images" in note and "1 epoch " in note and "8 epochs" in note


def _few(means: dict[str, dict[int, float]], std: float = 0.01) -> dict:
    names = {"raw": "raw pixels", "ae": "autoencoder code", "vae": "VAE mean"}
    found = {"protocol": {"draws": {"n100": 3}}}
    for key, by_n in means.items():
        found[key] = {"name": names[key], "svm": {f"n{n}": {"mean": m, "std": std if n < 3000 else 0.0}
                                                  for n, m in by_n.items()}}
    return found


def test_the_few_label_sentence_compares_with_raw_pixels_references_and_the_autoencoder_by_the_tie_rule():
    few = _few({"raw": {100: 0.60, 600: 0.75, 3000: 0.84}, "ae": {100: 0.70, 600: 0.80, 3000: 0.846},
                "vae": {100: 0.72, 600: 0.78, 3000: 0.843}})
    text = vae_text.few_labels(few, references={"earlier": {100: 0.71, 600: 0.77}, "strong": {"n100": 0.80}})
    assert f"100 labels: VAE mean, {plus_minus(0.72, 0.01, 100, '%')}" in text
    assert f"600 labels: autoencoder code, {plus_minus(0.80, 0.01, 100, '%')}" in text
    assert "3,000 labels: autoencoder code, 84.6%" in text  # one draw: no spread
    assert "raw pixels at 3 of 3 counts" in text
    assert "earlier at 2 of 2" in text and "strong at 0 of 1" in text
    vae_vs_ae = text[text.index("VAE mean against"):]
    # 100: +2 points over a spread of 1: ahead; 600: -2: behind; 3000: -0.3 points, one draw
    # (so the spread is TIE_ACCURACY): level
    assert "ahead at 100" in vae_vs_ae and "behind at 600" in vae_vs_ae and "level at 3000" in vae_vs_ae
    assert "aim" not in text and "target" not in text
    within = vae_text.few_labels(_few({"raw": {100: 0.60}, "ae": {100: 0.70}, "vae": {100: 0.705}}, std=0.02))
    assert "level at 100" in within
    assert vae_text.few_labels(_json(few)) == vae_text.few_labels(few)
    with pytest.raises(TypeError):
        vae_text.few_labels(few, targets={100: 0.81})


# ----------------------------------------------------------------------------- sections 6-7: representations


def _reps(ae_knn: float) -> dict:
    row = lambda label, knn, probe, few100, supervised=False: {  # noqa: E731
        "label": label, "knn_accuracy": knn, "linear_probe_accuracy": probe, "silhouette": 0.05,
        "few_n100": few100, "few_n1000": None, "supervised": supervised}
    return {"raw": row("raw pixels", 0.826, 0.829, 0.69), "ae": row("autoencoder code", ae_knn, 0.829, 0.72),
            "simclr": row("SimCLR feature map", 0.8567, 0.885, 0.724),
            "classifier": row("classifier features", 0.89, 0.897, None, supervised=True)}


def test_the_representation_sentence_names_each_read_outs_winner_and_calls_close_ones_level():
    text = rep_text.representations(_reps(0.8566))
    assert "SimCLR's feature map leads or is level on every accuracy read-out" in text
    knn = _segment(text, "k-NN", (";",))
    assert percent(0.8567) in knn and "+3.1 points" in knn and "level with the autoencoder's code" in knn
    assert "level with" not in _segment(text, "a linear probe", (";",))
    assert "classifier" not in text.split(".")[0]  # the supervised features never win a read-out
    assert "1.2 points above" in text  # what labels add
    apart = rep_text.representations(_reps(0.8567 - TIE_ACCURACY - 0.001))
    assert "level with the autoencoder's code" not in _segment(apart, "k-NN", (";",))
    assert rep_text.representations(_json(_reps(0.8566))) == text


def test_the_discussion_follows_the_code_against_raw_pixels():
    metrics = {"representations": _reps(0.8566),
               "generators": {"best": {"unconditional": dict.fromkeys(("density", "coverage", "frechet"),
                                                                      "mix")}}}
    text = rep_text.discussion(metrics)
    assert "a better space than raw pixels both" in text and "SimCLR's feature map is read best" in text
    assert "mix has both the highest density and the highest coverage" in text
    metrics["representations"]["ae"]["few_n100"] = 0.69 + TIE_ACCURACY / 2
    assert "level with them with 100 labels" in rep_text.discussion(metrics)
    metrics["representations"]["ae"].update(knn_accuracy=0.80, few_n100=0.60)
    assert "no better a space" in rep_text.discussion(metrics)


def _simclr_metrics(simclr_knn: float) -> dict:
    row = lambda knn, probe, dims=256: {  # noqa: E731
        "knn_accuracy": knn, "linear_probe_accuracy": probe, "dims": dims}
    svm = lambda a, b: {  # noqa: E731
        "svm": {"n100": {"mean": a, "std": 0.02}, "n3000": {"mean": b, "std": 0.0}}}
    return {"latent": {"structure": {"simclr": row(simclr_knn, 0.84), "raw": row(0.826, 0.829, 784),
                                     "ae_features": row(0.85, 0.866), "vae_features": row(0.846, 0.866),
                                     "simclr_code": row(0.75, 0.79, 32)}},
            "few_labels": {"simclr": svm(0.72, 0.87), "raw": svm(0.69, 0.846),
                           "ae_features": svm(0.714, 0.858), "vae_features": svm(0.70, 0.851)},
            "simclr": {"finetuned": {"test_accuracy": 0.894}},
            "finetune": {"finetune_kept": "fine-tuned (one lr)",
                         "hw1": {"name": "HW1", "test_accuracy": 0.871},
                         "finetuned_onelr": {"name": "fine-tuned (one lr)", "test_accuracy": 0.886}}}


def test_the_simclr_sentence_sets_it_against_raw_pixels_the_other_encoders_and_its_code():
    metrics = _simclr_metrics(0.80)
    text = rep_text.simclr(metrics)
    assert "2.6 points below and 1.1 points above raw pixels" in text
    assert "32-number code" in text and percent(0.75) in text and percent(0.79) in text
    assert "With 100 labels the best of these is SimCLR's feature map" in text
    assert "With 3,000 labels the best of these is SimCLR's feature map" in text
    assert all(percent(v) in text for v in (0.894, 0.886, 0.871))
    assert "level with and 1.1 points above" in rep_text.simclr(_simclr_metrics(0.826 + TIE_ACCURACY / 2))
    metrics["few_labels"]["ae_features"]["svm"]["n100"]["mean"] = 0.73
    assert "the autoencoder's feature map (73.0%; SimCLR 72.0%)" in rep_text.simclr(metrics)


# ----------------------------------------------------------------------------- section 7: generators




def _calm_scores(**changed) -> dict[str, dict]:
    """SCORES with every score of the ranking passing the check (densities below the real sets')."""
    scores = {**SCORES, "vae, beta 4": quality_row(355.37, 0.92, 0.0, 0.80, 0.22, 0.60),
              "mixture": quality_row(31.67, 0.84, 0.56, 0.93, 0.86, 0.87),
              "per-class": quality_row(23.3, 0.90, 0.56, 0.95, 0.92, 0.90, recognised=0.859)}
    return {**scores, **changed}


def _dropped(text: str) -> str:
    """The sentence that names the dropped scores and why (without what the ranking then falls back on)."""
    at = text.index(" dropped, since ")
    end = min(i for i in (text.find(".", at), text.find(", so the generators", at)) if i >= 0)
    return text[text.rfind(". ", 0, at) + 2:end]


def test_the_generator_summary_names_the_scores_kept_the_ones_dropped_and_ranks_within_groups():
    found = _json(quality.metrics(SCORES, GROUPS, judge="HW1 network from scratch"))
    text = gen_text.summary(found)
    assert "Homework 1's network from scratch" in text  # the judge, named in words
    dropped = _dropped(text)
    for by in found["dropped"]:
        assert gen_text.MEASURE_WORDS[by] in dropped
    assert "coverage" not in dropped and "Fréchet distance" not in dropped  # both pass in SCORES
    noise_last = _segment(dropped, "uniform noise is not last on ", (";",))
    assert "precision" in noise_last and "mean top probability" in noise_last and "density" not in noise_last
    assert "density" in _segment(dropped, "reaches real images on ", (";",))  # three generators reach them
    why = gen_text.dropped(found)  # every reason, for the notebook's details
    assert "all but gan" in _segment(why, "density, ", (";",))
    assert "2 of the 4 generators (gan and vae, beta 4" in _segment(why, "mean top probability, ", ("))",))
    assert why in gen_text.details(found)
    unconditional = _segment(text, "Among the 3 unconditional generators", ("The only",))
    assert "mixture" in unconditional and sig(31.67) in unconditional and sig(0.86) in unconditional
    assert "per-class" not in unconditional  # the class-conditional generator is not ranked with them
    assert "density" not in unconditional  # density failed the check: nothing is ranked by it
    assert "The only class-conditional generator, per-class, is ranked on its own" in text
    assert "(it used the labels)" in text
    assert gen_text.summary(quality.metrics(SCORES, GROUPS, judge="HW1 network from scratch")) == text
    passing = _segment(text, "every other set. ", (".",))
    assert "Fréchet distance" in passing and "coverage" in passing and "density" not in passing
    assert "reported beside them" not in text  # no score outside the ranking passes in SCORES
    passed = {"frechet": True, "density": False, "coverage": True, "recall": True, "precision": False}
    made = gen_text.checks({"ranked_by": ["frechet", "coverage"], "checks": {
        by: {"passed": ok, "noise_not_last": [] if ok else ["gan"], "real_not_above": {}} for by, ok in passed.items()}})
    others = _segment(made, "and so does", (":",))  # a score that passes but ranks nothing, said apart
    assert "set for it in advance (Fréchet distance, density and coverage)" in made  # why it ranks nothing
    assert "recall" in others and "reported beside them" in others
    passing = {"ranked_by": ["frechet", "coverage"], "checks": {  # the report's table shows no confident share
        by: {"passed": True, "noise_not_last": [], "real_not_above": {}} for by in ("frechet", "coverage",
                                                                                   "recall", "confident_share")}}
    assert "confident share" in gen_text.checks(passing) and "recall" in gen_text.checks(passing, shown=["recall"])
    assert "confident share" not in gen_text.checks(passing, shown=["recall"])
    assert all(score not in others for score in ("Fréchet", "density", "coverage", "precision"))
    calm = gen_text.summary(_json(quality.metrics(_calm_scores(), GROUPS)))
    unconditional = _segment(calm, "Among the 3 unconditional generators", ("The only",))
    assert "mixture" in unconditional and sig(0.93) in unconditional  # density ranks once it passes
    assert "only." not in calm  # no fallback: every score of the ranking passed


def test_the_summary_says_what_the_generators_are_ranked_by_when_the_frechet_distance_fails():
    scores = _calm_scores(mixture=quality_row(4.5, 0.84, 0.56, 0.93, 0.86, 0.87))  # below the training images
    found = _json(quality.metrics(scores, GROUPS))
    text = gen_text.summary(found)
    assert "Fréchet distance" in _dropped(text)
    assert "mixture" in _segment(gen_text.dropped(found), "Fréchet distance, ", (";", "."))
    fallback = _segment(text, "so the generators are ranked by", (".",))
    assert "density and coverage only" in fallback and "Fréchet distance" in _dropped(text)
    assert "4.50" not in _segment(text, "Among the 3 unconditional generators", ("The only",))
    none = _calm_scores(mixture=quality_row(4.5, 0.84, 0.56, 1.5, 0.99, 0.87))
    text = gen_text.summary(_json(quality.metrics(none, GROUPS)))
    assert "not ranked" in text and "Among the" not in text


def test_the_second_opinion_sentence_follows_the_agreement_rule():
    judge = _calm_scores()
    agree = _json(quality.metrics(judge, GROUPS, second=judge, second_name="fine-tuned (one lr)"))
    said = gen_text.second_opinion(agree)
    assert strategy("fine-tuned (one lr)") in said and "agrees with the judge's" in said
    assert "not shown" not in said and "features alone" not in said
    swapped = {**judge, "gan": {**judge["gan"], "coverage": 0.9}}
    differ = _json(quality.metrics(judge, GROUPS, second=swapped, second_name="fine-tuned (one lr)"))
    said = gen_text.second_opinion(differ)
    assert "does not agree" in said and "rests on the judge's features alone" in said
    assert "another best generator" in _segment(said, "coverage:", (";", ")"))
    assert "Fréchet distance:" not in said  # it agrees there: no reason to give
    assert gen_text.second_opinion(_json(quality.metrics(judge, GROUPS))) == ""  # none scored


def test_the_generator_details_and_the_dcgan_sentence_read_the_stored_scores():
    found = _json(quality.metrics(SCORES, GROUPS))
    details = gen_text.details(found)
    assert "85.9% of the samples of per-class" in details
    assert f"{percent(0.35 / 0.97, 0)} (gan)" in details  # coverage as a share of the real images' own
    assert "Last among the unconditional generators: vae, beta 4 on Fréchet distance" in details
    dcgan = gen_text.dcgan(found, "gan")
    assert "Fréchet distance of 124" in dcgan and "rank 2 of 3" in _segment(dcgan, "Fréchet", ("density",))
    assert "fails the check" in _segment(dcgan, "density", ("coverage",))  # density failed in SCORES
    assert " of 3" not in _segment(dcgan, "density", ("coverage",))
    assert "rank 2 of 3" in _segment(dcgan, "coverage, the diversity score", (")",))
    assert percent(0.35 / 0.97, 0) in _segment(dcgan, "coverage, the diversity score", ("recall",))
    assert "top probability" not in dcgan and "target" not in dcgan
    calm = gen_text.dcgan(_json(quality.metrics(_calm_scores(), GROUPS)), "gan")
    assert "rank 3 of 3" in _segment(calm, "density", ("coverage",))
    with pytest.raises(ValueError, match="no scored set"):
        gen_text.dcgan(found, "DCGAN")


def _unconditional(text: str) -> str:
    return _segment(text, "Among the 3 unconditional generators", ("The only",))


def test_a_lead_within_the_spread_over_draws_names_the_generators_level_with_the_best():
    close = _calm_scores(gan=quality_row(33.0, 0.61, 0.32, 0.69, 0.35, 0.70))  # 1.33 above the mixture
    tied = _json(quality.metrics(with_spread(close, 2.0, ("frechet",)), GROUPS))
    text = _unconditional(gen_text.group_bests(tied))
    assert "leads" not in text  # the mixture is best on every score by the mean, but not beyond the spread
    frechet, density = text.split(";")[:2]
    assert "Fréchet distance" in frechet and "mixture" in frechet
    assert "level with gan" in frechet and plus_minus(33.0, 2.0) in frechet
    assert "density" in density and "level with" not in density  # no spread there: the mean decides
    ahead = _json(quality.metrics(with_spread(close, 0.5, ("frechet",)), GROUPS))
    text = _unconditional(gen_text.group_bests(ahead))
    assert "mixture leads on every ranked score" in text and "gan" not in text and "level" not in text
    assert plus_minus(31.67, 0.5) in text
    one_draw = _unconditional(gen_text.group_bests(_json(quality.metrics(close, GROUPS))))
    assert "mixture leads on every ranked score" in one_draw


def test_the_dcgan_rank_is_a_range_where_neighbours_lie_within_the_spread():
    close = _calm_scores(gan=quality_row(33.0, 0.61, 0.32, 0.69, 0.35, 0.70))

    def frechet(scores: dict) -> str:  # the DCGAN's sentence on the Fréchet distance
        said = gen_text.dcgan(_json(quality.metrics(scores, GROUPS)), "gan")
        return _segment(said, "Fréchet", ("Their density",))

    first = frechet(with_spread(close, 2.0, ("frechet",)))
    assert "rank 2 of 3" not in first and "tied with mixture for first of 3" in first
    assert "rank 2 of 3" in frechet(with_spread(close, 0.5, ("frechet",)))  # beyond the spread: its rank
    assert "rank 2 of 3" in frechet(close)  # one draw: the means rank
    # level with the generator behind it only: ranks 2 to 3
    middle = _calm_scores(gan=quality_row(33.0, 0.61, 0.32, 0.69, 0.35, 0.70),
                          **{"vae, beta 4": quality_row(33.5, 0.92, 0.0, 0.80, 0.22, 0.60)})
    middle = {n: {**row, "frechet_std": 0.8} if n in ("gan", "vae, beta 4") else row
              for n, row in middle.items()}
    placed = frechet(middle)
    assert "vae, beta 4" in placed and "2 to 3 of 3" in placed and "first" not in placed


def test_the_discussion_names_the_generators_level_with_the_best():
    tied = with_spread(_calm_scores(), 0.2, ("density",))  # mixture 0.93, vae 0.80: within 0.2
    metrics = {"representations": _reps(0.8566), "generators": _json(quality.metrics(tied, GROUPS))}
    text = _segment(rep_text.discussion(metrics), "generators that used no labels", (".",))
    assert "mixture, level with vae, beta 4," in text and "has both" not in text
    metrics["generators"] = _json(quality.metrics(with_spread(_calm_scores(), 0.05, ("density",)), GROUPS))
    assert "mixture has both the highest density and the highest coverage" in rep_text.discussion(metrics)


def test_there_is_no_second_opinion_to_state_where_the_best_classifier_is_the_judge():
    judge = _calm_scores()
    found = _json(quality.metrics(judge, GROUPS, judge="HW1", second=judge, second_name="HW1"))
    said = gen_text.second_opinion(found)
    assert said and "agree" not in said and "Spearman" not in said and "not shown" not in said
    assert said in gen_text.summary(found)
    other = _json(quality.metrics(judge, GROUPS, judge="HW1", second=judge, second_name="fine-tuned"))
    assert "agrees with the judge's" in gen_text.second_opinion(other)


def test_the_dcgan_coverage_share_is_stated_only_where_coverage_passes_the_check():
    scores, groups = as_dcgan(_calm_scores(), GROUPS)
    share = percent(0.35 / 0.97, 0)  # a whole per cent: the draws spread it by about a point
    passed = _json(quality.metrics(scores, groups))
    assert share in gen_text.coverage_of_real(passed) and share in gen_text.dcgan(passed)
    failing = {**scores, quality.NOISE: {**scores[quality.NOISE], "coverage": 0.5}}  # noise above the DCGAN
    failed = _json(quality.metrics(failing, groups))
    assert not failed["checks"]["coverage"]["passed"]
    said = gen_text.coverage_of_real(failed)
    assert said and share not in said and share not in gen_text.dcgan(failed)
    assert percent(0.35 / 0.97, 0) not in gen_text.details(failed)  # nor among every generator's share
    for found in (passed, failed):
        prose = report.findings({"generators": found})
        assert prose["dcgan_coverage"] == gen_text.coverage_of_real(found)
    assert "dcgan_coverage" not in report.findings({"generators": _json(quality.metrics(SCORES, GROUPS))})


# ----------------------------------------------------------------------------- one function, both places


def test_the_report_states_the_notebooks_sentences():
    metrics = {**_simclr_metrics(0.80), "representations": _reps(0.8566),
               "generators": _json(quality.metrics(SCORES, GROUPS))}
    metrics["latent"]["mixing"] = _mixing({"raw": 0.5, "ae": 0.6, "classifier": 0.7})
    metrics["latent"]["interpolation"] = _interpolation(0.8, 0.52)
    prose = report.findings(_json(metrics))
    assert prose["interpolation"] == latent_text.paths(metrics["latent"]["interpolation"])
    assert prose["simclr"] == rep_text.simclr(metrics)
    assert prose["representations"] == rep_text.representations(metrics["representations"])
    assert prose["generators"] == gen_text.summary(metrics["generators"], shown=report.GENERATOR_TABLE_SCORES)
    assert prose["discussion"] == rep_text.discussion(metrics)
    assert prose["mixing"] == latent_text.mixing(metrics["latent"]["mixing"])


# ----------------------------------------------------------------------------- the random-encoder control


def _structure_with_control(code_knn: float, control_std: float = 0.01) -> dict:
    control = {"name": "random encoder, code", "inits": 3, "knn_accuracy": 0.78, "knn_accuracy_std": control_std,
               "linear_probe_accuracy": 0.80, "linear_probe_accuracy_std": control_std, "dims": 32}
    return {"raw": {"knn_accuracy": 0.826, "linear_probe_accuracy": 0.829},
            "ae": {"knn_accuracy": code_knn, "linear_probe_accuracy": 0.75, "random_control": "ae_random"},
            "ae_random": control}


def test_what_training_adds_over_the_random_encoder_follows_the_control_spread():
    text = rep_text.over_random(_structure_with_control(0.85))
    assert "3 initializations" in text and plus_minus(0.78, 0.01, 100, "%") in text
    assert "+7.0 points" in text  # k-NN: the trained code above its control
    assert "−5.0 points" in text  # linear probe: below it (0.75 against 0.80)
    level = rep_text.over_random(_structure_with_control(0.785))
    assert "within the control's spread" in level and "+0.5 points" not in level
    assert rep_text.over_random(_structure_with_control(0.85), keys=("vae",)) == ""  # no trained row asked for


def test_the_few_label_sentence_sets_each_trained_representation_against_its_control_not_as_a_winner():
    few = _few({"raw": {100: 0.60, 3000: 0.84}, "ae": {100: 0.70, 3000: 0.846}})
    few["ae"]["random_control"] = "ae_random"
    few["ae_random"] = {"name": "random encoder, code", "inits": 3,
                        "svm": {"n100": {"mean": 0.75, "std": 0.02}, "n3000": {"mean": 0.80, "std": 0.01}}}
    assert "100 labels: autoencoder code" in vae_text.few_labels(few)  # the control is never the best one
    control = rep_text.few_over_random(few)
    assert "random weights" in control and "−5.0 points" in control and "+4.6 points" in control
    few["ae_random"]["svm"]["n100"]["mean"] = 0.69
    assert "within the spread" in rep_text.few_over_random(few)


def test_the_discussion_credits_training_only_beyond_the_random_encoder():
    reps = _reps(0.8566)
    reps["ae"]["random_control"] = "ae_random"
    reps["ae_random"] = {"label": "random encoder, code", "control": True, "supervised": False, "inits": 3,
                         "knn_accuracy": 0.84, "knn_accuracy_std": 0.01, "few_n100": 0.70, "few_n100_std": 0.03,
                         "linear_probe_accuracy": 0.99, "silhouette": 0.1, "few_n1000": None}
    text = rep_text.discussion({"representations": reps})
    assert "1.7 points above it by k-NN" in text and "level with it with 100 labels" in text
    assert "random encoder" not in rep_text.representations(reps)  # a control never wins a read-out


def test_the_simclr_sentence_calls_its_fine_tuning_over_seeds_by_the_paired_interval():
    from helpers.statistics import paired_difference
    metrics = _simclr_metrics(0.80)
    simclr, scratch, encoder = [0.894, 0.890, 0.897], [0.871, 0.868, 0.875], [0.893, 0.899, 0.889]
    metrics["simclr"]["finetuned_seeds"] = {
        "seeds": 3, "epochs": 8, "stats": {"test_accuracy": {"mean": 0.8937, "std": 0.0035}},
        "against": {"scratch": paired_difference(simclr, scratch), "encoder": paired_difference(simclr, encoder)}}
    text = rep_text.simclr(metrics)
    seeds = text[text.index("Over 3 seeds"):]
    assert plus_minus(0.8937, 0.0035, 100, "%") in seeds
    assert "+2.2 points against Homework 1's network from scratch" in seeds and "ahead" in seeds
    assert "the autoencoder's encoder" in seeds and "a tie" in seeds
    metrics["finetune_seeds"] = {"differences": {"encoder": {"name": "frozen + two-layer head"}}}
    assert "encoder (frozen + two-layer head)" in rep_text.simclr(metrics)  # the strategy it was, named


def _paths(low: float, high: float, passed: bool = True) -> dict:
    return {"check": {"passed": passed}, "all": {"code": 0.6, "pixels": 0.76},
            "against_reconstruction_fade": {"pairs": 100, "code": 0.6, "fade": 0.5,
                                            "difference": {"mean": (low + high) / 2, "low": low, "high": high}}}


def test_the_paths_reading_sets_the_code_path_against_a_fade_of_its_decoded_ends():
    ahead = latent_text.paths_reading(_paths(0.05, 0.2))
    assert "0.600 against 0.500" in ahead and "0.12 [0.05, 0.20]" in ahead and "100 pairs" in ahead
    assert "not from the code's geometry" in ahead
    assert "beyond what the decoder's blur explains" in latent_text.paths_reading(_paths(-0.2, -0.05))
    assert "level" in latent_text.paths_reading(_paths(-0.05, 0.1))
    assert latent_text.paths_reading(_paths(0.05, 0.2, passed=False)) == ""
    assert latent_text.paths_reading({"check": {"passed": True}}) == ""  # a run from before the control


def test_the_feature_map_control_says_how_much_is_the_architecture_s():
    row = lambda knn, probe, **extra: {"knn_accuracy": knn, "linear_probe_accuracy": probe, **extra}  # noqa: E731
    reps = {"raw": row(0.826, 0.829),
            "ae_features_random": row(0.840, 0.850, inits=3, knn_accuracy_std=0.003, linear_probe_accuracy_std=0.003),
            "ae_features": row(0.849, 0.863, random_control="ae_features_random"),
            "simclr": row(0.851, 0.864, random_control="ae_features_random")}
    text = rep_text.architecture_share(reps)
    assert "+1.4 and +2.1 points over raw pixels" in text and "+0.9 to +1.4 points over it" in text
    assert "comes from the convolutional architecture" in text  # 1.75 points from it, 1.2 from training
    trained_more = {**reps, "simclr": row(0.90, 0.92, random_control="ae_features_random")}
    mixed = rep_text.architecture_share(trained_more)  # +6 and +7 points from SimCLR's training, 1.75 from it
    assert "while training adds more than the architecture to" in mixed and "not from what training" not in mixed
    named = mixed.split("while training")
    assert "SimCLR" not in named[0] and "SimCLR" in named[1]
    both = {**trained_more, "ae_features": row(0.90, 0.92, random_control="ae_features_random")}
    assert "training adds more to every one of these maps" in rep_text.architecture_share(both)
    assert rep_text.architecture_share({k: v for k, v in reps.items() if k != "ae_features_random"}) == ""


def test_the_vae_reading_follows_the_frechet_distances_of_the_two_one_gaussian_generators():
    def found(vae: float, edge: bool = False, passed: bool = True) -> dict:
        row = lambda name, fd, e: {"name": name, "frechet": fd, "frechet_std": 0.2,  # noqa: E731
                                   **({"edge_strength_of_real": e} if edge else {})}
        return {"checks": {"frechet": {"passed": passed}},
                "sets": {"vae_prior_resize_decoder": row("VAE prior, resize decoder", vae, 0.41),
                         gen_text.ONE_GAUSSIAN: row("autoencoder + one Gaussian", 6.6, 0.62)}}
    farther = gen_text.vae_reading(found(14.5, edge=True), "resize")
    assert "lie farther from real images" in farther and "14.5 ± 0.2 against 6.6 ± 0.2" in farther
    assert "0.41 of the real images' against 0.62" in farther and "blur" in farther
    assert "level with" in gen_text.vae_reading(found(6.7), "resize")
    assert "closer to real images" in gen_text.vae_reading(found(3.0), "resize")
    assert gen_text.vae_reading(found(14.5, passed=False), "resize") == ""  # the score ranks nothing
    assert gen_text.vae_reading(found(14.5), "transposed") == ""  # the kept decoder's set was not scored


# ----------------------------------------------------------------------------- how the curves ended

def _loss_rows(values, key="val_loss"):
    return [{"epoch": i + 1, key: v} for i, v in enumerate(values)]


def test_a_loss_still_falling_at_its_end_is_called_so_and_a_flat_one_flattened():
    from helpers.findings import curves
    falling = curves.loss_end([1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2])  # last 2 epochs 0.3 -> 0.2: 50% of 0.2
    assert not falling["flat"] and falling["moved"] == pytest.approx(0.5) and falling["epochs"] == 2
    flat = curves.loss_end([1.0, 0.5, 0.3, 0.2, 0.2005, 0.2002, 0.2001, 0.2])
    assert flat["flat"] and flat["start"] == 0.2002
    worse = curves.loss_end([1.0, 0.5, 0.3, 0.2, 0.2, 0.2, 0.2, 0.3])
    assert not worse["flat"] and worse["moved"] < 0
    text = curves.curves_reading({"autoencoder": {"history": _loss_rows([1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2])},
                                  "vae": {"history": _loss_rows([300, 260, 250, 245, 244.5, 244.3, 244.2, 244.1],
                                                                "val_nelbo")}})
    ae, vae = text.split(". ")[:2]
    assert "still falling" in ae and f"from {sig(0.3, 3)} to {sig(0.2, 3)} " in ae and "of 8" in ae
    assert "flattened" in vae and "244.3" in vae and "244.1" in vae  # 3 digits would not tell them apart
    mse = curves.loss_sentence("The main autoencoder", _loss_rows([0.01, 0.008, 0.007193, 0.007089]), "val_loss")
    assert "from 0.00719 to 0.00709 " in mse  # as few digits as tell the two apart, 3 at least
    with pytest.raises(ValueError, match="empty curve"):
        curves.loss_end([])


def test_a_noisy_monitor_is_read_by_the_means_of_its_last_two_quarters():
    from helpers.findings import curves
    end = curves.accuracy_end([0.5, 0.7, 0.76, 0.77, 0.765, 0.775, 0.77, 0.768])
    assert end["epochs"] == 2 and end["start"] == pytest.approx(0.77) and end["end"] == pytest.approx(0.769)
    assert end["flat"]
    rising = curves.accuracy_end([0.5, 0.6, 0.7, 0.8])
    assert not rising["flat"] and rising["moved"] == pytest.approx(0.1)  # 0.8 against 0.7
    rows = [{"knn_monitor": a, "train_loss": 5 - i / 10} for i, a in enumerate([0.5, 0.7, 0.76, 0.77, 0.765, 0.775,
                                                                               0.77, 0.768])]
    assert "stayed level" in curves.curves_reading({"simclr": {"history": rows}})


def test_early_stopping_says_whether_the_run_used_its_whole_budget():
    from helpers.findings import curves
    hw1 = {"recipe": {"epochs": 50}, "scratch": {"epochs": 50, "best_epoch": 47},
           "finetuned": {"epochs": 31, "best_epoch": 21}}
    text = curves.curves_reading({"finetune_hw1": hw1})
    assert "whole budget of 50 epochs" in text and "best at epoch 47" in text
    assert "until epoch 31 of 50" in text and "best at epoch 21" in text
    assert curves.curves_reading({}) == ""


def test_the_novelty_sentence_sets_the_samples_against_test_images_and_reconstructions():
    found = {"identical": 0, "median_mse": 0.0151, "test_median_mse": 0.0183, "reconstruction_median_mse": 0.0132}
    smooth = latent_text.novelty(found)
    assert smooth.startswith("No decoded image") and "0.015" in smooth and "0.018" in smooth and "0.013" in smooth
    assert "not copies" in smooth
    near = latent_text.novelty({**found, "identical": 3, "median_mse": 0.009})
    assert near.startswith("3 decoded images") and "may reproduce training images" in near and "not copies" not in near
    assert latent_text.novelty({k: v for k, v in found.items() if k != "reconstruction_median_mse"}).endswith(
        "for real test images.")



def test_the_discussion_opens_with_the_study_s_answers_from_their_sections():
    cv = {"compared": "finalist 1", "hand_set_mean": 0.0129, "folds": 5, "folds_tuned_lower": 5,
          "difference": {"mean": -0.0030, "low": -0.0031, "high": -0.0029}}
    seeds = {"differences": {"pretrained": {"test_accuracy": {"mean": 0.010, "low": -0.05, "high": 0.07, "n": 2}}}}
    semi = {"targets": {"n100": 0.80}, "best": {"n100": {"mean": 0.72, "std": 0.01}}}
    few = {"simclr": {"name": "SimCLR feature map", "svm": {"n100": {"mean": 0.734, "std": 0.01}}}}
    metrics = {"search_cv": cv, "finetune_seeds": seeds, "unlabeled": semi, "few_labels": few}
    text = rep_text.answers(metrics, [(100, 0.80, 0.734)])
    assert text.startswith("In short, the search lowered the autoencoder's cross-validated error by 23% "
                           "(lower in 5 of 5 folds)")
    assert "+1.0 points (2 seeds, 95% interval −5.0 to +7.0), within what the seeds vary" in text
    assert "73.4% with 100 labels (our aim 80%)" in text
    assert rep_text.answers({}) == ""
    assert "search" not in rep_text.answers({}, [(100, 0.80, 0.734)])
    reached = report.aims_reached({"unlabeled": semi, "few_labels": few})  # the best of all methods: here the SVM
    assert reached == [(100, 0.80, 0.734)]  # without the unlabeled images
