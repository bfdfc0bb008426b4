"""The GAN contract: a generator, a discriminator (critic), and the two visible steps of ``train_step``.

A subclass builds ``self.generator`` (z (B, latent_dim) [+ y] -> x (B, *event_shape)) and
``self.discriminator`` (x [+ y] -> logits (B,) or patches), and writes ``generate`` and ``critic``;
the objective, the Lipschitz constraint and the two-timescale schedule come from ``GANConfig``.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor, nn

from ...nn.state import eval_mode
from ..base import Batch, GenerativeModel
from .lipschitz import clip_weights_, gradient_penalty
from .losses import objective


@dataclass
class GANConfig:
    objective: str = "non_saturating"   # minimax, non_saturating, least_squares, wasserstein, hinge
    n_critic: int = 1                   # discriminator steps per generator step (WGAN: 5)
    gp_weight: float = 0.0              # lambda of WGAN-GP's gradient penalty (Gulrajani et al.: 10)
    clip: float | None = None           # WGAN's weight clipping (Arjovsky et al.: 0.01), or None
    spectral_norm: bool = False         # spectral normalisation of every discriminator layer
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's; DCGAN's beta1 = 0.5, WGAN-GP's (0.0, 0.9)
    d_lr_scale: float = 1.0             # discriminator lr = lr * d_lr_scale (two time-scale updates)

    def __post_init__(self):
        objective(self.objective)  # a clear error for an unknown name
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be a positive number of steps, got {self.n_critic}")
        if self.gp_weight < 0 or (self.clip is not None and not self.clip > 0):
            raise ValueError(f"gp_weight must be >= 0 and clip positive or None, got {self.gp_weight}, {self.clip}")


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No gradients into ``module``'s parameters inside the block (the generator's step leaves D alone)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


class GAN(GenerativeModel):
    """Base class of the adversarial models: ``log_prob_kind = "none"``, sampling by a forward pass."""

    log_prob_kind = "none"

    def __init__(self, event_shape, latent_dim: int, config: GANConfig | None = None, num_classes=None,
                 condition_shape=None):
        super().__init__(event_shape, num_classes, condition_shape=condition_shape)
        self.latent_dim = latent_dim
        self.config = config or GANConfig()
        self.objective = objective(self.config.objective)

    # -- what a subclass writes ---------------------------------------------------------------
    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """G(z [, y]): z (B, latent_dim) -> x (B, *event_shape), with a graph."""
        return self.generator(z) if y is None else self.generator(z, y)

    def critic(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D's logits (or the critic's scores): x (B, *event_shape) -> (B,) or patches (B, ...)."""
        return self.discriminator(x) if y is None else self.discriminator(x, y)

    def sample_latent(self, n: int) -> Tensor:
        """z ~ N(0, I): (n, latent_dim) on the model's device."""
        return torch.randn(n, self.latent_dim, device=self.device, dtype=self.dtype)

    # -- the contract -----------------------------------------------------------------------
    def _log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} is a GAN: it has no likelihood (log_prob_kind 'none'); "
                                  "compare its samples with dgmlib.metrics' FID/KID instead")

    def _sample(self, n: int, y: Tensor | None = None, z: Tensor | None = None) -> Tensor:
        """Draw G(z); pass ``z`` (n, latent_dim) to choose the latents (interpolation, editing)."""
        if z is None:
            z = self.sample_latent(n)
        elif tuple(z.shape) != (n, self.latent_dim):
            raise ValueError(f"z must have shape ({n}, {self.latent_dim}), got {tuple(z.shape)}")
        with eval_mode(self):  # batch-norm statistics, not the batch's: a sample must not depend on its batch-mates
            return self.generate(z.to(self.device, self.dtype), y)

    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        betas = self.config.betas
        return {"discriminator": torch.optim.Adam(self.discriminator_parameters(), lr=lr * self.config.d_lr_scale,
                                                  betas=betas),
                "generator": torch.optim.Adam(self.generator_parameters(), lr=lr, betas=betas)}

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters())

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters())

    # -- the two players' objectives ----------------------------------------------------------
    def discriminator_loss(self, x: Tensor, fake: Tensor, y: Tensor | None = None) -> Tensor:
        """D's objective on real x and (detached) fakes, plus the gradient penalty if configured."""
        loss = self.objective.d_loss(self.critic(x, y), self.critic(fake, y))
        if self.config.gp_weight > 0:
            loss = loss + self.config.gp_weight * gradient_penalty(lambda h: self.critic(h, y), x, fake)
        return loss

    def generator_loss(self, fake: Tensor, y: Tensor | None = None) -> Tensor:
        """G's objective on fakes that carry G's graph."""
        return self.objective.g_loss(self.critic(fake, y))

    def train_step(self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], step: int, *,
                   clip_grad_norm: float | None = None) -> dict[str, Tensor]:
        """One discriminator step, and a generator step every ``n_critic``-th call."""
        x, y = batch
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        # the discriminator: fakes detached, so this step cannot move G
        fake = self.generate(self.sample_latent(len(x)), y)
        loss_d = self.discriminator_loss(x, fake.detach(), y)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        _clip(self.discriminator_parameters(), clip_grad_norm)
        opt_d.step()
        if self.config.clip is not None:
            clip_weights_(self.discriminator, self.config.clip)
        # the generator: D frozen, so this step cannot move D
        if step % self.config.n_critic == 0:
            with frozen(self.discriminator):
                loss_g = self.generator_loss(self.generate(self.sample_latent(len(x)), y), y)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            _clip(self.generator_parameters(), clip_grad_norm)
            opt_g.step()
        else:  # report G's loss anyway, so every curve has a value at every step
            with torch.no_grad():
                loss_g = self.generator_loss(fake.detach(), y)
        return {"loss_D": loss_d.detach(), "loss_G": loss_g.detach()}

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Both players' objectives on this batch, summed: a number to monitor, not one to minimise
        (each player follows only its own; ``train_step`` does that)."""
        self.check_input(x)
        y = self.check_labels(y, len(x), x.device)
        fake = self.generate(self.sample_latent(len(x)), y)
        return self.objective.d_loss(self.critic(x, y), self.critic(fake, y)) + self.generator_loss(fake, y)

    @torch.no_grad()
    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """D's loss and G's loss on held-out data, and the critic's gap E f(x) - E f(G(z))
        (for a Wasserstein critic, its estimate of W1)."""
        self.check_input(x)
        y = self.check_labels(y, len(x), x.device)
        fake = self.generate(self.sample_latent(len(x)), y)
        real_scores, fake_scores = self.critic(x, y), self.critic(fake, y)
        return {"loss_D": self.objective.d_loss(real_scores, fake_scores).item(),
                "loss_G": self.objective.g_loss(fake_scores).item(),
                "critic_gap": (real_scores.mean() - fake_scores.mean()).item()}


def _clip(parameters: list[nn.Parameter], max_norm: float | None) -> None:
    if max_norm is not None:
        nn.utils.clip_grad_norm_(parameters, max_norm)
