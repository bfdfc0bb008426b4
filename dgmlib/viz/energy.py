"""Week 7's lecture figures: Langevin chains precomputed for a widget, energy surfaces during training, score fields."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from ..data.loader import Data
from ..samplers.langevin import langevin
from ..train import History, fit
from .plots import density_grid, plot_samples_2d

Energy = Callable[[Tensor], Tensor]  # x (B, D) -> (B,)


@dataclass
class LangevinGrid:
    """States of the same chains after each number of steps, for each step size: ``states[(eps, n)]`` is (C, D)."""

    step_sizes: list[float]
    checkpoints: list[int]
    states: dict[tuple[float, int], Tensor] = field(default_factory=dict)
    accept_rate: dict[float, float] = field(default_factory=dict)  # mean over chains and steps (1 for ULA)


def langevin_grid(energy: Energy, x0: Tensor, step_sizes: Sequence[float], checkpoints: Sequence[int],
                  seed: int = 0, **options) -> LangevinGrid:
    """Run the chains x0 (C, D) with every step size, keeping their states at each checkpoint (increasing counts).

    ``options`` go to :func:`dgmlib.samplers.langevin.langevin` (noise_scale, metropolis, clamp). Each step size
    uses the same noise (one generator per step size, seeded alike), so panels differ by the step size only.
    """
    checkpoints = sorted(int(n) for n in checkpoints)
    out = LangevinGrid([float(e) for e in step_sizes], checkpoints)
    for eps in out.step_sizes:
        generator = torch.Generator(device=x0.device).manual_seed(seed)
        x, done, accepted = x0, 0, 0.0
        for n in checkpoints:
            result = langevin(energy, x, n - done, eps, generator=generator, **options)
            accepted += result.accept_rate.mean().item() * (n - done)
            x, done = result.x, n
            out.states[(eps, n)] = x.cpu()
        out.accept_rate[eps] = accepted / max(done, 1)
    return out


@dataclass
class EnergySnapshots:
    """A 2-D energy model seen during training: log exp(-E) normalised on a grid, and its chains' states."""

    steps: list[int] = field(default_factory=list)
    log_density: list[np.ndarray] = field(default_factory=list)  # each (n, n): -E - log Z, Z by quadrature
    samples: list[Tensor] = field(default_factory=list)  # each (m, 2): the replay buffer's newest states
    histories: list[History] = field(default_factory=list)
    bounds: tuple[float, float] = (-4.0, 4.0)


@torch.no_grad()
def normalized_log_density_grid(energy: Energy, bounds: tuple[float, float] = (-4.0, 4.0), n: int = 100,
                                device=None) -> tuple[np.ndarray, float]:
    """-E - log Z on an n x n grid over [lo, hi]^2, Z by the midpoint rule over that square; and log Z."""
    _, _, log_f = density_grid(lambda x: -energy(x), bounds, n, device)
    cell = ((bounds[1] - bounds[0]) / (n - 1)) ** 2
    log_z = float(torch.logsumexp(torch.as_tensor(log_f, dtype=torch.float64).flatten(), 0)) + np.log(cell)
    return log_f - log_z, log_z


def train_with_energy_snapshots(model, data: Data, steps: int, snapshots: int = 10, lr: float = 1e-3,
                                batch_size: int = 256, n_grid: int = 100, n_samples: int = 500,
                                seed: int = 0) -> EnergySnapshots:
    """Train a 2-D ``EnergyModel`` with ``fit`` in ``snapshots`` chunks, recording its normalised density on a grid
    and its persistent chains after each; the optimizer (and Adam's moments) carries over between chunks."""
    if steps < snapshots:
        raise ValueError(f"need at least one step per snapshot, got steps={steps}, snapshots={snapshots}")
    bounds = (model.ebm.low, model.ebm.high)
    out = EnergySnapshots(bounds=bounds)
    optimizers = model.configure_optimizers(lr)

    def record(step: int) -> None:
        model.eval()
        log_p, _ = normalized_log_density_grid(model.energy, bounds, n_grid, model.device)
        out.steps.append(step)
        out.log_density.append(log_p)
        chains = model.buffer.states
        out.samples.append(torch.empty(0, 2) if chains is None else chains[:n_samples].cpu())

    record(0)
    chunk = steps // snapshots
    for i in range(snapshots):
        n = chunk if i < snapshots - 1 else steps - chunk * (snapshots - 1)
        out.histories.append(fit(model, data, steps=n, optimizer=optimizers, batch_size=batch_size, progress=False,
                                 seed=seed + i, device=model.device))
        record(out.steps[-1] + n)
    return out


def plot_log_density(log_p: np.ndarray, bounds: tuple[float, float], ax=None, title: str | None = None,
                     floor: float = 12.0, cmap: str = "viridis"):
    """Heat map of a log-density on a grid (values more than ``floor`` nats below the top clipped)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(np.maximum(log_p, log_p.max() - floor), origin="lower", extent=(*bounds, *bounds), cmap=cmap,
              aspect="equal")
    ax.set_xticks([]); ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_energy_snapshot(snaps: EnergySnapshots, index: int, data: Tensor | None = None, axes=None):
    """Two panels: the model's log-density at snapshot ``index``; its chains (red) over the data (grey)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 4))
    step = snaps.steps[index]
    plot_log_density(snaps.log_density[index], snaps.bounds, ax=axes[0], title=f"log p_theta at step {step}")
    if data is not None:
        plot_samples_2d(data, snaps.bounds, ax=axes[1], color="0.7", s=1.0, alpha=0.4)
    chains = snaps.samples[index]
    if len(chains):
        plot_samples_2d(chains, snaps.bounds, ax=axes[1], color="C3", s=2.0, alpha=0.7)
    axes[1].set_title("persistent chains (red) over the data")
    return axes


def plot_score_field(score: Callable[[Tensor], Tensor], bounds: tuple[float, float] = (-4.0, 4.0), n: int = 21,
                     ax=None, title: str | None = None, color: str = "k", normalize: bool = True, **kwargs):
    """Arrows of a score field s(x) (B, 2) -> (B, 2) on an n x n grid (unit length if ``normalize``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    xs = torch.linspace(*bounds, n)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    s = score(points).detach().cpu()
    if normalize:
        s = s / s.norm(dim=1, keepdim=True).clamp_min(1e-12)
    ax.quiver(points[:, 0], points[:, 1], s[:, 0], s[:, 1], color=color, angles="xy", **kwargs)
    ax.set_xlim(*bounds); ax.set_ylim(*bounds); ax.set_aspect("equal")
    ax.set_xticks([]); ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


__all__ = ["LangevinGrid", "langevin_grid", "EnergySnapshots", "normalized_log_density_grid",
           "train_with_energy_snapshots", "plot_log_density", "plot_energy_snapshot", "plot_score_field"]
