"""Planar and radial flows (Rezende & Mohamed, 2015): cheap log-determinants, no analytic inverse.

    planar:  f(z) = z + u h(w.z + b),                log|det| = log|1 + u.psi(z)|,  psi = h'(w.z + b) w
    radial:  f(z) = z + beta h(alpha, r)(z - z0),    h = 1 / (alpha + r),  r = |z - z0|
             log|det| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h'(r) r)

Both are written noise -> data (the direction they were made for: variational inference, where one
needs the density of the flow's own samples). A planar map with h = tanh is invertible iff
w.u >= -1, enforced by replacing u with u_hat = u + (m(w.u) - w.u) w / |w|^2, m(a) = -1 + softplus(a);
a radial map iff beta >= -alpha, enforced by beta = -alpha + softplus(beta_raw).
The planar inverse has no closed form (w.z solves a scalar equation numerically): ``inverse``
raises, and a :class:`~dgmlib.models.flows.base.Flow` uses planar layers through
``InverseTransform(PlanarFlow(...))``, sampling in closed form and fitted by reverse KL.
The radial inverse does have one: along the ray from z0 the radius solves a quadratic.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Transform


class PlanarFlow(Transform):
    """One planar layer on vectors z: (B, d) -> (B, d)."""

    has_inverse = False

    def __init__(self, dim: int, init_scale: float = 0.5):
        super().__init__()
        self.w = nn.Parameter(init_scale * torch.randn(dim))
        self.u = nn.Parameter(init_scale * torch.randn(dim))
        self.b = nn.Parameter(torch.zeros(()))

    @property
    def u_hat(self) -> Tensor:
        """u changed along w just enough that w.u_hat >= -1 (so the map is invertible)."""
        wu = self.w @ self.u
        return self.u + (-1 + F.softplus(wu) - wu) * self.w / (self.w @ self.w).clamp_min(1e-12)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        u = self.u_hat
        a = z @ self.w + self.b  # (B,)
        out = z + u * torch.tanh(a)[:, None]
        psi = (1 - torch.tanh(a) ** 2)[:, None] * self.w  # h'(a) w: (B, d)
        return out, torch.log((1 + psi @ u).abs())

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError("a planar flow has no analytic inverse: x = z + u tanh(w.z + b) can only be "
                                  "solved for z numerically (a 1-D root along w); use it in the sampling "
                                  "direction, e.g. Flow(InverseTransform(PlanarFlow(d)), ...)")


class RadialFlow(Transform):
    """One radial layer on vectors z: (B, d) -> (B, d): contracts or expands around a centre z0."""

    def __init__(self, dim: int):
        super().__init__()
        self.z0 = nn.Parameter(torch.randn(dim))
        self.alpha_raw = nn.Parameter(torch.zeros(()))
        self.beta_raw = nn.Parameter(torch.zeros(()))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        d = z.shape[1]
        alpha = F.softplus(self.alpha_raw)
        beta = -alpha + F.softplus(self.beta_raw)  # beta >= -alpha: invertible
        diff = z - self.z0
        r = diff.norm(dim=1)
        h = 1 / (alpha + r)
        out = z + (beta * h)[:, None] * diff
        # d/dr [beta h r] = beta h + beta h'(r) r with h' = -h^2
        log_det = (d - 1) * torch.log1p(beta * h) + torch.log1p(beta * h - beta * h ** 2 * r)
        return out, log_det

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Along the ray from z0: |x - z0| = r (1 + beta / (alpha + r)), a quadratic in r >= 0."""
        alpha = F.softplus(self.alpha_raw)
        beta = -alpha + F.softplus(self.beta_raw)
        y = x - self.z0
        rho = y.norm(dim=1)
        # r^2 + (alpha + beta - rho) r - alpha rho = 0, the non-negative root
        c = alpha + beta - rho
        r = 0.5 * (-c + torch.sqrt(c ** 2 + 4 * alpha * rho))
        z = self.z0 + y * (r / rho.clamp_min(1e-30))[:, None]
        return z, -self.forward(z)[1]
