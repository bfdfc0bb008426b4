"""Elementwise transforms: a learned affine map (NICE's scaling layer), logit and sigmoid.

Each coordinate is mapped on its own, so the Jacobian is diagonal and log|det| is a sum.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Transform


class ElementwiseAffine(Transform):
    """z = x * exp(s) + t, one (s, t) per coordinate of ``shape``; log|det| = sum s.

    With ``shift=False`` it is NICE's diagonal scaling layer (Dinh et al. 2015, section 3.3).
    """

    def __init__(self, shape: Sequence[int], shift: bool = True):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(*shape))
        self.shift = nn.Parameter(torch.zeros(*shape)) if shift else None

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z = x * self.log_scale.exp() + (self.shift if self.shift is not None else 0.0)
        return z, self.log_scale.sum().expand(x.shape[0])

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = (z - (self.shift if self.shift is not None else 0.0)) * (-self.log_scale).exp()
        return x, -self.log_scale.sum().expand(z.shape[0])


class Logit(Transform):
    """Data in [0, 1] to the real line: z = logit(a + (1 - 2a) x), the preprocessing of RealNVP and Glow.

    ``alpha`` = a keeps the end points finite (RealNVP uses 0.05 on CIFAR-10, 1e-6 is common on MNIST).
    log|det| = sum [log(1 - 2a) - log y - log(1 - y)],  y = a + (1 - 2a) x.
    """

    def __init__(self, alpha: float = 1e-6):
        super().__init__()
        if not 0 <= alpha < 0.5:
            raise ValueError(f"alpha must lie in [0, 0.5), got {alpha}")
        self.alpha = alpha

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        y = self.alpha + (1 - 2 * self.alpha) * x
        z = torch.log(y) - torch.log1p(-y)
        # -log y - log(1 - y) = softplus(-z) + softplus(z), stable in z
        log_det = (torch.log1p(torch.tensor(-2 * self.alpha, dtype=x.dtype)) + F.softplus(-z) + F.softplus(z))
        return z, log_det.flatten(1).sum(1)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = (torch.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)
        log_det = -(torch.log1p(torch.tensor(-2 * self.alpha, dtype=z.dtype)) + F.softplus(-z) + F.softplus(z))
        return x, log_det.flatten(1).sum(1)


class Sigmoid(Transform):
    """z = sigmoid(x), the real line to (0, 1); log|det| = sum log sigmoid(x) + log sigmoid(-x)."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return torch.sigmoid(x), (F.logsigmoid(x) + F.logsigmoid(-x)).flatten(1).sum(1)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.log(z) - torch.log1p(-z)
        return x, -(F.logsigmoid(x) + F.logsigmoid(-x)).flatten(1).sum(1)
