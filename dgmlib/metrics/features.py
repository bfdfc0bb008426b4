"""Checks shared by the metrics that compare two sets of feature vectors (FID, KID, precision/recall, MMD)."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

Array = Tensor | np.ndarray


def _float64(value: Array, name: str) -> Tensor:
    tensor = torch.as_tensor(value).detach().to("cpu", torch.float64)
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} holds NaN or infinite values; check the model or data that produced it")
    return tensor


def _check_features(a: Array, b: Array, minimum: int = 2) -> tuple[Tensor, Tensor]:
    a, b = _float64(a, "features_a"), _float64(b, "features_b")
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be two (N, F) matrices with the same F, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    for name, x in (("features_a", a), ("features_b", b)):
        if len(x) < minimum:
            raise ValueError(f"{name} has {len(x)} row(s): a covariance needs at least 2 samples (and FID is "
                             "biased upward for small N: use a few thousand, or KID for small sets)")
    return a, b
