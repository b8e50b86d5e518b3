"""Training throughput, side by side: the conventional DataLoader pipeline against the project's.

    python -m helpers.bench [--images N] [--repeats R] [--batch-size B] [--models hw1,autoencoder]
                            [--variants fp32,channels-last,...]

(a) conventional: `torchvision.datasets.FashionMNIST` with per-sample PIL transforms (flip, rotation,
    ToTensor, Normalize) and a `DataLoader` with one worker per CPU core; fp32, contiguous tensors;
(b) project: the split resident on the device and augmented a whole batch at a time, trained by the
    project's own loop (`training.fit`) in several variants: on the CPU fp32, channels-last, bf16 autocast,
    bf16 + channels-last, and `torch.compile` on the setting the notebook uses there; on CUDA also with the
    whole training step replayed as a CUDA graph.
Each measurement trains `repeats + 1` epochs over the same images; the first is warm-up, the median
of the rest is reported, as images/s, as a ratio to (a), and on the CPU as a share of the cores' nominal
peak (the training step's FLOPs per image from `torch.utils.flop_counter` times images/s, over cores x clock x
FLOPs per cycle of the vector instructions: `flops_per_cycle`). Results go to `results/bench/bench-<device>.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader, Subset
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from . import runtime
from .config import ConfigError, int_option, results_root
from .data import Augment, Batch, DataError, data_root, load_dataset
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
    precision: str = "fp32"  # what the training step computes in ("bf16": autocast)
    channels_last: bool = False
    compile: bool = False  # torch.compile the model
    graphs: bool = False  # the training step replayed as a CUDA graph (what the notebook uses on a GPU)


CUDA_VARIANTS = (Variant("plain"), Variant("bf16", "bf16"), Variant("channels-last", channels_last=True),
                 Variant("compile", compile=True), Variant("bf16 + channels-last", "bf16", True),
                 Variant("bf16 + channels-last + compile", "bf16", True, True),
                 Variant("CUDA graph", graphs=True), Variant("bf16 + CUDA graph", "bf16", graphs=True),
                 Variant("bf16 + channels-last + CUDA graph (the notebook's default)", "bf16", True, graphs=True),
                 Variant("bf16 + channels-last + compile + CUDA graph", "bf16", True, True, graphs=True))


def cpu_variants() -> tuple[Variant, ...]:
    """fp32, channels-last, bf16 and both, each eager, then `torch.compile` on the setting this CPU trains with
    (`runtime.training_precision`, channels-last), which is marked as the notebook's."""
    own = runtime.training_precision(torch.device("cpu"))
    mark = " (the notebook's setting here)"
    variants = [Variant("fp32"), Variant("channels-last", channels_last=True), Variant("bf16", "bf16"),
                Variant("bf16 + channels-last", "bf16", True)]
    variants = [replace(v, name=v.name + mark) if v.precision == own and v.channels_last else v for v in variants]
    return (*variants, Variant(f"{'bf16 + ' if own == 'bf16' else ''}channels-last + compile", own, True, True))


# ----------------------------------------------------------------------------- what the CPU could do


def step_flops(model_name: str, batch_size: int = 32) -> float:
    """Floating-point operations of one training step per image: forward and backward of convolutions and matrix
    products, as `torch.utils.flop_counter` counts them (one multiply-add = 2 FLOPs; the optimizer, activations
    and normalization are left out, so the true work is slightly larger)."""
    build, loss_fn = MODELS[model_name]
    torch.manual_seed(0)
    model = build().train()
    x = torch.randn(batch_size, 1, 28, 28)
    batch = Batch(x, x.clamp(0, 1), torch.arange(batch_size) % 10)
    with FlopCounterMode(display=False) as counter:
        loss_fn(model, batch)["loss"].backward()
    return counter.get_total_flops() / batch_size


def _clock_ghz() -> float | None:
    """The CPU's base clock where Linux gives it (cpufreq), else its highest, else the clock /proc/cpuinfo reports (on
    a virtual machine without cpufreq: the host's nominal clock); None elsewhere."""
    for name, scale in (("/sys/devices/system/cpu/cpu0/cpufreq/base_frequency", 1e6),
                        ("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", 1e6)):
        try:
            return float(Path(name).read_text()) / scale
        except (OSError, ValueError):
            pass
    try:
        return float(runtime.cpuinfo()["cpu MHz"]) / 1000
    except (KeyError, ValueError):
        return None


def flops_per_cycle(precision: str, flags: dict[str, bool]) -> tuple[int, str]:
    """Nominal FLOPs per cycle and core from the vector instructions, assuming two FMA units per core: AVX2 fp32
    2 x 8 lanes x 2 = 32; AVX512 fp32 64; AVX512-BF16 (a dot product of two bf16 pairs per fp32 lane) 128; AMX
    bf16 1,024. A CPU that splits 512-bit instructions in two (AMD Zen 4) reaches half the AVX512 figures. bf16
    without native instructions is emulated: its peak is the fp32 one."""
    fp32 = (64, "AVX512 fp32 FMA") if flags.get("avx512_f") else (32, "AVX2 fp32 FMA") if flags.get("fma3") \
        else (8, "SSE fp32")
    if precision != "bf16":
        return fp32
    if flags.get("amx_bf16"):
        return 1024, "AMX bf16"
    if flags.get("avx512_bf16"):
        return 128, "AVX512-BF16 dot products"
    return fp32[0], fp32[1] + " (bf16 is emulated)"


