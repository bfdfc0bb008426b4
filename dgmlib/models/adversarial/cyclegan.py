"""CycleGAN (Zhu et al. 2017): translation between two domains from unpaired examples.

Two generators, G: A -> B and F: B -> A, two PatchGAN discriminators D_B and D_A, least-squares
adversarial losses (as in the paper), and the cycle-consistency term that rules out a G that maps
every image of A to one plausible image of B:

    L_G = LS(D_B(G(a))) + LS(D_A(F(b))) + lambda (|F(G(a)) - a|_1 + |G(F(b)) - b|_1)
          + lambda_id (|G(b) - b|_1 + |F(a) - a|_1)

In the contract, x is an image of domain B and y one of domain A (the pairs in the data mean nothing);
``sample(n, y=a)`` returns G(a), ``translate(images, "B->A")`` returns F(b). The paper's history buffer
of 50 old fakes for D is left out: at MNIST's size D steadies without it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import constraints

from ...nn.state import eval_mode
from ..base import Batch
from .base import GAN, GANConfig, frozen
from .pix2pix import IMAGE_SHAPE, UNet, patch_discriminator


@dataclass
class CycleGANConfig:
    width: int = 32              # channels w at 14x14 (2w at 7x7)
    cycle_weight: float = 10.0   # lambda (the paper's 10)
    identity_weight: float = 5.0  # lambda_id = 0.5 lambda, as in the paper's photo <-> painting runs


class CycleGAN(GAN):
    """G: A -> B (``generator``), F: B -> A (``inverse_generator``); D_B (``discriminator``), D_A."""

    support = constraints.unit_interval

    def __init__(self, cfg: CycleGANConfig | None = None, config: GANConfig | None = None):
        cfg = cfg or CycleGANConfig()
        super().__init__(IMAGE_SHAPE, 0, config or GANConfig(objective="least_squares"),
                         condition_shape=IMAGE_SHAPE)
        self.cfg = cfg
        self.generator, self.inverse_generator = UNet(cfg.width, 0.0), UNet(cfg.width, 0.0)
        self.discriminator = patch_discriminator(1, cfg.width)            # D_B: is it a real image of B?
        self.inverse_discriminator = patch_discriminator(1, cfg.width)    # D_A

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters()) + list(self.inverse_generator.parameters())

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters()) + list(self.inverse_discriminator.parameters())

    def translate(self, images: Tensor, direction: str = "A->B") -> Tensor:
        """G(a) for "A->B", F(b) for "B->A": (B, 1, 28, 28) -> (B, 1, 28, 28), without a graph."""
        if direction not in ("A->B", "B->A"):
            raise ValueError(f"direction must be 'A->B' or 'B->A', got {direction!r}")
        self.check_input(images)
        net = self.generator if direction == "A->B" else self.inverse_generator
        with eval_mode(self), torch.no_grad():
            return net(images)

    def generate(self, z: Tensor | None, y: Tensor) -> Tensor:
        """G(a): ``sample(n, y=a)`` translates images of domain A (the base class runs it in eval mode)."""
        return self.generator(y)

    def _generator_losses(self, b: Tensor, a: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        G, F_ = self.generator, self.inverse_generator
        fake_b, fake_a = G(a), F_(b)
        adversarial = (self.objective.g_loss(self.discriminator(fake_b))
                       + self.objective.g_loss(self.inverse_discriminator(fake_a)))
        cycle = (F_(fake_b) - a).abs().mean() + (G(fake_a) - b).abs().mean()
        identity = (G(b) - b).abs().mean() + (F_(a) - a).abs().mean()
        total = adversarial + self.cfg.cycle_weight * cycle + self.cfg.identity_weight * identity
        return total, {"fake_b": fake_b, "fake_a": fake_a, "cycle": cycle}

    def _discriminator_loss(self, b: Tensor, a: Tensor, fake_b: Tensor, fake_a: Tensor) -> Tensor:
        return (self.objective.d_loss(self.discriminator(b), self.discriminator(fake_b))
                + self.objective.d_loss(self.inverse_discriminator(a), self.inverse_discriminator(fake_a)))

    def train_step(self, batch: Batch, optimizers, step: int, *, clip_grad_norm=None) -> dict[str, Tensor]:
        b, a = batch
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        # the generators first (as in the paper), both discriminators frozen
        with frozen(self.discriminator), frozen(self.inverse_discriminator):
            loss_g, parts = self._generator_losses(b, a)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        # then both discriminators, on the detached fakes
        loss_d = self._discriminator_loss(b, a, parts["fake_b"].detach(), parts["fake_a"].detach())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        return {"loss_D": loss_d.detach(), "loss_G": loss_g.detach(), "cycle": parts["cycle"].detach()}

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x)
        a = self.check_labels(y, len(x), x.device)
        loss_g, parts = self._generator_losses(x, a)
        return loss_g + self._discriminator_loss(x, a, parts["fake_b"], parts["fake_a"])

    @torch.no_grad()
    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """The cycle error per pixel, |F(G(a)) - a| + |G(F(b)) - b|, and D's loss."""
        self.check_input(x)
        a = self.check_labels(y, len(x), x.device)
        _, parts = self._generator_losses(x, a)
        return {"cycle": parts["cycle"].item(),
                "loss_D": self._discriminator_loss(x, a, parts["fake_b"], parts["fake_a"]).item()}
