"""Interrupted work resumes, finished work is reused, broken files are detected, nothing is lost."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import optuna
import pytest
import torch

from helpers import autoencoder as ae, config, data, results, studies, training
from helpers.models import AEConfig

from .notebook_runs import SmokeRun, epochs_in as _epochs_in, wait_until as _wait_until

REPO = config.REPO_ROOT

TRAIN_SCRIPT = textwrap.dedent("""
    import json, sys
    import torch
    torch.set_num_threads(1)
    from helpers import data, training
    from helpers.models import AEConfig, AutoEncoder
    training.CHECKPOINT_SECONDS = 0  # a checkpoint after every epoch, so the kill lands between saved epochs

    def images(n, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.nn.functional.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2)
        return data.ImageSet((x * 255).to(torch.uint8), torch.arange(n) % 10, tuple("abcdefghij"))

    checkpoint, out = (sys.argv[1] or None), sys.argv[2]
    torch.manual_seed(0)
    model = AutoEncoder(AEConfig(channels=(8, 16), latent_dim=8, dropout=0.1))
    spec = training.TrainSpec(epochs=8, batch_size=32, scheduler="cosine", seed=1,
                              augment=data.Augment(flip=True, rotate=5.0, noise=0.1))
    history = training.fit(model, training.reconstruction_loss, images(3000, 0), images(500, 1), spec,
                           checkpoint=checkpoint, progress=False, desc="killable")
    json.dump([{k: v for k, v in row.items() if k != "seconds"} for row in history.rows], open(out, "w"))
