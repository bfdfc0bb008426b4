"""Noise-conditional score networks with annealed Langevin sampling (Song & Ermon 2019).

One network s_theta(x, i) estimates the score of the data blurred at each of L noise levels
sigma_1 > ... > sigma_L (geometric), trained by denoising score matching (week 7) at every level, each
weighted by sigma_i^2 so that all levels count alike:

    loss = E_{i, x, eps} |sigma_i s_theta(x + sigma_i eps, i) + eps|^2 / 2

Large sigma fills the low-density regions between modes, where the data score is unknown; small sigma
is close to the data. Annealed Langevin runs ``steps_per_level`` Langevin steps at each level from the
largest down, with step size a_i = step * sigma_i^2 / sigma_L^2:

    x <- x + (a_i / 2) s_theta(x, i) + sqrt(a_i) z

The model has a score but no density: ``log_prob_kind = "none"``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ..base import GenerativeModel
from ..registry import gaussian_example, register


@dataclass
class NCSNConfig:
    sigma_max: float = 1.0  # the largest noise level (about the largest distance between data points)
    sigma_min: float = 0.01  # the smallest
    levels: int = 10  # L noise levels, geometric between them
    steps_per_level: int = 100  # Langevin steps at each level while sampling
    step: float = 2e-5  # the step size at the smallest level (Song & Ermon: 2e-5 with T = 100)


class NCSN(GenerativeModel):
    """Score model around ``network(x, i, y) -> s`` (``TimeMLP`` or ``UNet``), i the noise level's index 0..L-1."""

    log_prob_kind = "none"

    def __init__(self, event_shape: Sequence[int], network: nn.Module, config: NCSNConfig | None = None):
        super().__init__(event_shape)
        self.config = c = config or NCSNConfig()
        if not 0 < c.sigma_min < c.sigma_max or c.levels < 1 or c.steps_per_level < 1 or c.step <= 0:
            raise ValueError(f"bad NCSNConfig {c}: need 0 < sigma_min < sigma_max, levels >= 1, steps >= 1, step > 0")
        self.network = network
        sigmas = torch.exp(torch.linspace(math.log(c.sigma_max), math.log(c.sigma_min), c.levels))
        self.register_buffer("sigmas", sigmas)

    def _log_prob(self, x: Tensor) -> Tensor:
        raise NotImplementedError("a score network has no density: evaluate its samples (FID, KID, precision/recall)")

    def score(self, x: Tensor, level: Tensor) -> Tensor:
        """s_theta(x, i): x (B, ...), level (B,) integer indices into ``sigmas``."""
        return self.network(x, level.to(x.dtype), None)

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """sigma^2-weighted denoising score matching, one random level per example."""
        self.check_input(x)
        self.check_labels(y, len(x), x.device)
        level = torch.randint(len(self.sigmas), (len(x),), device=x.device)
        sigma = self.sigmas[level].to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        noise = torch.randn_like(x)
        return 0.5 * (sigma * self.score(x + sigma * noise, level) + noise).flatten(1).square().sum(1).mean()

    def _sample(self, n: int, steps_per_level: int | None = None, start: Tensor | None = None) -> Tensor:
        """Annealed Langevin from N(0, sigma_max^2 I) (or ``start``) through every level, largest first."""
        c = self.config
        steps = c.steps_per_level if steps_per_level is None else steps_per_level
        x = (self.sigmas[0] * torch.randn(n, *self.event_shape, device=self.device, dtype=self.dtype)
             if start is None else start.to(self.dtype))
        for i, sigma in enumerate(self.sigmas):
            a = c.step * (sigma / self.sigmas[-1]) ** 2
            level = torch.full((n,), i, device=self.device, dtype=torch.long)
            for _ in range(steps):
                x = x + a / 2 * self.score(x, level) + a.sqrt() * torch.randn_like(x)
        return x


def _tiny_ncsn():
    from ...nn.time_conditioned import TimeMLP
    return NCSN((2,), TimeMLP(2, 16, 2), NCSNConfig(levels=3, steps_per_level=2))


register("ncsn", build=_tiny_ncsn, example=gaussian_example((2,)))

__all__ = ["NCSNConfig", "NCSN"]
