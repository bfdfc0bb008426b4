"""Masked layers: how autoregressive networks hide the future.

* :class:`MaskedLinear`, :class:`MaskedConv2d`: a weight multiplied by a fixed 0/1
  mask (a buffer) in every forward pass, never by editing ``.data``.
* :func:`made_degrees`, :func:`made_masks`: MADE's masks from the degrees of its
  units (Germain et al., 2015), used by MADE (week 2) and by MAF/IAF (week 4).
* :func:`causal_mask`: the raster-order kernel masks A and B of PixelCNN.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (a buffer, (out, in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_degrees(input_degrees: Tensor, hidden_sizes: Sequence[int],
                 generator: torch.Generator | None = None) -> list[Tensor]:
    """Random degrees of MADE's hidden units, one (H_l,) int64 tensor per hidden layer.

    input_degrees: (D,) with values 1..D (the rank of each input in the order). A unit of
    layer l gets a degree drawn uniformly from [min degree of layer l - 1, D - 1], so no unit
    is left without inputs and none is of degree D, which no output could use.
    """
    d = len(input_degrees)
    below, out = torch.as_tensor(input_degrees), []
    for size in hidden_sizes:
        low = min(int(below.min()), d - 1)
        below = torch.randint(low, d, (size,), generator=generator)  # in [low, D - 1]
        out.append(below)
    return out


def made_masks(input_degrees: Tensor, hidden_degrees: Sequence[Tensor]) -> list[Tensor]:
    """MADE's masks, each (out_features, in_features) of float 0./1., input layer first.

    A hidden unit of degree m(k) sees unit j of the layer below iff m(k) >= m(j); output d
    (degree m(d), that of input d) sees hidden unit k iff m(d) > m(k), so never its own input.
    With no hidden layer the one (D, D) mask connects input j to output d iff m(j) < m(d).
    """
    input_degrees = torch.as_tensor(input_degrees)
    masks, below = [], input_degrees
    for degrees in hidden_degrees:
        degrees = torch.as_tensor(degrees)
        masks.append((degrees[:, None] >= below[None, :]).float())
        below = degrees
    masks.append((input_degrees[:, None] > below[None, :]).float())
    return masks


def causal_mask(kernel_size: tuple[int, int], mask_type: str) -> Tensor:
    """(kh, kw) mask of a raster-order causal convolution; the centre is (kh // 2, kw // 2).

    Rows above the centre are visible; in the centre row, the columns left of the
    centre, plus the centre itself for type "B". Everything else is hidden.
    Both sides must be odd: an even kernel has no centre pixel, and its outputs would
    be read at positions shifted from the pixels they predict.
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_size
    if kh % 2 == 0 or kw % 2 == 0 or kh < 1 or kw < 1:
        raise ValueError(f"causal convolutions need odd kernel sizes (a centre pixel), got {kh}x{kw}; "
                         "use 3, 5 or 7")
    mask = torch.zeros(kh, kw)
    mask[: kh // 2, :] = 1
    mask[kh // 2, : kw // 2 + (mask_type == "B")] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 'same'-padded convolution whose kernel is multiplied by a fixed mask (a buffer)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 mask: Tensor):
        kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if kernel_size[0] % 2 == 0 or kernel_size[1] % 2 == 0:
            raise ValueError(f"MaskedConv2d needs odd kernel sizes for 'same' padding, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size,
                         padding=(kernel_size[0] // 2, kernel_size[1] // 2))
        self.register_buffer("mask", mask.expand_as(self.weight).clone())

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


__all__ = ["MaskedLinear", "made_degrees", "made_masks", "causal_mask", "MaskedConv2d"]