""")


def _python(script: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(script), *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def test_training_killed_mid_epoch_resumes_to_the_same_result(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    reference = _python(script, "", str(tmp_path / "reference.json"))
    assert reference.wait(timeout=300) == 0, reference.stdout.read()

    checkpoint = tmp_path / "run.pt"
    victim = _python(script, str(checkpoint), str(tmp_path / "killed.json"))
    _wait_until(lambda: checkpoint.exists() and _epochs_in(checkpoint) >= 2, 300, "two finished epochs")
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    saved_epochs = _epochs_in(checkpoint)
    assert 2 <= saved_epochs < 8 and not (tmp_path / "killed.json").exists()

    resumed = _python(script, str(checkpoint), str(tmp_path / "resumed.json"))
    assert resumed.wait(timeout=300) == 0
    assert f"resumed after epoch {saved_epochs}, trained {8 - saved_epochs} more" in resumed.stdout.read()
    expected = json.loads((tmp_path / "reference.json").read_text())
    got = json.loads((tmp_path / "resumed.json").read_text())
    assert len(got) == 8
    for row_got, row_expected in zip(got, expected):
        assert row_got == pytest.approx(row_expected, rel=1e-6)


def _small_splits() -> data.Splits:
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(300, 1, 28, 28, generator=g), 5, 1, 2)
    full = data.ImageSet((x * 255).to(torch.uint8), torch.arange(300) % 10, tuple("abcdefghij"))
    return data.Splits(full.subset(range(200)), full.subset(range(200, 250)), full.subset(range(250, 300)), 0.3, 0.3)


SMALL = AEConfig(channels=(8,), latent_dim=4)
SPEC = training.TrainSpec(epochs=2, batch_size=50)


def test_truncated_checkpoint_is_detected_and_retrained(tmp_path):
    splits = _small_splits()
    fresh = ae.train_autoencoder(SMALL, SPEC, splits, run_dir=tmp_path)
    [checkpoint] = (tmp_path / "runs").glob("*.pt")
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="is corrupt"):
        again = ae.train_autoencoder(SMALL, SPEC, splits, run_dir=tmp_path)
    assert again.history.reused_epochs == 0 and len(again.history.rows) == 2
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h.rows]  # noqa: E731
    assert strip(again.history) == strip(fresh.history)
    assert _epochs_in(checkpoint) == 2  # a sound checkpoint replaced the broken one


def test_second_run_reuses_a_changed_run_retrains_and_force_retrains(tmp_path, capsys, monkeypatch):
    splits = _small_splits()
    first = ae.train_autoencoder(SMALL, SPEC, splits, run_dir=tmp_path, desc="ae")
    second = ae.train_autoencoder(SMALL, SPEC, splits, run_dir=tmp_path, desc="ae")
    log = capsys.readouterr().out
    assert "[cache] ae: trained 2 epochs" in log and "[cache] ae: reused a finished run (2 epochs)" in log
    # both lines name the run and what its epochs cost when trained, so a resumed study still has its cost
    [stored] = (tmp_path / "runs").glob("*.pt")
    costs = {m.groups() for m in map(results.COST_NOTE.search, log.splitlines()) if m}
    assert costs == {(f"{first.history.rows[-1]['seconds']:,.1f}", stored.stem)}
    assert second.history.reused_epochs == 2 and second.history.rows == first.history.rows
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    changed = ae.train_autoencoder(SMALL, training.TrainSpec(epochs=2, batch_size=50, lr=5e-4), splits,
                                   run_dir=tmp_path, desc="ae")
    assert changed.history.reused_epochs == 0 and len(list((tmp_path / "runs").glob("*.pt"))) == 2
    monkeypatch.setenv("HW2_FORCE", "1")
    forced = ae.train_autoencoder(SMALL, SPEC, splits, run_dir=tmp_path, desc="ae")
    assert forced.history.reused_epochs == 0


def test_cached_json_reuses_detects_corruption_and_obeys_force(tmp_path, monkeypatch):
    calls = []
    compute = lambda: calls.append(1) or {"value": len(calls)}  # noqa: E731
    assert results.cached_json(tmp_path, "pca", [1, 2], compute) == {"value": 1}
    assert results.cached_json(tmp_path, "pca", [1, 2], compute) == {"value": 1} and len(calls) == 1
    assert results.cached_json(tmp_path, "pca", [1, 3], compute) == {"value": 2}  # another key
    [stored] = [p for p in (tmp_path / "cache").iterdir() if p.read_text() == '{"value": 1}']
    stored.write_text('{"val')
    with pytest.warns(UserWarning, match="unreadable"):
        assert results.cached_json(tmp_path, "pca", [1, 2], compute) == {"value": 3}
    monkeypatch.setenv("HW2_FORCE", "1")
    assert results.cached_json(tmp_path, "pca", [1, 2], compute) == {"value": 4}


def test_cached_json_stores_what_it_cost_and_says_so_when_reused(tmp_path, capsys):
    results.cached_json(tmp_path, "pca", [1], lambda: time.sleep(0.05) or {"value": 1})
    results.cached_json(tmp_path, "pca", [1], lambda: {"value": 2})
    [computed, reused] = capsys.readouterr().out.splitlines()
    [stored] = (tmp_path / "cache").glob("*.json")
    seconds = float(stored.with_suffix(".seconds").read_text())
    assert seconds >= 0.05 and "computed and stored" in computed and "reused" in reused
    assert results.COST_NOTE.search(computed).groups() == results.COST_NOTE.search(reused).groups() \
        == (f"{seconds:,.1f}", stored.stem)
    stored.with_suffix(".seconds").unlink()  # stored before costs were: reused without one
    results.cached_json(tmp_path, "pca", [1], lambda: {"value": 3})
    assert results.COST_NOTE.search(capsys.readouterr().out.strip()) is None


def test_cached_json_without_a_run_directory_computes_every_time_and_stores_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    compute = lambda: calls.append(1) or {len(calls): "unconverted key"}  # noqa: E731
    assert results.cached_json(None, "pca", [1, 2], compute) == {1: "unconverted key"}
    assert results.cached_json(None, "pca", [1, 2], compute) == {2: "unconverted key"} and len(calls) == 2
    assert not list(tmp_path.iterdir())


SEARCH_SCRIPT = textwrap.dedent("""
    import sys, time
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from helpers import studies

    def objective(trial):
        time.sleep(0.3)
        return trial.suggest_float("x", -1, 1) ** 2

    study = studies.open_study("killable", sys.argv[1], sampler=optuna.samplers.TPESampler(seed=0))
    studies.run_to_budget(study, objective, 100)
