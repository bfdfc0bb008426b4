"""Two-dimensional toy densities: samplers with log-densities you can trust.

Each density is designed so that its log-density has a closed form (or, for
the swiss roll, a one-dimensional integral computed to high accuracy), which
lets the course *check* a model's fit rather than only look at it:

=============  =============================================  =================
name           what it is                                      log_prob
=============  =============================================  =================
8gaussians     8 isotropic Gaussians on a circle                exact
moons          two half-annuli, noise along the radius          exact
checkerboard   uniform on the 8 dark squares of a 4x4 board     exact
swissroll      spiral t(cos t, sin t) + isotropic noise         quadrature in t
rings          4 concentric rings, noise along the radius       exact
=============  =============================================  =================

Noise along the radius (instead of sklearn's isotropic noise) is what makes the
moons and rings exact: with r ~ N(R, s^2) and a uniform angle, the density at
distance rho from the centre is N(rho; R, s^2) / (angle range * rho) (plus the
mirror term N(-rho; R, s^2) for the negligible negative radii, kept for exactness).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

_LOG_2PI = math.log(2 * math.pi)


class ToyDensity:
    """A density on R^2. ``bounds`` is a square [lo, hi]^2 that holds its mass."""

    name: str = "toy"
    bounds: tuple[float, float] = (-3.0, 3.0)
    exact: bool = True  # False: log_prob is a numerical integral (still accurate to ~1e-6)

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Tensor:
        """Draw n points: (n, 2) float32, made on the CPU with ``generator`` then moved."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"sample(n) needs a positive integer n, got {n!r}")
        return self._sample(n, generator).float().to(device)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) in nats. x: (B, 2) -> (B,); -inf where the density is zero."""
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"expected points of shape (B, 2), got {tuple(x.shape)}")
        if not x.is_floating_point():  # integer points would be rounded inside the formulas
            raise TypeError(f"expected floating-point points, got {x.dtype}; use x.float()")
        return self._log_prob(x)

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def _log_prob(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _normal_log_pdf(value: Tensor, mean: float | Tensor, std: float) -> Tensor:
    return -0.5 * ((value - mean) / std) ** 2 - math.log(std) - 0.5 * _LOG_2PI


class EightGaussians(ToyDensity):
    """Equal mixture of 8 Gaussians N(c_k, std^2 I), centres c_k on a circle of ``radius``."""

    name = "8gaussians"

    def __init__(self, radius: float = 2.0, std: float = 0.2):
        self.radius, self.std = radius, std
        angles = torch.arange(8) * (2 * math.pi / 8)
        self.centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (8, 2)

    def _sample(self, n, generator):
        k = torch.randint(0, 8, (n,), generator=generator)
        return self.centers[k] + self.std * torch.randn(n, 2, generator=generator)

    def _log_prob(self, x):
        centers = self.centers.to(x)
        log_pdf = _normal_log_pdf(x[:, None, :], centers, self.std).sum(-1)  # (B, 8)
        return torch.logsumexp(log_pdf, dim=1) - math.log(8)


class _RadialArcs(ToyDensity):
    """Mixture of arcs: centre c, radius r ~ N(R, std^2), angle uniform on an arc of ``span``."""

    def __init__(self, centers, radii, start_angles, span, weights, std):
        self.centers = torch.as_tensor(centers, dtype=torch.float64)  # (K, 2)
        self.radii = torch.as_tensor(radii, dtype=torch.float64)  # (K,)
        self.start_angles = torch.as_tensor(start_angles, dtype=torch.float64)  # (K,)
        self.span = span
        self.weights = torch.as_tensor(weights, dtype=torch.float64)
        self.weights = self.weights / self.weights.sum()
        self.std = std

    def _sample(self, n, generator):
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        theta = self.start_angles[k] + self.span * torch.rand(n, generator=generator, dtype=torch.float64)
        r = self.radii[k] + self.std * torch.randn(n, generator=generator, dtype=torch.float64)
        return self.centers[k] + r[:, None] * torch.stack([theta.cos(), theta.sin()], dim=1)

    def _on_arc(self, phi: Tensor) -> Tensor:
        """phi: (B, K) angles -> (B, K) bool: is phi within [start, start + span] (mod 2 pi)?"""
        offset = torch.remainder(phi - self.start_angles.to(phi), 2 * math.pi)
        return offset <= self.span

    def _log_prob(self, x):
        d = x[:, None, :].double() - self.centers.to(x.device)  # (B, K, 2)
        rho = d.norm(dim=-1).clamp_min(1e-12)
        phi = torch.atan2(d[..., 1], d[..., 0])
        radii = self.radii.to(x.device)
        minus_inf = torch.full_like(rho, -math.inf)
        # a point at distance rho comes from radius +rho at angle phi, or from radius -rho at phi + pi
        from_pos = torch.where(self._on_arc(phi), _normal_log_pdf(rho, radii, self.std), minus_inf)
        from_neg = torch.where(self._on_arc(phi + math.pi), _normal_log_pdf(-rho, radii, self.std), minus_inf)
        log_pk = torch.logaddexp(from_pos, from_neg) - torch.log(self.span * rho)
        return torch.logsumexp(log_pk + self.weights.log().to(x.device), dim=1).to(x.dtype)


class TwoMoons(_RadialArcs):
    """Two interleaved half-annuli (the shape of sklearn's make_moons), radial noise ``std``."""

    name = "moons"
    bounds = (-3.5, 3.5)

    def __init__(self, radius: float = 1.8, std: float = 0.15):
        # sklearn's layout (centres (0, 0) and (1, 0.5), unit radius), centred and scaled by radius
        half = radius / 2
        super().__init__(centers=[[-half, -half / 2], [half, half / 2]], radii=[radius, radius],
                         start_angles=[0.0, math.pi], span=math.pi, weights=[1.0, 1.0], std=std)


class Rings(_RadialArcs):
    """Concentric full rings with radial noise; ring k has weight proportional to its radius."""

    name = "rings"

    def __init__(self, radii: tuple[float, ...] = (0.6, 1.2, 1.8, 2.4), std: float = 0.08):
        super().__init__(centers=[[0.0, 0.0]] * len(radii), radii=radii, start_angles=[0.0] * len(radii),
                         span=2 * math.pi, weights=radii, std=std)


class Checkerboard(ToyDensity):
    """Uniform on the 8 dark squares of a 4x4 board over [-2, 2]^2: density 1/8 there, 0 elsewhere."""

    name = "checkerboard"
    bounds = (-2.5, 2.5)

    def __init__(self):
        corners = [(i, j) for i in range(4) for j in range(4) if (i + j) % 2 == 0]
        self.corners = torch.tensor(corners, dtype=torch.float32) - 2.0  # (8, 2) lower-left corners

    def _sample(self, n, generator):
        k = torch.randint(0, 8, (n,), generator=generator)
        return self.corners[k] + torch.rand(n, 2, generator=generator)

    def _log_prob(self, x):
        inside = ((x > -2.0) & (x < 2.0)).all(dim=1)
        cell = torch.floor(x + 2.0)
        dark = torch.remainder(cell.sum(dim=1), 2) == 0
        value = torch.full((x.shape[0],), -math.log(8), dtype=x.dtype, device=x.device)
        return torch.where(inside & dark, value, torch.full_like(value, -math.inf))


class SwissRoll(ToyDensity):
    """t ~ U(1.5 pi, 4.5 pi), x = t (cos t, sin t) / scale + N(0, std^2 I).

    log p(x) = log int p(t) N(x; c(t), std^2 I) dt has no closed form; it is
    computed by Gauss-Legendre quadrature on ``n_panels`` panels of 16 nodes,
    accurate to ~1e-7 in log p (tests/test_toy2d.py checks convergence).
    """

    name = "swissroll"
    bounds = (-3.5, 3.5)
    exact = False

    def __init__(self, scale: float = 5.0, std: float = 0.1, n_panels: int = 64):
        self.scale, self.std = scale, std
        self.t_min, self.t_max = 1.5 * math.pi, 4.5 * math.pi
        nodes, weights = np.polynomial.legendre.leggauss(16)  # on [-1, 1]
        edges = torch.linspace(self.t_min, self.t_max, n_panels + 1, dtype=torch.float64)
        half, mid = (edges[1:] - edges[:-1])[:, None] / 2, (edges[1:] + edges[:-1])[:, None] / 2
        t = (mid + half * torch.from_numpy(nodes)).flatten()
        self.curve = self._curve(t)  # (n_panels * 16, 2)
        # quadrature weight times the uniform density 1 / (t_max - t_min) of t
        self.log_weights = (half * torch.from_numpy(weights)).log().flatten() - math.log(self.t_max - self.t_min)

    def _curve(self, t: Tensor) -> Tensor:
        return torch.stack([t * t.cos(), t * t.sin()], dim=-1) / self.scale

    def _sample(self, n, generator):
        t = self.t_min + (self.t_max - self.t_min) * torch.rand(n, generator=generator, dtype=torch.float64)
        return self._curve(t) + self.std * torch.randn(n, 2, generator=generator, dtype=torch.float64)

    def _log_prob(self, x):
        curve, log_w = self.curve.to(x.device), self.log_weights.to(x.device)
        out = [torch.logsumexp(_normal_log_pdf(chunk[:, None, :], curve, self.std).sum(-1) + log_w, dim=1)
               for chunk in x.double().split(2048)]
        return torch.cat(out).to(x.dtype) if out else x.new_zeros(0)


TOY_DENSITIES: dict[str, type[ToyDensity]] = {
    cls.name: cls for cls in (EightGaussians, TwoMoons, Checkerboard, SwissRoll, Rings)
}


def toy_density(name: str, **kwargs) -> ToyDensity:
    """Build a toy density by name: one of ``TOY_DENSITIES`` (e.g. "moons", "8gaussians")."""
    if name not in TOY_DENSITIES:
        raise ValueError(f"unknown toy density {name!r}; choose one of {sorted(TOY_DENSITIES)}")
    return TOY_DENSITIES[name](**kwargs)
