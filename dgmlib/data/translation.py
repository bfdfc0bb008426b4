"""Image-to-image translation tasks built from MNIST (week 5: pix2pix and CycleGAN).

* paired (pix2pix): the edge map of a digit -> the digit; x = the digit, y = its edges.
* unpaired (CycleGAN): thin strokes (domain A) <-> thick strokes (domain B), from two disjoint
  halves of the images, so no thin digit has its thick twin in the data.

Edges and stroke widths come from grey-scale morphology: dilation is a 3x3 max-pool, erosion
minus the max-pool of minus the image, and the edge map their difference (the morphological
gradient). Images are (N, 1, 28, 28) in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from .mnist8 import mnist


def dilate(x: Tensor) -> Tensor:
    """Thicker strokes: the 3x3 maximum around each pixel. (N, 1, H, W) -> same."""
    return F.max_pool2d(x, 3, stride=1, padding=1)


def erode(x: Tensor) -> Tensor:
    """Thinner strokes: the 3x3 minimum around each pixel. (N, 1, H, W) -> same."""
    return -F.max_pool2d(-x, 3, stride=1, padding=1)


def edges(x: Tensor) -> Tensor:
    """The outline of each stroke: dilate(x) - erode(x), in [0, 1]."""
    return (dilate(x) - erode(x)).clamp(0, 1)


def edges_to_digits(split: str = "train", *, limit: int | None = None, **kwargs) -> TensorDataset:
    """Paired data: (digit (N, 1, 28, 28), its edge map (N, 1, 28, 28)), both in [0, 1]."""
    x, _ = mnist(split, **kwargs)
    x = x[:limit] / 255.0
    return TensorDataset(x, edges(x))


def thin_and_thick(split: str = "train", *, limit: int | None = None, seed: int = 0,
                   **kwargs) -> TensorDataset:
    """Unpaired data: (thick digit (N, 1, 28, 28) of domain B, thin digit of domain A), the two from
    disjoint random halves of the split, so a pair shares nothing (CycleGAN must not rely on it)."""
    x, _ = mnist(split, **kwargs)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    half = len(x) // 2 if limit is None else min(limit, len(x) // 2)
    a, b = x[order[:half]] / 255.0, x[order[len(x) // 2:len(x) // 2 + half]] / 255.0
    return TensorDataset(dilate(b), erode(a))
