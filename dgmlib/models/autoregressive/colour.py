"""Week 2: PixelCNN masks for colour images, which order the channels as well as the pixels.

An RGB image is generated pixel by pixel in raster order and, within a pixel, R before G
before B (van den Oord et al., 2016a, the masked convolutions of PixelRNN and PixelCNN):

    p(x_i | x_<i) = p(x_{i,R} | x_<i) p(x_{i,G} | x_<i, x_{i,R}) p(x_{i,B} | x_<i, x_{i,R}, x_{i,G}).

Every layer's feature maps are split into three channel groups, one per colour. At the
kernel's centre (the current pixel) output group c may read input group c' only if c' < c
(mask A, the first layer: x_{i,c} itself is hidden) or c' <= c (mask B, later layers, whose
group-c features were computed from what x_{i,c} may see). Off the centre the spatial mask of
:func:`dgmlib.nn.causal_mask` applies to every pair of groups alike.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ...nn.masked import MaskedConv2d, causal_mask


def channel_groups(channels: int, n_colours: int = 3) -> Tensor:
    """The colour group of each channel, (channels,) in 0..n_colours - 1: contiguous blocks (R block, G, B)."""
    if channels < n_colours or channels % n_colours:
        raise ValueError(f"{channels} channels cannot be split into {n_colours} equal colour groups; "
                         f"use a multiple of {n_colours}")
    return torch.arange(channels) // (channels // n_colours)


def colour_causal_mask(kernel_size: int | tuple[int, int], in_channels: int, out_channels: int, mask_type: str,
                       n_colours: int = 3) -> Tensor:
    """(out_channels, in_channels, kh, kw) 0/1 mask of a raster-order convolution over colour channel groups.

    Rows above the centre and the columns left of it in the centre row: every channel pair.
    The centre: output group c sees input group c' iff c' < c (type "A") or c' <= c (type "B").
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    spatial = causal_mask((kh, kw), "A")  # strictly before the centre; also checks the type and odd sizes
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    out_group, in_group = channel_groups(out_channels, n_colours), channel_groups(in_channels, n_colours)
    centre = out_group[:, None] > in_group[None, :] if mask_type == "A" else out_group[:, None] >= in_group[None, :]
    mask = spatial.expand(out_channels, in_channels, kh, kw).clone()
    mask[:, :, kh // 2, kw // 2] = centre.float()
    return mask


def colour_pixelcnn_net(channels: int = 12, n_layers: int = 2, kernel: int = 3, n_colours: int = 3) -> nn.Sequential:
    """A plain stack of colour-masked convolutions: (B, n_colours, H, W) -> one logit per channel (B, n_colours, H, W).

    Mask A first, then B layers with ReLUs between, and a B layer back to n_colours outputs: the
    smallest network in which output (i, c) depends on earlier pixels and on channels < c of pixel i.
    """
    layers: list[nn.Module] = [MaskedConv2d(n_colours, channels, kernel,
                                            colour_causal_mask(kernel, n_colours, channels, "A", n_colours))]
    for _ in range(n_layers):
        layers += [nn.ReLU(), MaskedConv2d(channels, channels, kernel,
                                           colour_causal_mask(kernel, channels, channels, "B", n_colours))]
    head = colour_causal_mask(1, channels, n_colours, "B", n_colours)  # 1x1: the centre's channel rule only
    layers += [nn.ReLU(), MaskedConv2d(channels, n_colours, 1, head)]
    return nn.Sequential(*layers)


__all__ = ["channel_groups", "colour_causal_mask", "colour_pixelcnn_net"]
