"""Improved precision and recall (Kynkäänniemi et al. 2019): fidelity and coverage as two numbers.

Each set's manifold is estimated as the union of balls around its points, the radius of a point
being the distance to its k-th nearest neighbour in the same set (the point itself excluded):

    precision = fraction of generated points inside the real manifold   (are samples realistic?)
    recall    = fraction of real points inside the generated manifold   (is all of the data covered?)

A mode-collapsed generator keeps its precision and loses recall; a blurry or noisy one loses
precision. FID mixes the two into one number.

Precision's weak spot: an outlying real point gets a huge ball, and samples anywhere near it count as
realistic (uniform noise can score a precision near 1 in classifier features). Density and coverage
(Naeem et al. 2020) count *how many* real balls hold a sample and *which* real balls are hit:

    density  = (1 / (k M)) sum_j sum_i 1[y_j in B(x_i, r_i)]     (about 1 for samples like the data; can exceed 1)
    coverage = (1 / N) sum_i 1[some y_j in B(x_i, r_i)]          (fraction of real points with a sample nearby) Distances are Euclidean in the features of the
course's classifier for images (k = 3, as in the paper), or in the data space for 2-D toys.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .features import Array, _check_features


def knn_radii(features: Tensor, k: int, chunk: int = 2048) -> Tensor:
    """Distance of each row to its k-th nearest *other* row of the same set: (N, F) -> (N,)."""
    radii = []
    for start in range(0, len(features), chunk):
        d = torch.cdist(features[start:start + chunk], features)
        # the point itself sits at distance 0: the k-th neighbour is the (k + 1)-th smallest distance
        radii.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _inside(points: Tensor, centres: Tensor, radii: Tensor, chunk: int = 2048) -> Tensor:
    """For each point (N, F): is it within radius of at least one centre (M, F)? (N,) bool; the ball is closed."""
    out = []
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start:start + chunk], centres)
        out.append((d <= radii).any(dim=1))
    return torch.cat(out)


def precision_recall(real_features: Array, fake_features: Array, k: int = 3) -> dict[str, float]:
    """Improved precision and recall of generated features (M, F) against real ones (N, F), each in [0, 1].

    k: the neighbour that sets each radius (3 in the paper; larger k, larger balls, both numbers grow).
    Computed in float64 with Euclidean distances; quadratic in the set sizes (10,000 each is fine).
    """
    real, fake = _check_features(real_features, fake_features)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer (3 in Kynkäänniemi et al. 2019), got {k!r}")
    if k >= min(len(real), len(fake)):
        raise ValueError(f"k={k} needs more than k points in each set, got {len(real)} real and {len(fake)} "
                         "generated")
    precision = _inside(fake, real, knn_radii(real, k)).double().mean().item()
    recall = _inside(real, fake, knn_radii(fake, k)).double().mean().item()
    return {"precision": precision, "recall": recall}


def density_coverage(real_features: Array, fake_features: Array, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020; k = 5 there) of generated features (M, F) against real ones (N, F).

    Both use only the real points' k-NN balls, so one outlying real point cannot make noise look realistic.
    """
    real, fake = _check_features(real_features, fake_features)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k >= len(real):
        raise ValueError(f"k must be an integer in 1..N-1 = {len(real) - 1}, got {k!r}")
    radii = knn_radii(real, k)
    inside = []
    for start in range(0, len(fake), 2048):
        inside.append(torch.cdist(fake[start:start + 2048], real) <= radii)  # (chunk, N)
    inside = torch.cat(inside)
    return {"density": inside.double().sum().item() / (k * len(fake)),
            "coverage": inside.any(dim=0).double().mean().item()}


__all__ = ["knn_radii", "precision_recall", "density_coverage"]
