"""The shared formatting and tie rules of `helpers.findings.words`: what a sentence's verdict rests on."""
from __future__ import annotations

import pytest

from helpers.findings import words
from helpers.findings.words import interval_call, plus_minus, relation, verdict
from helpers.statistics import paired_bootstrap, paired_difference


@pytest.mark.parametrize("difference, spread, call", [(0.02, 0.01, 1), (-0.02, 0.01, -1), (0.01, 0.01, 0),
                                                      (-0.005, 0.01, 0), (0.001, None, 1), (0.0, None, 0)])
def test_verdict_is_a_tie_within_the_spread_and_the_sign_beyond_it(difference, spread, call):
    assert verdict(difference, spread) == call


def test_interval_call_is_a_tie_exactly_when_the_interval_holds_zero():
    ahead = paired_difference([0.9, 0.91, 0.92], [0.8, 0.8, 0.81])
    mixed = paired_difference([0.9, 0.8, 0.85], [0.85, 0.85, 0.85])
    behind = paired_difference([0.7, 0.71, 0.7], [0.8, 0.8, 0.81])
    assert [interval_call(d) for d in (ahead, mixed, behind)] == [1, 0, -1]
    assert mixed["low"] <= 0 <= mixed["high"]
    assert interval_call(paired_difference([0.9], [0.8])) is None  # one seed: no interval


def test_interval_call_reads_an_asymmetric_bootstrap_interval_by_the_side_of_zero():
    skewed = {"mean": 0.03, "low": 0.001, "high": 0.2}  # far from 0 above, close below: still ahead
    assert interval_call(skewed) == 1
    assert interval_call({"mean": 0.03, "low": -0.001, "high": 0.04}) == 0
    assert interval_call({"mean": -0.03, "low": -0.2, "high": -0.001}) == -1
    draws = paired_bootstrap([1.0, 2.0, 3.0, 4.0, 5.0] * 4, [0.0, 1.0, 2.0, 3.0, 4.0] * 4, seed=0)
    assert interval_call(draws) == 1


def test_relation_gives_the_distance_in_points_only_beyond_a_tie():
    assert relation(0.026, 1) == "2.6 points above"
    assert relation(-0.011, -1, above="ahead of", below="behind") == "1.1 points behind"
    assert relation(0.026, 0) == "level with"


def test_plus_minus_rounds_the_mean_to_what_its_spread_supports():
    assert plus_minus(0.7234, 0.0123, 100, "%") == "72.3 ± 1.2%"
    assert plus_minus(0.7234, 0.04, 100, "%") == "72 ± 4%"
    assert plus_minus(0.7234, None, 100, "%") == "72.3%"
    assert plus_minus(0.39997, 0.00006) == "0.4000 ± 0.0001"  # a tiny spread: four significant digits at most
    assert plus_minus(94.29, 0.06) == "94.29 ± 0.06" and plus_minus(1234.5, 0.01) == "1,234 ± 1"


def test_an_interval_is_rounded_to_its_half_width_with_true_minus_signs():
    d = {"mean": -0.16699, "low": -0.26178, "high": -0.07574}
    assert words.interval(d) == "−0.17 [−0.26, −0.08]"
    assert words.interval(d, brackets=False) == "−0.17, 95% interval −0.26 to −0.08"
    assert words.interval({"mean": 0.00443, "low": 0.00410, "high": 0.00476}) == "0.0044 [0.0041, 0.0048]"


def test_the_machine_is_named_in_words_from_the_run_s_device():
    from helpers import runtime
    cpu = words.machine("cpu (AMD EPYC (family 25, model 1); AVX2, no native bf16; 2 threads)")
    assert cpu == "an AMD EPYC (family 25, model 1) CPU (AVX2, no native bf16; 2 threads)"
    assert words.machine("cpu (Neoverse-V2; 4 threads)").startswith("a Neoverse-V2 CPU")
    assert words.machine("cuda (NVIDIA H200)") == "one NVIDIA H200 GPU"
    here = words.machine(runtime.device_name(runtime.select_device()))  # this machine's own name, in words
    assert not here.startswith(("cpu", "cuda")) and ("CPU" in here or "GPU" in here)


def test_the_precision_is_said_in_words():
    assert words.precision("training fp32, channels-last; evaluation fp32") == (
        "training in 32-bit floats with channels-last tensors; evaluation in 32-bit floats")
    cuda = words.precision("training bf16 autocast, channels-last; evaluation fp32 (TF32 convolutions)")
    assert cuda.startswith("training in bfloat16 mixed precision with channels-last") and "TF32" in cuda



def test_a_cpu_run_says_what_its_seconds_are_worth_and_a_gpu_run_says_nothing():
    from helpers.findings.words import timing_limit
    note = timing_limit("cpu (AMD EPYC (family 23, model 1); AVX2, no native bf16; 2 threads)")
    assert "shared" in note and "fastest of their seeds" in note
    assert timing_limit("cuda (NVIDIA H200)") == ""


def test_a_difference_in_points_is_the_difference_of_the_values_as_shown():
    assert words.points_between(0.8614, 0.8266) == "+3.4 points"  # 86.1% − 82.7%, not the unrounded 3.48
    assert words.points(0.8614 - 0.8266) == "+3.5 points"
    assert words.points_between(0.734, 0.694, None, 0.02) == "+4 points"  # against 69 ± 2%: whole points
    assert words.points_between(0.70, 0.734, 0.01) == "−3.4 points"  # a spread of 1.0 point keeps one decimal


def test_a_value_as_shown_is_the_printed_mean():
    assert words.as_shown(0.010583, 0.0004) == 0.0106 and words.as_shown(0.0023651, 0.0002) == 0.0024
    assert words.as_shown(1234.5) == 1230.0  # three significant digits without a spread
