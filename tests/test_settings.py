"""Every setting a person types is checked where it enters: the notebook's PROFILE, the environment variables,
and the options of the commands; a wrong type or value gets one message that names it and what is allowed."""
from __future__ import annotations

import pytest
import torch

from helpers import bench, config, data, report, results, runtime, studies, tuning


@pytest.mark.parametrize("profile, says", [
    (123, "Profile 123 (type int) is not a profile name. Valid profiles: smoke, quick, full (a string"),
    (["quick"], "Profile ['quick'] (type list) is not a profile name. Valid profiles: smoke, quick, full"),
    ("huge", "Unknown profile 'huge'. Valid profiles: smoke, quick, full.")])
def test_the_notebook_profile_parameter_is_checked(profile, says):
    with pytest.raises(config.ConfigError) as err:
        config.resolve_profile(profile)
    assert str(err.value).startswith(says)


def _file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("x")
    return path


# (variable, value or a function of tmp_path, the call that reads it, what the message must say)
ENVIRONMENT = [
    ("HW2_PROFILE", "tiny", config.resolve_profile, "Unknown profile 'tiny' in HW2_PROFILE. Valid profiles: smoke"),
    ("HW2_DEVICE", "tpu", runtime.select_device,
     "HW2_DEVICE='tpu' is not a device; allowed: cpu, cuda, cuda:<index>, mps"),
    ("HW2_DEVICE", "cuda:", runtime.select_device, "HW2_DEVICE='cuda:' is not a device; allowed: cpu, cuda"),
    ("HW2_PRECISION", "fp16", lambda: runtime.training_precision(torch.device("cpu")),
     "HW2_PRECISION='fp16' is not a precision; set it to one of fp32, bf16"),
    ("HW2_DATA", _file, data.data_root, "' is a file, not a folder; allowed: a folder that holds FashionMNIST/raw/"),
    ("HW2_DOWNLOAD", "yes", data.download_allowed, "HW2_DOWNLOAD='yes' is not allowed; allowed: 0 (never download"),
    ("HW2_RESULTS", _file, config.results_root, "' cannot hold results: "),
    ("HW2_RESULTS", lambda tmp: _file(tmp) / "sub", config.results_root, "is a file, not a folder. Allowed: a folder"),
    ("HW2_FORCE", "yes", results.forced, "HW2_FORCE='yes' is not allowed; allowed: 1 (recompute every stored result), "
                                         "0 or unset (reuse them)."),
    ("HW2_OPTUNA_STORAGE", lambda tmp: tmp, lambda: studies.study_storage("."),
     "' is a folder; allowed: the path of a journal file (e.g. /absolute/path/optuna.journal), the URL of a"),
    ("HW2_OPTUNA_STORAGE", "postgress://host/db", lambda: studies.study_storage("."),
     "is not a database URL (Can't load plugin: sqlalchemy.dialects:postgress); allowed: the path of a"),
    ("HW2_OPTUNA_STORAGE", "sqlite:////tmp/optuna.db", lambda: studies.study_storage("."),
     "is an SQLite database, which concurrent workers cannot share safely; allowed: the path of a journal"),
]


@pytest.mark.parametrize("name, value, call, says", ENVIRONMENT, ids=[f"{e[0]}-{i}" for i, e in enumerate(ENVIRONMENT)])
def test_each_environment_variable_is_checked_where_it_is_read(name, value, call, says, tmp_path, monkeypatch):
    monkeypatch.setenv(name, str(value(tmp_path) if callable(value) else value))
    with pytest.raises(config.ConfigError) as err:
        call()
    message = str(err.value)
    assert says in message and name in message and "\n" not in message


@pytest.mark.parametrize("name, value, call, expected", [
    ("HW2_DEVICE", " CPU ", runtime.select_device, torch.device("cpu")),
    ("HW2_FORCE", "0", results.forced, False), ("HW2_FORCE", "1", results.forced, True),
    ("HW2_DOWNLOAD", "0", data.download_allowed, False), ("HW2_PROFILE", "Quick", config.resolve_profile,
                                                          config.PROFILES["quick"])])
def test_allowed_values_still_pass(name, value, call, expected, monkeypatch):
    monkeypatch.setenv(name, value)
    assert call() == expected