""")


def test_killed_search_resumes_with_its_finished_trials_intact(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(SEARCH_SCRIPT)
    victim = _python(script, str(tmp_path))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _wait_until(lambda: (tmp_path / studies.JOURNAL_NAME).exists() and studies.finished_trials(
        studies.open_study("killable", tmp_path)) >= 3, 120, "three finished trials")
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    study = studies.open_study("killable", tmp_path)
    before = {t.number: t.value for t in study.get_trials(states=studies.FINISHED)}
    assert len(before) >= 3
    ran = studies.run_to_budget(study, lambda t: t.suggest_float("x", -1, 1) ** 2, len(before) + 2)
    assert ran == 2
    after = {t.number: t.value for t in studies.open_study("killable", tmp_path).get_trials(states=studies.FINISHED)}
    assert len(after) == len(before) + 2 and all(after[n] == v for n, v in before.items())


RACE_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from helpers import studies

    folder, me = Path(sys.argv[1]), sys.argv[2]
    study = studies.open_study("race", folder, sampler=optuna.samplers.RandomSampler(seed=int(me)))
    (folder / f"ready-{me}").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        with open(folder / "ran.txt", "a") as out:
            out.write(f"{trial.number}\\n")
        time.sleep(0.05)
        return x

    study.optimize(objective, n_trials=3)
""")


def test_workers_racing_for_waiting_trials_each_take_a_different_one(tmp_path):
    """Three workers take waiting (enqueued) trials at once: each trial is run by exactly one of them."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = studies.open_study("race", tmp_path)
    for x in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        study.enqueue_trial({"x": x})
    script = tmp_path / "race.py"
    script.write_text(RACE_SCRIPT)
    workers = [_python(script, str(tmp_path), str(i)) for i in range(3)]
    _wait_until(lambda: all((tmp_path / f"ready-{i}").exists() for i in range(3)), 120, "three workers ready")
    (tmp_path / "go").touch()
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stdout.read()
    ran = [int(n) for n in (tmp_path / "ran.txt").read_text().split()]
    assert sorted(ran) == list(range(9))  # nine trials, none run twice
    trials = studies.open_study("race", tmp_path).get_trials()
    xs = [t.params["x"] for t in trials]
    assert all(xs.count(x) == 1 for x in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6))  # each enqueued trial taken once
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials) and len(trials) == 9


def test_search_budget_is_reached_despite_non_finite_trials(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = studies.open_study("nan", tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        if trial.number == 1:
            raise training.NonFiniteLossError("loss became nan")
        return trial.suggest_float("x", 0, 1)

    assert studies.run_to_budget(study, objective, 4) == 4
    states = [t.state for t in study.get_trials()]
    assert states.count(optuna.trial.TrialState.FAIL) == 1 and studies.finished_trials(study) == 4


def test_killed_notebook_rerun_completes_reusing_every_finished_run(smoke_run: SmokeRun):
    # the session's smoke run (tests/conftest.py): killed after six run checkpoints, then run again to the end
    tmp_path, stored = smoke_run.results, smoke_run.stored
    runs = tmp_path / "smoke" / "runs"
    log = "".join(output.get("text", "") for cell in nbformat.read(smoke_run.notebook, as_version=4).cells
                  for output in cell.get("outputs", []))
    outcome = {results.slug(name): what for name, what in re.findall(r"\[cache\] (.+?): (trained|resumed|reused)", log)}
    picked_up = {}
    for name, (mtime, epochs) in stored.items():
        run = name.rsplit("-", 1)[0]
        picked_up[run] = outcome[run]
        if outcome[run] == "reused":  # finished before the kill: untouched
            assert (runs / name).stat().st_mtime_ns == mtime
        else:  # interrupted: continued from its last epoch, not from scratch
            assert outcome[run] == "resumed" and _epochs_in(runs / name) > epochs
    assert "reused" in picked_up.values()
    executed = nbformat.read(smoke_run.notebook, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors and all(c.get("execution_count") for c in executed.cells if c.cell_type == "code")
    sections = {"data", "autoencoder", "search", "finetune", "latent", "vae", "simclr", "side_by_side"}
    assert sections <= results.load_metrics(tmp_path / "smoke")["seconds"].keys()
    metrics = results.load_metrics(tmp_path / "smoke")
    assert {"run", "data", "autoencoder", "ae_optimizers", "ae_regularization", "ae_code_size",
            "ae_denoising"} <= metrics.keys()