def cpu_peak(precision: str) -> dict:
    """The CPU's nominal peak for `precision` over the cores PyTorch uses, and how it was derived."""
    cores, ghz = torch.get_num_threads(), _clock_ghz()
    per_cycle, source = flops_per_cycle(precision, runtime.cpu_flags())
    if ghz is None:
        return {"gflops": None, "derivation": "clock unknown (no cpufreq, no /proc/cpuinfo)"}
    return {"gflops": cores * ghz * per_cycle,
            "derivation": f"{cores} cores x {ghz:.2f} GHz x {per_cycle} FLOPs/cycle ({source}, 2 FMA units)"}


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
    model = build().to(device).train()  # fp32, contiguous: what a typical user writes
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
    spec = TrainSpec(epochs=repeats + 1, batch_size=batch_size, augment=AUGMENT,
                     channels_last=variant.channels_last, compile=variant.compile)
    history = fit(build(), loss_fn, train, None, spec, mean=MEAN, std=STD, progress=False, graphs=variant.graphs,
                  precision=variant.precision)
    cumulative = history.column("seconds")
    per_epoch = [b - a for a, b in zip(cumulative, cumulative[1:])]  # the first epoch is warm-up
    return (len(train) // batch_size) * batch_size / statistics.median(per_epoch)


def _row(model: str, pipeline: str, variant: str, speed: float, base: float, flops: float,
         peak: dict | None) -> dict:
    row = {"model": model, "pipeline": pipeline, "variant": variant, "images_per_second": speed,
           "ratio": speed / base, "gflops_per_second": speed * flops / 1e9}
    if peak is not None and peak["gflops"]:
        row["peak_share"] = row["gflops_per_second"] / peak["gflops"]
    return row


def device_variants(device: torch.device) -> tuple[Variant, ...]:
    return cpu_variants() if device.type == "cpu" else CUDA_VARIANTS if device.type == "cuda" else (Variant("fp32"),)


def short(variant: Variant) -> str:
    """The name `--variants` takes (without the remark in brackets)."""
    return variant.name.split(" (")[0]


def run(models: list[str], images: int, batch_size: int, repeats: int, variant_names: list[str] | None = None) -> dict:
    device = runtime.select_device()
    cpu = device.type == "cpu"
    variants = device_variants(device)
    if variant_names:
        variants = tuple(v for v in variants if short(v) in variant_names)
    train = load_dataset("FashionMNIST", train=True).subset(range(images)).to(device)
    peaks = {p: cpu_peak(p) for p in runtime.PRECISIONS} if cpu else {}
    rows, flops = [], {}
    for name in models:
        flops[name] = step_flops(name)
        base = conventional(name, device, images, batch_size, repeats)
        rows.append(_row(name, "conventional DataLoader", f"fp32, {os.cpu_count()} workers", base, base,
                         flops[name], peaks.get("fp32")))
        print(f"{name}: conventional {base:,.0f} img/s", flush=True)
        for variant in variants:
            speed = project(name, train, batch_size, repeats, variant)
            rows.append(_row(name, "device-resident (project)", variant.name, speed, base, flops[name],
                             peaks.get(variant.precision)))
            print(f"{name}: project [{variant.name}] {speed:,.0f} img/s ({speed / base:.2f}x)", flush=True)
    return {"device": runtime.device_name(device), "cpu": runtime.cpu_summary(), "versions": runtime.package_versions(),
            "images": images, "batch_size": batch_size, "repeats": repeats, "step_flops_per_image": flops,
            "peak": peaks, "rows": rows}


def table(report: dict) -> str:
    """The report's rows as a Markdown table, as the command prints it."""
    def share(row: dict) -> str:
        return f"{100 * row['peak_share']:.1f}%" if "peak_share" in row else "–"
    return markdown_table(["model", "pipeline / variant", "images/s", "x conventional", "GFLOP/s", "share of peak"],
                          [(r["model"], r["variant"], f"{r['images_per_second']:,.0f}", f"{r['ratio']:.2f}x",
                            f"{r['gflops_per_second']:.1f}", share(r)) for r in report["rows"]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int_option(1, 60000), default=None, help="training images per epoch "
                        "(default: 60000 on CUDA, 4096 otherwise)")
    parser.add_argument("--repeats", type=int_option(1), default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--batch-size", type=int_option(1, 60000), default=128)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--variants", default=None, help="comma-separated variant names (default: all of this "
                        "device's), e.g. 'fp32,channels-last'")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        parser.error(f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODELS)}")
    images = args.images or (60000 if torch.cuda.is_available() else 4096)
    if args.batch_size > images:
        parser.error(f"--batch-size {args.batch_size} is larger than --images {images}; allowed: a batch size of at "
                     f"most the images per epoch")
    names = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else None
    try:
        results_root()  # HW2_RESULTS, checked before minutes of measuring
        known = [short(v) for v in device_variants(runtime.select_device())]
    except ConfigError as err:
        parser.error(str(err))
    if names and any(n not in known for n in names):
        parser.error(f"unknown variant(s) {', '.join(n for n in names if n not in known)} on this device; "
                     f"choose from {', '.join(known)}")
    try:
        report = run(models, images, args.batch_size, args.repeats, names)
    except ConfigError as err:  # HW2_DATA, HW2_DOWNLOAD
        parser.error(str(err))
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    peaks = "; ".join(f"{p}: {v['gflops']:.0f} GFLOP/s = {v['derivation']}" for p, v in report["peak"].items()
                      if v["gflops"])
    print(f"\ndevice: {report['device']}; {images} images per epoch, batch {args.batch_size}, "
          f"median of {args.repeats} epochs after one warm-up; training-step FLOPs per image: "
          + ", ".join(f"{m} {f / 1e6:.1f} MFLOP" for m, f in report["step_flops_per_image"].items())
          + (f"\npeak: {peaks}" if peaks else "") + f"\n{table(report)}")
    path = results_root() / "bench" / f"bench-{report['device'].split()[0]}.json"
    write_text(path, json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
