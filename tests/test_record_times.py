"""scripts/record_times.py: one session's part of a run that spans sessions, and how benchmarks/README.md
shows it."""
from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta, timezone

from helpers import config, summary

_spec = importlib.util.spec_from_file_location("record_times", config.REPO_ROOT / "scripts" / "record_times.py")
record_times = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record_times)


def _cell(source: str, duration: float | None, status: str = "completed", start: str | None = None) -> dict:
    return {"cell_type": "code", "source": [source],
            "metadata": {"papermill": {"duration": duration, "status": status, "start_time": start}}}


def test_a_session_counts_each_cell_to_the_section_its_done_call_closes():
    markdown = {"cell_type": "markdown", "source": ["## 1. x"], "metadata": {}}
    notebook = {"cells": [_cell("setup()", 2.0), _cell('ctx.done("data");', 1.0), markdown,
                          _cell("train()", 30.0), _cell('ctx.done("autoencoder");', 0.5),
                          _cell("search()", 100.0), _cell('ctx.done("search");', 1.0)]}
    seconds, finished, stopped = record_times.session_seconds(notebook)
    assert seconds == {"data": 3.0, "autoencoder": 30.5, "search": 101.0}
    assert finished == ["data", "autoencoder", "search"] and stopped is None


def test_a_session_cut_off_inside_a_section_counts_its_running_cell_up_to_now():
    started = (datetime.now(timezone.utc) - timedelta(seconds=600)).isoformat()
    notebook = {"cells": [_cell('ctx.done("data");', 3.0), _cell("train()", 40.0),
                          _cell("more()", None, "running", started), _cell('ctx.done("autoencoder");', None, "pending"),
                          _cell('ctx.done("search");', None, "pending")]}
    seconds, finished, stopped = record_times.session_seconds(notebook)
    assert finished == ["data"] and stopped == "autoencoder"
    assert 635 <= seconds["autoencoder"] <= 660  # 40 s of the finished cell + about 600 of the running one


def _printing(source: str, *lines: str) -> dict:
    return _cell(source, 1.0) | {"outputs": [{"output_type": "stream", "name": "stdout",
                                              "text": [line + "\n" for line in lines]}]}


def test_reused_results_are_charged_once_to_the_first_section_that_reuses_them():
    notebook = {"cells": [
        _printing("train()", "[cache] autoencoder: reused a finished run (20 epochs); 1,234.5 s to compute (ae-1)",
                  "[cache] code 2: trained 6 epochs; 50.0 s to compute (code-2)",
                  "[cache] pca: reused pca-9.json", "[cache] pca: reused pca-9.json"),
        _cell('ctx.done("autoencoder");', 0.5),
        _printing("search()", "[cache] autoencoder: reused a finished run (20 epochs); 1,234.5 s to compute (ae-1)",
                  "[cache] TPE, seed 0: reused, 20 finished, best validation MSE 0.02; 600.0 s to compute (study s)"),
        _cell('ctx.done("search");', 0.5),
        _printing("later()", "[cache] map raw: reused map-raw-1.json; 12.0 s to compute (map-raw-1)")]}
    costs, unknown = record_times.reused_costs(notebook)
    assert costs == {"autoencoder": 1234.5, "search": 600.0, "end": 12.0}  # the trained run is this execution's
    assert unknown == 1


def test_the_benchmarks_page_gives_a_finished_run_its_cost_from_nothing():
    report = {"profile": "full", "device": "cpu", "cpu": "AMD EPYC (family 23, model 1)", "precision": "fp32",
              "versions": {"torch": "2.15.0"}, "what": "the last execution", "session": "5b", "finished": ["data"],
              "stopped_in": None, "seconds": {"data": 3.0, "autoencoder": 100.0}, "notebook_seconds": 103.0,
              "reused_costs": {"autoencoder": 7097.0}, "costs_unknown": 1, "from_nothing_seconds": 7200.0}
    text = "\n".join(summary._notebook_times("notebook-times-full-amd-epyc-1-5b.json", report))
    assert "| 1. autoencoder | 100 | 7,097 |" in text and "| notebook sections in all | 103 | 7,097 |" in text
    assert "7,200 s (2.0 h)" in text and "1 reused result was stored before costs" in text


def test_the_benchmarks_page_says_what_a_session_finished_and_where_it_stopped():
    report = {"profile": "full", "device": "cpu", "cpu": "AMD EPYC (family 25, model 1)", "precision": "fp32",
              "versions": {"torch": "2.15.0"}, "what": "from nothing", "session": "1", "finished": ["data"],
              "stopped_in": "autoencoder", "seconds": {"data": 3.0, "autoencoder": 640.0}, "notebook_seconds": 643.0}
    text = "\n".join(summary._notebook_times("notebook-times-full-amd-epyc-1.json", report))
    assert "Session 1 of a `full` run" in text and "stopped inside 1. autoencoder" in text
    assert "| 0. data | 3 |" in text and "| 1. autoencoder | 640 |" in text
