"""Glow's step of flow (Kingma & Dhariwal, 2018): actnorm, an invertible 1x1 convolution, a coupling.

    actnorm:   z = (x + b) exp(log s) per channel, b and s set from the first batch so that z has zero
               mean and unit variance per channel (data-dependent init); log|det| = HW sum log s
    1x1 conv:  z = W x at every pixel, a learned permutation of channels;
               W = P L (U + diag(sign exp(log s))) (LU-parametrised): log|det| = HW sum log s, O(C)
    coupling:  an affine coupling on half of the channels (:class:`AffineCoupling` with a channel mask)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import CompositeTransform, Transform
from .coupling import AffineCoupling, channel_mask, conv_conditioner


def _spatial(x: Tensor) -> int:
    """Number of positions that share one channel's parameters: H*W for images, 1 for vectors."""
    return x[0, 0].numel()


def _per_channel(p: Tensor, x: Tensor) -> Tensor:
    return p.view(1, -1, *([1] * (x.dim() - 2)))


class ActNorm(Transform):
    """Per-channel affine map with data-dependent initialisation. x: (B, C, ...) or (B, C)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def _initialize(self, x: Tensor) -> None:
        flat = x.transpose(0, 1).reshape(x.shape[1], -1)  # (C, B * positions)
        self.bias.copy_(-flat.mean(1))
        self.log_scale.copy_(-torch.log(flat.std(1) + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training and not bool(self.initialized):
            self._initialize(x)
        z = (x + _per_channel(self.bias, x)) * _per_channel(self.log_scale.exp(), x)
        return z, (_spatial(x) * self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z * _per_channel((-self.log_scale).exp(), z) - _per_channel(self.bias, z)
        return x, (-_spatial(z) * self.log_scale.sum()).expand(z.shape[0])


class InvertibleConv1x1(Transform):
    """A learned invertible channel mixing, LU-parametrised. x: (B, C, H, W) (or (B, C))."""

    def __init__(self, channels: int, generator: torch.Generator | None = None):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator))  # a random rotation
        P, L, U = torch.linalg.lu(q)
        s = torch.diagonal(U)
        self.register_buffer("P", P)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.L = nn.Parameter(L)
        self.U = nn.Parameter(torch.triu(U, 1))
        self.log_s = nn.Parameter(torch.log(s.abs()))

    def weight(self) -> Tensor:
        """W = P L (U + diag(sign exp(log s))), (C, C)."""
        eye = torch.eye(self.L.shape[0], dtype=self.L.dtype, device=self.L.device)
        L = self.L * self.lower_mask + eye
        U = self.U * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.P @ L @ U

    def _mix(self, x: Tensor, W: Tensor) -> Tensor:
        if x.dim() == 2:
            return x @ W.T
        return F.conv2d(x, W.view(*W.shape, 1, 1))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._mix(x, self.weight()), (_spatial(x) * self.log_s.sum()).expand(x.shape[0])

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._mix(z, torch.linalg.inv(self.weight())), (-_spatial(z) * self.log_s.sum()).expand(z.shape[0])


def glow_step(channels: int, hidden: int = 64, generator: torch.Generator | None = None) -> CompositeTransform:
    """actnorm -> invertible 1x1 conv -> affine coupling on half the channels. x: (B, C, H, W), C >= 2."""
    return CompositeTransform([ActNorm(channels), InvertibleConv1x1(channels, generator),
                               AffineCoupling(channel_mask(channels), conv_conditioner(channels, hidden, 2))])


__all__ = ["ActNorm", "InvertibleConv1x1", "glow_step"]
