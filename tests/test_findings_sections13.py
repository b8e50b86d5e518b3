"""The sentences of sections 1-3 (helpers/findings/{autoencoder,search,finetune}.py) state what their
metrics say: the winner, the numbers they carry, and tie / win / loss by `words.verdict`. Made-up
`metrics.json` sections."""
from __future__ import annotations

import json

import pytest

from helpers.findings import autoencoder as fa, finetune as ff, search as fs
from helpers.findings.words import TIE_ACCURACY, interval, percent, plus_minus, sig, strategy


def _json(section: dict) -> dict:
    """`section` as the report reads it back from metrics.json."""
    return json.loads(json.dumps(section))


# ----------------------------------------------------------------------------- section 1


def _seeded(**values: list[float]) -> dict:
    """A row pooled over seeds as `autoencoder.over_seeds` stores it: each value's mean, spread and seeds."""
    from helpers.statistics import mean_std
    row = {"seeds": len(next(iter(values.values())))}
    for key, seeds in values.items():
        spread = mean_std(seeds)
        row.update({key: spread["mean"], f"{key}_std": spread["std"], f"{key}_seeds": seeds})
    return row


def _paired(a: list[float], b: list[float]) -> dict:
    from helpers.statistics import paired_difference
    return paired_difference(a, b)


def _decoders(resize: list[float], transposed: list[float], kept: str = "resize") -> dict:
    rows = {"resize": {**_seeded(val_mse=resize, test_mse=[0.0095, 0.0096, 0.0094], seconds=[20.0] * 3),
                       "parameters": 5},
            "transposed": {**_seeded(val_mse=transposed, test_mse=[0.0104, 0.0105, 0.0103], seconds=[10.0] * 3),
                           "parameters": 5}}
    return {"decoders": rows, "decoder": kept,
            "decoder_comparison": {"images": 6000, "epochs": 4, "seeds": 3,
                                   "resize_minus_transposed": _paired(resize, transposed)}}


def test_the_decoder_finding_calls_a_difference_within_the_seeds_spread_a_tie():
    base = [0.0100, 0.0104, 0.0096]
    lower = fa.decoder_finding(_decoders([v - 0.0010 for v in base], base))
    assert "lower" in lower and "higher" not in lower and "3 seeds" in lower and "2.0 times" in lower
    assert plus_minus(0.0090, 0.0004) in lower
    higher = fa.decoder_finding(_decoders([v + 0.0010 for v in base], base, kept="transposed"))
    assert "higher" in higher and "lower" not in higher and fa.DECODER_WORDS["transposed"] in higher
    noisy = fa.decoder_finding(_decoders([0.0101, 0.0095, 0.0110], base))  # 1.6% apart, seeds disagree
    assert "level with" in noisy and "within the seeds' spread" in noisy and "lower" not in noisy
    assert fa.decoder_finding(_json(_decoders([0.0101, 0.0095, 0.0110], base))) == noisy
    slowed = _decoders(base, base)  # one seed slowed by other work on the machine: the fastest of each is read
    slowed["decoders"]["resize"] |= {"seconds_seeds": [20.0, 90.0, 21.0], "seconds": 43.7}
    assert "2.0 times the training time (fastest seed of each)" in fa.decoder_finding(slowed)


def _optimizers(edge: bool, rms: list[float] = (0.0155, 0.0150, 0.0145)) -> dict:
    def row(vals: list[float], lr: float) -> dict:
        return {**_seeded(val_mse=list(vals)), "lr": lr, "best_lr_at_edge": edge and lr == 1.0}
    adam, sgd = [0.010, 0.011, 0.009], [0.020, 0.021, 0.019]
    return {"images": 600, "epochs": 2, "seeds": 3,
            "by_optimizer": {"SGD": row(sgd, 1.0), "Adam": row(adam, 0.003), "RMSprop": row(rms, 0.0015)},
            "against_best": {"SGD": _paired(sgd, adam), "RMSprop": _paired(list(rms), adam)}}


