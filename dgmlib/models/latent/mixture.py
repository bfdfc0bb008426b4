"""Gaussian mixture models: the first latent-variable model, with an exact posterior.

p(x) = sum_k pi_k N(x; mu_k, Sigma_k), latent z in {1..K}. Week 1 trains it by
gradient descent through ``fit`` like any other model; week 3 fits it by
expectation-maximisation (EM), where the E-step is the exact posterior
p(z = k | x) and the M-step has a closed form. Both routes maximise the same
likelihood, which is why the lecture can compare them on one plot.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from ..base import GenerativeModel
from ..registry import gaussian_example, register


def _softplus_inverse(y: Tensor) -> Tensor:
    return y + torch.log(-torch.expm1(-y))


class GaussianMixture(GenerativeModel):
    """p(x) = sum_k pi_k N(x; mu_k, L_k L_k^T) with full covariances.  x: (B, dim).

    Parameters are unconstrained: mixture logits, means, and the lower-triangular
    Cholesky factors whose diagonal goes through softplus to stay positive.
    """

    def __init__(self, dim: int = 2, n_components: int = 8, init_scale: float = 1.0):
        super().__init__((dim,))
        self.mixture_logits = nn.Parameter(torch.zeros(n_components))
        self.means = nn.Parameter(init_scale * torch.randn(n_components, dim))
        # softplus^{-1}(0.5 * init_scale) on the diagonal: components start with std ~ init_scale / 2
        raw_diag = math.log(math.expm1(0.5 * init_scale))
        self.raw_scale_tril = nn.Parameter(torch.diag_embed(torch.full((n_components, dim), raw_diag)))

    @property
    def n_components(self) -> int:
        return self.mixture_logits.shape[0]

    @property
    def scale_tril(self) -> Tensor:
        """(K, dim, dim) Cholesky factors of the component covariances."""
        lower = torch.tril(self.raw_scale_tril, diagonal=-1)
        diag = F.softplus(torch.diagonal(self.raw_scale_tril, dim1=-2, dim2=-1)) + 1e-5
        return lower + torch.diag_embed(diag)

    def components(self) -> MultivariateNormal:
        return MultivariateNormal(self.means, scale_tril=self.scale_tril)

    def distribution(self) -> MixtureSameFamily:
        return MixtureSameFamily(Categorical(logits=self.mixture_logits), self.components())

    def _log_prob(self, x: Tensor) -> Tensor:
        return self.distribution().log_prob(x)

    def _sample(self, n: int) -> Tensor:
        return self.distribution().sample((n,))

    # -- EM ---------------------------------------------------------------------------
    def joint_log_prob(self, x: Tensor) -> Tensor:
        """log p(x, z = k) = log pi_k + log N(x; mu_k, Sigma_k): (B, K)."""
        self.check_input(x)
        return torch.log_softmax(self.mixture_logits, 0) + self.components().log_prob(x[:, None, :])

    def posterior(self, x: Tensor) -> Tensor:
        """Responsibilities p(z = k | x) by Bayes' rule: (B, K), rows sum to 1."""
        return torch.softmax(self.joint_log_prob(x), dim=1)

    @torch.no_grad()
    def em_step(self, x: Tensor, reg_covar: float = 1e-6) -> float:
        """One EM iteration in place; returns the mean log-likelihood *before* the update.

        E-step: r_nk = p(z = k | x_n). M-step: N_k = sum_n r_nk, pi_k = N_k / N,
        mu_k = sum_n r_nk x_n / N_k, Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k
        (+ reg_covar * I, which keeps a component that collapses onto one point invertible).
        """
        joint = self.joint_log_prob(x)
        log_lik = torch.logsumexp(joint, dim=1)
        r = torch.exp(joint - log_lik[:, None])  # (N, K)
        n_k = r.sum(0) + 1e-12
        means = (r.T @ x) / n_k[:, None]
        diff = x[:, None, :] - means  # (N, K, d)
        cov = torch.einsum("nk,nki,nkj->kij", r, diff, diff) / n_k[:, None, None]
        cov = cov + reg_covar * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        chol = torch.linalg.cholesky(cov)
        diag = torch.diagonal(chol, dim1=-2, dim2=-1).clamp_min(2e-5) - 1e-5
        self.mixture_logits.copy_(torch.log(n_k / n_k.sum()))
        self.means.copy_(means)
        self.raw_scale_tril.copy_(torch.tril(chol, -1) + torch.diag_embed(_softplus_inverse(diag)))
        return log_lik.mean().item()

    @torch.no_grad()
    def fit_em(self, x: Tensor, n_iter: int = 100, tol: float = 1e-6, init_from_data: bool = True,
               generator: torch.Generator | None = None) -> list[float]:
        """Run EM until the mean log-likelihood improves by less than ``tol``; returns its history."""
        self.check_input(x)
        if len(x) < self.n_components:
            # the initialisation needs K distinct points, and with N < K some component has no data to fit
            raise ValueError(f"fit_em needs at least n_components = {self.n_components} points, got {len(x)}; "
                             "use fewer components or more data")
        if init_from_data:  # means at K distinct data points: a standard, cheap initialisation
            index = torch.randperm(len(x), generator=generator)[: self.n_components]
            self.means.copy_(x[index.to(x.device)])
        history = []
        for _ in range(n_iter):
            history.append(self.em_step(x))
            if len(history) > 1 and history[-1] - history[-2] < tol:
                break
        return history


register("gaussian_mixture", build=lambda: GaussianMixture(dim=2, n_components=3),
         example=gaussian_example((2,)))
