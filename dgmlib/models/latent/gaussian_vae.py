"""Week 3: a VAE for continuous data, with a Gaussian decoder.

    p(z) = N(0, I),   p(x | z) = N(x; m(z), diag(s^2)),   q(z | x) = N(mu(x), diag(exp(logvar(x))))

m(z) is the decoder network, s a learned standard deviation per pixel (the same for every z),
kept above ``min_std`` so that a pixel that is always 0 (the border of a digit) cannot drive the
density to infinity. A *sample* of the model is x = m(z) + s * eps: the mean plus independent
pixel noise. The smooth pictures usually shown as "VAE samples" are m(z), the decoder mean, not
samples: part of the blur of VAE pictures is this choice, the rest is a decoder mean that averages
over everything z does not pin down. ``sample(n, mean=True)`` gives m(z), ``sample(n)`` the real x.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent, Normal, constraints

from ..registry import gaussian_example, register
from .vae import VAE, VAEConfig


@dataclass
class GaussianVAEConfig(VAEConfig):
    min_std: float = 0.02  # floor of the decoder's standard deviation, in data units


class GaussianVAE(VAE):
    """VAE over real-valued x: (B, *event_shape), with p(x | z) a diagonal Gaussian."""

    support = constraints.real

    def __init__(self, event_shape: Sequence[int], config: GaussianVAEConfig | None = None):
        config = config or GaussianVAEConfig()
        if config.min_std <= 0:
            raise ValueError(f"min_std must be positive (a density needs a noise floor), got {config.min_std}")
        super().__init__(event_shape, config)
        self.raw_std = nn.Parameter(torch.zeros(self.event_shape))  # s = min_std + softplus(raw_std)

    @property
    def decoder_std(self) -> Tensor:
        """s: the decoder's standard deviation per pixel, (*event_shape)."""
        return self.config.min_std + F.softplus(self.raw_std)

    def decoder_distribution(self, z: Tensor) -> Independent:
        """p(x | z) for z (..., L): a Gaussian with event shape ``event_shape`` and batch shape (...)."""
        mean = self.decode(z)  # for this model ``decode`` returns the mean m(z), not logits
        return Independent(Normal(mean, self.decoder_std.expand_as(mean)), len(self.event_shape))

    def log_likelihood_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """log N(x; m(z), diag(s^2)) summed over pixels: x (B, ...), z (..., B, L) -> (..., B)."""
        return self.decoder_distribution(z).log_prob(x)

    def _sample(self, n: int, mean: bool = False) -> Tensor:
        """z ~ p(z), then x ~ p(x | z) = m(z) + s * eps; ``mean=True``: the decoder means m(z)."""
        z = torch.randn(n, self.config.latent_dim, dtype=self.dtype, device=self.device)
        p = self.decoder_distribution(z)
        return p.mean if mean else p.sample()


register("gaussian_vae", example=gaussian_example((1, 4, 4)),
         build=lambda: GaussianVAE((1, 4, 4), GaussianVAEConfig(latent_dim=2, hidden=8, eval_samples=16)))
