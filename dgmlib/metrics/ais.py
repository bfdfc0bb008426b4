"""Annealed importance sampling (Neal 2001): log Z of an unnormalized density, and log p(x) of a decoder.

To estimate Z = integral f(z) dz, walk from a normalized p_0 to f through the geometric path

    f_t(z) = p_0(z)^(1 - b_t) f(z)^b_t,      0 = b_0 < b_1 < ... < b_T = 1,

starting z ~ p_0 and, for t = 1..T,

    log w += (b_t - b_{t-1}) (log f(z) - log p_0(z))     at the current z, *before* the move
    z      ~ T_t(z, .)                                   any kernel that leaves f_t invariant

Then E[w] = Z exactly, for any T and any such kernels (each chain is an importance sample on an
extended space), and log mean_chains w is a stochastic lower bound on log Z whose gap shrinks
as T grows. T = 1 with no move is plain importance sampling from p_0. Any other path from p_0 to f
works the same way, with log w += log f_t(z) - log f_{t-1}(z) (an RBM anneals its weights instead,
Salakhutdinov & Murray 2008, so that every f_t is again an RBM with exact Gibbs moves).

Decoder-based models (Wu et al. 2017): with p_0 = p(z) and f(z) = p(z) p(x | z), Z = p(x), so
the same procedure estimates a VAE's (or PPCA's) log-likelihood without using the encoder; its
transitions are Hamiltonian Monte Carlo in z, as in their paper.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor
from torch.distributions import Distribution

from ..nn.functional import log_mean_exp
from ..nn.state import eval_mode

LogDensity = Callable[[Tensor], Tensor]
Transition = Callable[[Tensor, LogDensity, float], Tensor]  # (z, log f_t, b_t) -> z, leaving f_t invariant
Path = Callable[[Tensor, float], Tensor]  # (z, b) -> log f_b(z): log p_0 at b = 0, log f at b = 1


@dataclass
class AISResult:
    """The final log weights of every chain and what the sampler saw on the way.

    log_weights: (n_chains, *batch); acceptance: the mean Metropolis acceptance rate of the moves
    (nan for a custom transition); step_size: the final HMC step size, (*batch) (None if no HMC).
    """

    log_weights: Tensor
    acceptance: float
    step_size: Tensor | None = None

    @property
    def log_normalizer(self) -> Tensor:
        """The estimate log (1/n) sum_chains w: (*batch). Its exp is unbiased for Z."""
        return log_mean_exp(self.log_weights, dim=0)

    @property
    def effective_sample_size(self) -> Tensor:
        """(sum w)^2 / sum w^2 over chains, (*batch): n when all weights are equal, 1 when one dominates."""
        return torch.exp(2 * torch.logsumexp(self.log_weights, 0) - torch.logsumexp(2 * self.log_weights, 0))

    @property
    def std_error(self) -> Tensor:
        """Delta-method standard error of ``log_normalizer`` over chains, (*batch): std(w) / (mean(w) sqrt(n))."""
        n = self.log_weights.shape[0]
        w = torch.exp(self.log_weights - self.log_weights.max(0).values)  # a common scale cancels
        return w.std(0) / (w.mean(0) * math.sqrt(n))


def sigmoid_schedule(steps: int, delta: float = 4.0, dtype: torch.dtype = torch.float64) -> Tensor:
    """b_0 = 0, ..., b_T = 1 spaced along a sigmoid (Grosse et al. 2015): (T + 1,).

    Denser near both ends, where the geometric path changes fastest; ``delta`` sets how much.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps (the number of temperatures) must be a positive integer, got {steps!r}")
    s = torch.sigmoid(torch.linspace(-delta, delta, steps + 1, dtype=dtype))
    return (s - s[0]) / (s[-1] - s[0])


def _check_schedule(betas: Tensor | int) -> Tensor:
    betas = sigmoid_schedule(betas) if isinstance(betas, int) else torch.as_tensor(betas, dtype=torch.float64)
    if betas.dim() != 1 or len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or (betas.diff() <= 0).any():
        raise ValueError("betas must increase strictly from 0 to 1 (e.g. sigmoid_schedule(500)), got "
                         f"{betas.tolist() if betas.numel() < 8 else tuple(betas.shape)}")
    return betas


