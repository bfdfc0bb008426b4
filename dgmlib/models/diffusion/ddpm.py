"""Denoising diffusion probabilistic models (Ho et al. 2020), DDIM sampling (Song et al. 2021) and
classifier-free guidance (Ho & Salimans 2021).

A network eps_theta(x_t, t) predicts the noise in x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps. Then
x0_hat = (x_t - sqrt(1 - abar_t) eps_theta) / sqrt(abar_t), and the reverse step is the forward
posterior with x0_hat plugged in: p(x_{t-1} | x_t) = N(mu~_t(x_t, x0_hat), b~_t I).

    simple loss  L = E_{t, x_0, eps} |eps - eps_theta(x_t, t)|^2     (what is trained: a weighted ELBO)
    ELBO         log p(x_0) >= -KL(q(x_T|x_0) || N(0, I)) - sum_{t>=2} KL(q(x_{t-1}|x_t, x_0) || p(x_{t-1}|x_t))
                               + log p(x_0 | x_1)
                 with each KL |mu~_t - mu_theta|^2 / (2 b~_t) (equal variances), and for 8-bit data a
                 decoder that integrates N(mu_theta(x_1, 1), b_1) over each pixel's bin: a bound on the
                 discrete log-likelihood, so bits/dim compare with week 4's flows.
    DDIM         x_{t'} = sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - s^2) eps_hat + s z,
                 s = eta sqrt((1 - abar_t') / (1 - abar_t)) sqrt(1 - abar_t / abar_t'); eta = 0 is deterministic,
                 eta = 1 with t' = t - 1 is DDPM's ancestral step.
    guidance     eps_u + w (eps_c - eps_u): w = 0 unconditional, w = 1 conditional, w > 1 guided; trained by
                 dropping the label (to the null token -1) with probability ``p_uncond``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.distributions import constraints

from ..base import GenerativeModel
from ..registry import class_labels, gaussian_example, register
from .schedule import NoiseSchedule


@dataclass
class DDPMConfig:
    timesteps: int = 1000  # T (Ho et al.)
    schedule: str = "linear"  # "linear" (Ho et al.) or "cosine" (Nichol & Dhariwal)
    levels: int | None = 256  # discrete data in 0..levels-1 (8-bit images) with a discretised decoder; None: real
    p_uncond: float = 0.1  # label dropout for classifier-free guidance (conditional models only)
    elbo_chunk: int = 50  # timesteps per network pass when computing the ELBO


def _standard_normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def discretized_gaussian_log_prob(x: Tensor, mean: Tensor, std: Tensor, half_width: float) -> Tensor:
    """log of N(mean, std^2)'s mass on each value's bin [x - h, x + h] of data in [-1, 1], elementwise;
    the outermost bins extend to -inf and +inf (Ho et al. 2020, eq. 13)."""
    upper = torch.where(x > 1 - 1e-6, torch.ones_like(x), _standard_normal_cdf((x + half_width - mean) / std))
    lower = torch.where(x < -1 + 1e-6, torch.zeros_like(x), _standard_normal_cdf((x - half_width - mean) / std))
    return torch.log((upper - lower).clamp(min=1e-12))


class DDPM(GenerativeModel):
    """A DDPM around a noise network ``network(x_t, t, y) -> eps`` (e.g. :class:`dgmlib.nn.UNet`, ``TimeMLP``).

    x: (B, *event_shape); integers 0..levels-1 (8-bit images) or reals (levels=None). ``log_prob`` is the
    ELBO (T network passes per example). ``sample(n, y, sampler="ddpm" | "ddim", steps, eta, guidance)``.
    """

    log_prob_kind = "lower_bound"

    def __init__(self, event_shape: Sequence[int], network: nn.Module, config: DDPMConfig | None = None,
                 num_classes: int | None = None):
        super().__init__(event_shape, num_classes)
        self.config = c = config or DDPMConfig()
        if c.levels is not None and c.levels < 2:
            raise ValueError(f"levels must be >= 2 (256 for 8-bit data) or None for real-valued data, got {c.levels}")
        if not 0 <= c.p_uncond < 1:
            raise ValueError(f"p_uncond must lie in [0, 1), got {c.p_uncond}")
        self.network = network
        self.schedule = NoiseSchedule(c.timesteps, c.schedule)
        self.support = constraints.real if c.levels is None else constraints.integer_interval(0, c.levels - 1)

    # -- data scaling ----------------------------------------------------------------------------
    def to_model_space(self, x: Tensor) -> Tensor:
        """8-bit values 0..L-1 -> [-1, 1]; real data unchanged."""
        levels = self.config.levels
        return x if levels is None else x / (levels - 1) * 2 - 1

    def to_data_space(self, x: Tensor) -> Tensor:
        levels = self.config.levels
        return x if levels is None else torch.round((x.clamp(-1, 1) + 1) / 2 * (levels - 1))

    # -- the network and the reverse step ---------------------------------------------------------
    def eps(self, xt: Tensor, t: Tensor, y: Tensor | None = None, guidance: float | None = None) -> Tensor:
        """eps_theta(x_t, t, y), or with guidance w: eps_u + w (eps_c - eps_u). t: (B,) integers 1..T."""
        if guidance is None or y is None:
            return self.network(xt, t.to(xt.dtype), y)
        both = self.network(torch.cat([xt, xt]), torch.cat([t, t]).to(xt.dtype), torch.cat([y, torch.full_like(y, -1)]))
        conditional, unconditional = both.chunk(2)
        return unconditional + guidance * (conditional - unconditional)

    def ddim_step(self, xt: Tensor, t: Tensor, t_prev: Tensor, eps: Tensor, eta: float,
                  noise: Tensor | None = None) -> Tensor:
        """x_{t_prev} from x_t (t_prev < t; t_prev = 0 returns x0_hat): the DDIM update, eta in [0, 1]."""
        s = self.schedule
        x0 = s.predict_x0(xt, t, eps)
        if self.config.levels is not None:
            x0 = x0.clamp(-1, 1)
            eps = (xt - s._at(s.alpha_bars, t, xt).sqrt() * x0) / s._at(s.one_minus_alpha_bars, t, xt).sqrt()
        abar, abar_prev = s._at(s.alpha_bars, t, xt), s._at(s.alpha_bars, t_prev, xt)
        one_minus, one_minus_prev = s._at(s.one_minus_alpha_bars, t, xt), s._at(s.one_minus_alpha_bars, t_prev, xt)
        sigma = eta * (one_minus_prev / one_minus * (1 - abar / abar_prev)).clamp(min=0).sqrt()
        noise = torch.randn_like(xt) if noise is None else noise
        return abar_prev.sqrt() * x0 + (one_minus_prev - sigma ** 2).clamp(min=0).sqrt() * eps + sigma * noise

    def ddpm_step(self, xt: Tensor, t: Tensor, eps: Tensor, noise: Tensor | None = None) -> Tensor:
        """x_{t-1} ~ N(mu~_t(x_t, x0_hat), b~_t I): the ancestral step."""
        s = self.schedule
        x0 = s.predict_x0(xt, t, eps)
        if self.config.levels is not None:
            x0 = x0.clamp(-1, 1)
        mean, variance = s.posterior(x0, xt, t)
        noise = torch.randn_like(xt) if noise is None else noise
        return mean + variance.sqrt() * noise

    # -- training --------------------------------------------------------------------------------
    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The simple loss: mean over batch and dimensions of |eps - eps_theta(x_t, t)|^2, t uniform in 1..T."""
        self.check_input(x)
        y = self.check_labels(y, len(x), x.device)
        x0 = self.to_model_space(x)
        t = torch.randint(1, self.config.timesteps + 1, (len(x),), device=x.device)
        noise = torch.randn_like(x0)
        if y is not None and self.config.p_uncond > 0:  # classifier-free guidance learns p(x) with the null label
            y = torch.where(torch.rand(len(y), device=y.device) < self.config.p_uncond, torch.full_like(y, -1), y)
        return (noise - self.eps(self.schedule.q_sample(x0, t, noise), t, y)).square().mean()

    # -- the ELBO --------------------------------------------------------------------------------
    @torch.no_grad()
    def elbo_terms(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """The ELBO's terms per example in nats (one x_t per t): "prior" (KL at T), "diffusion" (sum of the
        KLs for t = 2..T), "decoder" (log p(x_0 | x_1)); log p(x) >= decoder - diffusion - prior."""
        s, c = self.schedule, self.config
        x0 = self.to_model_space(x)
        dims = tuple(range(1, x0.dim()))
        abar_T, one_minus_T = s.alpha_bars[-1].to(x0.dtype), s.one_minus_alpha_bars[-1].to(x0.dtype)
        prior = 0.5 * (abar_T * x0.square() + one_minus_T - 1 - torch.log(one_minus_T)).sum(dims)
        diffusion = torch.zeros(len(x0), dtype=x0.dtype, device=x0.device)
        for start in range(2, c.timesteps + 1, c.elbo_chunk):
            ts = torch.arange(start, min(start + c.elbo_chunk, c.timesteps + 1), device=x0.device)
            t = ts.repeat_interleave(len(x0))  # (k B,)
            x0k = x0.repeat(len(ts), *([1] * (x0.dim() - 1)))
            xt = s.q_sample(x0k, t)
            yk = None if y is None else y.repeat(len(ts))
            eps = self.eps(xt, t, yk)
            true_mean, variance = s.posterior(x0k, xt, t)
            model_mean, _ = s.posterior(s.predict_x0(xt, t, eps), xt, t)
            kl = ((true_mean - model_mean).square() / (2 * variance)).sum(dims)
            diffusion += kl.view(len(ts), len(x0)).sum(0)
        t1 = torch.ones(len(x0), dtype=torch.long, device=x0.device)
        x1 = s.q_sample(x0, t1)
        mean = s.posterior(s.predict_x0(x1, t1, self.eps(x1, t1, y)), x1, t1)[0]  # = mu_theta(x_1, 1)
        std = s.betas[1].sqrt().to(x0.dtype)
        if c.levels is None:
            decoder = (-0.5 * ((x0 - mean) / std).square() - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(dims)
        else:
            decoder = discretized_gaussian_log_prob(x0, mean, std, 1 / (c.levels - 1)).sum(dims)
        return {"prior": prior, "diffusion": diffusion, "decoder": decoder}

    def _log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        terms = self.elbo_terms(x, y)
        return terms["decoder"] - terms["diffusion"] - terms["prior"]

    # -- the probability-flow ODE -------------------------------------------------------------------
    def ode_velocity(self, x: Tensor, s: Tensor, y: Tensor | None = None) -> Tensor:
        """dx/ds of the probability-flow ODE at continuous times s in [1, T] (Song et al. 2021, VP case):

            dx/ds = -beta(s) / 2 * (x - eps_theta(x, s) / sqrt(1 - abar(s)))

        whose solution carries x_s ~ q(x_s) to x_T, deterministically, with the same marginals as the SDE.
        The network is evaluated at real-valued s (it was trained at the integers)."""
        shape = (-1, *([1] * (x.dim() - 1)))
        beta = self.schedule.beta_at(s).to(x.dtype).view(shape)
        one_minus = -torch.expm1(self.schedule.log_alpha_bar_at(s).to(x.dtype)).view(shape)
        return -0.5 * beta * (x - self.network(x, s.to(x.dtype), y) / one_minus.sqrt())

    def ode_log_prob(self, x: Tensor, steps: int = 100, hutchinson: bool = True) -> Tensor:
        """log-likelihood by the probability-flow ODE from s = 1 to T (N(0, I) at T): (B,) in nats.

        The start treats the data (dequantized and scaled, for 8-bit images) as x_1, whose noise is
        sqrt(b_1) ~ 0.01: an estimate of the data's log-likelihood, not a bound (the ELBO is the bound).
        """
        from ...samplers.ode import ode_log_likelihood
        self.check_input(x)
        c = self.config
        x0 = x if c.levels is None else (x + torch.rand_like(x)) / c.levels * 2 - 1
        dims = tuple(range(1, x0.dim()))

        def base(z: Tensor) -> Tensor:
            return (-0.5 * z.square() - 0.5 * math.log(2 * math.pi)).sum(dims)

        log_density = ode_log_likelihood(lambda z, s: self.ode_velocity(z, s), x0, base, t0=1.0,
                                         t1=float(c.timesteps), steps=steps, method="rk4", hutchinson=hutchinson)
        return log_density if c.levels is None else log_density + self.num_dims * math.log(2 / c.levels)

    # -- sampling --------------------------------------------------------------------------------
    def _sample(self, n: int, y: Tensor | None = None, sampler: str = "ddpm", steps: int | None = None,
                eta: float = 0.0, guidance: float | None = None) -> Tensor:
        """n samples in data space: DDPM's T ancestral steps, or DDIM with ``steps`` (default 50) and ``eta``."""
        if sampler not in ("ddpm", "ddim"):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        T = self.config.timesteps
        x = torch.randn(n, *self.event_shape, device=self.device, dtype=self.dtype)
        if sampler == "ddpm":
            for t in range(T, 0, -1):
                tt = torch.full((n,), t, device=self.device, dtype=torch.long)
                x = self.ddpm_step(x, tt, self.eps(x, tt, y, guidance))
            return self.to_data_space(x)
        steps = 50 if steps is None else steps
        if not 1 <= steps <= T:
            raise ValueError(f"steps must lie in 1..{T}, got {steps}")
        times = torch.linspace(T, 0, steps + 1).round().long().tolist()
        for t, t_prev in zip(times[:-1], times[1:]):
            tt = torch.full((n,), t, device=self.device, dtype=torch.long)
            x = self.ddim_step(x, tt, torch.full_like(tt, t_prev), self.eps(x, tt, y, guidance), eta)
        return self.to_data_space(x)


__all__ = ["DDPMConfig", "DDPM", "discretized_gaussian_log_prob"]


def _tiny_ddpm(num_classes=None, levels=None):
    from ...nn.time_conditioned import TimeMLP
    return DDPM((2,), TimeMLP(2, 16, 2, num_classes), DDPMConfig(timesteps=10, levels=levels, elbo_chunk=4),
                num_classes=num_classes)


def _tiny_image_ddpm():
    from ...nn.time_conditioned import UNet
    return DDPM((1, 8, 8), UNet(1, 8), DDPMConfig(timesteps=6, elbo_chunk=3))


register("ddpm", build=_tiny_ddpm, example=gaussian_example((2,)))
register("ddpm_guided", build=lambda: _tiny_ddpm(num_classes=3), example=gaussian_example((2,)),
         labels=class_labels(3))
register("ddpm_unet", build=_tiny_image_ddpm, example=lambda n, g: torch.randint(0, 256, (n, 1, 8, 8), generator=g).float())
