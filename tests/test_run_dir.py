"""One notebook run per results folder, metrics merged without losing updates, Optuna workers beside a held
folder, and damaged files named with what to do."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import optuna
import pytest

from helpers import config, results, studies, tuning

from .notebook_runs import wait_until

REPO = config.REPO_ROOT


def _python(code: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


HOLDER = """
    import sys, time
    from helpers import results
    results.hold_run_dir(sys.argv[1])
    print("held", flush=True)
    time.sleep(600)
"""

SECOND = """
    import sys
    from helpers import results
    try:
        results.hold_run_dir(sys.argv[1])
    except results.RunDirBusyError as err:
        print(err)
        sys.exit(3)
"""


# ----------------------------------------------------------------------------- the folder lock


def test_a_second_run_on_a_held_folder_is_refused_with_the_holder_and_what_to_do(tmp_path):
    run_dir = tmp_path / "quick"
    lock = results.hold_run_dir(run_dir)
    try:
        assert results.hold_run_dir(run_dir) is lock  # re-running the set-up cell: the same hold, no deadlock
        info = json.loads((run_dir / results.RUN_LOCK_INFO).read_text())
        assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
        second = _python(SECOND, str(run_dir))
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 3, out
        message = out.strip()
        assert "\n" not in message  # one message
        assert f"The results folder {run_dir} is in use by another run" in message
        assert f"process {os.getpid()} on host {socket.gethostname()}, started {info['started']}" in message
        assert "Wait for that run to finish" in message and "set HW2_RESULTS to another folder" in message
    finally:
        results.release_run_dir(run_dir)
    again = _python(SECOND, str(run_dir))  # given back: the next run takes it
    assert again.wait(timeout=120) == 0, again.stdout.read()


def test_a_lock_left_by_a_killed_run_is_no_obstacle(tmp_path):
    run_dir = tmp_path / "smoke"
    holder = _python(HOLDER, str(run_dir))
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(results.RunDirBusyError, match=f"process {holder.pid} on host"):
            results.hold_run_dir(run_dir)
    finally:
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(timeout=30) == -signal.SIGKILL
    assert (run_dir / results.RUN_LOCK).exists()  # the killed run's lock file is still there ...
    try:
        results.hold_run_dir(run_dir)  # ... and the next run takes the folder all the same
        assert json.loads((run_dir / results.RUN_LOCK_INFO).read_text())["pid"] == os.getpid()
    finally:
        results.release_run_dir(run_dir)


MERGER = """
    import sys, time
    from pathlib import Path
    from helpers import results
    folder, me, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    (folder / f"ready-{me}").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)
    for i in range(n):
        results.merge_metrics(folder, f"{me}-{i}", {"i": i})
"""


def test_two_processes_merging_metrics_at_once_lose_no_update(tmp_path):
    writers = [_python(MERGER, str(tmp_path), name, "200") for name in ("a", "b")]
    wait_until(lambda: all((tmp_path / f"ready-{n}").exists() for n in ("a", "b")), 120, "two writers ready")
    (tmp_path / "go").touch()
    for writer in writers:
        assert writer.wait(timeout=300) == 0, writer.stdout.read()
    metrics = results.load_metrics(tmp_path)
    expected = {f"{name}-{i}": {"i": i} for name in ("a", "b") for i in range(200)}
    assert metrics == expected


WORKER = """
    import sys
    import torch
    torch.set_num_threads(1)
    from helpers import data, tuning

    def tiny(profile, device, name="FashionMNIST"):  # a few hundred synthetic images: each trial trains in a fraction of a second
        g = torch.Generator().manual_seed(0)
        x = torch.nn.functional.avg_pool2d(torch.rand(240, 1, 28, 28, generator=g), 5, 1, 2)
        full = data.ImageSet((x * 255).to(torch.uint8), torch.arange(240) % 10, tuple("abcdefghij"))
        return data.Splits(full.subset(range(200)), full.subset(range(200, 240)), full.subset(range(200, 240)),
                           0.3, 0.3)

    tuning.study_splits = tiny
    tuning.search_train = lambda splits, profile: splits.train
    sys.exit(tuning.main(sys.argv[1:]))