def test_the_optimizer_finding_names_the_lowest_first_the_ties_and_the_rates_at_the_edge():
    text = fa.optimizer_finding(_optimizers(edge=True))
    assert text.index("Adam") < text.index("SGD") and "RMSprop" not in text  # RMSprop: clearly between
    assert plus_minus(0.010, 0.001) in text and plus_minus(0.020, 0.001) in text and "100%" in text
    assert "600 images" in text and "3 seeds" in text
    assert "edge" in text and "edge" not in fa.optimizer_finding(_optimizers(edge=False))
    assert fa.optimizer_finding(_json(_optimizers(True))) == text
    tied = fa.optimizer_finding(_optimizers(False, rms=[0.0095, 0.0125, 0.0100]))
    assert f"RMSprop ({fa._pm(_seeded(val_mse=[0.0095, 0.0125, 0.0100]))}) is within the seeds' spread of Adam" in tied
    grown = _optimizers(edge=False)
    grown["by_optimizer"]["SGD"].update(rates_added=1, diverged_beyond=True,
                                        val_mse_by_lr={"0.1": 0.04, "0.3": 0.03, "1": 0.02, "3.3": None})
    text = fa.optimizer_finding(grown)
    assert "grew past its edge for SGD (to 4 rates)" in text and "SGD the best rate lies next to one that diverged" in text
    assert "still at an edge" not in text


def _reg(gap: list[float], val: list[float], **more) -> dict:
    train = [v - g for v, g in zip(val, gap)]
    return {**_seeded(gap=gap, val_mse=val, train_mse=train, epochs=[30] * 3, best_val_epoch=[20] * 3,
                      best_val_mse=val, kept_epoch=[30] * 3), "stopped_early": 0, **more}


def _regularization() -> dict:
    none = ([0.006, 0.0061, 0.0057], [0.0120, 0.0122, 0.0118])
    rows = {"none": _reg(*none),
            "augmentation": _reg([0.001, 0.0012, 0.0011], [0.0100, 0.0103, 0.0099]),  # helps beyond the spread
            "dropout 0.2": _reg([0.002, 0.0021, 0.0019], [0.0121, 0.0117, 0.0124]),  # level, narrower gap
            "weight decay": _reg([0.003, 0.0031, 0.0029], [0.0130, 0.0133, 0.0129]),  # hurts, narrower gap
            "early stopping (patience 3)": _reg([0.005, 0.0052, 0.0049], [0.0119, 0.0123, 0.0116], stopped_early=2,
                                                kept_epoch=17)}
    against = {n: {"val_mse": _paired(r["val_mse_seeds"], rows["none"]["val_mse_seeds"]),
                   "gap": _paired(r["gap_seeds"], rows["none"]["gap_seeds"])} for n, r in rows.items() if n != "none"}
    return {"images": 1000, "epochs": 30, "config": {"latent_dim": 256}, "seeds": 3, **rows,
            "against_none": against}


def test_the_regularization_finding_credits_only_a_lower_validation_loss_beyond_the_spread():
    found = _regularization()
    text = fa.regularization_finding(found)
    assert set(fa.regularization_rows(found)) == {"none", "augmentation", "dropout 0.2", "weight decay",
                                                  "early stopping (patience 3)"}
    helps = text[text.index("Measured"):text.index("below the unregularized")]
    assert "augmentation" in helps and "dropout" not in helps and "weight decay" not in helps
    paired = interval(found["against_none"]["augmentation"]["val_mse"], brackets=False)
    assert f"paired difference {paired}" in helps and paired.startswith("−0.00")  # against none, paired by seed
    level = text[text.index("Dropout 0.2 ("):text.index("level with no regularization")]
    assert "early stopping (patience 3) (" in level and "are " in level and "augmentation" not in level
    assert "Weight decay (" in text and "raises it" in text
    trade = text[text.index("raises it"):]
    assert "dropout 0.2" in trade.lower() and "weight decay" in trade.lower() and "fitted worse" in trade
    assert "stopped 2 of 3 seeds early" in text and "kept epoch 17" in text and "1,000 training images" in text
    assert "fewer than without it" not in text  # every run of this example lasted 30 epochs
    shorter = {**found, "early stopping (patience 3)": {**found["early stopping (patience 3)"], "epochs": 18.0}}
    assert "18 epochs (40% fewer than without it)" in fa.regularization_finding(shorter)
    assert fa.regularization_finding(_json(found)) == text
    worse = {**found, "augmentation": _reg([0.001] * 3, [0.0125, 0.0127, 0.0126])}
    worse["against_none"] = {**found["against_none"], "augmentation": {
        "val_mse": _paired(worse["augmentation"]["val_mse_seeds"], found["none"]["val_mse_seeds"])}}
    assert "no regularizer lowers the validation MSE" in fa.regularization_finding(worse)


