"""Installation, profiles, device/seed/header, and the results helpers."""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys

import pytest
import torch

from helpers import config, results, runtime


def test_torchvision_imports_and_runs_its_compiled_ops():
    import torchvision
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
    kept = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert kept.tolist() == [0, 2]
    assert torchvision.__version__.startswith(importlib.metadata.version("torchvision"))


def test_installed_versions_match_the_pins():
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (config.REPO_ROOT / "requirements.txt").read_text(), re.M)
    assert len(pins) >= 10
    wrong = {name: (want, importlib.metadata.version(name)) for name, want in pins
             if importlib.metadata.version(name) != want}
    assert not wrong, f"installed versions differ from requirements.txt (pinned, installed): {wrong}"


def test_every_profile_is_valid_and_sized_in_order():
    assert list(config.PROFILES) == ["smoke", "quick", "full"]
    smoke, quick, full = config.PROFILES.values()
    assert smoke.train_limit < quick.train_limit and full.train_limit is None


def test_profile_resolution_order(monkeypatch):
    monkeypatch.setenv("HW2_PROFILE", "quick")
    assert config.resolve_profile().name == "quick"
    assert config.resolve_profile("smoke").name == "smoke"  # the notebook parameter wins
    monkeypatch.delenv("HW2_PROFILE")
    assert config.resolve_profile().name == "quick"  # no CUDA here
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.resolve_profile().name == "full"


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(config.ConfigError, match="Unknown profile 'huge'. Valid profiles: smoke, quick, full"):
        config.resolve_profile("huge")


def test_profile_command_prints_the_name_or_fails_clearly():
    ok = subprocess.run([sys.executable, "-m", "helpers.config", "full"], capture_output=True, text=True,
                        cwd=config.REPO_ROOT)
    assert ok.returncode == 0 and ok.stdout.strip() == "full"
    bad = subprocess.run([sys.executable, "-m", "helpers.config", "tiny"], capture_output=True, text=True,
                         cwd=config.REPO_ROOT)
    assert bad.returncode == 2 and "Valid profiles: smoke, quick, full" in bad.stderr


@pytest.mark.parametrize("field, value", [("train_limit", 5), ("val_fraction", 0.0), ("val_fraction", 0.7),
                                          ("batch_size", 0), ("seed", -1), ("name", ""), ("ae_epochs", 0),
                                          ("folds", 1), ("trials", 0), ("label_draws", 0), ("clf_epochs", 0),
                                          ("label_steps", 0), ("code_sizes", (0, 8)),
                                          ("label_counts", (100, 5000)),  # smoke's training split has 1,600
                                          ("compare_limit", 1700), ("search_limit", 1700), ("search_limit", 50),
                                          ("search_folds", 1), ("search_finalists", 0),
                                          ("tsne_points", 10), ("tsne_points", 1500),  # smoke's test split has 1,000
                                          ("samples_per_class", 0), ("nll_images", 5000), ("nll_samples", 0),
                                          ("hw1_epochs", 0), ("seed_epochs", 0), ("seeds", 0),
                                          ("interpolation_steps", 2), ("interpolation_pairs", 21),
                                          ("interpolation_pairs", 0), ("interpolation_pairs", 2000),
                                          ("grid_samples", 0), ("variant_samples", 0),
                                          ("map_components", 1), ("map_components", 2000),  # smoke: 1,600
                                          ("denoising_noise", 0.0), ("denoising_noise", 1), ("confident_errors", 0)])
def test_profile_rejects_bad_values_naming_the_field(field, value):
    fields = {**config.PROFILES["smoke"].as_dict(), field: value}
    with pytest.raises(config.ConfigError, match=f"Profile field '{field}'"):
        config.Profile(**fields)


def test_the_real_profiles_judge_interpolation_over_at_least_a_hundred_pairs():
    assert all(config.PROFILES[name].interpolation_pairs >= 100 for name in ("quick", "full"))
    assert all(p.interpolation_pairs % 2 == 0 for p in config.PROFILES.values())  # half within a class


def test_label_count_error_names_the_split_size():
    fields = {**config.PROFILES["smoke"].as_dict(), "label_counts": (100, 5000)}
    with pytest.raises(config.ConfigError, match=r"integers in \[10, 1600\] \(the training split"):
        config.Profile(**fields)


def test_each_profile_writes_to_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_RESULTS", str(tmp_path))
    full_dir = config.results_dir(config.PROFILES["full"])
    results.merge_metrics(full_dir, "autoencoder", {"test_mse": 0.004})
    before = (full_dir / "metrics.json").read_bytes()
    for name in ("smoke", "quick"):
        run_dir = config.results_dir(config.PROFILES[name])
        assert run_dir == tmp_path / name
        results.merge_metrics(run_dir, "autoencoder", {"test_mse": 0.1})
    assert (full_dir / "metrics.json").read_bytes() == before


