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


# -- categorical latents: the exact gradient, Gumbel-softmax and straight-through -------------------
#
# For z ~ Cat(softmax(theta)) over K categories, written one-hot, and any f of a point of the simplex:
#
#     exact:             grad_theta sum_k softmax(theta)_k f(e_k)          (K terms: enumerable when K is small)
#     Gumbel-softmax:    y = softmax((theta + g) / tau), g_k ~ Gumbel(0, 1);  grad = d f(y) / d theta
#                        (Jang et al., 2017; Maddison et al., 2017): the gradient of E[f(y)], a *relaxed*
#                        objective, so biased for E[f(z)]; the bias vanishes as tau -> 0, the variance grows.
#     straight-through:  forward the one-hot z = onehot(argmax(theta + g)) (an exact sample: Gumbel-max),
#                        backward as if z were softmax(theta):  z_st = z + p - sg(p)  (Bengio et al., 2013).
#                        Biased at every setting, and it needs f to be defined between the vertices.

def exact_categorical_gradient(f: Callable[[Tensor], Tensor], logits: Tensor) -> Tensor:
    """d/dtheta E_{z ~ Cat(softmax(theta))}[f(z)] by enumerating the K one-hot vectors: (K,).

    f: (n, K) points of the simplex -> (n,). logits: (K,).
    """
    theta = logits.detach().double().requires_grad_()
    values = f(torch.eye(len(theta), dtype=torch.float64))  # f(e_k) for every k: (K,)
    (grad,) = torch.autograd.grad((torch.softmax(theta, 0) * values).sum(), theta)
    return grad


def _gumbel(n: int, k: int, generator: torch.Generator | None) -> Tensor:
    u = torch.rand(n, k, dtype=torch.float64, generator=generator).clamp(1e-12, 1 - 1e-12)
    return -torch.log(-torch.log(u))  # Gumbel(0, 1) by inverting its CDF exp(-exp(-g))


def gumbel_softmax_gradients(f: Callable[[Tensor], Tensor], logits: Tensor, tau: float, n: int,
                             generator: torch.Generator | None = None) -> Tensor:
    """Per-sample Gumbel-softmax (concrete) gradients d f(softmax((theta + g) / tau)) / d theta: (n, K)."""
    if tau <= 0:
        raise ValueError(f"the temperature tau must be positive, got {tau}; small values (0.1) approach the argmax")
    theta = logits.detach().double().expand(n, -1).clone().requires_grad_()  # one copy per sample: per-sample grads
    y = torch.softmax((theta + _gumbel(n, theta.shape[1], generator)) / tau, dim=1)
    (grad,) = torch.autograd.grad(f(y).sum(), theta)
    return grad


def straight_through_gradients(f: Callable[[Tensor], Tensor], logits: Tensor, n: int,
                               generator: torch.Generator | None = None) -> Tensor:
    """Per-sample straight-through gradients: f at an exact one-hot sample, backward through softmax(theta): (n, K)."""
    theta = logits.detach().double().expand(n, -1).clone().requires_grad_()
    p = torch.softmax(theta, dim=1)
    z = torch.nn.functional.one_hot((theta.detach() + _gumbel(n, theta.shape[1], generator)).argmax(1),
                                    theta.shape[1]).double()  # Gumbel-max: an exact sample of Cat(p)
    (grad,) = torch.autograd.grad(f(z + p - p.detach()).sum(), theta)  # value z, gradient of p
    return grad


def categorical_score_function_gradients(f: Callable[[Tensor], Tensor], logits: Tensor, n: int,
                                         generator: torch.Generator | None = None) -> Tensor:
    """Per-sample REINFORCE gradients f(z) grad log p(z) for z ~ Cat(softmax(theta)): (n, K), unbiased."""
    theta = logits.detach().double()
    p = torch.softmax(theta, 0)
    index = (theta + _gumbel(n, len(theta), generator)).argmax(1)
    z = torch.nn.functional.one_hot(index, len(theta)).double()
    with torch.no_grad():
        values = f(z)
    return values[:, None] * (z - p)  # d log softmax(theta)_k / d theta = e_k - p
