"""Numerics that several families share, each written once in its stable form.

* :func:`bernoulli_log_prob`: log Bernoulli(x; sigmoid(logits)), exact for infinite logits.
* :func:`logit`: the inverse of the sigmoid, +-inf at 0 and 1.
* :func:`gaussian_kl`: KL(N(mu, diag sigma^2) || N(0, I)) in closed form.
* :func:`diagonal_gaussian_log_prob`: log N(z; mu, diag sigma^2).
* :func:`log_mean_exp`: log of the mean of exponentials, with logsumexp.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

_LOG_2PI = math.log(2 * math.pi)


def check_binary(x: Tensor) -> None:
    """Raise the one error every Bernoulli model gives for inputs outside {0, 1} (NaN included)."""
    if ((x != 0) & (x != 1)).any():
        raise ValueError("Bernoulli models need binary inputs in {0, 1}; binarize first, "
                         "e.g. (x > 0.5).float()")


def bernoulli_log_prob(logits: Tensor, x: Tensor) -> Tensor:
    """Elementwise log Bernoulli(x; sigmoid(logits)) for x in {0, 1}, same shape as x.

    log sigmoid(l) if x = 1 and log sigmoid(-l) if x = 0: stable for large |l|,
    and exact (0 or -inf) for the infinite logits of an unsmoothed MLE, where
    the cross-entropy formula would give NaN. x is checked for binary values on the CPU,
    where that costs nothing (on an accelerator the check would wait for the device).
    """
    if x.device.type == "cpu":
        check_binary(x)
    return torch.where(x == 1, F.logsigmoid(logits), F.logsigmoid(-logits))


def logit(p: Tensor) -> Tensor:
    """log p - log(1 - p), elementwise; -inf at p = 0 and +inf at p = 1."""
    return torch.log(p) - torch.log1p(-p)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) summed over the last dimension.

    = 0.5 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1).  mu, logvar: (..., L) -> (...).
    """
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(-1)


def diagonal_gaussian_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension: (..., L) -> (...)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)


def log_mean_exp(x: Tensor, dim: int = 0) -> Tensor:
    """log (1/K) sum_k exp(x_k) along ``dim`` (of size K), stably with logsumexp."""
    return torch.logsumexp(x, dim=dim) - math.log(x.shape[dim])


__all__ = ["check_binary", "bernoulli_log_prob", "logit", "gaussian_kl", "diagonal_gaussian_log_prob",
           "log_mean_exp"]