def _code(pairs: dict[int, tuple[float, float]]) -> dict:
    return {"images": 6000, "epochs": 6, "beats_pca_at_every_size": all(a < p for a, p in pairs.values()),
            **{f"code_{k}": {"ae_test_mse": a, "pca_test_mse": p, "ae_over_pca": a / p}
               for k, (a, p) in pairs.items()}}


def test_the_code_size_finding_splits_the_sizes_by_which_method_reconstructs_better():
    code = _code({8: (0.010, 0.020), 1024: (0.004, 0.005), 64: (0.009, 0.008), 128: (0.007, 0.007)})
    clause = fa.pca_clause(code)
    ours, pca_part = clause.split("PCA does better")
    assert "8" in ours and "1,024" in ours  # the autoencoder is lower at 8 and 1,024
    assert "64" in pca_part.split("level")[0] and "128" in clause.split("level")[1]  # PCA at 64; 128 a tie
    assert fa.code_size_finding(code) == clause[0].upper() + clause[1:] + "."
    details = fa.code_size_details(code)
    assert f"code 8 ({sig(0.5, 2)})" in details and "code 64 (1.1)" in details  # AE / PCA: lowest, highest
    assert "every code size" in fa.pca_clause(_code({8: (0.01, 0.02), 16: (0.01, 0.03)}))
    assert fa.pca_clause(_code({8: (0.03, 0.02)})).startswith("PCA")
    assert "6 epochs on 6,000 images" in details


def test_the_main_summary_carries_the_main_model_s_numbers():
    text = fa.main_summary({"parameters": 241569, "epochs": 8, "seconds": 123.4, "final_train_mse": 0.00787,
                            "final_val_mse": 0.00803, "test_mse": 0.00818})
    assert all(part in text for part in ("241,569", "8 epochs", "123 s", "0.00787", "0.00803", "0.00818"))


# ----------------------------------------------------------------------------- section 2


