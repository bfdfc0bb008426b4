"""Maximum mean discrepancy with a Gaussian kernel: a two-sample distance for low-dimensional (2-D toy) samples.

    MMD^2(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y),   k(x, y) = exp(-|x - y|^2 / (2 l^2))

With a characteristic kernel such as the Gaussian, MMD is 0 exactly when P = Q. The estimate here
is the unbiased U-statistic (pairs i != j within each sample), so it can dip below 0 when P = Q.
Several bandwidths ``l`` can be summed into one kernel, which is sensitive at several scales; the
default is the median heuristic (the median distance between the pooled points). For images,
use KID, the same estimator with a polynomial kernel on classifier features.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .features import Array, _check_features


def median_bandwidth(x: Tensor, y: Tensor) -> float:
    """The median of the pairwise distances among the pooled points (at most 1,000 of each set)."""
    pooled = torch.cat([x[:1000], y[:1000]])
    d = torch.pdist(pooled)
    return d.median().item()


def gaussian_kernel(x: Tensor, y: Tensor, bandwidths: Sequence[float]) -> Tensor:
    """sum_l exp(-|x_i - y_j|^2 / (2 l^2)) for every pair: x (N, D), y (M, D) -> (N, M)."""
    d2 = torch.cdist(x, y).square()
    return sum(torch.exp(-d2 / (2 * l ** 2)) for l in bandwidths)


def mmd(x: Array, y: Array, bandwidths: float | Sequence[float] | None = None) -> float:
    """Unbiased MMD^2 between samples x (N, D) and y (M, D) with a Gaussian kernel (a sum of them).

    bandwidths: one length scale l, several (their kernels are summed), or None for the median
    heuristic. Computed in float64; quadratic in N + M (a few thousand points is fine).
    """
    x, y = _check_features(x, y)
    if bandwidths is None:
        bandwidths = [median_bandwidth(x, y)]
    elif isinstance(bandwidths, (int, float)):
        bandwidths = [float(bandwidths)]
    bandwidths = [float(l) for l in bandwidths]
    if not bandwidths or any(not l > 0 for l in bandwidths):
        raise ValueError(f"bandwidths must be positive length scales, got {bandwidths}; identical points have "
                         "a median distance of 0: pass bandwidths= explicitly")
    n, m = len(x), len(y)
    k_xx, k_yy = gaussian_kernel(x, x, bandwidths), gaussian_kernel(y, y, bandwidths)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return (within_x + within_y - 2 * gaussian_kernel(x, y, bandwidths).mean()).item()


__all__ = ["median_bandwidth", "gaussian_kernel", "mmd"]
