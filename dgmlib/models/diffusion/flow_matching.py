"""Flow matching with straight paths (rectified flow; Lipman et al. 2023, Liu et al. 2023): a velocity field
trained by regression, sampled by an ODE, with an exact log-likelihood by week 4's change of variables.

    x_t = (1 - t) x_0 + t eps,   eps ~ N(0, I),   t ~ U[0, 1]      (t = 0: data, t = 1: noise)
    loss  = E |v_theta(x_t, t) - (eps - x_0)|^2                      (regress the path's velocity)
    sample: integrate dx/dt = v_theta from t = 1 (noise) to t = 0
    log p(x_0) = log N(x_1; 0, I) + int_0^1 div v_theta(x_t, t) dt    (:func:`dgmlib.samplers.ode.ode_log_likelihood`)

The minimiser is the conditional expectation E[eps - x_0 | x_t], whose ODE carries N(0, I) to the data
distribution exactly. For 8-bit images the density lives on [-1, 1]^D and is dequantized (uniform noise in
each bin), so the reported log-likelihood bounds the discrete one, as for week 4's flows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.distributions import constraints

from ...samplers.ode import ode_log_likelihood, odeint
from ..base import GenerativeModel
from ..registry import gaussian_example, register


@dataclass
class FlowMatchingConfig:
    levels: int | None = 256  # 8-bit data, dequantized uniformly; None: real-valued data
    sample_steps: int = 100  # ODE steps of ``sample`` (Heun: two network passes each)
    likelihood_steps: int = 100  # RK4 steps of ``log_prob``
    hutchinson: bool = True  # estimate the divergence (images); False: exact, D passes per step (2-D)
    time_scale: float = 1000.0  # t in [0, 1] enters the network as t * time_scale (as DDPM's 1..T)


class FlowMatching(GenerativeModel):
    """Rectified flow around a velocity network ``network(x_t, t * time_scale, y) -> v``: x (B, *event_shape)."""

    log_prob_kind = "estimate"

    def __init__(self, event_shape: Sequence[int], network: nn.Module, config: FlowMatchingConfig | None = None):
        super().__init__(event_shape)
        self.config = c = config or FlowMatchingConfig()
        self.network = network
        # "estimate": the ODE's discretisation (and Hutchinson's noise, if used) makes log_prob approximate
        self.support = constraints.real if c.levels is None else constraints.integer_interval(0, c.levels - 1)

    def velocity(self, x: Tensor, t: Tensor) -> Tensor:
        """v_theta(x, t): x (B, ...), t (B,) in [0, 1]."""
        return self.network(x, t.to(x.dtype) * self.config.time_scale, None)

    def _to_model(self, x: Tensor, dequantize: bool) -> Tensor:
        levels = self.config.levels
        if levels is None:
            return x
        u = torch.rand_like(x) if dequantize else torch.full_like(x, 0.5)
        return (x + u) / levels * 2 - 1  # each value's bin, scaled to [-1, 1]

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Mean over batch and dimensions of |v_theta(x_t, t) - (eps - x_0)|^2."""
        self.check_input(x)
        self.check_labels(y, len(x), x.device)
        x0 = self._to_model(x, dequantize=True)
        eps = torch.randn_like(x0)
        t = torch.rand(len(x0), device=x0.device, dtype=x0.dtype)
        tt = t.view(-1, *([1] * (x0.dim() - 1)))
        return (self.velocity((1 - tt) * x0 + tt * eps, t) - (eps - x0)).square().mean()

    def _log_prob(self, x: Tensor) -> Tensor:
        c = self.config
        x0 = self._to_model(x, dequantize=True)
        dims = tuple(range(1, x0.dim()))

        def base(z: Tensor) -> Tensor:
            return (-0.5 * z.square() - 0.5 * math.log(2 * math.pi)).sum(dims)

        log_density = ode_log_likelihood(self.velocity, x0, base, steps=c.likelihood_steps, method="rk4",
                                         hutchinson=c.hutchinson)
        if c.levels is None:
            return log_density
        # the density on [-1, 1]^D in the discrete values' units: each bin has width 2 / levels
        return log_density + self.num_dims * math.log(2 / c.levels)

    def _sample(self, n: int, steps: int | None = None, method: str = "heun") -> Tensor:
        z = torch.randn(n, *self.event_shape, device=self.device, dtype=self.dtype)
        x = odeint(self.velocity, z, 1.0, 0.0, self.config.sample_steps if steps is None else steps, method)
        levels = self.config.levels
        return x if levels is None else torch.floor((x.clamp(-1, 1 - 1e-6) + 1) / 2 * levels)


__all__ = ["FlowMatchingConfig", "FlowMatching"]


def _tiny_flow_matching():
    from ...nn.time_conditioned import TimeMLP
    return FlowMatching((2,), TimeMLP(2, 16, 2), FlowMatchingConfig(levels=None, sample_steps=4, likelihood_steps=4,
                                                                    hutchinson=False))


register("flow_matching", build=_tiny_flow_matching, example=gaussian_example((2,)))