def test_a_journal_path_in_hw2_optuna_storage_holds_the_studies_there(tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_OPTUNA_STORAGE", str(tmp_path / "shared" / "studies.journal"))
    studies.open_study("s", tmp_path / "run")
    assert (tmp_path / "shared" / "studies.journal").stat().st_size > 0
    assert not (tmp_path / "run" / studies.JOURNAL_NAME).exists()


def test_the_set_up_cell_s_hold_checks_hw2_force_before_taking_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_FORCE", "true")
    with pytest.raises(config.ConfigError, match="HW2_FORCE='true' is not allowed"):
        results.hold_run_dir(tmp_path / "smoke")
    assert not (tmp_path / "smoke").exists()


@pytest.mark.parametrize("argv, says", [
    (["--study", "ae-random-search", "--seed", "x", "--trials", "1"],
     "argument --seed: 'x' is not an integer; allowed: an integer >= 0"),
    (["--study", "ae-random-search", "--seed", "-1", "--trials", "1"],
     "argument --seed: -1 is out of range; allowed: an integer >= 0"),
    (["--study", "ae-random-search", "--trials", "many"],
     "argument --trials: 'many' is not an integer; allowed: an integer >= 1")])
def test_the_worker_command_s_numbers_are_checked(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        tuning.main(argv)
    assert exit_.value.code == 2 and says in capsys.readouterr().err


def test_the_worker_command_names_a_bad_environment_variable_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("HW2_DEVICE", "tpu")
    monkeypatch.setattr(tuning, "study_splits", lambda *a: pytest.fail("loaded data despite a bad HW2_DEVICE"))
    with pytest.raises(SystemExit) as exit_:
        tuning.main(["--study", "ae-grid-search", "--trials", "1", "--profile", "smoke"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "error: HW2_DEVICE='tpu' is not a device; allowed: cpu, cuda" in err


@pytest.mark.parametrize("argv, says", [
    (["--images", "lots"], "argument --images: 'lots' is not an integer; allowed: an integer in [1, 60000]"),
    (["--images", "70000"], "argument --images: 70000 is out of range; allowed: an integer in [1, 60000]"),
    (["--repeats", "0"], "argument --repeats: 0 is out of range; allowed: an integer >= 1"),
    (["--images", "100", "--batch-size", "128"], "--batch-size 128 is larger than --images 100"),
    (["--models", ","], "unknown model(s) (none given); choose from hw1, autoencoder")])
def test_the_bench_command_s_options_are_checked_before_measuring(argv, says, monkeypatch, capsys):
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("measured despite a bad option"))
    with pytest.raises(SystemExit) as exit_:
        bench.main(argv)
    assert exit_.value.code == 2 and says in capsys.readouterr().err


def test_the_bench_command_names_a_bad_results_folder_before_measuring(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HW2_RESULTS", str(_file(tmp_path)))
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("measured despite a bad HW2_RESULTS"))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--models", "autoencoder"])
    assert exit_.value.code == 2 and "HW2_RESULTS=" in capsys.readouterr().err


@pytest.mark.parametrize("module", [report, config])
@pytest.mark.parametrize("argv, says", [(["--readmee"], "error: unknown option '--readmee'; usage: python -m helpers."),
                                        (["smoke", "quick"], "error: one profile at most, got smoke quick; usage:"),
                                        (["-x"], "error: unknown option '-x'")])
def test_the_report_and_profile_commands_refuse_unknown_options_and_extra_names(module, argv, says, capsys):
    assert module.main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "(PROFILE: smoke, quick" in err and err.count("\n") == 1


def test_the_report_command_names_a_bad_profile_in_one_line(capsys):
    assert report.main(["huge"]) == 2
    assert capsys.readouterr().err == ("error: Unknown profile 'huge'. Valid profiles: smoke, quick, full. Set it in "
                                       "the notebook's parameters cell or with HW2_PROFILE=<name>.\n")


def test_the_report_command_of_another_collection_writes_its_summary_but_never_the_readme(tmp_path, monkeypatch,
                                                                                          capsys):
    monkeypatch.setenv("HW2_RESULTS", str(tmp_path))
    monkeypatch.setenv("HW2_DATASET", "mnist")
    assert report.main(["smoke", "--readme"]) == 2
    assert "unset HW2_DATASET (now 'mnist')" in capsys.readouterr().err
    monkeypatch.setattr(report.summary, "summary", lambda metrics: "the MNIST run's headline")
    assert report.main(["smoke"]) == 0
    assert (tmp_path / "smoke-mnist" / "summary.md").read_text() == "the MNIST run's headline"
    assert not (tmp_path / "smoke-mnist" / "report.pdf").exists() and "no report.pdf" in capsys.readouterr().out
