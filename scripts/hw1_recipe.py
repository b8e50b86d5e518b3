"""Homework 1's network under Homework 1's own recipe on a profile (issue 23, point 1): every training image but the
validation split, flip + rotation up to 5 degrees, Adam 1e-3 with weight decay 1e-4, batch 64, reduce-on-plateau,
up to `hw1_epochs` epochs (50 on `full`) with early stopping (patience 10) and the best validation epoch kept.

    HW2_DATA=... python scripts/hw1_recipe.py [PROFILE] [--out FILE]

The run is the notebook's own cached run (`results/<profile>/runs/`, same name and key), so the notebook reuses it
and an interrupted run resumes. Prints and writes (JSON) the test accuracy, the kept epoch and the seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import config, data, finetune, runtime  # noqa: E402
from helpers.results import write_text  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", nargs="?", default="full")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    profile = config.resolve_profile(args.profile)
    device = runtime.select_device()
    runtime.seed_everything(profile.seed)
    print(runtime.header(profile.name, device), flush=True)
    splits = data.study_splits(profile, device)
    name, strategy = finetune.hw1_scratch(profile.hw1_epochs, profile.seed)
    run = finetune.train_strategy(name, strategy, splits, run_dir=config.results_dir(profile),
                                  eval_batch_size=profile.eval_batch_size)
    row = finetune.summary({name: run}, splits, profile.eval_batch_size)[name]
    found = {"profile": profile.name, "train_images": len(splits.train), "val_images": len(splits.val),
             "test_images": len(splits.test), **runtime.run_info(device), "name": name,
             **{k: v for k, v in row.items()}, "history": run.history.rows}
    print(json.dumps({k: v for k, v in found.items() if k != "history"}, indent=1, default=str))
    if args.out:
        write_text(args.out, json.dumps(found, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
