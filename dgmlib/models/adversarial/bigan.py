"""BiGAN (Donahue et al. 2017; ALI, Dumoulin et al. 2017): a GAN that also learns the inverse map.

An encoder E: x -> z is trained beside G: z -> x, and D judges pairs: real (x, E(x)) against fake
(G(z), z). At the optimum the two joint distributions match, so E inverts G (E = G^-1 almost
everywhere) and G(E(x)) reconstructs x, although no reconstruction loss is ever written down.
G and E minimise D's cross-entropy with the labels swapped (the non-saturating form).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import constraints

from ..base import Batch
from .base import GAN, GANConfig, frozen
from .dcgan import IMAGE_SHAPE, DCGANConfig, DCGANGenerator


@dataclass
class BiGANConfig:
    latent_dim: int = 32   # z's size
    width: int = 32        # conv channels w (2w at 7x7)
    hidden: int = 512      # D's joint layer


def _conv_features(width: int) -> nn.Sequential:
    """(B, 1, 28, 28) -> (B, 98 w): two stride-2 convolutions."""
    return nn.Sequential(nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten())


class JointDiscriminator(nn.Module):
    """D(x, z): logits (B,) from image features and z, joined in an MLP (dropout steadies it)."""

    def __init__(self, cfg: BiGANConfig):
        super().__init__()
        self.x_path = _conv_features(cfg.width)
        self.joint = nn.Sequential(nn.Linear(2 * cfg.width * 49 + cfg.latent_dim, cfg.hidden), nn.LeakyReLU(0.2),
                                   nn.Dropout(0.2), nn.Linear(cfg.hidden, 1))

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint(torch.cat([self.x_path(x), z], dim=1)).squeeze(1)


class BiGAN(GAN):
    """G, E and D(x, z) on (1, 28, 28) images in [0, 1]."""

    support = constraints.unit_interval

    def __init__(self, cfg: BiGANConfig | None = None, config: GANConfig | None = None):
        cfg = cfg or BiGANConfig()
        config = config or GANConfig()
        if config.objective not in ("minimax", "non_saturating"):
            raise ValueError("BiGAN is written for the cross-entropy objectives (minimax, non_saturating), "
                             f"got {config.objective!r}")
        super().__init__(IMAGE_SHAPE, cfg.latent_dim, config)
        self.cfg = cfg
        self.generator = DCGANGenerator(DCGANConfig(cfg.latent_dim, cfg.width))
        self.encoder = nn.Sequential(_conv_features(cfg.width), nn.Linear(2 * cfg.width * 49, cfg.latent_dim))
        self.discriminator = JointDiscriminator(cfg)

    def encode(self, x: Tensor) -> Tensor:
        """E(x): (B, 1, 28, 28) -> (B, latent_dim), without a graph."""
        self.check_input(x)
        with torch.no_grad():
            return self.encoder(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        """G(E(x)): (B, 1, 28, 28) -> (B, 1, 28, 28); how well BiGAN inverts its generator."""
        return self.sample(len(x), z=self.encode(x))

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters()) + list(self.encoder.parameters())

    def _scores(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """D on (x, E(x)) and on (G(z), z), with the graphs of E and G."""
        z = self.sample_latent(len(x))
        return self.discriminator(x, self.encoder(x)), self.discriminator(self.generate(z), z)

    def train_step(self, batch: Batch, optimizers, step: int, *, clip_grad_norm=None) -> dict[str, Tensor]:
        x, _ = batch
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        z = self.sample_latent(len(x))
        with torch.no_grad():
            z_hat, fake = self.encoder(x), self.generate(z)
        # D: real pairs (x, E(x)) -> 1, fake pairs (G(z), z) -> 0
        loss_d = self.objective.d_loss(self.discriminator(x, z_hat), self.discriminator(fake, z))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G and E: the labels swapped, D frozen
        with frozen(self.discriminator):
            real_scores, fake_scores = self._scores(x)
            loss_g = F.softplus(real_scores).mean() + F.softplus(-fake_scores).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"loss_D": loss_d.detach(), "loss_G": loss_g.detach()}

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x)
        self.check_labels(y, len(x), x.device)
        real_scores, fake_scores = self._scores(x)
        return (self.objective.d_loss(real_scores, fake_scores)
                + F.softplus(real_scores).mean() + F.softplus(-fake_scores).mean())

    @torch.no_grad()
    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """D's loss and the reconstruction error ||G(E(x)) - x||^2 per image (no term trains it)."""
        self.check_input(x)
        real_scores, fake_scores = self._scores(x)
        recon = self.reconstruct(x)
        return {"loss_D": self.objective.d_loss(real_scores, fake_scores).item(),
                "reconstruction": ((recon - x) ** 2).flatten(1).sum(1).mean().item()}
