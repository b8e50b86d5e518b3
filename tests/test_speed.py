"""The benchmark command runs and reports; per-section timing; the training step's FLOPs and the peak."""
from __future__ import annotations

import json

import pytest

from helpers import bench, config, results, runtime


def test_bench_command_measures_both_pipelines_and_writes_json(real_root, capsys, monkeypatch):
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    assert bench.main(["--images", "256", "--repeats", "1", "--batch-size", "64", "--models", "autoencoder",
                       "--variants", "fp32,channels-last"]) == 0
    printed = capsys.readouterr().out
    assert "fp32, " in printed and "channels-last" in printed and "peak: fp32:" in printed
    report = json.loads((config.results_root() / "bench" / "bench-cpu.json").read_text())
    rows = report["rows"]
    assert [r["pipeline"] for r in rows] == ["conventional DataLoader"] + ["device-resident (project)"] * 2
    assert [r["variant"].split(" (")[0] for r in rows[1:]] == ["fp32", "channels-last"]
    assert all(r["images_per_second"] > 0 for r in rows)
    if report["peak"]["fp32"]["gflops"]:  # None where the clock is unknown (no cpufreq, no /proc/cpuinfo)
        assert all(0 < r["peak_share"] < 1 for r in rows)
    assert rows[1]["ratio"] == pytest.approx(rows[1]["images_per_second"] / rows[0]["images_per_second"])
    flops = report["step_flops_per_image"]["autoencoder"]
    assert rows[2]["gflops_per_second"] == pytest.approx(rows[2]["images_per_second"] * flops / 1e9)
    assert report["cpu"] == runtime.cpu_summary()


def test_training_step_flops_are_forward_and_backward_counted_by_hand():
    """The Homework 1 network by hand: three 3x3 convolutions (1->32 at 28x28, 32->64 at 14x14, 64->128 at 7x7) and
    a 128->10 layer, 2 FLOPs per multiply-add. Backward costs twice the forward (gradients of inputs and weights),
    except the first layer, whose input needs no gradient."""
    conv1 = 2 * 9 * 1 * 32 * 28 * 28
    forward = conv1 + 2 * 9 * 32 * 64 * 14 * 14 + 2 * 9 * 64 * 128 * 7 * 7 + 2 * 128 * 10
    assert bench.step_flops("hw1") == 3 * forward - conv1


def test_peak_follows_the_vector_instructions():
    avx2 = {"fma3": True, "avx2": True}
    assert bench.flops_per_cycle("fp32", avx2)[0] == 32
    assert bench.flops_per_cycle("bf16", avx2) == (32, "AVX2 fp32 FMA (bf16 is emulated)")
    assert bench.flops_per_cycle("fp32", {**avx2, "avx512_f": True})[0] == 64
    assert bench.flops_per_cycle("bf16", {**avx2, "avx512_f": True, "avx512_bf16": True})[0] == 128
    assert bench.flops_per_cycle("bf16", {**avx2, "amx_bf16": True})[0] == 1024


@pytest.mark.parametrize("variants", ["fp64", "fp32,fp322"])
def test_bench_rejects_an_unknown_variant_before_measuring_anything(monkeypatch, capsys, variants):
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("measured despite an unknown variant"))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--images", "256", "--repeats", "1", "--models", "autoencoder", "--variants", variants])
    assert exit_.value.code == 2 and "unknown variant(s) f" in capsys.readouterr().err


def test_bench_rejects_an_unknown_model():
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--models", "resnet"])
    assert exit_.value.code == 2


def test_section_clock_records_each_section_and_the_total(tmp_path):
    clock = results.SectionClock(tmp_path)
    first = clock.done("data")
    second = clock.done("autoencoder")
    seconds = results.load_metrics(tmp_path)["seconds"]
    assert seconds["data"] == first and seconds["autoencoder"] == second
    assert seconds["total"] == pytest.approx(first + second, abs=1e-3)
