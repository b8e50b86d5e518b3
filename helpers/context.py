"""The run's context: what every notebook step needs, built once by the set-up cell and passed to each step.

`setup(PROFILE, dataset=DATASET)` resolves the profile and the image collection, picks the device, seeds, takes
the results folder for this run, loads the data splits onto the device once and records the run and the data in
`metrics.json`. A step receives the `Context` and writes its own part of `metrics.json` through
`Context.merge`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import config, data, results, runtime
from .config import Dataset, Profile
from .data import ImageSet, Splits


@dataclass
class Context:
    """One notebook run: its profile, device, data splits, results folder, section clock and image collection."""

    profile: Profile
    device: torch.device
    splits: Splits
    run_dir: Path
    clock: results.SectionClock = field(repr=False)
    load_seconds: float = 0.0
    dataset: Dataset = config.DATASETS[config.DEFAULT_DATASET]

    @property
    def seed(self) -> int:
        return self.profile.seed

    @property
    def eval_batch_size(self) -> int:
        return self.profile.eval_batch_size

    @property
    def classes(self) -> list[str]:
        return list(self.splits.test.classes)

    @property
    def parts(self) -> dict[str, ImageSet]:
        """The three splits by name, in the order tables show them."""
        return {"train": self.splits.train, "validation": self.splits.val, "test": self.splits.test}

    def merge(self, section: str, entries: dict) -> dict:
        """Merge `entries` into `section` of this run's `metrics.json` (atomic, under its lock); returns the
        merged section."""
        return results.merge_metrics(self.run_dir, section, entries)[section]

    def metrics(self) -> dict:
        """This run's `metrics.json` as it stands."""
        return results.load_metrics(self.run_dir)

    def done(self, section: str) -> float:
        """Record the seconds since the previous section ended under `seconds.<section>`."""
        return self.clock.done(section)


@dataclass(frozen=True, kw_only=True)
class Shown:
    """What a step shows besides its own fields: the entries it merged into `metrics.json` (`found`), its
    markdown table and its sentence (from `helpers.findings`)."""

    found: dict
    table: str
    finding: str


def setup(profile: str | None = None, device: str | torch.device | None = None, *,
          dataset: str | None = None) -> Context:
    """Resolve the profile (None: `HW2_PROFILE`, else the machine's default) and the image collection (None:
    `HW2_DATASET`, else Fashion-MNIST), pick the device, seed every generator, take the results folder of that
    profile and collection for this process (a second run on it stops at once), load the splits onto the device
    and record the run and the data in `metrics.json`."""
    chosen = config.resolve_profile(profile)
    collection = config.resolve_dataset(dataset)
    where = runtime.select_device(device)
    runtime.seed_everything(chosen.seed)
    run_dir = config.results_dir(chosen, collection)
    results.hold_run_dir(run_dir)  # held for the kernel's life; re-running the set-up cell keeps it
    clock = results.SectionClock(run_dir)
    results.merge_metrics(run_dir, "run", {"profile": chosen.as_dict(), **runtime.run_info(where)})
    start = time.perf_counter()
    splits = data.study_splits(chosen, where, collection.folder)
    ctx = Context(chosen, where, splits, run_dir, clock, time.perf_counter() - start, collection)
    ctx.merge("data", {"dataset": collection.name, "title": collection.title,
                       **{f"n_{name}": len(part) for name, part in ctx.parts.items()},
                       "pixel_mean": splits.mean, "pixel_std": splits.std, "load_seconds": ctx.load_seconds})
    return ctx


def describe(ctx: Context) -> str:
    """The set-up cell's printout: profile, device and precision, results folder, data loading."""
    return "\n".join([runtime.header(ctx.profile.name, ctx.device), f"data set: {ctx.dataset.title}",
                      f"results: {ctx.run_dir}",
                      f"data loaded and moved to {ctx.device} in {ctx.load_seconds:.2f} s; training pixels: mean "
                      f"{ctx.splits.mean:.4f}, std {ctx.splits.std:.4f} (used to normalize the inputs)"])
