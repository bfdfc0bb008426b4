"""Figures the lectures reuse: image grids, 2-D densities and samples, training curves."""
from __future__ import annotations

import math
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor


def _axes(ax, figsize=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def make_grid(images: Tensor, nrow: int | None = None, pad: int = 1, pad_value: float = 0.5) -> np.ndarray:
    """Tile images (N, C, H, W) or (N, H, W) into one array (rows*(H+pad), cols*(W+pad)[, C])."""
    images = torch.as_tensor(images).detach().float().cpu()
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    n, c, h, w = images.shape
    ncol = nrow or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncol)
    grid = torch.full((c, nrows * (h + pad) + pad, ncol * (w + pad) + pad), pad_value)
    for i in range(n):
        r, q = divmod(i, ncol)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = images[i]
    grid = grid.numpy()
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def image_grid(images: Tensor, nrow: int | None = None, ax=None, title: str | None = None,
               vmin: float = 0.0, vmax: float = 1.0):
    """Show images (N, C, H, W) in [vmin, vmax] as one grid; returns the axes."""
    ax = _axes(ax)
    ax.imshow(make_grid(images, nrow), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def density_grid(log_prob: Callable[[Tensor], Tensor], bounds: tuple[float, float] = (-3.0, 3.0),
                 n: int = 200, device: torch.device | str | None = None):
    """Evaluate ``log_prob`` on an n x n grid over [lo, hi]^2; returns (xs, ys, log_p (n, n))."""
    lo, hi = bounds
    xs = torch.linspace(lo, hi, n)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).to(device)
    log_p = torch.cat([log_prob(chunk).cpu() for chunk in points.split(8192)])
    return xs.numpy(), xs.numpy(), log_p.view(n, n).numpy()


def plot_density_2d(density, bounds: tuple[float, float] | None = None, n: int = 200, ax=None,
                    title: str | None = None, cmap: str = "viridis", log: bool = False):
    """Heat map of a 2-D density; ``density`` is a model, a ToyDensity or a log_prob function."""
    ax = _axes(ax)
    bounds = bounds or getattr(density, "bounds", (-3.0, 3.0))
    log_prob = density.log_prob if hasattr(density, "log_prob") else density
    device = getattr(density, "device", None)
    xs, ys, log_p = density_grid(log_prob, bounds, n, device)
    values = log_p if log else np.exp(log_p)
    if log:
        values = np.maximum(values, np.nanmax(values) - 20)  # clip -inf and far tails for display
    ax.imshow(values, origin="lower", extent=(*bounds, *bounds), cmap=cmap, aspect="equal")
    ax.set_xticks([]); ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_samples_2d(x: Tensor, bounds: tuple[float, float] | None = (-3.0, 3.0), ax=None,
                    title: str | None = None, s: float = 2.0, alpha: float = 0.5, **kwargs):
    """Scatter plot of points x: (N, 2)."""
    ax = _axes(ax)
    x = torch.as_tensor(x).detach().cpu()
    ax.scatter(x[:, 0], x[:, 1], s=s, alpha=alpha, **kwargs)
    if bounds is not None:
        ax.set_xlim(*bounds); ax.set_ylim(*bounds)
    ax.set_aspect("equal")
    ax.set_xticks([]); ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_history(history, ax=None, title: str | None = None, smooth: int = 20, ylabel: str = "loss",
                 keys: list[str] | None = None):
    """Training curves per step (raw and moving average) and the validation curves of a ``History``.

    keys: which of ``history.curves`` to draw (default all: "loss", or "loss_D" and "loss_G", ...).
    """
    ax = _axes(ax, figsize=(6, 3.5))
    steps = np.asarray(history.step)
    keys = list(history.curves) if keys is None else keys
    for i, key in enumerate(keys):
        values = np.asarray(history.curves[key])
        name = "train" if key == "loss" else key
        ax.plot(steps, values, alpha=0.3, color=f"C{2 * i}", label=f"{name} (per step)")
        if len(values) >= smooth > 1:
            kernel = np.ones(smooth) / smooth
            ax.plot(steps[smooth - 1:], np.convolve(values, kernel, mode="valid"), color=f"C{2 * i}",
                    label=f"{name} (smoothed)")
    for i, (key, values) in enumerate(history.valid.items()):
        if key in keys or (key == "loss" and "loss" in history.curves):
            ax.plot(history.valid_step, values, "o-", color=f"C{2 * i + 1}",
                    label="validation" if key == "loss" else f"validation {key}")
    ax.set_xlabel("step"); ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax
