"""Ways around the partition function: score matching (three forms) and noise-contrastive estimation.

With s(x) = grad_x log p(x) = -grad_x E(x), the score does not depend on Z.

* Score matching (Hyvarinen 2005): E_data |s_theta - s_data|^2 / 2 equals, up to a constant, by
  integration by parts,
      J(theta) = E_data[ tr(grad_x s_theta(x)) + |s_theta(x)|^2 / 2 ]
  (the trace costs D backward passes: fine in 2-D, not for images).
* Denoising score matching (Vincent 2011): for x~ = x + sigma eps, the score of the noise kernel is
  -(x~ - x) / sigma^2, and  E |s_theta(x~) + (x~ - x) / sigma^2|^2 / 2  is minimised by the score of the
  *noised* data density: the bridge to diffusion models (week 8).
* Sliced score matching (Song et al. 2019): project on random directions v,
      E_{x, v}[ v^T grad_x (v^T s_theta(x)) + (v^T s_theta(x))^2 / 2 ]
  one backward pass per projection, unbiased for J.
* Noise-contrastive estimation (Gutmann & Hyvarinen 2010): classify data against nu times as many
  noise samples with the logit G(u) = log p_theta(u) - log p_n(u) - log nu, where log p_theta(u) =
  -E(u) - c and c is learned: at the optimum c = log Z.

Each function returns a scalar to minimise (a mean over the batch).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Score = Callable[[Tensor], Tensor]  # x (B, D) -> s(x) (B, D)


def score_of(energy: Callable[[Tensor], Tensor]) -> Score:
    """s(x) = -grad_x E(x) as a differentiable function (create_graph, so a loss of it trains E)."""
    def score(x: Tensor) -> Tensor:
        with torch.enable_grad():
            if not x.requires_grad:
                x = x.detach().requires_grad_()
            (grad,) = torch.autograd.grad(energy(x).sum(), x, create_graph=True)
        return -grad
    return score


def score_matching_loss(score: Score, x: Tensor) -> Tensor:
    """Hyvarinen's J = mean [tr(grad_x s(x)) + |s(x)|^2 / 2], the trace by D backward passes. x: (B, D)."""
    x = x.detach().requires_grad_()
    s = score(x)
    trace = sum(torch.autograd.grad(s[:, i].sum(), x, create_graph=True)[0][:, i] for i in range(x.shape[1]))
    return (trace + 0.5 * s.square().sum(1)).mean()


def denoising_score_matching_loss(score: Score, x: Tensor, sigma: float) -> Tensor:
    """mean |s(x~) + (x~ - x) / sigma^2|^2 / 2 with x~ = x + sigma eps: x (B, ...); matches the noised density's score."""
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    noise = torch.randn_like(x)
    x_noisy = x + sigma * noise
    return 0.5 * (score(x_noisy) + noise / sigma).flatten(1).square().sum(1).mean()


def sliced_score_matching_loss(score: Score, x: Tensor, n_projections: int = 1) -> Tensor:
    """mean over x and Gaussian v of [v^T grad_x (v^T s(x)) + (v^T s(x))^2 / 2]: x (B, D)."""
    x = x.detach().requires_grad_()
    s = score(x)
    total = x.new_zeros(())
    for _ in range(n_projections):
        v = torch.randn_like(x)
        projected = (v * s).sum(1)  # (B,)
        (grad,) = torch.autograd.grad(projected.sum(), x, create_graph=True)
        total = total + ((v * grad).sum(1) + 0.5 * projected.square()).mean()
    return total / n_projections


def nce_loss(log_model: Callable[[Tensor], Tensor], log_noise: Callable[[Tensor], Tensor], x_data: Tensor,
             x_noise: Tensor) -> Tensor:
    """Noise-contrastive estimation's logistic loss, per data point: -[sum log s(G(x)) + sum log s(-G(y))] / N.

    log_model: the *normalized-by-c* model, -E(u) - c. log_noise: log p_n(u). x_data (N, ...), x_noise (M, ...):
    nu = M / N noise samples per data point. Minimised (in E and c) at p_theta = p_data when the model can
    represent it, whatever nu; larger nu, lower variance.
    """
    nu = len(x_noise) / len(x_data)
    def logit(u: Tensor) -> Tensor:
        return log_model(u) - log_noise(u) - math.log(nu)
    return -(F.logsigmoid(logit(x_data)).sum() + F.logsigmoid(-logit(x_noise)).sum()) / len(x_data)


__all__ = ["score_of", "score_matching_loss", "denoising_score_matching_loss", "sliced_score_matching_loss",
           "nce_loss"]
