"""Gradient estimators for E_{z ~ q_phi}[f(z)]: the reparameterisation trick and the score function.

For q_phi = N(mu, sigma^2) with phi = (mu, log sigma), both return one gradient
estimate per sample, shape (n, 2) for d/dmu and d/dlog sigma, so the lecture can
compare their means (both unbiased) and their variances (very different).

    reparameterised:  z = mu + sigma eps,  grad = d f(mu + sigma eps) / d phi
    score function:   grad = f(z) * d log q_phi(z) / d phi      (REINFORCE; needs no gradient of f)
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


def reparameterized_gradients(f: Callable[[Tensor], Tensor], mu: float, log_sigma: float, n: int,
                              generator: torch.Generator | None = None) -> Tensor:
    """Per-sample pathwise gradients of f(mu + sigma * eps): (n, 2). f: elementwise and differentiable."""
    sigma = torch.tensor(log_sigma, dtype=torch.float64).exp()
    eps = torch.randn(n, dtype=torch.float64, generator=generator)
    z = (mu + sigma * eps).requires_grad_()
    (df_dz,) = torch.autograd.grad(f(z).sum(), z)  # f acts elementwise, so this is f'(z_i) for each i
    # chain rule: dz/dmu = 1, dz/dlog sigma = sigma * eps
    return torch.stack([df_dz, df_dz * sigma * eps], dim=1)


def score_function_gradients(f: Callable[[Tensor], Tensor], mu: float, log_sigma: float, n: int,
                             generator: torch.Generator | None = None) -> Tensor:
    """Per-sample score-function (REINFORCE) gradients f(z) * grad log q(z): (n, 2). f need not be differentiable."""
    sigma = torch.tensor(log_sigma, dtype=torch.float64).exp()
    z = mu + sigma * torch.randn(n, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        values = f(z)
    # log q = -log sigma - (z - mu)^2 / (2 sigma^2) + const
    d_mu = (z - mu) / sigma ** 2
    d_log_sigma = (z - mu) ** 2 / sigma ** 2 - 1
    return torch.stack([values * d_mu, values * d_log_sigma], dim=1)
