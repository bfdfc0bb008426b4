"""Autoregressive flows on the week-2 MADE: MAF (Papamakarios et al., 2017) and IAF (Kingma et al., 2016).

    MAF forward (density, one pass):   z_i = (x_i - mu_i(x_<i)) exp(-alpha_i(x_<i)),  log|det| = -sum alpha_i
    MAF inverse (sampling, D passes):  x_i = z_i exp(alpha_i(x_<i)) + mu_i(x_<i),    in the order
    IAF = the inverse of MAF: sampling (and the density of its own samples) in one pass, the density
          of a given x in D passes; the choice between them is which direction must be fast.

mu and alpha come from one masked network (MADE's masks, :mod:`dgmlib.nn.masked`) with two outputs
per coordinate, each depending only on the coordinates before it in the order: the Jacobian
dz/dx is triangular in that order, with diagonal exp(-alpha_i).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...nn.masked import MaskedLinear, made_degrees, made_masks
from .base import InverseTransform, Transform


class MADENet(nn.Module):
    """A masked MLP x: (B, D) -> (B, k, D) whose outputs [:, :, i] depend only on inputs before i in ``order``."""

    def __init__(self, dim: int, hidden_sizes: Sequence[int], outputs_per_dim: int, order: Tensor | None = None,
                 seed: int = 0):
        super().__init__()
        if dim < 1 or not hidden_sizes:
            raise ValueError("MADENet needs dim >= 1 and at least one hidden layer")
        order = torch.arange(dim) if order is None else torch.as_tensor(order).long()
        if sorted(order.tolist()) != list(range(dim)):
            raise ValueError(f"order must be a permutation of 0..{dim - 1}")
        self.dim, self.k = dim, outputs_per_dim
        self.register_buffer("order", order)
        degrees = torch.empty(dim, dtype=torch.long)
        degrees[order] = torch.arange(1, dim + 1)
        masks = made_masks(degrees, made_degrees(degrees, hidden_sizes, torch.Generator().manual_seed(seed)))
        masks[-1] = masks[-1].repeat(outputs_per_dim, 1)  # k outputs per coordinate, each with its mask row
        sizes = [dim, *hidden_sizes, outputs_per_dim * dim]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for layer, mask in zip(self.layers, masks):
            layer.mask = mask
        nn.init.zeros_(self.layers[-1].weight)  # start as the identity map
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        return self.layers[-1](h).view(-1, self.k, self.dim)


class MaskedAffineAutoregressive(Transform):
    """MAF's transform on (B, *shape), flattened to D coordinates. Fast forward (density), slow inverse."""

    def __init__(self, shape: Sequence[int], hidden_sizes: Sequence[int] = (64, 64), order: Tensor | None = None,
                 seed: int = 0, max_log_scale: float = 3.0):
        super().__init__()
        self.shape = torch.Size(shape)
        self.net = MADENet(self.shape.numel(), hidden_sizes, 2, order, seed)
        self.max_log_scale = max_log_scale

    @property
    def order(self) -> Tensor:
        return self.net.order

    def shift_and_log_scale(self, x_flat: Tensor) -> tuple[Tensor, Tensor]:
        """mu, alpha: (B, D) each; entry i depends on x's entries before i in the order only."""
        mu, alpha_raw = self.net(x_flat).unbind(1)
        return mu, self.max_log_scale * torch.tanh(alpha_raw / self.max_log_scale)  # bounded, for stability

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x_flat = x.flatten(1)
        mu, alpha = self.shift_and_log_scale(x_flat)
        z = (x_flat - mu) * torch.exp(-alpha)
        return z.view_as(x), -alpha.sum(1)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        z_flat = z.flatten(1)
        x = torch.zeros_like(z_flat)
        for i in self.order.tolist():  # x_i needs x_<i: D passes, in the order
            mu, alpha = self.shift_and_log_scale(x)
            x = x.clone()
            x[:, i] = z_flat[:, i] * torch.exp(alpha[:, i]) + mu[:, i]
        _, alpha = self.shift_and_log_scale(x)
        return x.view_as(z), alpha.sum(1)


def maf_layers(shape: Sequence[int], n_layers: int, hidden_sizes: Sequence[int] = (64, 64),
               seed: int = 0) -> list[Transform]:
    """MAF layers whose orders alternate (natural, reversed, ...), so every coordinate conditions on every other."""
    d = torch.Size(shape).numel()
    orders = [torch.arange(d) if k % 2 == 0 else torch.arange(d).flip(0) for k in range(n_layers)]
    return [MaskedAffineAutoregressive(shape, hidden_sizes, order, seed + k) for k, order in enumerate(orders)]


def iaf_layers(shape: Sequence[int], n_layers: int, hidden_sizes: Sequence[int] = (64, 64),
               seed: int = 0) -> list[Transform]:
    """IAF layers: each the inverse of a MAF layer (one-pass sampling, D-pass density)."""
    return [InverseTransform(t) for t in maf_layers(shape, n_layers, hidden_sizes, seed)]


__all__ = ["MADENet", "MaskedAffineAutoregressive", "maf_layers", "iaf_layers"]
