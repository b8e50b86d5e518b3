"""Accuracy parity of the training precision on a real profile: the main autoencoder (test MSE), the Homework 1
network (test accuracy) and the main VAE (importance-weighted test NLL), each trained as the notebook trains it, once
in fp32 and once in bf16 autocast, and scored in fp32.

    HW2_DATA=... python scripts/precision_parity.py [PROFILE] [--models autoencoder,vae,hw1] [--out FILE]

Runs are cached runs of the profile's folder (`results/<profile>/runs/`; the precision is part of their key), so the
fp32 ones are reused from a notebook run of the same code. Writes a JSON with both numbers, their difference and
the seconds each training took. bf16 is emulated, and several times slower, on a CPU without native bf16.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import autoencoder as ae, config, data, finetune, runtime, vae  # noqa: E402
from helpers.results import write_text  # noqa: E402


def measure(profile: config.Profile, splits: data.Splits, run_dir: Path, models: list[str]) -> dict:
    found = {}
    main = ae.train_autoencoder(ae.HAND_SET, ae.hand_set_spec(profile), splits,
                                eval_batch_size=profile.eval_batch_size, run_dir=run_dir)
    found.update(autoencoder_test_mse=ae.mse(main.model, splits.test, splits),
                 autoencoder_seconds=main.history.rows[-1]["seconds"])
    print(found, flush=True)
    if "vae" in models:
        model = vae.train_vae(ae.HAND_SET, vae.spec(profile), splits, warmup_epochs=max(1, profile.ae_epochs // 4),
                              run_dir=run_dir, eval_batch_size=profile.eval_batch_size)
        nll_set = (splits.test.subset(data.balanced_subset(splits.test.labels, profile.nll_images, profile.seed))
                   if profile.nll_images else splits.test)
        found.update(vae_test=vae.held_out_likelihood(model.model, nll_set, samples=profile.nll_samples,
                                                      seed=profile.seed),
                     vae_seconds=model.history.rows[-1]["seconds"])
        print(found, flush=True)
    if "hw1" in models:
        spec = finetune.hw1_recipe(profile.clf_epochs, seed=profile.seed)
        hw1 = finetune.strategies(ae.HAND_SET, main.model.encoder, spec)[finetune.HW1_SCRATCH]
        clf = finetune.train_strategy(finetune.HW1_SCRATCH, hw1, splits, run_dir=run_dir,
                                      eval_batch_size=profile.eval_batch_size)
        found.update(hw1_test_accuracy=finetune.accuracy(clf.model, splits.test, splits, profile.eval_batch_size),
                     hw1_seconds=clf.history.rows[-1]["seconds"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", nargs="?", default="quick")
    parser.add_argument("--models", default="autoencoder,vae,hw1", help="the autoencoder always; vae, hw1 optional")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",")]
    profile = config.resolve_profile(args.profile)
    device = runtime.select_device()
    splits = data.study_splits(profile, device)
    run_dir = config.results_dir(profile)
    found = {"profile": profile.name, **runtime.run_info(device)}
    for precision in ("fp32", "bf16"):
        os.environ[runtime.PRECISION_ENV] = precision
        found[precision] = measure(profile, splits, run_dir, models)
        print(precision, json.dumps(found[precision]), flush=True)
    os.environ.pop(runtime.PRECISION_ENV)
    out = Path(args.out or run_dir / "precision-parity.json")
    write_text(out, json.dumps(found, indent=2) + "\n")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