def _kind(name: str, best: list[float], start: float) -> dict:
    low, high, median = min(best), max(best), sorted(best)[len(best) // 2]
    return {"search": name, "runs": len(best), "best": best, "median_best": median, "min_best": low,
            "max_best": high, "spread": high - low, "improvement": start - median,
            "below_start": median < start,
            "below_start_beyond_spread": start - median > high - low,
            "improved_seeds": sum(b < start for b in best), "epochs": 3.0, "seconds": 20.0, "pruned": 1.0}


def _search(tpe: list[float], random: list[float], grid: list[float], start: float = 0.5) -> dict:
    kinds = {"tpe": _kind("TPE", tpe, start), "random": _kind("random search", random, start),
             "grid": _kind("grid search", grid, start)}
    race = {"random_improved_on_start": False, "target": None, "random_seconds": None, "tpe_seconds": None,
            "ratio": None}
    return {"trials": 3, "trial_epochs": 1, "images": 1600, "unpruned_epochs": 3, "start_value": start,
            "names": {k: v["search"] for k, v in kinds.items()}, **kinds, "race": race,
            "any_improved_on_start": any(v["below_start"] for v in kinds.values())}


def test_the_search_spread_finding_carries_each_search_s_median_and_range_and_the_start():
    text = fs.search_spread_finding(_search([0.2, 0.4, 0.25], [0.4, 0.45, 0.5], [0.35]))
    assert "(median over 3 sampler seeds, with its range)" in text and "TPE 0.250 (0.200 to 0.400)" in text
    assert "grid search 0.350 (one run)" in text and sig(0.5) in text and "1,600 images" in text
    ranking = text.split("the hand-set start")[1]  # by median: TPE 0.25, grid 0.35, random 0.45
    assert "The seeds do not rank TPE and grid search, whose runs overlap" in ranking  # the first clause
    assert "every run of grid search lies below every run of random search" in ranking
    assert "the seeds do not rank TPE and random search" in ranking  # TPE's worst seed, 0.4, is not below random's best
    apart = fs.sampler_ranking(_search([0.2, 0.21, 0.22], [0.3, 0.31, 0.32], [0.4]))
    assert apart == ("Every run of TPE lies below every run of random search; every run of both lies below grid "
                     "search's one run.")
    no_start = {**_search([0.2], [0.4], [0.35]), "start_value": None}
    assert "did not complete" in fs.search_spread_finding(no_start)


def test_the_start_sentence_judges_each_search_against_its_range_over_seeds():
    text = fs.start_sentence(_search([0.2, 0.4, 0.25], [0.4, 0.45, 0.5], [0.35]))
    tpe, rest = text.split("random search")
    assert "50% below it, more than its range over seeds (40%)" in tpe  # a win: 50% beyond a 40% range
    assert "10% below it, within its range over seeds (20%)" in rest  # a tie: 10% within a 20% range
    assert "30% below it (one run" in rest
    none = fs.start_sentence(_search([0.5, 0.6, 0.5], [0.4, 0.7, 0.55], [0.6]))
    assert "No search" in none and "1 of the 3 seeds of random search" in none and "TPE" not in none


def test_the_race_finding_carries_both_times_and_their_ratio():
    timed = {"target": 0.3, "random_improved_on_start": True, "random_seconds": 40.0, "tpe_seconds": 15.0,
             "ratio": 15.0 / 40.0}
    text = fs.race_finding(timed)
    assert all(part in text for part in ("0.300", "40.0 s", "15.0 s", "0.38 times"))
    assert "15.0" not in fs.race_finding({**timed, "tpe_seconds": None, "ratio": None})
    stuck = fs.race_finding({**timed, "random_improved_on_start": False})
    assert "40.0" not in stuck and "no time to compare" in stuck


def _cv(tuned_mean: float, tuned_std: float = 0.00004, hand_set_std: float = 0.00006, half: float = 0.0002,
        **more) -> dict:
    """A paired comparison whose mean difference is tuned - hand-set and whose 95% interval is +- `half`."""
    difference = tuned_mean - 0.0100
    return {"folds": 5, "images": 2000, "chosen": "finalist 1", "chosen_from": "TPE, seed 1",
            "tuned_is_hand_set": False, "compared": "finalist 1", "tuned_val_mse": 0.0101, "hand_set_val_mse": 0.0103,
            "tuned_mean": tuned_mean, "tuned_std": tuned_std, "hand_set_mean": 0.0100, "hand_set_std": hand_set_std,
            "difference": {"mean": difference, "low": difference - half, "high": difference + half, "std": half / 2,
                           "n": 5},
            "folds_tuned_lower": 2, "tuned_test_mse": 0.0098, "hand_set_test_mse": 0.0100,
            "tuned_parameters": 556833, "hand_set_parameters": 241569, **more}


@pytest.mark.parametrize("tuned_mean, outcome", [(0.00997, "tie"), (0.0095, "win"), (0.0105, "loss"),
                                                 (0.00985, "tie")])  # the interval -0.00035 to +0.00005
def test_the_search_finding_calls_tie_win_or_loss_by_the_paired_interval(tuned_mean, outcome):
    text = fs.search_finding(_cv(tuned_mean))
    said = {"tie": "does not improve", "win": "improves on the hand-set", "loss": "worse than the hand-set"}
    assert said[outcome] in text and all(s not in text for k, s in said.items() if k != outcome)
    assert "2 of 5 folds" in text and sig(100 * abs(tuned_mean - 0.0100) / 0.0100, 2) + "%" in text


def test_the_cross_validated_finding_carries_both_scores_and_parameters_or_says_nothing_was_compared():
    text = fs.search_cv_finding(_cv(0.0095))
    assert plus_minus(0.0095, 0.00004) in text and plus_minus(0.0100, 0.00006) in text and "5-fold" in text
    assert fs.search_finding(_cv(0.0095)) in text and "556,833" in text and "241,569" in text
    same = fs.search_cv_finding(_cv(0.0095, tuned_parameters=241569))  # the same widths: the size said once
    assert same.count("241,569") == 1 and "both" in same
    alone = fs.search_cv_finding({**_cv(0.0100), "compared": None, "difference": None})
    assert "±" not in alone and "nothing to compare" in alone


def test_the_cross_validated_finding_says_which_autoencoder_the_later_sections_build_on_and_its_settings():
    params = {"base_channels": 48, "batch_factor": 0.5, "lr": 0.0098, "optimizer": "adamw", "weight_decay": 0.02,
              "schedule": "onecycle", "augment": "off"}
    tuned = fs.search_cv_finding(_cv(0.0095, later_sections_use="tuned", tuned_params=params))
    assert "build on the tuned autoencoder" in tuned and "48 and 96" in tuned and "half the hand-set batch" in tuned
    assert "AdamW (weight decay 0.020)" in tuned and sig(0.0098 * 0.5 ** 0.5, 2) in tuned and "one-cycle" in tuned
    kept = fs.search_cv_finding(_cv(0.0100, later_sections_use="hand-set", tuned_params=params))
    assert "build on the hand-set autoencoder" in kept and "48 and 96" not in kept
    same = fs.tuned_settings({**params, "batch_factor": 1.0, "optimizer": "adam", "augment": "flip + shift 2 px"})
    assert "the hand-set batch" in same and sig(0.0098, 2) in same and "weight decay" not in same
    assert "flip + shift 2 px" in same


def test_a_tuned_value_at_the_edge_of_its_searched_range_is_said_so():
    params = {"base_channels": 48, "batch_factor": 1.0, "lr": 0.0097, "optimizer": "adamw", "weight_decay": 0.002,
              "schedule": "cosine", "augment": "off"}
    ranges = {"lr": [4e-4, 1e-2], "weight_decay": [1e-4, 1e-1]}
    cv = _cv(0.0095, later_sections_use="tuned", tuned_params=params, continuous_ranges=ranges)
    note = fs.edge_note(cv)
    assert "learning rate" in note and "top tenth" in note and "weight decay" not in note  # 0.002: mid-range
    assert note in fs.search_cv_finding(cv)
    low = fs.edge_note({**cv, "tuned_params": {**params, "lr": 0.0005, "weight_decay": 0.09}})
    assert "bottom tenth" in low and "top tenth" in low  # the rate at the bottom, the decay at the top
    assert fs.edge_note({**cv, "tuned_params": {**params, "lr": 0.002}}) == ""
    assert fs.edge_note({**cv, "continuous_ranges": None}) == ""  # a run that recorded no ranges


def test_the_final_finding_names_the_tuned_model_or_why_the_hand_set_one_stays():
    promoted = {"rows": {"hand-set": {"val_mse": 0.0103, "search_value": 0.5},
                         "finalist 1": {"val_mse": 0.0101, "search_value": 0.4}}, "chosen": "finalist 1"}
    text = fs.final_finding(_cv(0.0095), promoted)
    assert "the configuration found by TPE, seed 1 has" in text and "0.0101 against 0.0103" in text
    assert "finalist" not in text  # a stage-2 name, not a reader's word
    assert "2.0% lower than the hand-set one (0.00980 against 0.0100)" in text
    assert fs.search_cv_finding(_cv(0.0095)) in text and text.count("0.00980 against") == 1  # said once
    hand = {"rows": {"hand-set": {"val_mse": 0.0100, "search_value": 0.5},
                     "finalist 1": {"val_mse": 0.0104, "search_value": 0.4, "search": "TPE, seed 2"}},
            "chosen": "hand-set"}
    kept = fs.final_finding(_cv(0.0100, chosen="hand-set", tuned_is_hand_set=True), hand)
    assert "the one found by TPE, seed 2 (0.0104)" in kept and "although the one found by TPE, seed 2 scored" in kept
    assert "finalist" not in fs.promotion_sentence(_cv(0.0100, chosen="hand-set"), hand)
    assert plus_minus(0.0100, 0.00004) in kept  # the search's best is still compared with the hand-set one
    alone = fs.final_finding(_cv(0.0100, chosen="hand-set", tuned_is_hand_set=True, compared=None),
                             {"rows": {"hand-set": {}}})
    assert sig(0.0100) in alone and "±" not in alone


# ----------------------------------------------------------------------------- section 3


def _run(acc: float, epochs_to_90: int | None = None, seconds_to_90: float | None = None,
         pretrain: float = 0.0, name: str = "run", val: float = 0.9, trainable: int = 1000) -> dict:
    whole = None if seconds_to_90 is None else seconds_to_90 + pretrain
    return {"name": name, "test_accuracy": acc, "val_accuracy": val, "epochs": 8,
            "epochs_to_90": epochs_to_90,
            "seconds_to_90": seconds_to_90, "whole_seconds_to_90": whole, "pretrain_seconds": pretrain,
            "trainable_parameters": trainable, "total_parameters": 824554}


def _hw1(scratch: float, tuned: float) -> dict:
    return {"epochs": 12, "reported_test": 0.9259, "scratch": _run(scratch),
            "frozen": _run(0.78, trainable=1290), "finetuned": _run(tuned, 10, 140.0, pretrain=220.0),
            "pretraining": {"test_mse": 0.0102}}


def _seeds(low: float, high: float) -> dict:
    diff = {"mean": (low + high) / 2, "low": low, "high": high, "n": 2, "std": 0.01, "same_every_seed": False}
    return {"epochs": 8, "seeds": 2, "baseline": "scratch",
            "stats": {"scratch": {"name": "from scratch", "seeds": [0, 1], "reached_90": 0},
                      "pretrained": {"name": "pretrained", "seeds": [0, 1], "reached_90": 2}},
            "differences": {"pretrained": {"name": "pretrained", "test_accuracy": diff}}}


def test_the_hw1_finding_calls_single_runs_level_within_half_a_point():
    text = ff.hw1_finding(_hw1(0.8849, 0.8849 + TIE_ACCURACY / 2))
    assert f"{percent(0.8849)} test accuracy, 4.1 points below the {percent(0.9259)}" in text
    assert "level with the network from scratch" in text
    assert "1.0 points above the network from scratch" in ff.hw1_finding(_hw1(0.8849, 0.8949))
    assert "1.0 points below the network from scratch" in ff.hw1_finding(_hw1(0.8849, 0.8749))
    assert "does not reach 90%" in text and "epoch 10 (140 s, 360 s with its pretraining)" in text
    assert ff.hw1_finding(_json(_hw1(0.88, 0.89))) == ff.hw1_finding(_hw1(0.88, 0.89))
    digits = ff.hw1_finding({**_hw1(0.9931, 0.9940), "reported_test": None})  # MNIST: Homework 1 has no figure
    assert f"{percent(0.9931)} test accuracy; Homework 1 studied Fashion-MNIST only" in digits
    assert percent(0.9259) not in digits and "level with the network from scratch" in digits


def test_the_hw1_finding_reads_the_seeds_verdict_from_the_interval():
    hw1 = _hw1(0.8849, 0.8892)
    assert "cannot tell the two apart" in ff.hw1_finding(hw1, _seeds(-0.07, 0.09))
    ahead = ff.hw1_finding(hw1, _seeds(0.01, 0.03))
    assert "pretrained network is ahead" in ahead and "+2.0 points" in ahead
    assert "scratch network is ahead" in ff.hw1_finding(hw1, _seeds(-0.03, -0.01))
    assert "seeds" not in ff.hw1_finding(hw1)
    details = ff.hw1_details(hw1, 0.0082, 32)
    assert sig(0.0102) in details and sig(0.0082) in details and "32-number" in details and "1,290" in details


def _finetune(fine: float, scratch: float, kept: str = "fine-tuned (encoder lr x0.1)") -> dict:
    return {"epochs": 8, "recipe": {"lr": 0.001}, "finetune_kept": kept,
            "finetuned_slow": _run(fine, 6, 39.0, 123.0, "fine-tuned (encoder lr x0.1)", val=0.91,
                                   trainable=824554),
            "finetuned_onelr": _run(0.89, 6, 38.0, 123.0, "fine-tuned (one lr)", val=0.905, trainable=824554),
            "scratch": _run(scratch, None, None, name="encoder + head (scratch)", val=0.90, trainable=824554),
            "hw1": _run(0.87, name="HW1 network from scratch", val=0.885, trainable=94410)}


def test_the_encoder_finding_compares_like_with_like_in_accuracy_cross_validation_and_speed():
    cv = {"folds": 3, "finetuned": {"mean": 0.856, "std": 0.0046}, "scratch": {"mean": 0.8468, "std": 0.0036}}
    text = ff.encoder_finding(_finetune(0.886, 0.887), cv)
    assert "level with the same network from scratch" in text and percent(0.887) in text
    assert "lr x0.1" not in text  # the strategy in words
    assert f"{plus_minus(0.856, 0.0046, 100, '%')} against {plus_minus(0.8468, 0.0036, 100, '%')}" in text
    assert "above it by more than the folds' spread" in text  # 0.92 points apart, spreads 0.46 and 0.36
    tie = {**cv, "scratch": {"mean": 0.853, "std": 0.0036}}
    assert "within the folds' spread" in ff.encoder_finding(_finetune(0.886, 0.887), tie)
    assert "1.0 points above" in ff.encoder_finding(_finetune(0.897, 0.887))
    assert "epoch 6 (39.0 s, 162 s with" in text and "does not reach 90%" in text


def test_the_strategies_sentence_names_the_best_on_validation_and_each_first_epoch_at_90():
    text = ff.strategies_sentence(_finetune(0.886, 0.887))
    assert "94,410" in text and "8.7 times" in text and percent(0.91) in text and percent(0.905) in text
    assert "Best on validation among these strategies: fine-tuned (encoder lr x0.1)" in text
    assert "encoder + head (scratch) never" in text and "fine-tuned (one lr) epoch 6 (38.0 s)" in text


def test_difference_sentences_call_a_difference_within_its_interval_a_tie():
    within = {"mean": 0.0062, "low": -0.07, "high": 0.08, "n": 2, "std": 0.009}
    beyond = {"mean": 0.02, "low": 0.01, "high": 0.03, "n": 3, "std": 0.004}
    behind = {**beyond, "mean": -0.02, "low": -0.03, "high": -0.01}
    assert "within the spread" in ff.difference_sentence("A", "B", within)
    ahead = ff.difference_sentence("A", "B", beyond)
    assert "A is ahead" in ahead and "+2.0 points" in ahead
    assert "B is ahead" in ff.difference_sentence("A", "B", behind)
    single = {"mean": 0.01, "n": 1, "low": None, "high": None}
    assert "single seed" in ff.difference_sentence("A", "B", single)
    same = {"mean": 1.0, "low": 1.0, "high": 1.0, "n": 2, "same_every_seed": True}
    assert "same in every seed" in ff.epochs_sentence(same)
    apart = {"mean": 1.2, "low": 0.5, "high": 1.9, "n": 3, "same_every_seed": False}
    assert "beyond the spread" in ff.epochs_sentence(apart)
    assert "within the spread" in ff.epochs_sentence({**apart, "low": -0.2, "high": 2.6})


def test_the_seeds_finding_names_each_strategy_against_the_baseline_and_those_short_of_90():
    text = ff.seeds_finding(_seeds(-0.07, 0.09))
    assert "2 seeds at 8 epochs" in text and "pretrained minus that of from scratch" in text
    assert "within the spread" in text and "From scratch did not reach 90%" in text


def _labels(margins: dict[int, tuple[float, float]]) -> dict:
    """`finetune_labels` with the fine-tuned strategy `margin` above the scratch one at each count, both with
    a standard deviation over draws of `std` (a single draw where it is 0)."""
    def entry(mean: float, std: float) -> dict:
        return {"mean": mean, "std": std, "draws": [mean] * (3 if std else 1)}

    def key(n: int) -> str:
        return f"n{'all' if n == 18000 else n}"
    return {"steps": 400, "draws": 3, "all": 18000,
            "finetuned": {key(n): entry(0.8 + m, s) for n, (m, s) in margins.items()},
            "scratch": {key(n): entry(0.8, s) for n, (m, s) in margins.items()}}


def test_the_label_finding_sorts_counts_into_ahead_level_and_behind_by_the_spread_over_draws():
    labels = _labels({100: (0.026, 0.010), 1000: (0.004, 0.005), 3000: (-0.02, 0.005), 18000: (0.003, 0.0)})
    text = ff.label_finding(labels, name="fine-tuned (encoder lr x0.1)")
    verdicts, margins = text.split("(a margin")
    ahead, rest = verdicts.split("is level")
    level, behind = rest.split("falls behind")
    assert "100" in ahead and strategy("fine-tuned (encoder lr x0.1)") in ahead
    assert "1,000" in level and "18,000" in level  # within the draws' spread; one run within half a point
    assert "3,000" in behind
    assert all(part in margins for part in ("100 labels +2.6", "1,000 labels +0.4", "3,000 labels −2.0"))
    assert "every label count" in ff.label_finding(_labels({100: (0.03, 0.01), 18000: (0.01, 0.0)}))
    assert list(ff.label_counts(labels, "scratch")) == [100, 1000, 3000, 18000]


def test_the_one_line_summaries_carry_their_numbers():
    noisy = fa.denoising_summary({"psnr_noisy_db": 12.31, "psnr_denoised_db": 19.87})
    assert all(sig(x) in noisy for x in (12.31, 19.87, 19.87 - 12.31)) and "(+" in noisy
    assert "(-" in fa.denoising_summary({"psnr_noisy_db": 20.0, "psnr_denoised_db": 18.5})
    line = ff.pretraining_summary({"epochs": 3, "seconds": 41.2, "test_mse": 0.0102}, 0.0082)
    assert all(text in line for text in ("3 epochs", sig(41.2), sig(0.0102), sig(0.0082)))


def test_the_best_sentence_names_the_classifier_later_sections_use_and_its_test_accuracy():
    text = ff.best_sentence({"best_name": "fine-tuned (one lr)", "best_test_accuracy": 0.9012})
    assert "fine-tuned, one learning rate" in text and percent(0.9012) in text and "(one lr)" not in text


def _sweep(ae: list[float], pca: list[float], sizes=(2, 8, 32, 128)) -> dict:
    return {"epochs": 6, "images": 3000, **{f"code_{k}": {"ae_test_mse": a, "pca_test_mse": p}
                                            for k, a, p in zip(sizes, ae, pca)}}


def test_the_code_size_reading_follows_where_pca_overtakes():
    crossing = fa.code_size_reading(_sweep([0.030, 0.019, 0.014, 0.013], [0.046, 0.027, 0.015, 0.0065]))
    assert "from code 32 to code 128" in crossing.lower() and "falls 2.3-fold (0.0150 to 0.00650)" in crossing
    assert "only 1.1-fold (0.0140 to 0.0130)" in crossing  # the values shown give the factor shown
    assert "codes of 32 numbers or fewer" in crossing and "0.65 times PCA's (at code 2)" in crossing  # 0.030 / 0.046
    ahead = fa.code_size_reading(_sweep([0.030, 0.019, 0.012, 0.006], [0.046, 0.027, 0.015, 0.0065]))
    assert "0.65 of PCA's at code 2" in ahead and "0.92 at code 128" in ahead and "narrows" in ahead
    main = {"test_mse": 0.008, "latent_dim": 32, "epochs": 20, "images": 54000}
    budget = fa.code_size_reading(_sweep([0.030, 0.019, 0.014, 0.013], [0.046, 0.027, 0.015, 0.0065]), main)
    assert "0.0080 against the sweep's 0.0140" in budget and "the sweep's budget, not the decoder, limits" in budget
    capacity = fa.code_size_reading(_sweep([0.030, 0.019, 0.014, 0.013], [0.046, 0.027, 0.015, 0.0065]),
                                    {**main, "test_mse": 0.0135})
    assert "capacity is the likelier limit" in capacity and "sweep's budget" not in capacity
    assert "does not separate" in crossing  # without the main model
    behind = fa.code_size_reading(_sweep([0.050, 0.030, 0.016, 0.007], [0.046, 0.027, 0.015, 0.0065]))
    assert "from the smallest code on" in behind and "does not beat a linear code" in behind


def test_each_homework_1_accuracy_names_its_run():
    metrics = {"finetune_hw1": {"scratch": {"test_accuracy": 0.9262, "epochs": 50}},
               "finetune": {"hw1": {"test_accuracy": 0.8712}},
               "finetune_seeds": {"baseline": "scratch", "epochs": 8, "stats": {"scratch": {
                   "seeds": [0, 1, 2], "test_accuracy": {"mean": 0.8694, "std": 0.0024}}}}}
    text = ff.hw1_runs(metrics)
    assert "92.6% under Homework 1's own recipe (at most 50 epochs)" in text
    assert "86.9 ± 0.2% over 3 seeds of the shorter recipe" in text and "(8 epochs)" in text
    assert "87.1% for that recipe's first seed, the run compared with the strategies and used to judge" in text
    assert ff.hw1_runs({**metrics, "finetune_seeds": {}}) == ""


def test_the_speed_verdict_counts_the_pretraining_seconds():
    row = lambda s, whole=None, epochs=8: {"seconds_to_90": s, "whole_seconds_to_90": whole, "epochs": epochs}  # noqa: E731
    slower = ff.speed_verdict(row(41.0, 253.0), row(31.0), "fine-tuned encoder")
    assert "fine-tuned encoder learns no faster" in slower  # the run it judges, by name
    assert "not once its own seconds are counted" in ff.speed_verdict(row(20.0, 253.0), row(31.0))
    assert "stays faster" in ff.speed_verdict(row(20.0, 25.0), row(31.0))
    assert "within its 8 epochs" in ff.speed_verdict(row(20.0, 253.0), row(None))
    assert "never reaches 90%, the network from scratch does" in ff.speed_verdict(row(None), row(31.0))
    assert ff.speed_verdict(row(None), row(None)) == ""


def test_the_denoising_finding_sets_the_denoiser_against_both_controls():
    d = {"noise_std": 0.3, "psnr_noisy_db": 12.8, "psnr_denoised_db": 17.7}
    assert fa.denoising_finding(d).endswith("12.8 dB to 17.7 dB.")  # a run from before the controls
    better = fa.denoising_finding({**d, "psnr_clean_ae_db": 15.1, "psnr_median_db": 16.2})
    assert "15.1 dB" in better and "16.2 dB" in better and "adds 1.5 dB over the better control" in better
    worse = fa.denoising_finding({**d, "psnr_clean_ae_db": 15.1, "psnr_median_db": 18.0})
    assert "does not beat the better of the two controls" in worse
