"""Neural spline flows (Durkan et al., 2019): coupling layers whose elementwise map is a monotone
rational-quadratic spline, far more flexible than an affine map and still exactly invertible.

On [-B, B] the spline has K bins with knots (x_k, y_k) and positive derivatives d_k at the knots; in
bin k, with w = x_{k+1} - x_k, h = y_{k+1} - y_k, s = h / w and xi = (x - x_k) / w in [0, 1],

    y = y_k + h (s xi^2 + d_k xi (1 - xi)) / (s + (d_{k+1} + d_k - 2 s) xi (1 - xi))
    dy/dx = s^2 (d_{k+1} xi^2 + 2 s xi (1 - xi) + d_k (1 - xi)^2) / (s + (d_{k+1} + d_k - 2 s) xi (1 - xi))^2

and the inverse solves a quadratic in xi. Outside [-B, B] the map is the identity (derivative 1 at the
end knots, so it joins smoothly).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Transform
from .coupling import _Coupling, half_mask, mlp_conditioner

MIN_BIN, MIN_DERIVATIVE = 1e-3, 1e-3


def _knots(unnormalized: Tensor, bound: float) -> tuple[Tensor, Tensor]:
    """Bin sizes (..., K) summing to 2B, each at least MIN_BIN * 2B, and the K + 1 knot positions."""
    k = unnormalized.shape[-1]
    sizes = MIN_BIN + (1 - MIN_BIN * k) * torch.softmax(unnormalized, dim=-1)
    knots = F.pad(torch.cumsum(sizes, dim=-1), (1, 0))
    knots = 2 * bound * knots - bound
    knots = torch.cat([torch.full_like(knots[..., :1], -bound), knots[..., 1:-1],
                       torch.full_like(knots[..., :1], bound)], dim=-1)  # exact end points
    return knots[..., 1:] - knots[..., :-1], knots


def rational_quadratic_spline(x: Tensor, widths: Tensor, heights: Tensor, derivatives: Tensor,
                              inverse: bool = False, bound: float = 3.0) -> tuple[Tensor, Tensor]:
    """Apply the spline (or its inverse) elementwise: x (...,), parameters (..., K), (..., K), (..., K - 1).

    Returns (y, log|dy/dx|) (or (x, log|dx/dy|) when ``inverse``), both shaped like x.
    """
    inside = (x >= -bound) & (x <= bound)
    out, log_det = x.clone(), torch.zeros_like(x)
    if not inside.any():
        return out, log_det
    xin = x[inside]
    w, xk = _knots(widths[inside], bound)
    h, yk = _knots(heights[inside], bound)
    # derivative 1 at the two end knots, so the linear tails join smoothly
    one = math.log(math.expm1(1 - MIN_DERIVATIVE))
    d = MIN_DERIVATIVE + F.softplus(F.pad(derivatives[inside], (1, 1), value=one))
    grid = yk if inverse else xk
    k = (torch.searchsorted(grid[..., 1:-1].contiguous(), xin[..., None], right=True)).squeeze(-1)
    pick = lambda t: t.gather(-1, k[..., None]).squeeze(-1)  # noqa: E731
    w_k, h_k, x_k, y_k, d_k, d_k1 = pick(w), pick(h), pick(xk), pick(yk), pick(d), d.gather(-1, (k + 1)[..., None]).squeeze(-1)
    s = h_k / w_k
    if inverse:
        dy = xin - y_k
        a = h_k * (s - d_k) + dy * (d_k1 + d_k - 2 * s)
        b = h_k * d_k - dy * (d_k1 + d_k - 2 * s)
        c = -s * dy
        xi = (2 * c) / (-b - torch.sqrt((b ** 2 - 4 * a * c).clamp_min(0)))
        result = xi * w_k + x_k
    else:
        xi = (xin - x_k) / w_k
        result = y_k + h_k * (s * xi ** 2 + d_k * xi * (1 - xi)) / (s + (d_k1 + d_k - 2 * s) * xi * (1 - xi))
    denominator = s + (d_k1 + d_k - 2 * s) * xi * (1 - xi)
    derivative = s ** 2 * (d_k1 * xi ** 2 + 2 * s * xi * (1 - xi) + d_k * (1 - xi) ** 2) / denominator ** 2
    out[inside] = result
    log_det[inside] = -torch.log(derivative) if inverse else torch.log(derivative)
    return out, log_det


class RationalQuadraticCoupling(_Coupling):
    """A coupling layer on vectors (B, D) whose passive half parametrises a spline of the other half."""

    def __init__(self, mask: Tensor, hidden: int = 64, bins: int = 8, bound: float = 3.0):
        dim = mask.numel()
        super().__init__(mask, mlp_conditioner(dim, hidden, 3 * bins - 1))
        self.bins, self.bound = bins, bound

    def _spline(self, x: Tensor, condition: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        params = self.conditioner(condition * self.mask).view(len(x), 3 * self.bins - 1, -1).transpose(1, 2)
        widths, heights, derivatives = params.split([self.bins, self.bins, self.bins - 1], dim=-1)
        y, log_det = rational_quadratic_spline(x, widths, heights, derivatives, inverse, self.bound)
        active = 1 - self.mask
        return x * self.mask + y * active, (log_det * active).sum(1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._spline(x, x, inverse=False)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._spline(z, z, inverse=True)


def spline_coupling_stack(dim: int, n_layers: int, hidden: int = 64, bins: int = 8,
                          bound: float = 3.0) -> list[Transform]:
    """Alternating-mask rational-quadratic coupling layers on vectors (B, dim)."""
    return [RationalQuadraticCoupling(half_mask(dim, k % 2), hidden, bins, bound) for k in range(n_layers)]


__all__ = ["rational_quadratic_spline", "RationalQuadraticCoupling", "spline_coupling_stack"]
