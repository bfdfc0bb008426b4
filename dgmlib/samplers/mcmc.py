"""Markov chain Monte Carlo: a first look (week 1), the ground that weeks 7-8 build on.

A Markov chain whose transition leaves the target p invariant, and that can reach every region of it,
visits states with frequencies that converge to p. Two such transitions:

* :func:`metropolis_hastings`: propose x' = x + step_size * eps, eps ~ N(0, I), and accept it with
  probability min(1, p(x') / p(x)) (the Gaussian proposal is symmetric, so its densities cancel).
  Only a ratio of densities enters, so ``log_prob`` may be unnormalised.
* :func:`gibbs`: replace one coordinate at a time by a draw from its conditional given the others;
  every such move is accepted.

Both run C independent chains at once, x: (C, D). Successive states are correlated, so n draws
carry less information than n independent ones: :func:`effective_sample_size` says how much less.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch
from torch import Tensor


class MCMCResult(NamedTuple):
    """The states of C chains after each step, and how often each chain moved."""

    samples: Tensor  # (n_steps, C, D): samples[t] is the state after step t + 1 (the start is not included)
    accept_rate: Tensor  # (C,) fraction of accepted proposals per chain (all ones for Gibbs)


def _check_start(x0: Tensor, n_steps: int) -> None:
    if not isinstance(x0, Tensor) or x0.dim() != 2 or x0.shape[0] == 0 or x0.shape[1] == 0:
        shape = tuple(x0.shape) if isinstance(x0, Tensor) else type(x0).__name__
        raise ValueError(f"x0 must be a tensor (chains, dims) with at least one of each, got {shape}; "
                         "for a single chain pass x0[None]")
    if not x0.is_floating_point():
        raise ValueError(f"x0 must be a floating-point tensor, got {x0.dtype}; convert it with x0.float()")
    if not torch.isfinite(x0).all():
        raise ValueError("x0 has non-finite entries; start every chain at a finite point")
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")


@torch.no_grad()
def metropolis_hastings(log_prob: Callable[[Tensor], Tensor], x0: Tensor, n_steps: int, step_size: float,
                        generator: torch.Generator | None = None) -> MCMCResult:
    """Random-walk Metropolis-Hastings.

    log_prob: x (C, D) -> (C,) log p(x) up to an additive constant (-inf outside the support).
    x0: (C, D) starting points, one per chain, where log p is finite.
    step_size: standard deviation of the Gaussian proposal; aim for an acceptance rate of
    roughly 0.2-0.5 (too small: the chain crawls; too large: it rarely moves).
    """
    _check_start(x0, n_steps)
    if not step_size > 0 or not math.isfinite(step_size):
        raise ValueError(f"step_size must be a positive number, got {step_size!r}")
    x = x0.clone()
    log_p = log_prob(x)
    if log_p.shape != (len(x),):
        raise ValueError(f"log_prob must map x (C, D) to (C,) values, got shape {tuple(log_p.shape)} for "
                         f"x of shape {tuple(x.shape)}")
    if not torch.isfinite(log_p).all():
        raise ValueError("log_prob(x0) is not finite for every chain: start each chain where p(x0) > 0")
    samples = x.new_empty(n_steps, *x.shape)
    accepted = torch.zeros(len(x), device=x.device)
    for t in range(n_steps):
        proposal = x + step_size * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        log_p_proposal = log_prob(proposal)
        # accept with probability min(1, p(x') / p(x)), compared in logs; nan (0/0 far out) counts as a rejection
        log_u = torch.rand(len(x), generator=generator, dtype=x.dtype, device=x.device).log()
        accept = log_u < log_p_proposal - log_p
        x = torch.where(accept[:, None], proposal, x)
        log_p = torch.where(accept, log_p_proposal, log_p)
        accepted += accept
        samples[t] = x
    return MCMCResult(samples, accepted / n_steps)


@torch.no_grad()
def gibbs(conditionals: Sequence[Callable[[Tensor, torch.Generator | None], Tensor]], x0: Tensor, n_steps: int,
          generator: torch.Generator | None = None) -> MCMCResult:
    """Systematic-scan Gibbs sampling: each step updates coordinate 0, then 1, ..., then D - 1.

    conditionals[i](x, generator) -> (C,) draws of x_i from p(x_i | x_{-i}) for the current states
    x (C, D) (coordinate i of x is the old value, which the conditional must ignore).
    One function per coordinate of x0: (C, D). samples[t] is the state after the t-th full sweep.
    """
    _check_start(x0, n_steps)
    if len(conditionals) != x0.shape[1]:
        raise ValueError(f"need one conditional per coordinate: got {len(conditionals)} for x0 with "
                         f"{x0.shape[1]} coordinates")
    x = x0.clone()
    samples = x.new_empty(n_steps, *x.shape)
    for t in range(n_steps):
        for i, conditional in enumerate(conditionals):
            new = conditional(x, generator)
            if new.shape != (len(x),):
                raise ValueError(f"conditionals[{i}] must return ({len(x)},) draws, got {tuple(new.shape)}")
            x[:, i] = new
        samples[t] = x
    return MCMCResult(samples, torch.ones(len(x), device=x.device))


def effective_sample_size(chain: Tensor) -> Tensor:
    """Effective sample size of a correlated chain, per coordinate.

    chain: (T,) or (T, D) successive states of one chain (for several chains, call it per chain).
    Returns () or (D,): T / (1 + 2 sum_k rho_k), with the autocorrelations rho_k summed in pairs
    (rho_{2m} + rho_{2m+1}) while a pair is positive (Geyer's initial positive sequence), since
    far lags are noise. The variance of the chain's mean is about Var[x] / ESS.
    """
    if chain.dim() not in (1, 2) or len(chain) < 4:
        raise ValueError(f"chain must have shape (T,) or (T, D) with T >= 4 steps, got {tuple(chain.shape)}")
    x = chain.double()
    squeeze = x.dim() == 1
    x = x[:, None] if squeeze else x
    T = len(x)
    x = x - x.mean(0)
    # autocovariances at every lag at once, by FFT with zero padding (no wrap-around)
    spectrum = torch.fft.rfft(x, n=2 * T, dim=0)
    autocov = torch.fft.irfft(spectrum * spectrum.conj(), n=2 * T, dim=0)[:T] / T
    if (autocov[0] <= 0).any():
        raise ValueError("a coordinate of the chain never changes: its effective sample size is undefined")
    rho = autocov / autocov[0]
    pairs = rho[: T - T % 2].view(T // 2, 2, -1).sum(1)  # (T // 2, D): rho_0 + rho_1, rho_2 + rho_3, ...
    positive = (pairs > 0).long().cumprod(0)  # keep pairs up to the first non-positive one
    tau = -1.0 + 2.0 * (pairs * positive).sum(0)  # 1 + 2 sum_{k>=1} rho_k, since rho_0 = 1
    ess = T / tau.clamp_min(1.0 / T)
    return (ess[0] if squeeze else ess).to(chain.dtype if chain.is_floating_point() else torch.float64)


__all__ = ["MCMCResult", "effective_sample_size", "gibbs", "metropolis_hastings"]
