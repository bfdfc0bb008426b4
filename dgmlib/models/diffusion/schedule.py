"""The forward (noising) process of DDPM and its closed forms (Ho et al. 2020).

    q(x_t | x_{t-1}) = N(sqrt(1 - b_t) x_{t-1}, b_t I),            t = 1..T
    q(x_t | x_0)     = N(sqrt(abar_t) x_0, (1 - abar_t) I),        abar_t = prod_{s<=t} (1 - b_s)
    q(x_{t-1} | x_t, x_0) = N(mu~_t, b~_t I),
        mu~_t = sqrt(abar_{t-1}) b_t / (1 - abar_t) x_0 + sqrt(1 - b_t) (1 - abar_{t-1}) / (1 - abar_t) x_t
        b~_t  = (1 - abar_{t-1}) / (1 - abar_t) b_t

Schedules: "linear" (b from 1e-4 to 0.02 for T = 1000, Ho et al.; scaled by 1000 / T otherwise) and "cosine" (Nichol & Dhariwal 2021:
abar_t = cos^2(((t / T + s) / (1 + s)) pi / 2) / (same at 0), b_t clipped at 0.999). Everything is a
buffer indexed by t = 1..T (index 0 holds abar_0 = 1), so it moves with the model's device.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def linear_betas(timesteps: int, start: float = 1e-4, end: float = 0.02) -> Tensor:
    """b_1..b_T spaced linearly: Ho et al.'s 1e-4 to 0.02 for T = 1000, both scaled by 1000 / T for other T
    (Nichol & Dhariwal 2021), so that abar_T is near 0 (x_T near N(0, I)) for any T. (T,) float64."""
    scale = 1000 / timesteps
    return torch.linspace(scale * start, min(scale * end, 0.999), timesteps, dtype=torch.float64)


def cosine_betas(timesteps: int, s: float = 0.008) -> Tensor:
    """b_1..b_T of the cosine schedule (Nichol & Dhariwal 2021): (T,) float64, each at most 0.999."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos(((steps / timesteps + s) / (1 + s)) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(max=0.999)


class NoiseSchedule(nn.Module):
    """The forward process's constants as buffers (float32), indexed by t = 0..T."""

    def __init__(self, timesteps: int = 1000, kind: str = "linear"):
        super().__init__()
        if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 2:
            raise ValueError(f"timesteps must be an integer >= 2, got {timesteps!r}")
        if kind not in ("linear", "cosine"):
            raise ValueError(f"schedule must be 'linear' or 'cosine', got {kind!r}")
        betas = linear_betas(timesteps) if kind == "linear" else cosine_betas(timesteps)
        self.timesteps, self.kind = timesteps, kind
        betas = torch.cat([torch.zeros(1, dtype=torch.float64), betas])  # index 0 unused: t runs 1..T
        abar = torch.cumprod(1 - betas, 0)  # abar_0 = 1
        posterior_var = torch.zeros_like(betas)
        posterior_var[1:] = (1 - abar[:-1]) / (1 - abar[1:]) * betas[1:]
        # 1 - abar kept apart: for small t it is ~1e-4, and 1 - float32(abar) would lose its digits
        for name, value in (("betas", betas), ("alpha_bars", abar), ("one_minus_alpha_bars", 1 - abar),
                            ("posterior_variance", posterior_var)):
            self.register_buffer(name, value.float())
        # the posterior mean's two coefficients, of x_0 and of x_t
        coef_x0 = torch.zeros_like(betas)
        coef_xt = torch.zeros_like(betas)
        coef_x0[1:] = abar[:-1].sqrt() * betas[1:] / (1 - abar[1:])
        coef_xt[1:] = (1 - betas[1:]).sqrt() * (1 - abar[:-1]) / (1 - abar[1:])
        self.register_buffer("coef_x0", coef_x0.float())
        self.register_buffer("coef_xt", coef_xt.float())

    @staticmethod
    def _at(values: Tensor, t: Tensor, like: Tensor) -> Tensor:
        """values[t] shaped to broadcast over x: t (B,) -> (B, 1, ..., 1)."""
        return values[t].view(-1, *([1] * (like.dim() - 1))).to(like.dtype)

    def log_alpha_bar_at(self, s: Tensor) -> Tensor:
        """log abar at continuous times s in [0, T]: linear between the integers (for the probability-flow ODE)."""
        log_abar = torch.log(self.alpha_bars.double())
        s = s.double().clamp(0, self.timesteps)
        k = s.floor().long().clamp(max=self.timesteps - 1)
        return (log_abar[k] + (s - k) * (log_abar[k + 1] - log_abar[k])).to(self.alpha_bars.dtype)

    def beta_at(self, s: Tensor) -> Tensor:
        """beta(s) = -d log abar / ds: constant between integers, log abar_k - log abar_{k+1} on [k, k + 1)."""
        log_abar = torch.log(self.alpha_bars.double())
        k = s.double().clamp(0, self.timesteps).floor().long().clamp(max=self.timesteps - 1)
        return (log_abar[k] - log_abar[k + 1]).to(self.alpha_bars.dtype)

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor | None = None) -> Tensor:
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise: x0 (B, ...), t (B,) in 1..T -> (B, ...)."""
        noise = torch.randn_like(x0) if noise is None else noise
        return (self._at(self.alpha_bars, t, x0).sqrt() * x0
                + self._at(self.one_minus_alpha_bars, t, x0).sqrt() * noise)

    def posterior(self, x0: Tensor, xt: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """q(x_{t-1} | x_t, x_0): its mean (B, ...) and variance (B, 1, ..., 1)."""
        mean = self._at(self.coef_x0, t, x0) * x0 + self._at(self.coef_xt, t, xt) * xt
        return mean, self._at(self.posterior_variance, t, x0)

    def predict_x0(self, xt: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """x_0 implied by a noise prediction: (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
        return ((xt - self._at(self.one_minus_alpha_bars, t, xt).sqrt() * eps)
                / self._at(self.alpha_bars, t, xt).sqrt())


__all__ = ["linear_betas", "cosine_betas", "NoiseSchedule"]
