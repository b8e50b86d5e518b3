"""The machine a run happens on: device choice, training precision, seeding and the header a notebook prints."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import re
from pathlib import Path

import numpy as np
import torch

from .config import ConfigError

DEVICE_ENV = "HW2_DEVICE"
PRECISION_ENV = "HW2_PRECISION"
PRECISIONS = ("fp32", "bf16")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 instructions that compute in bf16 natively
REPORTED_PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "optuna", "matplotlib")


def select_device(name: str | torch.device | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; `name` or `HW2_DEVICE` forces one (`cpu`, `cuda`, `cuda:<index>`, `mps`)."""
    name = str(name) if isinstance(name, torch.device) else name
    forced = name or os.environ.get(DEVICE_ENV, "").strip()
    if forced:
        setting = f"{DEVICE_ENV}={forced!r}" if not name else f"device {forced!r}"
        if not isinstance(forced, str) or not re.fullmatch(r"cpu|mps|cuda(:\d+)?", forced.strip().lower()):
            raise ConfigError(f"{setting} is not a device; allowed: cpu, cuda, cuda:<index>, mps, or unset "
                              f"{DEVICE_ENV} to take CUDA, then Apple MPS, then the CPU, whichever is there.")
        device = torch.device(forced.strip().lower())
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"{setting} was requested but CUDA is not available; allowed here: cpu"
                              f"{', mps' if torch.backends.mps.is_available() else ''}, or unset {DEVICE_ENV}.")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{setting}: this machine has {torch.cuda.device_count()} CUDA device(s); allowed: "
                              f"cuda:0 to cuda:{torch.cuda.device_count() - 1}, cuda, cpu.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ConfigError(f"{setting} was requested but Apple MPS is not available; allowed here: cpu"
                              f"{', cuda' if torch.cuda.is_available() else ''}, or unset {DEVICE_ENV}.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_flags() -> dict[str, bool]:
    """The CPU features PyTorch detected (cpuinfo): avx2, avx512_bf16, amx_bf16, ..."""
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return {k: v for k, v in caps.items() if isinstance(v, bool)}


def native_bf16(flags: dict[str, bool] | None = None) -> bool:
    """Whether the CPU computes bf16 in hardware (x86: AVX512-BF16 or AMX; other architectures are not detected and
    train in fp32). Without it PyTorch emulates bf16, which is several times slower than fp32 (measured on a 2-core
    AMD EPYC with AVX2 only: training steps 6-8x slower; benchmarks/README.md)."""
    flags = cpu_flags() if flags is None else flags
    return any(flags.get(name, False) for name in NATIVE_BF16_FLAGS)


def training_precision(device: torch.device, flags: dict[str, bool] | None = None) -> str:
    """"bf16" or "fp32": what training computes in on `device` (evaluation is always fp32).

    `HW2_PRECISION=fp32|bf16` overrides; otherwise bf16 autocast on CUDA and on a CPU with native bf16, fp32
    everywhere else (a CPU without native bf16, Apple MPS)."""
    forced = os.environ.get(PRECISION_ENV, "").strip()
    if forced:
        if forced not in PRECISIONS:
            raise ConfigError(f"{PRECISION_ENV}={forced!r} is not a precision; set it to one of "
                              f"{', '.join(PRECISIONS)}, or unset it to let the hardware decide.")
        return forced
    if device.type == "cuda":  # a card that only emulates bf16 (before Ampere) trains in fp32
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    if device.type == "cpu" and native_bf16(flags):
        return "bf16"
    return "fp32"


def channels_last(device: torch.device) -> bool:
    """Whether convolutions take channels-last tensors on `device`: on CUDA, and on the CPU, where oneDNN's
    convolutions ran faster in that layout for the Homework 1 network, the autoencoder, the encoder classifier and
    SimCLR's network (training steps measured in fp32 on AVX2, benchmarks/README.md, and in bf16 on
    AVX512-BF16); not on Apple MPS (unmeasured)."""
    return device.type in ("cuda", "cpu")


def cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (model name, cpu family, model, cpu MHz, ...); empty elsewhere."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor is enough
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    """The CPU's model name, with its family and model numbers where /proc/cpuinfo gives them (a virtual machine
    often reports only "AMD EPYC": the numbers tell the generation, e.g. family 25 model 1 is Zen 3)."""
    fields = cpuinfo()
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    if "cpu family" in fields and "model" in fields:
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def cpu_summary() -> str:
    """CPU model, the vector instructions that matter for training speed, and the cores PyTorch uses."""
    flags = cpu_flags()
    vector = "AVX512" if flags.get("avx512_f") else "AVX2" if flags.get("avx2") else "no AVX2"
    bf16 = "native bf16 (" + ", ".join(f for f in NATIVE_BF16_FLAGS if flags.get(f)) + ")" if native_bf16(flags) \
        else "no native bf16"
    return f"{cpu_model()}; {vector}, {bf16}; {torch.get_num_threads()} threads"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({cpu_summary()})"


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in REPORTED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def run_info(device: torch.device) -> dict[str, str]:
    """What `metrics.json` -> `run` records about the machine: device, CPU, training precision, library versions."""
    return {"device": device_name(device), "cpu": cpu_summary(), "precision": precision_summary(device),
            "versions": package_versions()}


def precision_summary(device: torch.device) -> str:
    """E.g. "training bf16 autocast, channels-last; evaluation fp32"."""
    precision = "bf16 autocast" if training_precision(device) == "bf16" else "fp32"
    layout = ", channels-last" if channels_last(device) else ""
    tf32 = " (TF32 convolutions)" if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else ""
    return f"training {precision}{layout}; evaluation fp32{tf32}"


def header(profile_name: str, device: torch.device) -> str:
    """A few lines saying what this run is: profile, device, CPU, precision, library versions."""
    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items())
    return (f"profile: {profile_name}\n"
            f"device:  {device_name(device)}\n"
            + ("" if device.type == "cpu" else f"cpu:     {cpu_summary()}\n") +
            f"precision: {precision_summary(device)}\n"
            f"versions: {versions}")
