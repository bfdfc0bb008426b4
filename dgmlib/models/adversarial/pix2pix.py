"""pix2pix (Isola et al. 2017): a conditional GAN of images given images, p(x | y), from paired data.

G is a small U-Net: y (B, 1, 28, 28) -> x (B, 1, 28, 28), with skip connections that carry the
layout of y straight to the output (an edge map and its digit share their geometry). D is a
PatchGAN: it sees the pair (y, x) and classifies each 18x18 patch as real or fake, a (B, 1, 7, 7)
map of logits; the L1 term takes care of the low frequencies, so D only has to judge texture:

    G minimises  E[-log D(y, G(y))] + lambda E|x - G(y)|_1      (lambda = 100 in the paper)

The paper's noise is dropout in G's decoder (it found an input z ignored); here too.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import constraints

from ..base import Batch
from .base import GAN, GANConfig, frozen

IMAGE_SHAPE = (1, 28, 28)


@dataclass
class Pix2PixConfig:
    width: int = 32            # channels w at 14x14 (2w at 7x7)
    l1_weight: float = 100.0   # lambda
    dropout: float = 0.5       # in the decoder, the generator's only noise


class UNet(nn.Module):
    """(B, c, 28, 28) -> (B, 1, 28, 28) in [0, 1]: 28 -> 14 -> 7 and back, with skips at 14 and 28."""

    def __init__(self, width: int, dropout: float, in_channels: int = 1):
        super().__init__()
        w = width
        self.down1 = nn.Sequential(nn.Conv2d(in_channels, w, 4, 2, 1), nn.LeakyReLU(0.2))          # 28 -> 14
        self.down2 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2))  # 7
        self.middle = nn.Sequential(nn.Conv2d(2 * w, 2 * w, 3, 1, 1), nn.BatchNorm2d(2 * w), nn.ReLU(),
                                    nn.Dropout(dropout))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),
                                 nn.Dropout(dropout))                                                # 7 -> 14
        self.up1 = nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU())                    # 14 -> 28
        self.out = nn.Sequential(nn.Conv2d(w + in_channels, 1, 3, 1, 1), nn.Sigmoid())

    def forward(self, y: Tensor) -> Tensor:
        d1 = self.down1(y)
        d2 = self.down2(d1)
        u2 = self.up2(torch.cat([self.middle(d2), d2], dim=1))
        u1 = self.up1(torch.cat([u2, d1], dim=1))
        return self.out(torch.cat([u1, y], dim=1))


def patch_discriminator(in_channels: int, width: int) -> nn.Sequential:
    """PatchGAN: (B, c, 28, 28) -> logits (B, 1, 7, 7), each from an 18x18 receptive field."""
    w = width
    return nn.Sequential(nn.Conv2d(in_channels, w, 4, 2, 1), nn.LeakyReLU(0.2),                        # 14
                         nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),      # 7
                         nn.Conv2d(2 * w, 1, 3, 1, 1))


class Pix2Pix(GAN):
    """x (B, 1, 28, 28) given y (B, 1, 28, 28), both in [0, 1]; ``sample(n, y=sources)`` translates."""

    support = constraints.unit_interval

    def __init__(self, cfg: Pix2PixConfig | None = None, config: GANConfig | None = None):
        cfg = cfg or Pix2PixConfig()
        super().__init__(IMAGE_SHAPE, 0, config or GANConfig(objective="non_saturating"),
                         condition_shape=IMAGE_SHAPE)
        self.cfg = cfg
        self.generator = UNet(cfg.width, cfg.dropout)
        self.discriminator = patch_discriminator(2, cfg.width)

    def generate(self, z: Tensor | None, y: Tensor) -> Tensor:
        return self.generator(y)

    def critic(self, x: Tensor, y: Tensor) -> Tensor:
        return self.discriminator(torch.cat([y, x], dim=1))

    def generator_loss(self, fake: Tensor, y: Tensor, x: Tensor | None = None) -> Tensor:
        loss = self.objective.g_loss(self.critic(fake, y))
        return loss if x is None else loss + self.cfg.l1_weight * (fake - x).abs().mean()

    def train_step(self, batch: Batch, optimizers, step: int, *, clip_grad_norm=None) -> dict[str, Tensor]:
        x, y = batch
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        fake = self.generator(y)
        loss_d = self.objective.d_loss(self.critic(x, y), self.critic(fake.detach(), y))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        with frozen(self.discriminator):
            loss_g = self.generator_loss(fake, y, x)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"loss_D": loss_d.detach(), "loss_G": loss_g.detach(), "l1": (fake - x).abs().mean().detach()}

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x)
        y = self.check_labels(y, len(x), x.device)
        fake = self.generator(y)
        return self.objective.d_loss(self.critic(x, y), self.critic(fake, y)) + self.generator_loss(fake, y, x)

    @torch.no_grad()
    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """The L1 distance of G(y) to the true x (per pixel) and D's loss."""
        self.check_input(x)
        y = self.check_labels(y, len(x), x.device)
        fake = self.generator(y)
        return {"l1": (fake - x).abs().mean().item(),
                "loss_D": self.objective.d_loss(self.critic(x, y), self.critic(fake, y)).item()}
