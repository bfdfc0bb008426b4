"""Week 3: a VAE with an autoregressive decoder, posterior collapse, and two remedies.

    p(x | z) = prod_i Bernoulli(x_i; sigmoid(l_i(x_<i, z)))

The decoder is a MADE (week 2) whose hidden layer also gets a linear function of z, so each
pixel sees the pixels before it *and* the code. Such a decoder can model the images well
without z, and the ELBO then prefers to ignore z: the KL term costs nats and the decoder does not
need what z would carry, so q(z|x) -> p(z) and the rate goes to 0 (**posterior collapse**; Bowman
et al., 2016; Chen et al., 2017). Two remedies change the objective, not the model:

* **free bits** (Kingma et al., 2016): replace KL by sum_j max(lambda, E_batch[KL_j]), so the first
  lambda nats of each latent dimension are free and the optimiser has no reason to push them to 0;
* **KL annealing** (Bowman et al., 2016): weight the KL by beta_t = min(1, t / T) over the first
  T training steps, so the decoder learns to use z before the KL is paid in full.

Either one is a training device: ``log_prob`` is the importance-sampled log p(x) and
``validation_metrics`` report the true -ELBO (beta = 1, no free bits) and the rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...nn.functional import bernoulli_log_prob
from ...nn.masked import MaskedLinear, made_degrees, made_masks
from ..registry import binary_example, register
from .vae import VAE, VAEConfig


@dataclass
class ARDecoderVAEConfig(VAEConfig):
    free_bits: float = 0.0  # lambda: nats per latent dimension that the KL term does not charge; 0 = off
    kl_anneal_steps: int = 0  # T: the KL weight rises linearly from 0 to 1 over T training steps; 0 = off
    seed: int = 0  # seeds the degrees of the MADE's hidden units


class ConditionalMADE(nn.Module):
    """Bernoulli logits l(x, z): (..., D), (..., L) -> (..., D); output i sees x_<i (raster order) and z."""

    def __init__(self, d: int, latent_dim: int, hidden: int, seed: int = 0):
        super().__init__()
        degrees = torch.arange(1, d + 1)
        hidden_degrees = made_degrees(degrees, [hidden], torch.Generator().manual_seed(seed))
        in_mask, out_mask = made_masks(degrees, hidden_degrees)
        self.x_to_hidden, self.hidden_to_x = MaskedLinear(d, hidden), MaskedLinear(hidden, d)
        self.x_to_hidden.mask, self.hidden_to_x.mask = in_mask, out_mask
        self.direct = MaskedLinear(d, d, bias=False)  # x_j -> l_i for j < i: neighbours need no hidden unit
        self.direct.mask = torch.ones(d, d).tril(-1)
        self.z_to_hidden = nn.Linear(latent_dim, hidden)  # the code enters every hidden unit

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        h = F.relu(self.x_to_hidden(x) + self.z_to_hidden(z))
        return self.hidden_to_x(h) + self.direct(x)


class ARDecoderVAE(VAE):
    """VAE over binary images x: (B, *event_shape) in {0, 1} with a MADE decoder conditioned on z."""

    def __init__(self, event_shape: Sequence[int] = (1, 8, 8), config: ARDecoderVAEConfig | None = None):
        config = config or ARDecoderVAEConfig()
        if config.architecture != "mlp" or config.k != 1 or config.beta != 1.0:
            raise ValueError("ARDecoderVAE trains the plain ELBO with an MLP encoder: use architecture='mlp', "
                             "k=1, beta=1 (free_bits and kl_anneal_steps are its knobs)")
        if config.free_bits < 0 or config.kl_anneal_steps < 0:
            raise ValueError(f"free_bits and kl_anneal_steps must be >= 0, got {config.free_bits} and "
                             f"{config.kl_anneal_steps}")
        super().__init__(event_shape, config)
        self.decoder = ConditionalMADE(self.num_dims, config.latent_dim, config.hidden, config.seed)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))  # for the KL annealing schedule

    def decode(self, z: Tensor, x: Tensor | None = None) -> Tensor:
        """Bernoulli logits of p(x_i | x_<i, z): z (..., B, L), x (B, *event_shape) -> (..., B, *event_shape)."""
        if x is None:
            raise ValueError("an autoregressive decoder needs the image x as well as z: decode(z, x)")
        flat = x.flatten(1).expand(*z.shape[:-1], -1)
        return self.decoder(flat, z).view(*z.shape[:-1], *self.event_shape)

    def log_likelihood_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x | z) = sum_i log p(x_i | x_<i, z), exact: x (B, ...), z (..., B, L) -> (..., B)."""
        logits = self.decode(z, x)
        return bernoulli_log_prob(logits, x.expand_as(logits)).flatten(-len(self.event_shape)).sum(-1)

    @property
    def kl_weight(self) -> float:
        """beta_t of the annealing schedule (1 when annealing is off or over)."""
        t = self.config.kl_anneal_steps
        return 1.0 if t == 0 else min(1.0, int(self.steps_done) / t)

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """-E_q[log p(x|z)] + beta_t * KL, the KL with free bits if set; averaged over the batch."""
        self.check_input(x)
        self.check_labels(y, len(x), x.device)
        mu, logvar = self.encode(x)
        reconstruction = self.log_likelihood_given_z(x, self.reparameterize(mu, logvar))  # (B,)
        kl_per_dim = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)  # (B, L)
        if self.config.free_bits > 0:  # each dimension's batch-mean KL, charged only above lambda
            kl = kl_per_dim.mean(0).clamp(min=self.config.free_bits).sum()
        else:
            kl = kl_per_dim.sum(1).mean()
        weight = self.kl_weight
        if self.training:
            self.steps_done += 1
        return -reconstruction.mean() + weight * kl

    @torch.no_grad()
    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """The true -ELBO (beta = 1, no free bits) and the rate KL(q(z|x) || p(z)), batch means."""
        self.check_labels(y, len(x), x.device)
        mu, logvar = self.encode(x)
        rate = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(1)
        negative_elbo = rate - self.log_likelihood_given_z(x, self.reparameterize(mu, logvar))
        return {"loss": negative_elbo.mean().item(), "rate": rate.mean().item()}

    def _sample(self, n: int, mean: bool = False) -> Tensor:
        """z ~ p(z), then the pixels one at a time in raster order (D decoder passes).

        ``mean=True`` returns each pixel's probability given z and the pixels drawn before it.
        """
        z = torch.randn(n, self.config.latent_dim, dtype=self.dtype, device=self.device)
        x = torch.zeros(n, self.num_dims, dtype=self.dtype, device=self.device)
        probs = torch.zeros_like(x)
        for i in range(self.num_dims):
            probs[:, i] = torch.sigmoid(self.decoder(x, z)[:, i])
            x[:, i] = torch.bernoulli(probs[:, i])
        return (probs if mean else x).view(n, *self.event_shape)


register("ar_decoder_vae", example=binary_example((1, 4, 4)),
         build=lambda: ARDecoderVAE((1, 4, 4), ARDecoderVAEConfig(latent_dim=2, hidden=8, eval_samples=16,
                                                                  free_bits=0.1, kl_anneal_steps=10)))
