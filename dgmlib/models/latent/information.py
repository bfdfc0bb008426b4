"""Week 3: the rate of a VAE split into information and prior mismatch (Alemi et al., 2018).

Average the rate R(x) = KL(q(z|x) || p(z)) over a data set {x_1..x_N} (the empirical p(x)) and bring in
the *aggregate posterior* q(z) = (1/N) sum_n q(z | x_n), the distribution of codes the encoder actually uses:

    E_x[R(x)] = E_x E_{q(z|x)}[log q(z|x) - log p(z)]
              = E_x E_{q(z|x)}[log q(z|x) - log q(z)]  +  E_{q(z)}[log q(z) - log p(z)]
              =          I_q(x; z)                     +       KL(q(z) || p(z))

I_q(x; z) is the mutual information between the index of the image and its code under the encoder
(0 <= I_q <= log N); KL(q(z) || p(z)) is what the rate spends because the codes do not fill the prior.
Both are estimated by Monte Carlo over z ~ q(z|x_n), with log q(z) computed exactly as a log-mean-exp
over the N Gaussians; the rate itself has a closed form, which checks the two estimates.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ...nn.functional import diagonal_gaussian_log_prob, gaussian_kl


class RateTerms(NamedTuple):
    rate: float  # E_x[KL(q(z|x) || p(z))], closed form (nats)
    mutual_information: float  # I_q(x; z), Monte Carlo (nats)
    marginal_kl: float  # KL(q(z) || p(z)), Monte Carlo (nats)
    standard_error: float  # of the Monte Carlo sum I_q + KL(q(z) || p(z)) around the exact rate


@torch.no_grad()
def rate_decomposition(mu: Tensor, logvar: Tensor, n_samples: int = 10,
                       generator: torch.Generator | None = None) -> RateTerms:
    """Split the mean rate of N diagonal-Gaussian encodings into I_q(x; z) + KL(q(z) || p(z)).

    mu, logvar: (N, L), the encoder's q(z | x_n) for N data points; p(z) = N(0, I).
    Costs n_samples * N^2 * L operations (q(z) is a mixture of all N Gaussians).
    """
    if mu.dim() != 2 or mu.shape != logvar.shape or len(mu) < 2:
        raise ValueError(f"mu and logvar must both be (N, L) with N >= 2 encodings, got {tuple(mu.shape)} "
                         f"and {tuple(logvar.shape)}")
    n = len(mu)
    eps = torch.randn(n_samples, *mu.shape, dtype=mu.dtype, device=mu.device, generator=generator)
    z = mu + torch.exp(0.5 * logvar) * eps  # (S, N, L): z ~ q(z | x_n)
    log_q_given_x = diagonal_gaussian_log_prob(z, mu, logvar)  # (S, N)
    # log q(z) = log (1/N) sum_m q(z | x_m): every code against every encoding, one row at a time (memory)
    log_q = torch.stack([torch.logsumexp(diagonal_gaussian_log_prob(z_s[:, None], mu, logvar), dim=1)
                         for z_s in z]) - math.log(n)  # (S, N)
    log_p = diagonal_gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
    information = log_q_given_x - log_q
    mismatch = log_q - log_p
    rate = gaussian_kl(mu, logvar)  # (N,)
    # per data point: its S-sample Monte Carlo rate minus its exact rate; their mean is 0 in expectation
    error = (information + mismatch).mean(0) - rate
    return RateTerms(rate.mean().item(), information.mean().item(), mismatch.mean().item(),
                     (error.std() / math.sqrt(n)).item())
