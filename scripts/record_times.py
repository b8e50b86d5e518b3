"""Record a notebook run's section times for benchmarks/README.md.

    python scripts/record_times.py RESULTS_DIR/<profile> "what the run was (e.g. from nothing, one session)"
    python scripts/record_times.py RESULTS_DIR/<profile> "what this session did" --session TAG

The first form writes benchmarks/notebook-times-<profile>-<cpu>.json from a finished run's metrics.json (its
`run` and `seconds` sections, as the notebook measured them). The second records one session's part of a run
that spans sessions (`full` on a CPU): the section seconds of the executed notebook in RESULTS_DIR as far as it
got (papermill's per-cell durations, each cell counted to the section whose `ctx.done(...)` closes it; a cell
cut off with the session up to the notebook's last save), which sections it finished and which it left
unfinished, in benchmarks/notebook-times-<profile>-<cpu>-<TAG>.json.
Both also record what the stored results that the execution reused had cost when they were computed (the
`[cache]` lines' costs, `reused_costs`); for an execution that ran to the end, its seconds plus those are the
run's cost from nothing (`from_nothing_seconds`), however many sessions it took to compute them.
`python -m helpers.report --readme` then lists them.
"""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.config import REPO_ROOT  # noqa: E402
from helpers.results import COST_NOTE, load_metrics, write_text  # noqa: E402

DONE = re.compile(r"""ctx\.done\(["'](\w+)["']\)""")


def session_seconds(notebook: dict, end: datetime | None = None) -> tuple[dict[str, float], list[str], str | None]:
    """Per section, the seconds papermill measured for the cells that ran, each cell counted to the section
    whose `ctx.done(...)` closes it (a cell still running, or cut off with its session: up to `end`, by default
    now); the sections finished; the section it stopped in (None if it ended)."""
    seconds: dict[str, float] = {}
    finished: list[str] = []
    pending = 0.0
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {}).get("papermill", {})
        ran = meta.get("duration")
        if ran is None:  # not run, or still running now (counted up to now)
            if meta.get("start_time") and meta.get("status") == "running":
                started = datetime.fromisoformat(meta["start_time"].replace("Z", "+00:00"))
                pending += max(0.0, ((end or datetime.now(timezone.utc)) - started).total_seconds())
            section = _next_section(notebook, finished)
            return seconds | ({section: pending} if pending else {}), finished, section
        pending += float(ran)
        done = DONE.search("".join(cell["source"]))
        if done:
            seconds[done.group(1)] = pending
            finished.append(done.group(1))
            pending = 0.0
    return seconds, finished, None


def reused_costs(notebook: dict) -> tuple[dict[str, float], int]:
    """Per section, the seconds that the stored results this execution reused had cost when they were computed,
    read from the `[cache]` lines of its cells (`results.cost_note`; each stored result counted once, to the
    section of the cell that first printed it), and how many distinct `[cache]` lines gave no cost (results
    stored before costs were). A run resumed in this execution counts as computed here: its reused epochs are
    not added."""
    costs: dict[str, float] = {}
    counted: set[str] = set()  # stored results, by the name their cost note gives
    costless: set[str] = set()  # [cache] lines without a cost note
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    for cell, section in zip(cells, _cell_sections(notebook)):
        for line in _printed(cell).splitlines():
            if not line.startswith("[cache] "):
                continue
            note = COST_NOTE.search(line)
            if note is None:
                costless.add(line)
            elif note.group(2) not in counted:
                counted.add(note.group(2))
                if line.split(": ", 1)[-1].startswith("reused"):
                    costs[section] = costs.get(section, 0.0) + float(note.group(1).replace(",", ""))
    return costs, len(costless)


def _printed(cell: dict) -> str:
    """What a code cell printed (its stream outputs)."""
    return "".join("".join(out.get("text", "")) for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def _cell_sections(notebook: dict) -> list[str]:
    """For each code cell in order, the section whose `ctx.done(...)` closes it (cells after the last: 'end')."""
    sections, waiting = [], 0
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        waiting += 1
        done = DONE.search("".join(cell["source"]))
        if done:
            sections += [done.group(1)] * waiting
            waiting = 0
    return sections + ["end"] * waiting


def _next_section(notebook: dict, finished: list[str]) -> str:
    """The first section, in notebook order, that is not among `finished`."""
    return next((key for key in dict.fromkeys(_cell_sections(notebook)) if key not in finished), "end")


def main(argv: list[str]) -> int:
    tag = None
    if "--session" in argv:
        at = argv.index("--session")
        tag = argv[at + 1] if at + 1 < len(argv) else None
        argv = argv[:at] + argv[at + 2:]
    if len(argv) != 2 or not (Path(argv[0]) / "metrics.json").is_file() or ("--session" in sys.argv and not tag):
        print("usage: python scripts/record_times.py RUN_DIR WHAT [--session TAG]  (RUN_DIR holds metrics.json)",
              file=sys.stderr)
        return 2
    metrics = load_metrics(argv[0])
    run = metrics["run"]
    record = {"profile": run["profile"]["name"], "device": run["device"], "cpu": run["cpu"],
              "precision": run["precision"], "versions": run["versions"], "what": argv[1]}
    executed = Path(argv[0]) / "homework2.ipynb"
    notebook = json.loads(executed.read_text()) if executed.is_file() else None
    if tag is None:
        seconds = {k: v for k, v in metrics["seconds"].items() if k != "total"}
    else:
        last_written = datetime.fromtimestamp(executed.stat().st_mtime, timezone.utc)  # papermill saves as it goes
        seconds, finished, stopped_in = session_seconds(notebook, last_written)
        record |= {"session": tag, "finished": finished, "stopped_in": stopped_in}
    record |= {"seconds": seconds, "notebook_seconds": sum(seconds.values())}
    if notebook is not None:
        costs, unknown = reused_costs(notebook)
        record |= {"reused_costs": costs, "costs_unknown": unknown}
        if record.get("stopped_in") is None:  # an execution to the end: what it took plus what it reused
            record["from_nothing_seconds"] = record["notebook_seconds"] + sum(costs.values())
    cpu = re.sub(r"[^a-z0-9]+", "-", run["cpu"].split(";")[0].lower()).strip("-")
    suffix = f"-{re.sub(r'[^A-Za-z0-9]+', '-', tag)}" if tag else ""
    path = REPO_ROOT / "benchmarks" / f"notebook-times-{record['profile']}-{cpu}{suffix}.json"
    write_text(path, json.dumps(record, indent=2) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
