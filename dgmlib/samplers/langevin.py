"""Langevin dynamics (week 7): sampling p(x) = exp(-E(x)) / Z with the gradient of the energy.

Unadjusted Langevin (ULA) discretises the diffusion dx = -grad E(x) dt + sqrt(2) dW with step eps:

    x' = x - eps * grad E(x) + sqrt(2 eps) * noise_scale * xi,      xi ~ N(0, I)

With noise_scale = 1 its stationary distribution approaches p as eps -> 0; a finite eps biases it
(for a Gaussian the chain's variance comes out too large, the more so the larger eps; hw6 derives by how
much). The
Metropolis-adjusted version (MALA) treats x' as a proposal and accepts it with probability

    min(1, p(x') q(x | x') / (p(x) q(x' | x))),   q(x' | x) = N(x'; x - eps grad E(x), 2 eps I)

which removes the bias: p is exactly invariant for any eps. EBM training (Du & Mordatch 2019) uses
ULA with noise_scale < 1 and few steps: a sampler tuned for speed, not exactness, whose chains
persist in a replay buffer between updates (:class:`ReplayBuffer`).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch import Tensor

Energy = Callable[[Tensor], Tensor]  # x (C, ...) -> (C,)


class LangevinResult(NamedTuple):
    """The final states (C, ...) and each chain's acceptance rate (C,) (all ones without the Metropolis step)."""

    x: Tensor
    accept_rate: Tensor


def energy_and_grad(energy: Energy, x: Tensor) -> tuple[Tensor, Tensor]:
    """E(x) (C,) and grad_x E(x) (C, ...), without touching any parameter's .grad."""
    with torch.enable_grad():
        x = x.detach().requires_grad_()
        e = energy(x)
        if e.shape != x.shape[:1]:
            raise ValueError(f"the energy must map x (C, ...) to (C,) values, got shape {tuple(e.shape)} for "
                             f"x of shape {tuple(x.shape)}")
        (grad,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), grad


def langevin(energy: Energy, x0: Tensor, n_steps: int, step_size: float, *, noise_scale: float = 1.0,
             metropolis: bool = False, clamp: tuple[float, float] | None = None,
             generator: torch.Generator | None = None) -> LangevinResult:
    """Run C Langevin chains from x0 (C, ...) for n_steps on exp(-energy); see the module docstring.

    step_size: eps > 0. noise_scale: 1 for the correct diffusion; < 1 for the "SGLD" of EBM training.
    metropolis: accept or reject each move (MALA; needs noise_scale = 1 and no clamp, or p is not invariant).
    clamp: keep states in [low, high] after each step (images), for the unadjusted sampler only.
    """
    if not isinstance(x0, Tensor) or x0.dim() < 2 or not x0.is_floating_point() or not torch.isfinite(x0).all():
        raise ValueError("x0 must be a finite floating-point tensor (chains, ...); for one chain pass x0[None]")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    if not step_size > 0 or not math.isfinite(step_size):
        raise ValueError(f"step_size must be a positive number, got {step_size!r}")
    if metropolis and (noise_scale != 1.0 or clamp is not None):
        raise ValueError("the Metropolis correction targets exp(-E) only with noise_scale=1 and no clamp")
    x = x0.detach().clone()
    e, grad = energy_and_grad(energy, x)
    accepted = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    dims = tuple(range(1, x.dim()))
    for _ in range(n_steps):
        noise = torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)
        proposal = x - step_size * grad + math.sqrt(2 * step_size) * noise_scale * noise
        if clamp is not None:
            proposal = proposal.clamp(*clamp)
        e_new, grad_new = energy_and_grad(energy, proposal)
        if not metropolis:
            x, e, grad = proposal, e_new, grad_new
            accepted += 1
            continue
        # log q(x | x') - log q(x' | x) with q(b | a) = N(b; a - eps grad E(a), 2 eps I)
        forward = (proposal - x + step_size * grad).square().sum(dims)
        backward = (x - proposal + step_size * grad_new).square().sum(dims)
        log_ratio = (e - e_new) + (forward - backward) / (4 * step_size)
        u = torch.rand(len(x), dtype=x.dtype, device=x.device, generator=generator)
        accept = torch.log(u) < torch.nan_to_num(log_ratio, nan=-math.inf)
        shape = (-1,) + (1,) * (x.dim() - 1)
        x = torch.where(accept.view(shape), proposal, x)
        e = torch.where(accept, e_new, e)
        grad = torch.where(accept.view(shape), grad_new, grad)
        accepted += accept.to(x.dtype)
    return LangevinResult(x.detach(), accepted / max(n_steps, 1))


class ReplayBuffer:
    """Persistent chains for EBM training (Du & Mordatch 2019): start most chains where earlier ones stopped.

    ``sample(n)`` returns n starting points: each is, with probability ``reinit``, fresh noise from
    ``init(k)``, and otherwise a random state from the buffer (fresh noise while the buffer is empty);
    ``push(x)`` stores the chains' end states, keeping the newest ``capacity``.
    """

    def __init__(self, init: Callable[[int], Tensor], capacity: int = 10_000, reinit: float = 0.05):
        if capacity < 1 or not 0 <= reinit <= 1:
            raise ValueError(f"capacity must be >= 1 and reinit in [0, 1], got {capacity} and {reinit}")
        self.init, self.capacity, self.reinit = init, int(capacity), float(reinit)
        self.states: Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.states is None else len(self.states)

    def sample(self, n: int) -> Tensor:
        fresh = self.init(n)
        if self.states is None:
            return fresh
        pick = torch.randint(len(self.states), (n,), device=self.states.device)
        keep = torch.rand(n, device=fresh.device) >= self.reinit
        shape = (-1,) + (1,) * (fresh.dim() - 1)
        return torch.where(keep.view(shape), self.states[pick].to(fresh.device), fresh)

    def push(self, x: Tensor) -> None:
        x = x.detach()
        self.states = (x if self.states is None else torch.cat([x, self.states]))[:self.capacity]


__all__ = ["LangevinResult", "energy_and_grad", "langevin", "ReplayBuffer"]
