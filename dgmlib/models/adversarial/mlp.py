"""A GAN of small MLPs for 2-D densities: the lecture's playground for losses and constraints.

With ``num_classes`` it is a conditional GAN of p(x | y): G reads a one-hot y beside z, and D is a
projection discriminator (Miyato & Koyama 2018), logit = psi(phi(x)) + <embed(y), phi(x)>.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import constraints

from .base import GAN, GANConfig
from .lipschitz import spectral_norm_all


def mlp(sizes: list[int], negative_slope: float = 0.0) -> nn.Sequential:
    """Linear layers with (leaky) ReLUs between them, none after the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU())
    return nn.Sequential(*layers)


class MLPDiscriminator(nn.Module):
    """x (B, d) [, y (B,)] -> logits (B,); leaky ReLUs keep the critic's gradient alive everywhere
    (the gradient penalty needs it)."""

    def __init__(self, data_dim: int, hidden: int, depth: int, num_classes: int | None):
        super().__init__()
        self.features = mlp([data_dim] + [hidden] * depth, 0.2)
        self.act = nn.LeakyReLU(0.2)
        self.head = nn.Linear(hidden, 1)
        self.embed = nn.Embedding(num_classes, hidden) if num_classes else None

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.act(self.features(x))
        logit = self.head(h).squeeze(1)
        return logit if self.embed is None else logit + (self.embed(y) * h).sum(dim=1)


class MLPGenerator(nn.Module):
    """z (B, latent_dim) [, y (B,)] -> x (B, d)."""

    def __init__(self, latent_dim: int, data_dim: int, hidden: int, depth: int, num_classes: int | None):
        super().__init__()
        self.num_classes = num_classes
        self.net = mlp([latent_dim + (num_classes or 0)] + [hidden] * depth + [data_dim])

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z)


class MLPGAN(GAN):
    """G: z (B, latent_dim) -> x (B, data_dim); D: x -> logit (B,). Both MLPs with ``depth`` hidden layers."""

    support = constraints.real

    def __init__(self, data_dim: int = 2, latent_dim: int = 2, hidden: int = 128, depth: int = 3,
                 config: GANConfig | None = None, num_classes: int | None = None):
        super().__init__((data_dim,), latent_dim, config, num_classes)
        self.generator = MLPGenerator(latent_dim, data_dim, hidden, depth, num_classes)
        self.discriminator = MLPDiscriminator(data_dim, hidden, depth, num_classes)
        if self.config.spectral_norm:
            spectral_norm_all(self.discriminator)
