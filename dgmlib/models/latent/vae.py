"""Week 3: variational autoencoders for binary images, the ELBO, IWAE and likelihood estimates.

    p(z) = N(0, I),  p(x | z) = prod_i Bernoulli(x_i; sigmoid(decoder(z)_i)),
    q(z | x) = N(mu(x), diag(exp(logvar(x))))

    ELBO(x)    = E_q[log p(x | z)] - beta * KL(q(z|x) || p(z))            (beta = 1: the VAE)
    IWAE_K(x)  = E[log (1/K) sum_k p(x, z_k) / q(z_k | x)],  z_k ~ q(z | x)
    log p(x)  ~= log (1/K) sum_k p(x, z_k) / q(z_k | x)  for large K (K = 5000 in the papers)

IWAE_1 is the ELBO, IWAE_K increases with K towards log p(x), and all of them
are computed from log weights with logsumexp, never as the log of a sum of
exponentials. ``log_prob`` is the importance-sampled estimate (a stochastic
estimate, biased low for finite K: ``log_prob_kind = "estimate"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from torch.distributions import Independent, Normal, constraints

from ...nn.functional import bernoulli_log_prob, diagonal_gaussian_log_prob, gaussian_kl, log_mean_exp
from ...metrics.importance import importance_log_likelihood
from ..base import GenerativeModel
from ..registry import binary_example, register

def iwae_bound(log_weights: Tensor) -> Tensor:
    """log (1/K) sum_k w_k from log weights (K, B) -> (B,), stably with logsumexp."""
    return log_mean_exp(log_weights, dim=0)


@dataclass
class VAEConfig:
    latent_dim: int = 50  # Burda et al. (2016), one stochastic layer
    hidden: int = 200  # width of the two deterministic layers (MLP) / the dense layer (conv)
    architecture: str = "mlp"  # "mlp" or "conv" (images whose sides divide by 4)
    k: int = 1  # importance samples in the training objective: 1 = ELBO (VAE), > 1 = IWAE bound
    beta: float = 1.0  # weight of the KL term in the ELBO (beta-VAE); needs k == 1
    eval_samples: int = 5000  # K of the importance-sampled log_prob
    eval_chunk: int = 250  # samples decoded at once when estimating log_prob (memory, not result)


def _mlp_networks(d: int, c: VAEConfig) -> tuple[nn.Module, nn.Module]:
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, c.hidden), nn.Tanh(), nn.Linear(c.hidden, c.hidden),
                            nn.Tanh(), nn.Linear(c.hidden, 2 * c.latent_dim))
    decoder = nn.Sequential(nn.Linear(c.latent_dim, c.hidden), nn.Tanh(), nn.Linear(c.hidden, c.hidden),
                            nn.Tanh(), nn.Linear(c.hidden, d))
    return encoder, decoder


def _conv_networks(shape: torch.Size, c: VAEConfig) -> tuple[nn.Module, nn.Module]:
    channels, h, w = shape
    if h % 4 or w % 4:
        raise ValueError(f"the conv VAE needs image sides divisible by 4, got {h}x{w}; use architecture='mlp'")
    flat = 64 * (h // 4) * (w // 4)
    encoder = nn.Sequential(
        nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
        nn.Linear(flat, c.hidden), nn.ReLU(), nn.Linear(c.hidden, 2 * c.latent_dim))
    decoder = nn.Sequential(
        nn.Linear(c.latent_dim, c.hidden), nn.ReLU(), nn.Linear(c.hidden, flat), nn.ReLU(),
        nn.Unflatten(1, (64, h // 4, w // 4)),
        nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, channels, 4, 2, 1), nn.Flatten())
    return encoder, decoder


class VAE(GenerativeModel):
    """VAE / IWAE with a Bernoulli decoder over binary images x: (B, *event_shape) in {0, 1}."""

    log_prob_kind = "estimate"
    support = constraints.boolean

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: VAEConfig | None = None):
        super().__init__(event_shape)
        self.config = c = config or VAEConfig()
        if c.k < 1:
            raise ValueError(f"k must be >= 1, got {c.k}")
        if c.k > 1 and c.beta != 1.0:
            raise ValueError("beta weights the KL term of the ELBO; the IWAE bound (k > 1) needs beta = 1")
        if c.architecture == "mlp":
            self.encoder, self.decoder = _mlp_networks(self.num_dims, c)
        elif c.architecture == "conv":
            self.encoder, self.decoder = _conv_networks(self.event_shape, c)
        else:
            raise ValueError(f"architecture must be 'mlp' or 'conv', got {c.architecture!r}")

    # -- the pieces ------------------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """q(z | x): mean and log-variance, each (B, L)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """Bernoulli logits of p(x | z): z (..., L) -> (..., *event_shape)."""
        lead = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).view(*lead, *self.event_shape)

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor, k: int | None = None) -> Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): differentiable in mu and logvar. (k, B, L) if k else (B, L)."""
        shape = mu.shape if k is None else (k, *mu.shape)
        return mu + torch.exp(0.5 * logvar) * torch.randn(shape, dtype=mu.dtype, device=mu.device)

    def log_likelihood_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x | z) summed over pixels: x (B, ...), z (..., B, L) -> (..., B)."""
        logits = self.decode(z)
        return bernoulli_log_prob(logits, x.expand_as(logits)).flatten(-len(self.event_shape)).sum(-1)

    # -- bounds and estimates --------------------------------------------------------------
    def elbo(self, x: Tensor, beta: float | None = None) -> Tensor:
        """Single-sample ELBO with the analytic KL: (B,)."""
        self.check_input(x)
        beta = self.config.beta if beta is None else beta
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.log_likelihood_given_z(x, z) - beta * gaussian_kl(mu, logvar)

    def log_weights(self, x: Tensor, k: int, mu: Tensor | None = None, logvar: Tensor | None = None) -> Tensor:
        """log p(x, z_k) - log q(z_k | x) for k samples z_k ~ q(z | x): (k, B)."""
        if mu is None:
            mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, k)  # (k, B, L)
        log_prior = diagonal_gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
        return self.log_likelihood_given_z(x, z) + log_prior - diagonal_gaussian_log_prob(z, mu, logvar)

    def iwae_bound(self, x: Tensor, k: int) -> Tensor:
        """The importance-weighted bound IWAE_k(x) (one draw of it): (B,). k = 1 is the ELBO."""
        self.check_input(x)
        return iwae_bound(self.log_weights(x, k))

    def prior(self) -> Independent:
        """p(z) = N(0, I) over R^L."""
        zeros = torch.zeros(self.config.latent_dim, dtype=self.dtype, device=self.device)
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def posterior(self, x: Tensor) -> Independent:
        """The encoder's q(z | x): a batch of B diagonal Gaussians over R^L."""
        mu, logvar = self.encode(x)
        return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x, z) = log p(z) + log p(x | z): x (B, ...), z (..., B, L) -> (..., B)."""
        return self.prior().log_prob(z) + self.log_likelihood_given_z(x, z)

    @torch.no_grad()
    def importance_log_likelihood(self, x: Tensor, k: int | None = None, chunk: int | None = None) -> Tensor:
        """Importance-sampled estimate of log p(x) with k samples from q(z|x): (B,).

        :func:`dgmlib.metrics.importance_log_likelihood` with the encoder as the proposal; the k log
        weights are drawn ``chunk`` at a time (memory), and the result is the same for any chunk size.
        """
        self.check_input(x)
        return importance_log_likelihood(lambda z: self.log_joint(x, z), self.posterior(x),
                                         k or self.config.eval_samples, chunk or self.config.eval_chunk)

    def _log_prob(self, x: Tensor) -> Tensor:
        return self.importance_log_likelihood(x)

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Negative ELBO (k = 1, with beta) or negative IWAE bound (k > 1), averaged over the batch."""
        self.check_labels(y, len(x), x.device)
        if self.config.k == 1:
            return -self.elbo(x).mean()
        return -self.iwae_bound(x, self.config.k).mean()

    def _sample(self, n: int, mean: bool = False) -> Tensor:
        """z ~ p(z), then x ~ p(x | z); ``mean=True`` returns the Bernoulli means instead (for pictures)."""
        z = torch.randn(n, self.config.latent_dim, dtype=self.dtype, device=self.device)
        probs = torch.sigmoid(self.decode(z))
        return probs if mean else torch.bernoulli(probs)


register("vae", example=binary_example((1, 4, 4)),
         build=lambda: VAE((1, 4, 4), VAEConfig(latent_dim=2, hidden=8, eval_samples=16)))
register("iwae_conv", example=binary_example((1, 8, 8)),
         build=lambda: VAE((1, 8, 8), VAEConfig(latent_dim=2, hidden=8, architecture="conv", k=4,
                                                eval_samples=16)))
