"""Energy-based models trained by maximum likelihood with Langevin samples (Du & Mordatch 2019).

    p(x) = exp(-E(x)) / Z,      d/dtheta [-log p(x)] = dE(x)/dtheta - E_{x' ~ p}[dE(x')/dtheta]

The model term's samples x' come from short Langevin chains (:func:`dgmlib.samplers.langevin.langevin`)
that start, 95% of the time, where earlier chains stopped (a replay buffer) and otherwise from
uniform noise. The loss whose gradient is that estimate is

    loss = mean E(x_data) - mean E(x'.detach()) + alpha * mean(E(x_data)^2 + E(x')^2)

with a small penalty alpha on the energies' size, which keeps them from drifting (Du & Mordatch). Its
value is no likelihood; ``log_prob`` is -E(x), off by the unknown log Z (``log_prob_kind = "unnormalized"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from torch.distributions import Distribution

from ...samplers.langevin import ReplayBuffer, langevin
from ..base import GenerativeModel
from ..registry import gaussian_example, register, unit_interval_example
from .objectives import (denoising_score_matching_loss, nce_loss, score_matching_loss, score_of,
                         sliced_score_matching_loss)

OBJECTIVES = ("cd", "score_matching", "denoising", "sliced", "nce")


@dataclass
class EBMConfig:
    steps: int = 60  # Langevin steps per training update (Du & Mordatch use 60)
    step_size: float = 10.0  # eps of x' = x - eps grad E + sqrt(2 eps) noise_scale xi
    noise_scale: float = 0.0016  # sqrt(2 eps) * noise_scale = 0.005 per step: the "SGLD" of EBM training
    alpha: float = 0.1  # weight of the energy-magnitude penalty
    buffer_size: int = 10_000  # persistent chains kept between updates
    reinit: float = 0.05  # fraction of chains restarted from noise
    low: float = 0.0  # states live in [low, high]: uniform noise there to start, clamped after each step
    high: float = 1.0
    sample_steps: int = 200  # Langevin steps of ``sample`` (from noise, or from the buffer with from_buffer=True)
    objective: str = "cd"  # "cd" (persistent Langevin), "score_matching", "denoising", "sliced" or "nce"
    sigma: float = 0.1  # noise level of denoising score matching
    projections: int = 1  # random directions per example of sliced score matching
    nce_ratio: int = 1  # noise samples per data point of NCE


class EnergyModel(GenerativeModel):
    """Base class of the energy-based models: subclasses write ``energy(x) -> (B,)``."""

    log_prob_kind = "unnormalized"
    sample_needs_grad = True

    def __init__(self, event_shape: Sequence[int], config: EBMConfig | None = None,
                 nce_noise: Distribution | None = None):
        super().__init__(event_shape)
        self.ebm = c = config or EBMConfig()
        if c.steps < 0 or c.step_size <= 0 or c.noise_scale < 0 or c.alpha < 0 or not c.low < c.high:
            raise ValueError(f"bad EBMConfig {c}: steps >= 0, step_size > 0, noise_scale >= 0, alpha >= 0 and "
                             "low < high")
        if c.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {c.objective!r}")
        if (c.objective == "nce") != (nce_noise is not None):
            raise ValueError("NCE needs a noise distribution (nce_noise=, e.g. a Gaussian fitted to the data), and "
                             "only NCE uses one")
        self.buffer = ReplayBuffer(self.noise, c.buffer_size, c.reinit)  # chains live outside the state_dict
        self.nce_noise = nce_noise
        if c.objective == "nce":
            self.log_c = nn.Parameter(torch.zeros(()))  # NCE's learned normaliser: log Z at the optimum

    def energy(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement energy(x)")

    def _log_prob(self, x: Tensor) -> Tensor:
        return -self.energy(x)

    def noise(self, n: int) -> Tensor:
        """n uniform states in [low, high]^D: (n, *event_shape)."""
        c = self.ebm
        return c.low + (c.high - c.low) * torch.rand(n, *self.event_shape, device=self.device, dtype=self.dtype)

    def langevin(self, x0: Tensor, steps: int | None = None, **options) -> Tensor:
        """Run the training sampler (or ``options`` overriding it) from x0: (n, *event_shape) -> same."""
        c = self.ebm
        settings = dict(step_size=c.step_size, noise_scale=c.noise_scale, clamp=(c.low, c.high))
        settings.update(options)
        return langevin(self.energy, x0, c.steps if steps is None else steps, **settings).x

    def negative_samples(self, n: int) -> Tensor:
        """The model term's samples: buffer (or noise) starts, ``steps`` Langevin steps, pushed back to the buffer."""
        was_training = self.training
        self.eval()  # no dropout or batch statistics inside the sampler
        try:
            x = self.langevin(self.buffer.sample(n))
        finally:
            self.train(was_training)
        self.buffer.push(x)
        return x

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The configured objective: CD with persistent Langevin chains (default), a score matching, or NCE."""
        self.check_labels(y, len(x), x.device)
        self.check_input(x)
        c = self.ebm
        if c.objective == "score_matching":
            return score_matching_loss(score_of(self.energy), x)
        if c.objective == "denoising":
            return denoising_score_matching_loss(score_of(self.energy), x, c.sigma)
        if c.objective == "sliced":
            return sliced_score_matching_loss(score_of(self.energy), x, c.projections)
        if c.objective == "nce":
            noise = self.nce_noise.sample((c.nce_ratio * len(x),)).to(x)
            return nce_loss(lambda u: -self.energy(u) - self.log_c, lambda u: self.nce_noise.log_prob(u.cpu()).to(u),
                            x, noise)
        negatives = self.negative_samples(len(x)).detach()
        e_data, e_model = self.energy(x), self.energy(negatives)
        return e_data.mean() - e_model.mean() + c.alpha * (e_data.square().mean() + e_model.square().mean())

    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """The mean energy of the data and of fresh noise: their gap should open as training goes on."""
        with torch.no_grad():
            return {"energy_data": self.energy(x).mean().item(),
                    "energy_noise": self.energy(self.noise(len(x))).mean().item()}

    def _sample(self, n: int, steps: int | None = None, from_buffer: bool = False, **options) -> Tensor:
        """Langevin from uniform noise (or the replay buffer) for ``steps`` (default ``sample_steps``)."""
        start = self.buffer.sample(n) if from_buffer else self.noise(n)
        return self.langevin(start, self.ebm.sample_steps if steps is None else steps, **options)


def toy_config(**changes) -> EBMConfig:
    """Settings for 2-D toy densities on [-4, 4]^2: the true Langevin diffusion (noise_scale 1), small steps."""
    # alpha 0.1: without the penalty on the energies' size, long CD runs on the moons diverged (128 units)
    settings = dict(step_size=0.01, noise_scale=1.0, low=-4.0, high=4.0, steps=30, alpha=0.1, sample_steps=500)
    settings.update(changes)
    return EBMConfig(**settings)


class MLPEnergy(EnergyModel):
    """E(x) = MLP(x) for points x: (B, D), e.g. the 2-D toy densities. Smooth (SiLU) so that Langevin has gradients."""

    def __init__(self, dim: int = 2, hidden: int = 128, layers: int = 3, config: EBMConfig | None = None,
                 nce_noise: Distribution | None = None):
        super().__init__((dim,), config or toy_config(), nce_noise)
        sizes = [dim] + [hidden] * layers
        body = [m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.SiLU())]
        # no output bias: a constant added to E changes only Z, so no objective here could learn it
        self.net = nn.Sequential(*body, nn.Linear(hidden, 1, bias=False))

    def energy(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


class ConvEnergy(EnergyModel):
    """E(x) for images x: (B, 1, 28, 28) in [0, 1]: a small CNN with Swish units and spectral norm (Du & Mordatch)."""

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), width: int = 32, config: EBMConfig | None = None):
        super().__init__(event_shape, config)
        c, sn = self.event_shape[0], nn.utils.parametrizations.spectral_norm
        self.net = nn.Sequential(
            sn(nn.Conv2d(c, width, 3, 1, 1)), nn.SiLU(),
            sn(nn.Conv2d(width, 2 * width, 4, 2, 1)), nn.SiLU(),
            sn(nn.Conv2d(2 * width, 4 * width, 4, 2, 1)), nn.SiLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), sn(nn.Linear(4 * width, 1, bias=False)))

    def energy(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


__all__ = ["OBJECTIVES", "EBMConfig", "EnergyModel", "toy_config", "MLPEnergy", "ConvEnergy"]


def _gaussian_noise(dim: int) -> Distribution:
    from torch.distributions import MultivariateNormal
    return MultivariateNormal(torch.zeros(dim), 4 * torch.eye(dim))


register("mlp_energy", build=lambda: MLPEnergy(2, 16, 2, toy_config(steps=3, sample_steps=3, buffer_size=64)),
         example=gaussian_example((2,)))
register("mlp_energy_sliced", build=lambda: MLPEnergy(2, 16, 2, toy_config(objective="sliced", sample_steps=3)),
         example=gaussian_example((2,)))
register("mlp_energy_nce", build=lambda: MLPEnergy(2, 16, 2, toy_config(objective="nce", sample_steps=3),
                                                   nce_noise=_gaussian_noise(2)),
         example=gaussian_example((2,)))
register("conv_energy", build=lambda: ConvEnergy((1, 8, 8), 4, EBMConfig(steps=3, sample_steps=3, buffer_size=64)),
         example=unit_interval_example((1, 8, 8)))
