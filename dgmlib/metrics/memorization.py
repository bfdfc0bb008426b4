"""Does a model copy its training set? Nearest training neighbours of samples, against those of test images.

A model that memorises has perfect samples by FID and precision, yet each sample sits on top of
a training image. Held-out test images give the scale: a sample much closer to its nearest
training image than test images typically are to theirs is suspicious. The report gives both
distance distributions and the fraction of samples closer than the closest 1% of test images
(about 0.01 for a model that does not copy; near 1 for one that does).
"""
from __future__ import annotations

import torch
from torch import Tensor


def nearest_neighbours(queries: Tensor, reference: Tensor, chunk: int = 1024) -> tuple[Tensor, Tensor]:
    """Euclidean distance of each query (N, ...) to its nearest reference row (M, ...), and that row's index.

    Rows are flattened (pixels, or features). Returns (distances (N,), indices (N,)) on the CPU.
    """
    q = queries.detach().flatten(1).to("cpu", torch.float64)
    r = reference.detach().flatten(1).to("cpu", torch.float64)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries and reference must have the same number of values per row, got "
                         f"{tuple(queries.shape)} and {tuple(reference.shape)}")
    distances, indices = [], []
    for start in range(0, len(q), chunk):
        d, i = torch.cdist(q[start:start + chunk], r).min(dim=1)
        distances.append(d)
        indices.append(i)
    return torch.cat(distances), torch.cat(indices)


def memorization_report(samples: Tensor, train: Tensor, test: Tensor, quantile: float = 0.01) -> dict:
    """Nearest-training-neighbour distances of samples (N, ...) against those of test images (M, ...).

    Returns a dict: "sample_distances" (N,), "sample_neighbours" (N,) indices into train,
    "test_distances" (M,), "threshold" (the ``quantile`` of the test distances), "fraction_copied"
    (the fraction of samples closer to the training set than that threshold; about ``quantile``
    when samples are as novel as test images), and "median_ratio" (median sample distance over
    median test distance: near 1 for novel samples, near 0 for copies).
    """
    for name, x in (("samples", samples), ("train", train), ("test", test)):
        if not isinstance(x, Tensor) or x.dim() < 2 or len(x) < 1 or not torch.isfinite(x).all():
            raise ValueError(f"{name} must be a finite tensor (N, ...) with at least one row")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    sample_d, sample_i = nearest_neighbours(samples, train)
    test_d, _ = nearest_neighbours(test, train)
    threshold = torch.quantile(test_d, quantile).item()
    return {"sample_distances": sample_d, "sample_neighbours": sample_i, "test_distances": test_d,
            "threshold": threshold, "fraction_copied": (sample_d < threshold).double().mean().item(),
            "median_ratio": (sample_d.median() / test_d.median()).item()}


__all__ = ["nearest_neighbours", "memorization_report"]
