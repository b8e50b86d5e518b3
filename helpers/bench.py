"""Training throughput, side by side: the conventional DataLoader pipeline against the project's.

    python -m helpers.bench [--images N] [--repeats R] [--batch-size B] [--models hw1,autoencoder]

(a) conventional: `torchvision.datasets.FashionMNIST` with per-sample PIL transforms (flip, rotation,
    ToTensor, Normalize) and a `DataLoader` with one worker per CPU core;
(b) project: the split resident on the device and augmented a whole batch at a time, trained by the
    project's own loop (`training.fit`); on CUDA also with bf16 autocast, channels-last and
    `torch.compile` switched on and off, and with the whole training step replayed as a CUDA graph.
Each measurement trains `repeats + 1` epochs over the same images; the first is warm-up, the median
of the rest is reported. Results go to `results/bench/bench-<device>.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import dataclass

import torch
import torchvision
from torch.utils.data import DataLoader, Subset
from torchvision import transforms

from . import runtime
from .config import results_root
from .data import Augment, Batch, data_root, load_dataset
from .models import AEConfig, AutoEncoder, HW1Net
from .results import markdown_table, write_text
from .training import TrainSpec, classification_loss, fit, make_optimizer, reconstruction_loss

MODELS = {"hw1": (HW1Net, classification_loss),
          "autoencoder": (lambda: AutoEncoder(AEConfig()), reconstruction_loss)}
AUGMENT = Augment(flip=True, rotate=5.0)  # the Homework 1 recipe, in both pipelines
MEAN = STD = 0.5  # Normalize(0.5, 0.5), as in Homework 1


@dataclass(frozen=True)
class Variant:
    name: str
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    graphs: bool = False  # the training step replayed as a CUDA graph (what the notebook uses on a GPU)


CUDA_VARIANTS = (Variant("plain"), Variant("bf16", amp=True), Variant("channels-last", channels_last=True),
                 Variant("compile", compile=True), Variant("bf16 + channels-last", True, True),
                 Variant("bf16 + channels-last + compile", True, True, True),
                 Variant("CUDA graph", graphs=True), Variant("bf16 + CUDA graph", amp=True, graphs=True),
                 Variant("bf16 + channels-last + CUDA graph (the notebook's default)", True, True, graphs=True),
                 Variant("bf16 + channels-last + compile + CUDA graph", True, True, True, graphs=True))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def conventional(model_name: str, device: torch.device, images: int, batch_size: int, repeats: int) -> float:
    """Images per second through torchvision transforms and a DataLoader."""
    pipeline = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomRotation(5),
                                   transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    dataset = Subset(torchvision.datasets.FashionMNIST(str(data_root()), train=True, transform=pipeline),
                     range(images))
    workers = os.cpu_count() or 1
    loader = DataLoader(dataset, batch_size, shuffle=True, drop_last=True, num_workers=workers,
                        pin_memory=device.type == "cuda", persistent_workers=True)
    build, loss_fn = MODELS[model_name]
    torch.manual_seed(0)
    model = build().to(device).train()
    optimizer = make_optimizer("adam", model.parameters(), 1e-3)
    seconds = []
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = loss_fn(model, Batch(x, x * STD + MEAN, y))["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return len(loader) * batch_size / statistics.median(seconds[1:])


def project(model_name: str, train, batch_size: int, repeats: int, variant: Variant) -> float:
    """Images per second through the device-resident pipeline and the project's training loop."""
    build, loss_fn = MODELS[model_name]
    torch.manual_seed(0)
    spec = TrainSpec(epochs=repeats + 1, batch_size=batch_size, augment=AUGMENT, amp=variant.amp,
                     channels_last=variant.channels_last, compile=variant.compile)
    history = fit(build(), loss_fn, train, None, spec, mean=MEAN, std=STD, progress=False, graphs=variant.graphs)
    cumulative = history.column("seconds")
    per_epoch = [b - a for a, b in zip(cumulative, cumulative[1:])]  # the first epoch is warm-up
    return (len(train) // batch_size) * batch_size / statistics.median(per_epoch)


def run(models: list[str], images: int, batch_size: int, repeats: int) -> dict:
    device = runtime.select_device()
    train = load_dataset("FashionMNIST", train=True).subset(range(images)).to(device)
    variants = CUDA_VARIANTS if device.type == "cuda" else (Variant("default (CUDA switches do not apply)"),)
    rows = []
    for name in models:
        base = conventional(name, device, images, batch_size, repeats)
        rows.append({"model": name, "pipeline": "conventional DataLoader", "variant": f"{os.cpu_count()} workers",
                     "images_per_second": base, "ratio": 1.0})
        print(f"{name}: conventional {base:,.0f} img/s", flush=True)
        for variant in variants:
            speed = project(name, train, batch_size, repeats, variant)
            rows.append({"model": name, "pipeline": "device-resident (project)", "variant": variant.name,
                         "images_per_second": speed, "ratio": speed / base})
            print(f"{name}: project [{variant.name}] {speed:,.0f} img/s ({speed / base:.1f}x)", flush=True)
    return {"device": runtime.device_name(device), "versions": runtime.package_versions(), "images": images,
            "batch_size": batch_size, "repeats": repeats, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=None, help="training images per epoch "
                        "(default: 60000 on CUDA, 4096 otherwise)")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    images = args.images or (60000 if torch.cuda.is_available() else 4096)
    if not args.batch_size <= images <= 60000 or args.repeats < 1:
        parser.error("need batch-size <= images <= 60000 and repeats >= 1")
    report = run(models, images, args.batch_size, args.repeats)
    table = markdown_table(["model", "pipeline", "variant", "images/s", "x conventional"],
                           [(r["model"], r["pipeline"], r["variant"], f"{r['images_per_second']:,.0f}",
                             f"{r['ratio']:.2f}") for r in report["rows"]])
    print(f"\ndevice: {report['device']}; {images} images per epoch, batch {args.batch_size}, "
          f"median of {args.repeats} epochs after one warm-up\n{table}")
    path = results_root() / "bench" / f"bench-{report['device'].split()[0]}.json"
    write_text(path, json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
