"""Coupling layers (NICE, RealNVP): half the coordinates pass unchanged and parametrise a map of the rest.

With a binary mask m (1 = passes through), x_a = m x and x_b = (1 - m) x:

    additive (NICE):   z = x_a + (1 - m)(x + t(x_a))                       log|det| = 0
    affine (RealNVP):  z = x_a + (1 - m)(x exp(s(x_a)) + t(x_a))          log|det| = sum (1 - m) s

The Jacobian is triangular (x_a does not move; x_b moves elementwise given x_a), so its
determinant is the product of the diagonal, and the inverse is as cheap as the forward pass:
x_b = (z_b - t(z_a)) exp(-s(z_a)). ``s`` and ``t`` can be any network: they are never inverted.
Masks: :func:`checkerboard_mask` and :func:`channel_mask` for images (RealNVP), :func:`half_mask`
for vectors. :class:`Squeeze` trades space for channels so that channel masks can follow.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .base import Transform


def checkerboard_mask(height: int, width: int, parity: int = 0) -> Tensor:
    """(1, H, W) mask of 1s where (row + col) % 2 == parity."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return (((rows + cols) % 2) == parity).float().unsqueeze(0)


def channel_mask(channels: int, parity: int = 0) -> Tensor:
    """(C, 1, 1) mask of 1s on the first half of the channels (parity 0) or the second (parity 1)."""
    if channels < 2:
        raise ValueError(f"a channel mask needs at least 2 channels, got {channels}; squeeze first")
    first = torch.arange(channels) < channels // 2
    return (first if parity == 0 else ~first).float().view(channels, 1, 1)


def half_mask(dim: int, parity: int = 0) -> Tensor:
    """(dim,) mask of 1s on every other coordinate, starting at ``parity``."""
    return ((torch.arange(dim) % 2) == parity).float()


def mlp_conditioner(dim: int, hidden: int, out_per_dim: int, layers: int = 2) -> nn.Module:
    """(B, dim) -> (B, out_per_dim * dim), with a zero last layer so the coupling starts as the identity."""
    sizes = [dim] + [hidden] * layers
    modules: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(a, b), nn.ReLU()]
    last = nn.Linear(sizes[-1], out_per_dim * dim)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*modules, last)


def conv_conditioner(channels: int, hidden: int, out_per_channel: int, blocks: int = 1) -> nn.Module:
    """(B, C, H, W) -> (B, out_per_channel * C, H, W): 3x3 -> 1x1 residual-free CNN, zero last layer."""
    modules: list[nn.Module] = [nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU()]
    for _ in range(blocks):
        modules += [nn.Conv2d(hidden, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU()]
    last = nn.Conv2d(hidden, out_per_channel * channels, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*modules, last)


class _Coupling(Transform):
    def __init__(self, mask: Tensor, conditioner: nn.Module):
        super().__init__()
        self.register_buffer("mask", mask)
        self.conditioner = conditioner

    def _params(self, x_a: Tensor) -> tuple[Tensor, ...]:
        out = self.conditioner(x_a)
        return out.chunk(out.shape[1] // x_a.shape[1], dim=1)


class AdditiveCoupling(_Coupling):
    """NICE's coupling: z_b = x_b + t(x_a), volume-preserving (log|det| = 0).

    mask: broadcastable to one example's shape; conditioner: x_a -> t, same shape as x.
    """

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        (t,) = self._params(x * self.mask)
        return x + (1 - self.mask) * t, x.new_zeros(x.shape[0])

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        (t,) = self._params(z * self.mask)
        return z - (1 - self.mask) * t, z.new_zeros(z.shape[0])


class AffineCoupling(_Coupling):
    """RealNVP's coupling: z_b = x_b exp(s(x_a)) + t(x_a), log|det| = sum over b of s.

    conditioner: x_a (B, *shape) -> (B, 2 * channels, ...), read as (s, t). The scale is
    s = scale * tanh(s_raw / scale): bounded, as in Glow's and RealNVP's code, so one bad step
    cannot blow the density up.
    """

    def __init__(self, mask: Tensor, conditioner: nn.Module, scale: float = 2.0):
        super().__init__(mask, conditioner)
        self.scale = scale

    def _scale_shift(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        s_raw, t = self._params(x_a)
        s = self.scale * torch.tanh(s_raw / self.scale) * (1 - self.mask)
        return s, t * (1 - self.mask)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self._scale_shift(x * self.mask)
        z = x * self.mask + (1 - self.mask) * (x * s.exp() + t)
        return z, s.flatten(1).sum(1)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self._scale_shift(z * self.mask)
        x = z * self.mask + (1 - self.mask) * ((z - t) * (-s).exp())
        return x, -s.flatten(1).sum(1)


class Squeeze(Transform):
    """(B, C, H, W) -> (B, 4C, H/2, W/2): each 2x2 block of pixels becomes 4 channels; log|det| = 0."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(f"Squeeze needs even height and width, got {h}x{w}")
        z = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)
        return z, x.new_zeros(b)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        b, c4, h, w = z.shape
        c = c4 // 4
        x = z.view(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)
        return x, z.new_zeros(b)


def vector_coupling_stack(dim: int, n_layers: int, hidden: int = 64, affine: bool = True) -> list[Transform]:
    """Alternating-mask coupling layers on vectors (B, dim), the RealNVP (or NICE) recipe for 2-D data."""
    if dim < 2:
        raise ValueError("coupling layers need at least 2 dimensions")
    layers: list[Transform] = []
    for k in range(n_layers):
        mask = half_mask(dim, k % 2)
        if affine:
            layers.append(AffineCoupling(mask, mlp_conditioner(dim, hidden, 2)))
        else:
            layers.append(AdditiveCoupling(mask, mlp_conditioner(dim, hidden, 1)))
    return layers


__all__ = ["checkerboard_mask", "channel_mask", "half_mask", "mlp_conditioner", "conv_conditioner",
           "AdditiveCoupling", "AffineCoupling", "Squeeze", "vector_coupling_stack"]
