"""Flows on 8-bit images: dequantization, and why their log_prob is a lower bound.

A density p on [0, 1]^D assigns the discrete image x in {0..255}^D the probability of its bin,
P(x) = integral of p over (x + [0, 1)^D) / 256. For any density q(u | x) of the offset u in [0, 1)^D,

    log P(x) >= E_{u ~ q}[ log p((x + u) / 256) - log q(u | x) ] - D log 256          (Jensen)

* uniform dequantization (Theis et al. 2016; RealNVP, Glow): q = U[0, 1)^D, log q = 0;
* variational dequantization (Ho et al. 2019, Flow++): q(u | x) is itself a flow conditioned on x,
  trained with the model, which tightens the bound.

:class:`DequantizedFlow` returns that bound (one sample of u) as ``log_prob``, in nats of the
discrete data, so bits per dimension need no further term: ``bits_per_dim(nll, D)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import constraints

from ..base import GenerativeModel
from .base import CompositeTransform, Transform, latent_shape, standard_normal_log_prob
from .coupling import checkerboard_mask, conv_conditioner
from .elementwise import Logit
from .multiscale import MultiscaleConfig, multiscale_transform

LEVELS = 256


class UniformDequantizer(nn.Module):
    """u ~ U[0, 1)^D, log q(u | x) = 0."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return torch.rand_like(x), x.new_zeros(x.shape[0])


class VariationalDequantizer(nn.Module):
    """u = sigmoid(g(eps; x)), eps ~ N(0, I), with g a small flow of affine couplings conditioned on x.

    log q(u | x) = log N(eps) - log|det dg/d eps| - log|det d sigmoid|. The condition enters as
    extra input channels of each coupling's network: x (scaled to [-0.5, 0.5]) beside the masked eps.
    """

    def __init__(self, channels: int, height: int, width: int, n_layers: int = 4, hidden: int = 32):
        super().__init__()
        self.couplings = nn.ModuleList(
            _ConditionedCoupling(checkerboard_mask(height, width, k % 2), channels, hidden) for k in range(n_layers))

    def flow(self, eps: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = sigmoid(g(eps; x)) in (0, 1)^D and log|det du/d eps|: (B, C, H, W), (B,)."""
        condition = x / (LEVELS - 1) - 0.5
        h, total = eps, eps.new_zeros(eps.shape[0])
        for coupling in self.couplings:
            h, log_det = coupling(h, condition)
            total = total + log_det
        return torch.sigmoid(h), total + (F.logsigmoid(h) + F.logsigmoid(-h)).flatten(1).sum(1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        eps = torch.randn_like(x)
        u, log_det = self.flow(eps, x)
        return u, standard_normal_log_prob(eps) - log_det


class _ConditionedCoupling(nn.Module):
    """An affine coupling on (B, C, H, W) whose network also sees a condition image (B, C, H, W)."""

    def __init__(self, mask: Tensor, channels: int, hidden: int):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = conv_conditioner(2 * channels, hidden, 1)  # in: [masked h, condition]; out: 2C = (s, t)

    def forward(self, h: Tensor, condition: Tensor) -> tuple[Tensor, Tensor]:
        s_raw, t = self.net(torch.cat([h * self.mask, condition], dim=1)).chunk(2, dim=1)
        s = 2.0 * torch.tanh(s_raw / 2.0) * (1 - self.mask)
        out = h * self.mask + (1 - self.mask) * (h * s.exp() + t * (1 - self.mask))
        return out, s.flatten(1).sum(1)


@dataclass
class ImageFlowConfig:
    architecture: MultiscaleConfig = None  # RealNVP or Glow layout (default: RealNVP, 2 scales, 4 steps, 64 channels)
    dequantization: str = "uniform"  # "uniform" or "variational"
    alpha: float = 1e-6  # the logit transform's margin (data in [0, 1] -> [alpha, 1 - alpha])

    def __post_init__(self):
        if self.architecture is None:
            self.architecture = MultiscaleConfig()
        if self.dequantization not in ("uniform", "variational"):
            raise ValueError(f"dequantization must be 'uniform' or 'variational', got {self.dequantization!r}")


class DequantizedFlow(GenerativeModel):
    """A flow for 8-bit images x: (B, C, H, W) with values 0., 1., ..., 255.

    log_prob(x): the dequantization lower bound on log P(x) in nats (one draw of u).
    sample(n): x = floor(256 * f^{-1}(z)) for z ~ N(0, T^2 I), clipped to 0..255.
    """

    log_prob_kind = "lower_bound"
    support = constraints.integer_interval(0, LEVELS - 1)

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: ImageFlowConfig | None = None,
                 transform: Transform | None = None):
        """transform: the flow after the logit (default: ``config.architecture``'s RealNVP or Glow), e.g. MAF layers."""
        super().__init__(event_shape)
        self.config = config = config or ImageFlowConfig()
        channels, height, width = self.event_shape
        body = transform if transform is not None else multiscale_transform(self.event_shape, config.architecture)
        self.transform = CompositeTransform([Logit(config.alpha), body])
        self.dequantizer = (UniformDequantizer() if config.dequantization == "uniform"
                            else VariationalDequantizer(channels, height, width))
        self.latent_shape = latent_shape(self.transform, self.event_shape)

    def continuous_log_prob(self, y: Tensor) -> Tensor:
        """log p(y) of the density on [0, 1]^D: (B, C, H, W) -> (B,)."""
        z, log_det = self.transform(y)
        return standard_normal_log_prob(z) + log_det

    def _log_prob(self, x: Tensor) -> Tensor:
        u, log_q = self.dequantizer(x)
        y = (x + u) / LEVELS
        return self.continuous_log_prob(y) - log_q - self.num_dims * math.log(LEVELS)

    def _sample(self, n: int, temperature: float = 1.0) -> Tensor:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        z = temperature * torch.randn(n, *self.latent_shape, device=self.device, dtype=self.dtype)
        y, _ = self.transform.inverse(z)
        return torch.floor(y * LEVELS).clamp(0, LEVELS - 1)

    def encode(self, x: Tensor) -> Tensor:
        """z of the bin centre (x + 1/2) / 256: deterministic, for interpolations. (B, *latent_shape)."""
        self.check_input(x)
        return self.transform((x + 0.5) / LEVELS)[0]

    def decode(self, z: Tensor) -> Tensor:
        """The 8-bit image whose bin holds f^{-1}(z)."""
        y, _ = self.transform.inverse(z)
        return torch.floor(y * LEVELS).clamp(0, LEVELS - 1)


__all__ = ["UniformDequantizer", "VariationalDequantizer", "ImageFlowConfig", "DequantizedFlow", "LEVELS"]