def hmc_step(z: Tensor, log_density: LogDensity, step_size: Tensor, leapfrog_steps: int,
             generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """One Hamiltonian Monte Carlo move per chain, leaving ``log_density`` invariant.

    z: (..., L); step_size: broadcastable to z's leading shape (...). Returns the new z and the
    per-chain acceptance indicator (...,) as floats. Leapfrog with unit mass, then Metropolis on
    H(z, p) = -log f(z) + |p|^2 / 2.
    """
    def grad_log(q: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            q = q.detach().requires_grad_()
            value = log_density(q)
            (grad,) = torch.autograd.grad(value.sum(), q)
        return value.detach(), grad

    eps = step_size.unsqueeze(-1)
    p0 = torch.randn(z.shape, dtype=z.dtype, device=z.device, generator=generator)
    log_f0, grad = grad_log(z)
    q, p = z, p0 + 0.5 * eps * grad
    for i in range(leapfrog_steps):
        q = q + eps * p
        log_f, grad = grad_log(q)
        p = p + (eps if i < leapfrog_steps - 1 else 0.5 * eps) * grad
    log_accept = (log_f - log_f0) - 0.5 * (p.square().sum(-1) - p0.square().sum(-1))
    u = torch.rand(log_accept.shape, dtype=z.dtype, device=z.device, generator=generator)
    accept = torch.log(u) < torch.nan_to_num(log_accept, nan=-math.inf)  # a diverged proposal is rejected
    return torch.where(accept.unsqueeze(-1), q, z), accept.to(z.dtype)


@torch.no_grad()
def annealed_importance_sampling(log_target: LogDensity, initial: Distribution, betas: Tensor | int = 500, *,
                                 n_chains: int = 16, transition: Transition | None = None, path: Path | None = None,
                                 step_size: float = 0.1, leapfrog_steps: int = 10, adapt: bool = True,
                                 target_acceptance: float = 0.65,
                                 generator: torch.Generator | None = None) -> AISResult:
    """Estimate log Z of f = exp(log_target) by AIS from the normalized ``initial`` p_0.

    log_target: z (n_chains, *batch, L) -> log f(z) (n_chains, *batch), unnormalized, differentiable in z
    for the default HMC moves. initial: p_0 with batch_shape (*batch) and event_shape (L,), e.g. the
    prior p(z) expanded to the batch. betas: the schedule (T + 1,), or T for ``sigmoid_schedule(T)``.
    transition: ``(z, log_f_t, b_t) -> z``, a kernel that leaves exp(log_f_t) invariant (a Gibbs sweep
    for an RBM, say); default: HMC with ``leapfrog_steps`` and ``step_size``. path: ``(z, b) -> log f_b(z)``,
    the intermediate densities (default: the geometric path (1 - b) log p_0 + b log_target). adapt: scale each batch
    element's step size by 1.02 or 0.98 after every move, towards ``target_acceptance`` (Wu et al.
    2017); the step then depends on the chains' past, a small bias the tests bound; adapt=False
    keeps every move exactly f_t-invariant.
    Returns :class:`AISResult`; ``result.log_normalizer`` is the estimate of log Z, (*batch).
    """
    betas = _check_schedule(betas)
    if isinstance(n_chains, bool) or not isinstance(n_chains, int) or n_chains < 1:
        raise ValueError(f"n_chains must be a positive integer, got {n_chains!r}")
    if transition is None and (step_size <= 0 or leapfrog_steps < 1):
        raise ValueError(f"HMC needs step_size > 0 and leapfrog_steps >= 1, got {step_size} and {leapfrog_steps}")
    z = initial.sample((n_chains,))
    log_p0 = initial.log_prob
    log_w = torch.zeros(z.shape[:-1], dtype=z.dtype, device=z.device)
    steps = torch.full(z.shape[1:-1], float(step_size), dtype=z.dtype, device=z.device)
    accepted, moves = torch.zeros((), dtype=z.dtype, device=z.device), 0
    geometric = path is None
    if geometric:
        def path(q: Tensor, b: float) -> Tensor:
            return (1 - b) * log_p0(q) + b * log_target(q)
    for b_prev, b in zip(betas[:-1].tolist(), betas[1:].tolist()):
        # at the current z, before the move; on the geometric path log f_t - log f_{t-1} needs one evaluation
        log_w += ((b - b_prev) * (log_target(z) - log_p0(z)) if geometric else path(z, b) - path(z, b_prev))

        def log_f_t(q: Tensor, b: float = b) -> Tensor:
            return path(q, b)

        if transition is not None:
            z = transition(z, log_f_t, b)
            continue
        z, accept = hmc_step(z, log_f_t, steps, leapfrog_steps, generator)
        rate = accept.mean(0)  # per batch element, over its chains
        accepted, moves = accepted + rate.mean(), moves + 1
        if adapt:
            steps = torch.where(rate > target_acceptance, steps * 1.02, steps * 0.98)
    if not torch.isfinite(log_w).all():
        raise ValueError("AIS produced non-finite log weights: log_target or the initial density is -inf or NaN at "
                         "some chain's state; check that the initial distribution covers the target's support")
    return AISResult(log_w, accepted.item() / moves if moves else float("nan"),
                     None if transition is not None else steps)


def ais_log_likelihood(model, x: Tensor, betas: Tensor | int = 500, *, n_chains: int = 16,
                       **kwargs) -> AISResult:
    """log p(x) of a decoder-based model by AIS from the prior (Wu et al. 2017): ``.log_normalizer`` is (B,).

    model: anything with ``prior()`` (a distribution over z, event_shape (L,)) and
    ``log_joint(x, z)`` (z (..., B, L) -> (..., B)): the VAEs of week 3 and PPCA. The encoder is not
    used, so the estimate also checks a VAE's importance-sampled log p(x), which relies on it.
    Other keyword arguments go to :func:`annealed_importance_sampling`.
    """
    if not (hasattr(model, "prior") and hasattr(model, "log_joint")):
        raise TypeError(f"{type(model).__name__} has no prior() and log_joint(x, z): AIS from the prior needs a "
                        "latent-variable model (a VAE, PPCA)")
    if hasattr(model, "check_input"):
        model.check_input(x)
    prior = model.prior()
    initial = prior.expand(torch.Size([len(x)]))
    with eval_mode(model):
        # no parameter needs a gradient: HMC differentiates in z only
        flags = [p.requires_grad for p in model.parameters()]
        for p in model.parameters():
            p.requires_grad_(False)
        try:
            return annealed_importance_sampling(lambda z: model.log_joint(x, z), initial, betas, n_chains=n_chains,
                                                **kwargs)
        finally:
            for p, flag in zip(model.parameters(), flags):
                p.requires_grad_(flag)


__all__ = ["AISResult", "sigmoid_schedule", "hmc_step", "annealed_importance_sampling", "ais_log_likelihood"]
