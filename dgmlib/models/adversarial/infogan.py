"""InfoGAN (Chen et al. 2016): latent codes that the generator must make recoverable from its images.

z = (noise, c_cat, c_cont) with c_cat one-hot over ``categories`` and c_cont ~ U(-1, 1)^``continuous``.
A head Q on the discriminator's features predicts the codes of a fake; maximising the variational
lower bound on the mutual information I(c; G(z, c)) >= E log Q(c | G(z, c)) + H(c) becomes a
cross-entropy for c_cat plus a Gaussian log-likelihood (unit variance) for c_cont, added to G's loss
and to D's (which trains Q). On MNIST, without labels, c_cat tends to pick the digit and c_cont
rotation and stroke width (the paper's Figure 2); which code does what depends on the run.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Batch
from .base import GANConfig, frozen
from .dcgan import DCGAN, DCGANConfig


@dataclass
class InfoGANConfig(DCGANConfig):
    latent_dim: int = 62       # the incompressible noise (the paper's 62 for MNIST)
    categories: int = 10       # one categorical code with this many values
    continuous: int = 2        # continuous codes, uniform on [-1, 1]
    info_weight: float = 1.0   # lambda of the mutual-information term (the paper's 1 for discrete codes)


class InfoGAN(DCGAN):
    """A DCGAN whose generator reads (noise, codes) and whose discriminator carries the Q head."""

    def __init__(self, cfg: InfoGANConfig | None = None, config: GANConfig | None = None):
        cfg = cfg or InfoGANConfig()
        codes = cfg.categories + cfg.continuous
        super().__init__(DCGANConfig(cfg.latent_dim + codes, cfg.width, cfg.label_dim), config)
        self.cfg, self.noise_dim = cfg, cfg.latent_dim
        # Q shares D's body (as in the paper), so it lives inside the discriminator module and D's optimizer
        self.discriminator.q_head = nn.Sequential(nn.Linear(self.discriminator.num_features, 128),
                                                  nn.LeakyReLU(0.2), nn.Linear(128, codes))

    def sample_codes(self, n: int, category: Tensor | int | None = None,
                     continuous: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(c_cat (n,) integers, c_cont (n, continuous)); either may be given, the rest is drawn."""
        if category is None:
            category = torch.randint(0, self.cfg.categories, (n,), device=self.device)
        elif isinstance(category, int):
            category = torch.full((n,), category, device=self.device, dtype=torch.long)
        if continuous is None:
            continuous = 2 * torch.rand(n, self.cfg.continuous, device=self.device, dtype=self.dtype) - 1
        if category.shape != (n,) or continuous.shape != (n, self.cfg.continuous):
            raise ValueError(f"category must be ({n},) and continuous ({n}, {self.cfg.continuous}), got "
                             f"{tuple(category.shape)} and {tuple(continuous.shape)}")
        if ((category < 0) | (category >= self.cfg.categories)).any():
            raise ValueError(f"category must lie in 0..{self.cfg.categories - 1}")
        return category.to(self.device), continuous.to(self.device, self.dtype)

    def latent(self, noise: Tensor, category: Tensor, continuous: Tensor) -> Tensor:
        """The generator's input (n, noise + categories + continuous)."""
        return torch.cat([noise, F.one_hot(category, self.cfg.categories).to(noise.dtype), continuous], dim=1)

    def sample_latent(self, n: int) -> Tensor:
        noise = torch.randn(n, self.noise_dim, device=self.device, dtype=self.dtype)
        return self.latent(noise, *self.sample_codes(n))

    def _sample(self, n: int, y: Tensor | None = None, z: Tensor | None = None, category=None,
                continuous: Tensor | None = None, noise: Tensor | None = None) -> Tensor:
        """Options: ``category`` (int or (n,)), ``continuous`` (n, continuous), ``noise`` (n, latent_dim)
        fix those parts of the latent; or pass the whole ``z``."""
        if z is None and (category is not None or continuous is not None or noise is not None):
            if noise is None:
                noise = torch.randn(n, self.noise_dim, device=self.device, dtype=self.dtype)
            z = self.latent(noise.to(self.device, self.dtype), *self.sample_codes(n, category, continuous))
        return super()._sample(n, z=z)

    def info_loss(self, fake: Tensor, z: Tensor) -> Tensor:
        """-E log Q(c | x) up to constants: cross-entropy of c_cat plus 0.5 ||c_cont - mu(x)||^2."""
        k = self.cfg.categories
        category = z[:, self.noise_dim:self.noise_dim + k].argmax(dim=1)
        continuous = z[:, self.noise_dim + k:]
        q = self.discriminator.q_head(self.discriminator.features(fake))
        return F.cross_entropy(q[:, :k], category) + 0.5 * ((q[:, k:] - continuous) ** 2).sum(dim=1).mean()

    def train_step(self, batch: Batch, optimizers, step: int, *, clip_grad_norm=None) -> dict[str, Tensor]:
        x, _ = batch
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        lam = self.cfg.info_weight
        z = self.sample_latent(len(x))
        fake = self.generate(z).detach()
        # D and Q: tell real from fake, and read the codes back from the fakes
        info_d = self.info_loss(fake, z)
        loss_d = self.discriminator_loss(x, fake) + lam * info_d
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G: fool D and keep the codes readable
        z = self.sample_latent(len(x))
        with frozen(self.discriminator):
            fake = self.generate(z)
            info_g = self.info_loss(fake, z)
            loss_g = self.generator_loss(fake) + lam * info_g
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"loss_D": loss_d.detach(), "loss_G": loss_g.detach(), "info": info_g.detach()}

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x)
        self.check_labels(y, len(x), x.device)
        z = self.sample_latent(len(x))
        fake = self.generate(z)
        return (self.objective.d_loss(self.critic(x), self.critic(fake)) + self.generator_loss(fake)
                + self.cfg.info_weight * self.info_loss(fake, z))
