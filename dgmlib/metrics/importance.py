"""Importance-sampled log-likelihood of a latent-variable model, for any proposal.

    p(x) = E_{z ~ q}[p(x, z) / q(z)]
    log p(x) ~= log (1/K) sum_k p(x, z_k) / q(z_k),   z_k ~ q     (K samples)

The estimate of p(x) is unbiased; its log is biased low (Jensen), by about Var[w] / (2 K E[w]^2),
so it climbs towards log p(x) as K grows and is exact for every K when q is the posterior
p(z | x) (then every weight equals p(x)). A VAE uses its encoder q(z | x) as the proposal
(Burda et al. 2016, K = 5000); PPCA can use its exact posterior, or any Gaussian, as the tests do.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.distributions import Distribution

from ..nn.functional import log_mean_exp


@torch.no_grad()
def importance_log_likelihood(log_joint: Callable[[Tensor], Tensor], proposal: Distribution, k: int,
                              chunk: int | None = None) -> Tensor:
    """log (1/K) sum_k p(x, z_k) / q(z_k) for z_k ~ ``proposal``: (B,) in nats.

    log_joint: z (K', B, L) -> log p(x, z) (K', B), for the batch x it closes over.
    proposal: q with batch_shape (B,) and event_shape (L,), e.g. ``Independent(Normal(mu, sigma), 1)``.
    k: number of samples per example; chunk: how many are drawn at a time (memory; default all).
    The K log weights are combined by one logsumexp, so the result does not depend on ``chunk``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (the number of importance samples) must be a positive integer, got {k!r}")
    chunk = k if chunk is None else chunk
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    if len(proposal.batch_shape) != 1:
        raise ValueError(f"the proposal must have batch_shape (B,) (one q per example), got "
                         f"{tuple(proposal.batch_shape)}")
    log_w = []
    for start in range(0, k, chunk):
        z = proposal.sample((min(chunk, k - start),))  # (k', B, L)
        log_w.append(log_joint(z) - proposal.log_prob(z))
    return log_mean_exp(torch.cat(log_w), dim=0)


__all__ = ["importance_log_likelihood"]
