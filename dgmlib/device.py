"""Device choice and seeding: the only place that knows about CUDA, MPS and CPU."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` (or the environment variable ``DGMLIB_DEVICE``) forces a choice,
    e.g. ``"cpu"`` to compare timings; asking for a device that is not present
    raises a ``RuntimeError`` instead of silently falling back.
    """
    prefer = prefer or os.environ.get("DGMLIB_DEVICE")
    if prefer:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} requested but CUDA is not available; use 'cpu'")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {prefer!r} requested but MPS is not available; use 'cpu'")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def module_device(module: torch.nn.Module) -> torch.device:
    """Where a module lives: ``module.device`` for a dgmlib model, else its first parameter's or buffer's
    device; the CPU for a module with neither."""
    device = getattr(module, "device", None)
    if isinstance(device, torch.device):
        return device
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices); return a CPU generator with that seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS
    return torch.Generator().manual_seed(seed)
