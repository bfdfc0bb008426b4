"""ODE integration for probability-flow and flow-matching models (week 8), with the log-density along the path.

For dx/dt = v(x, t), the instantaneous change of variables (Chen et al. 2018) gives

    d/dt log p_t(x_t) = -div_x v(x_t, t)    so    log p_0(x_0) = log p_1(x_1) + int_0^1 div v(x_t, t) dt

with x_1 the ODE's solution from x_0. The divergence is exact (D backward passes: 2-D toys) or
Hutchinson's unbiased estimate E_eps[eps^T (dv/dx) eps] with Rademacher eps (one pass: images).
Fixed-step Euler, Heun and RK4 keep the cost predictable (number of steps = network evaluations / 1, 2, 4).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Velocity = Callable[[Tensor, Tensor], Tensor]  # (x (B, ...), t (B,)) -> (B, ...)
METHODS = ("euler", "heun", "rk4")


def _check(method: str, steps: int) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")


def _step(f: Callable[[Tensor, float], Tensor], x: Tensor, t: float, h: float, method: str) -> Tensor:
    if method == "euler":
        return x + h * f(x, t)
    if method == "heun":
        k1 = f(x, t)
        k2 = f(x + h * k1, t + h)
        return x + h / 2 * (k1 + k2)
    k1 = f(x, t)
    k2 = f(x + h / 2 * k1, t + h / 2)
    k3 = f(x + h / 2 * k2, t + h / 2)
    k4 = f(x + h * k3, t + h)
    return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


@torch.no_grad()
def odeint(velocity: Velocity, x: Tensor, t0: float, t1: float, steps: int = 100, method: str = "heun") -> Tensor:
    """Integrate dx/dt = velocity(x, t) from t0 to t1 (either direction) in ``steps`` fixed steps: x (B, ...)."""
    _check(method, steps)
    h = (t1 - t0) / steps

    def f(z: Tensor, t: float) -> Tensor:
        return velocity(z, torch.full((len(z),), t, dtype=z.dtype, device=z.device))
    for i in range(steps):
        x = _step(f, x, t0 + i * h, h, method)
    return x


def divergence(velocity: Velocity, x: Tensor, t: Tensor, noise: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(v(x, t), div_x v(x, t)) per example: exact when ``noise`` is None (D passes), else eps^T (dv/dx) eps."""
    with torch.enable_grad():
        x = x.detach().requires_grad_()
        v = velocity(x, t)
        if noise is not None:
            (vjp,) = torch.autograd.grad((v * noise).sum(), x)
            return v.detach(), (vjp * noise).flatten(1).sum(1)
        flat_v, total = v.flatten(1), torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for i in range(flat_v.shape[1]):
            (grad,) = torch.autograd.grad(flat_v[:, i].sum(), x, retain_graph=i < flat_v.shape[1] - 1)
            total = total + grad.flatten(1)[:, i]
    return v.detach(), total


def ode_log_likelihood(velocity: Velocity, x0: Tensor, base_log_prob: Callable[[Tensor], Tensor], *,
                       t0: float = 0.0, t1: float = 1.0, steps: int = 100, method: str = "rk4",
                       hutchinson: bool = False, generator: torch.Generator | None = None) -> Tensor:
    """log p_{t0}(x0) = base_log_prob(x_{t1}) + int div v dt along the ODE from x0: (B,) in nats.

    hutchinson: estimate each divergence with one Rademacher vector (fixed along the path, as in FFJORD),
    unbiased and one backward pass; otherwise exact, with one backward pass per dimension.
    """
    _check(method, steps)
    noise = None
    if hutchinson:
        noise = torch.randint(0, 2, x0.shape, generator=generator).to(x0) * 2 - 1
    h = (t1 - t0) / steps

    def f(state: tuple[Tensor, Tensor], t: float) -> tuple[Tensor, Tensor]:
        x, _ = state
        v, div = divergence(velocity, x, torch.full((len(x),), t, dtype=x.dtype, device=x.device), noise)
        return v, div

    x, integral = x0.detach(), torch.zeros(len(x0), dtype=x0.dtype, device=x0.device)
    for i in range(steps):  # the same Runge-Kutta step on the pair (x, integral of div v)
        t = t0 + i * h
        if method == "euler":
            v, d = f((x, integral), t)
            x, integral = x + h * v, integral + h * d
        elif method == "heun":
            v1, d1 = f((x, integral), t)
            v2, d2 = f((x + h * v1, integral), t + h)
            x, integral = x + h / 2 * (v1 + v2), integral + h / 2 * (d1 + d2)
        else:
            v1, d1 = f((x, integral), t)
            v2, d2 = f((x + h / 2 * v1, integral), t + h / 2)
            v3, d3 = f((x + h / 2 * v2, integral), t + h / 2)
            v4, d4 = f((x + h * v3, integral), t + h)
            x = x + h / 6 * (v1 + 2 * v2 + 2 * v3 + v4)
            integral = integral + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
    with torch.no_grad():
        return base_log_prob(x) + integral


__all__ = ["METHODS", "odeint", "divergence", "ode_log_likelihood"]