"""


def test_optuna_workers_finish_all_their_trials_while_a_notebook_run_holds_the_folder(tmp_path):
    run_dir = tmp_path / "smoke"
    results.hold_run_dir(run_dir)  # as the notebook's set-up cell does
    try:
        argv = ["--study", "ae-random-search-hyperband", "--seed", "0", "--trials", "2", "--profile", "smoke"]
        env = {"HW2_RESULTS": str(tmp_path), "HW2_DEVICE": "cpu"}
        workers = [_python(WORKER, *argv, env=env) for _ in range(2)]
        for worker in workers:
            assert worker.wait(timeout=300) == 0, worker.stdout.read()
    finally:
        results.release_run_dir(run_dir)
    storage = studies.study_storage(run_dir)
    [name] = optuna.study.get_all_study_names(storage)
    study = optuna.load_study(study_name=name, storage=storage)
    assert name.startswith("ae-random-search-hyperband-seed0-") and studies.finished_trials(study) == 4


# ----------------------------------------------------------------------------- damaged files


@pytest.mark.parametrize("content, says", [(b'{"data": {"n_train": 1600, "mean', "is not readable JSON"),
                                           (b"\xff\xfe{}", "is not readable JSON"),
                                           (b"[1, 2]", "holds a JSON list, not an object of sections"),
                                           (b'{"data": 3}', "has sections that are not JSON objects: data")])
def test_a_damaged_metrics_file_is_named_with_the_remedy_and_left_as_it_is(tmp_path, content, says):
    path = tmp_path / "metrics.json"
    path.write_bytes(content)
    for call in (lambda: results.load_metrics(tmp_path), lambda: results.merge_metrics(tmp_path, "run", {"a": 1})):
        with pytest.raises(results.DamagedFileError) as err:
            call()
        message = str(err.value)
        assert message.startswith(f"{path} is damaged: it {says}")
        assert f"Move it aside (e.g. mv {path} {path}.damaged)" in message and "reused from" in message
    assert path.read_bytes() == content  # nothing written over it


def test_a_damaged_cache_file_is_moved_aside_with_a_warning_and_recomputed(tmp_path):
    assert results.cached_json(tmp_path, "pca", [1], lambda: {"value": 1}) == {"value": 1}
    [stored] = (tmp_path / "cache").glob("*.json")  # beside it: what it cost (`.seconds`)
    stored.write_text('{"val')
    with pytest.warns(UserWarning, match=f"{stored.name} is unreadable .*moved it aside to {stored.name}.damaged-"):
        assert results.cached_json(tmp_path, "pca", [1], lambda: {"value": 2}) == {"value": 2}
    [aside] = [p for p in (tmp_path / "cache").iterdir() if p.suffix not in (".json", ".seconds")]
    assert aside.name.startswith(f"{stored.name}.damaged-") and aside.read_text() == '{"val'
    assert json.loads(stored.read_text()) == {"value": 2}


@pytest.mark.parametrize("content", [b"not a journal, for example half of a copy\n" * 20, b"\x00" * 64,
                                     b"SQLite format 3\x00" + b"\x00" * 84])
def test_a_study_journal_of_other_bytes_is_named_with_the_remedy_and_left_as_it_is(tmp_path, content):
    journal = tmp_path / studies.JOURNAL_NAME
    journal.write_bytes(content)
    with pytest.raises(results.DamagedFileError) as err:
        studies.open_study("s", tmp_path)
    message = str(err.value)
    assert f"The Optuna study journal {journal} is not an Optuna journal" in message
    assert f"mv {journal} {journal}.damaged" in message and "reused from runs/" in message
    assert journal.read_bytes() == content  # nothing appended to it


@pytest.mark.parametrize("damage, says", [(lambda raw: raw[:-7], "its last entry is cut short"),
                                          (lambda raw: raw.replace(b'"op_code"', b'"op_cxde"', 1),
                                           "KeyError"),
                                          (lambda raw: raw.replace(b"}\n", b"\n", 1), "JSONDecodeError")])
def test_a_damaged_study_journal_is_named_with_the_remedy(tmp_path, damage, says):
    study = studies.open_study("s", tmp_path)
    study.enqueue_trial({"x": 0.5})
    journal = tmp_path / studies.JOURNAL_NAME
    damaged = damage(journal.read_bytes())
    journal.write_bytes(damaged)
    with pytest.raises(results.DamagedFileError, match=f"journal {journal} is damaged .*{says}.*Move it"):
        studies.open_study("s", tmp_path)
    assert journal.read_bytes() == damaged


def _tiny_splits():
    import torch

    from helpers import data

    x = torch.zeros(120, 1, 28, 28, dtype=torch.uint8)
    full = data.ImageSet(x, torch.arange(120) % 10, tuple("abcdefghij"))
    return data.Splits(full.subset(range(100)), full.subset(range(100, 120)), full.subset(range(100, 120)), 0.3, 0.3)


def test_the_worker_command_stops_on_a_damaged_study_journal_with_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HW2_RESULTS", str(tmp_path))
    monkeypatch.setattr(tuning, "study_splits", lambda profile, device, name="FashionMNIST": _tiny_splits())
    monkeypatch.setattr(tuning, "search_train", lambda splits, profile: splits.train)
    monkeypatch.setattr(tuning, "balanced_train", lambda splits, limit, seed: splits.train)
    journal = tmp_path / "smoke" / studies.JOURNAL_NAME
    journal.parent.mkdir()
    journal.write_bytes(b"\x00" * 64)
    assert tuning.main(["--study", "ae-grid-search", "--trials", "1", "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: The Optuna study journal {journal} is not an Optuna journal")
    assert err.count("\n") == 1


def test_an_empty_study_journal_is_a_new_one_not_a_damaged_one(tmp_path):
    (tmp_path / studies.JOURNAL_NAME).touch()
    assert studies.open_study("s", tmp_path).study_name == "s"

