"""Probabilistic PCA (Tipping & Bishop, 1999): a latent-variable model we can solve exactly.

    z ~ N(0, I_L),   x | z ~ N(W z + mu, sigma^2 I_d)
    p(x) = N(x; mu, C),  C = W W^T + sigma^2 I_d
    p(z | x) = N(M^{-1} W^T (x - mu), sigma^2 M^{-1}),  M = W^T W + sigma^2 I_L

Because the marginal and the posterior are Gaussian in closed form, week 3 uses
it to check variational machinery against the truth: the ELBO of any Gaussian
q(z|x) lies below log p(x) and reaches it exactly at q = p(z|x); importance-
weighted bounds climb towards log p(x) as K grows.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import MultivariateNormal, kl_divergence

from ..base import GenerativeModel
from ..registry import gaussian_example, register


class PPCA(GenerativeModel):
    """Linear-Gaussian latent model with exact ``log_prob``.  x: (B, dim), z: (B, latent_dim)."""

    def __init__(self, dim: int, latent_dim: int, noise_std: float = 1.0):
        if not 1 <= latent_dim < dim:
            # with latent_dim >= dim there are no discarded eigenvalues to estimate sigma^2 from (fit_ml gives NaN)
            raise ValueError(f"PPCA needs 1 <= latent_dim < dim, got latent_dim={latent_dim} with dim={dim}")
        super().__init__((dim,))
        self.latent_dim = latent_dim
        self.W = nn.Parameter(torch.randn(dim, latent_dim) / math.sqrt(latent_dim))
        self.mu = nn.Parameter(torch.zeros(dim))
        self.log_sigma2 = nn.Parameter(torch.tensor(2 * math.log(noise_std)))

    @property
    def sigma2(self) -> Tensor:
        return self.log_sigma2.exp()

    def marginal(self) -> MultivariateNormal:
        """p(x) = N(mu, W W^T + sigma^2 I)."""
        cov = self.W @ self.W.T + self.sigma2 * torch.eye(self.num_dims, dtype=self.W.dtype, device=self.W.device)
        return MultivariateNormal(self.mu, covariance_matrix=cov)

    def _log_prob(self, x: Tensor) -> Tensor:
        return self.marginal().log_prob(x)

    def _sample(self, n: int) -> Tensor:
        z = torch.randn(n, self.latent_dim, dtype=self.W.dtype, device=self.W.device)
        return z @ self.W.T + self.mu + self.sigma2.sqrt() * torch.randn(n, self.num_dims, dtype=self.W.dtype,
                                                                          device=self.W.device)

    def prior(self) -> MultivariateNormal:
        zeros = torch.zeros(self.latent_dim, dtype=self.W.dtype, device=self.W.device)
        return MultivariateNormal(zeros, scale_tril=torch.diag_embed(torch.ones_like(zeros)))

    def log_joint(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x, z) = log p(z) + log N(x; W z + mu, sigma^2 I).  x: (B, d), z: (..., B, L) -> (..., B)."""
        mean = z @ self.W.T + self.mu
        sq = ((x - mean) ** 2).sum(-1)
        log_lik = -0.5 * (self.num_dims * torch.log(2 * math.pi * self.sigma2) + sq / self.sigma2)
        return self.prior().log_prob(z) + log_lik

    def posterior(self, x: Tensor) -> MultivariateNormal:
        """The exact posterior p(z | x): a batch of B Gaussians over R^L."""
        self.check_input(x)
        eye = torch.eye(self.latent_dim, dtype=self.W.dtype, device=self.W.device)
        M = self.W.T @ self.W + self.sigma2 * eye
        mean = torch.linalg.solve(M, self.W.T @ (x - self.mu).T).T
        cov = self.sigma2 * torch.linalg.inv(M)
        return MultivariateNormal(mean, covariance_matrix=cov.expand(x.shape[0], -1, -1))

    def elbo(self, x: Tensor, q: MultivariateNormal) -> Tensor:
        """ELBO(x; q) = E_q[log p(x | z)] - KL(q || p(z)) in closed form for a Gaussian q: (B,).

        E_q ||x - W z - mu||^2 = ||x - W m - mu||^2 + tr(W S W^T) for q = N(m, S).
        """
        m, S = q.mean, q.covariance_matrix
        sq = ((x - m @ self.W.T - self.mu) ** 2).sum(-1) + torch.einsum("ij,bjk,ik->b", self.W, S, self.W)
        expected_log_lik = -0.5 * (self.num_dims * torch.log(2 * math.pi * self.sigma2) + sq / self.sigma2)
        return expected_log_lik - kl_divergence(q, self.prior())

    @torch.no_grad()
    def fit_ml(self, x: Tensor) -> "PPCA":
        """Closed-form maximum likelihood (Tipping & Bishop, 1999), in place.

        mu = mean of x; sigma^2 = the mean of the d - L smallest eigenvalues of the
        sample covariance; W = U_L (Lambda_L - sigma^2 I)^{1/2} (up to a rotation).
        """
        self.check_input(x)
        if len(x) < 2:
            raise ValueError("fit_ml needs at least 2 points to estimate a covariance")
        mu = x.mean(0)
        cov = (x - mu).T @ (x - mu) / x.shape[0]
        eigvals, eigvecs = torch.linalg.eigh(cov)  # ascending
        eigvals, eigvecs = eigvals.flip(0), eigvecs.flip(1)
        sigma2 = eigvals[self.latent_dim:].mean()
        # sigma^2 is the variance left outside the principal subspace; data that lie (numerically) in
        # latent_dim dimensions leave none, and log p(x) would be +inf at the data and -inf elsewhere
        tiny = torch.finfo(x.dtype).eps * eigvals[0].clamp_min(torch.finfo(x.dtype).tiny) * self.num_dims
        if not sigma2 > tiny:
            rank = int((eigvals > tiny).sum())
            raise ValueError(f"the data have rank {rank} (after centring) and latent_dim = {self.latent_dim}: "
                             "no variance is left for sigma^2, so the maximum-likelihood PPCA is degenerate; "
                             "use a latent_dim below the rank, or more (or noisier) data")
        W = eigvecs[:, : self.latent_dim] * (eigvals[: self.latent_dim] - sigma2).clamp_min(0).sqrt()
        self.mu.copy_(mu)
        self.W.copy_(W)
        self.log_sigma2.copy_(sigma2.log())
        return self


register("ppca", build=lambda: PPCA(dim=4, latent_dim=2), example=gaussian_example((4,)))
