"""Record a finished notebook run's section times for benchmarks/README.md.

    python scripts/record_times.py RESULTS_DIR/<profile> "what the run was (e.g. from nothing, one session)"

Writes benchmarks/notebook-times-<profile>-<cpu>.json from the run's metrics.json (its `run` and `seconds`
sections, as the notebook measured them); `python -m helpers.report --readme` then lists it.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from helpers.config import REPO_ROOT
from helpers.results import load_metrics, write_text


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not (Path(argv[0]) / "metrics.json").is_file():
        print("usage: python scripts/record_times.py RUN_DIR WHAT  (RUN_DIR holds metrics.json)", file=sys.stderr)
        return 2
    metrics = load_metrics(argv[0])
    seconds = {k: v for k, v in metrics["seconds"].items() if k != "total"}
    run = metrics["run"]
    record = {"profile": run["profile"]["name"], "device": run["device"], "cpu": run["cpu"],
              "precision": run["precision"], "versions": run["versions"], "what": argv[1], "seconds": seconds,
              "notebook_seconds": sum(seconds.values())}
    cpu = re.sub(r"[^a-z0-9]+", "-", run["cpu"].split(";")[0].lower()).strip("-")
    path = REPO_ROOT / "benchmarks" / f"notebook-times-{record['profile']}-{cpu}.json"
    write_text(path, json.dumps(record, indent=2) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