def test_the_data_set_is_one_validated_parameter_with_its_own_results_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_RESULTS", str(tmp_path))
    monkeypatch.delenv("HW2_DATASET", raising=False)
    assert config.resolve_dataset().name == "fashion-mnist" and config.resolve_dataset("MNIST").name == "mnist"
    monkeypatch.setenv("HW2_DATASET", "mnist")
    assert config.resolve_dataset().name == "mnist"
    assert config.resolve_dataset("fashion-mnist").name == "fashion-mnist"  # the notebook parameter wins
    quick = config.PROFILES["quick"]
    assert config.results_dir(quick) == tmp_path / "quick-mnist"  # no MNIST run can overwrite a Fashion one
    assert config.results_dir(quick, config.DATASETS["fashion-mnist"]) == tmp_path / "quick"
    monkeypatch.setenv("HW2_DATASET", "cifar")
    with pytest.raises(config.ConfigError, match="Unknown data set 'cifar' in HW2_DATASET. Valid data sets: "
                                                 "fashion-mnist, mnist"):
        config.resolve_dataset()
    with pytest.raises(config.ConfigError, match="is not a data set name"):
        config.resolve_dataset(3)
    env = {**os.environ, "HW2_DATASET": "mnist", "HW2_RESULTS": str(tmp_path)}
    ran = [subprocess.run([sys.executable, "-m", "helpers.config", "quick", *flag], capture_output=True, text=True,
                          cwd=config.REPO_ROOT, env=env) for flag in (["--dataset"], ["--dir"])]
    assert [r.stdout.strip() for r in ran] == ["mnist", str(tmp_path / "quick-mnist")]
    bad = subprocess.run([sys.executable, "-m", "helpers.config", "--dataset"], capture_output=True, text=True,
                         cwd=config.REPO_ROOT, env={**env, "HW2_DATASET": "digits"})
    assert bad.returncode == 2 and "Valid data sets: fashion-mnist, mnist" in bad.stderr


def test_every_data_set_has_its_yardsticks_and_example_pairs_of_its_own_classes():
    import torchvision

    from helpers import data, finetune, latent, published
    for name, collection in config.DATASETS.items():
        classes = data.DATASETS[collection.folder].classes
        assert all(a in classes and b in classes for a, b in latent.EXAMPLE_PAIRS[name])
        assert published.for_dataset(name).vae_nll and name in finetune.HW1_TARGETS
    assert published.for_dataset("mnist").hw1 is None  # Homework 1 studied Fashion-MNIST only
    assert published.for_dataset("fashion-mnist").hw1 is published.HW1_TEST_ACCURACY
    assert data.DATASETS["MNIST"] is torchvision.datasets.MNIST


def test_merge_metrics_keeps_earlier_sections_and_entries(tmp_path):
    results.merge_metrics(tmp_path, "data", {"n_train": 10, "mean": torch.tensor(0.5)})
    results.merge_metrics(tmp_path, "autoencoder", {"mse": 0.01})
    merged = results.merge_metrics(tmp_path, "data", {"n_test": 5, "bad": float("nan")})
    assert merged == json.loads((tmp_path / "metrics.json").read_text())
    assert merged == {"data": {"n_train": 10, "mean": 0.5, "n_test": 5, "bad": None},
                      "autoencoder": {"mse": 0.01}}
    # no temporary files left; the merge's lock file stays (an empty file, as filelock leaves it)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", results.METRICS_LOCK]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "out.txt"
    results.write_text(path, "old")
    with pytest.raises(RuntimeError):
        with results.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_device_selection_and_clear_error_for_missing_cuda(monkeypatch):
    monkeypatch.delenv("HW2_DEVICE", raising=False)
    assert runtime.select_device().type == ("cuda" if torch.cuda.is_available() else
                                            "mps" if torch.backends.mps.is_available() else "cpu")
    assert runtime.select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        monkeypatch.setenv("HW2_DEVICE", "cuda")
        with pytest.raises(config.ConfigError, match="CUDA is not available"):
            runtime.select_device()


def test_seeding_makes_torch_and_numpy_repeat():
    import numpy as np

    runtime.seed_everything(5)
    first = (torch.rand(3), np.random.rand(3))
    runtime.seed_everything(5)
    assert torch.equal(first[0], torch.rand(3)) and (first[1] == np.random.rand(3)).all()


def test_header_names_profile_device_and_versions():
    text = runtime.header("smoke", torch.device("cpu"))
    assert "profile: smoke" in text and "device:  cpu" in text
    assert f"torch {importlib.metadata.version('torch')}" in text and "torchvision" in text


def test_markdown_table():
    table = results.markdown_table(["a", "b"], [("x", 0.123456), ("y", 2)])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x | 0.1235 |", "| y | 2 |"]
