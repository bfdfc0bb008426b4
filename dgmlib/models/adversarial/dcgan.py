"""DCGAN (Radford et al. 2016) for 28x28 MNIST, and its class-conditional version.

G: z -> Linear -> (2w, 7, 7) -> ConvT -> (w, 14, 14) -> ConvT -> (1, 28, 28), batch norm and ReLU
   between, a sigmoid at the end (images in [0, 1]).
D: (1, 28, 28) -> Conv -> (w, 14, 14) -> Conv -> (2w, 7, 7) -> Linear -> logit, leaky ReLUs and
   no batch norm (so that the gradient penalty, which is per example, stays valid).
Conditional (``num_classes``): G reads a label embedding beside z; D is a projection
discriminator (Miyato & Koyama 2018): logit = psi(phi(x)) + <embed(y), phi(x)>.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import constraints

from .base import GAN, GANConfig
from .lipschitz import spectral_norm_all

IMAGE_SHAPE = (1, 28, 28)


@dataclass
class DCGANConfig:
    latent_dim: int = 64    # z's size (DCGAN used 100 for 64x64 images)
    width: int = 64         # channels w of the first conv layer; the 7x7 layer has 2w
    label_dim: int = 16     # size of the label embedding fed to G (conditional model only)


class DCGANGenerator(nn.Module):
    def __init__(self, cfg: DCGANConfig, num_classes: int | None = None):
        super().__init__()
        w = cfg.width
        self.embed = nn.Embedding(num_classes, cfg.label_dim) if num_classes else None
        in_dim = cfg.latent_dim + (cfg.label_dim if num_classes else 0)
        self.project = nn.Sequential(nn.Linear(in_dim, 2 * w * 7 * 7), nn.Unflatten(1, (2 * w, 7, 7)),
                                     nn.BatchNorm2d(2 * w), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Sigmoid())                      # 14 -> 28

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """z: (B, latent_dim), y: (B,) labels -> (B, 1, 28, 28) in [0, 1]."""
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.upsample(self.project(z))


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: DCGANConfig, num_classes: int | None = None):
        super().__init__()
        w = cfg.width
        self.body = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),        # 28 -> 14
                                  nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),    # 14 -> 7
                                  nn.Flatten())
        self.num_features = 2 * w * 7 * 7
        self.head = nn.Linear(self.num_features, 1)
        self.embed = nn.Embedding(num_classes, self.num_features) if num_classes else None

    def features(self, x: Tensor) -> Tensor:
        """phi(x): (B, 1, 28, 28) -> (B, 98 w)."""
        return self.body(x)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Logits (B,)."""
        h = self.features(x)
        logit = self.head(h).squeeze(1)
        if self.embed is not None:  # projection: the label asks "is this a real digit of class y?"
            logit = logit + (self.embed(y) * h).sum(dim=1)
        return logit


class DCGAN(GAN):
    """DCGAN on (1, 28, 28) images in [0, 1]; ``num_classes=10`` makes it a conditional GAN of p(x | y)."""

    support = constraints.unit_interval

    def __init__(self, cfg: DCGANConfig | None = None, config: GANConfig | None = None,
                 num_classes: int | None = None):
        cfg = cfg or DCGANConfig()
        super().__init__(IMAGE_SHAPE, cfg.latent_dim, config, num_classes)
        self.cfg = cfg
        self.generator = DCGANGenerator(cfg, num_classes)
        self.discriminator = DCGANDiscriminator(cfg, num_classes)
        self.apply(_dcgan_init)
        if self.config.spectral_norm:  # after the initialisation, which then sets the raw weights
            spectral_norm_all(self.discriminator)


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: N(0, 0.02) weights and embeddings; batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
