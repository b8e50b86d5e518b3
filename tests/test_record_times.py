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


def test_the_benchmarks_page_says_what_a_session_finished_and_where_it_stopped():
    report = {"profile": "full", "device": "cpu", "cpu": "AMD EPYC (family 25, model 1)", "precision": "fp32",
              "versions": {"torch": "2.15.0"}, "what": "from nothing", "session": "1", "finished": ["data"],
              "stopped_in": "autoencoder", "seconds": {"data": 3.0, "autoencoder": 640.0}, "notebook_seconds": 643.0}
    text = "\n".join(summary._notebook_times("notebook-times-full-amd-epyc-1.json", report))
    assert "Session 1 of a `full` run" in text and "stopped inside 1. autoencoder" in text
    assert "| 0. data | 3 |" in text and "| 1. autoencoder | 640 |" in text
