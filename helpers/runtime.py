"""The machine a run happens on: device choice, seeding and the header a notebook prints."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import random

import numpy as np
import torch

DEVICE_ENV = "HW2_DEVICE"
REPORTED_PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "optuna", "matplotlib")


def select_device(name: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; `name` or `HW2_DEVICE` forces one (e.g. `cpu`)."""
    forced = name or os.environ.get(DEVICE_ENV)
    if forced:
        device = torch.device(forced)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"Device {forced!r} was requested but CUDA is not available; "
                               f"unset {DEVICE_ENV} or set it to 'cpu'.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"Device {forced!r} was requested but Apple MPS is not available; "
                               f"unset {DEVICE_ENV} or set it to 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in REPORTED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def header(profile_name: str, device: torch.device) -> str:
    """A few lines saying what this run is: profile, device, library versions."""
    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items())
    return (f"profile: {profile_name}\n"
            f"device:  {device_name(device)}\n"
            f"versions: {versions}")
