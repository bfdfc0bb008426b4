"""Week 8's lecture figures: points over a 2-D density, score and denoiser fields, quality against sampler steps."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor


def _axes(ax, figsize=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_points_on_density(log_p: np.ndarray | None, bounds: tuple[float, float], points: Tensor | None = None,
                           ax=None, title: str | None = None, color: str = "C3", s: float = 2.0,
                           alpha: float = 0.5, cmap: str = "Greys"):
    """Points (N, 2) over the density exp(log_p) of an (n, n) grid on [lo, hi]^2 (``density_grid``'s layout)."""
    ax = _axes(ax)
    if log_p is not None:
        ax.imshow(np.exp(log_p - log_p.max()), origin="lower", extent=(*bounds, *bounds), cmap=cmap,
                  aspect="equal", vmin=0, vmax=1.6)  # vmax above 1: the density stays a light grey under the points
    if points is not None:
        points = torch.as_tensor(points).detach().cpu()
        ax.scatter(points[:, 0], points[:, 1], s=s, alpha=alpha, color=color, lw=0)
    ax.set_xlim(*bounds); ax.set_ylim(*bounds); ax.set_aspect("equal")
    ax.set_xticks([]); ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_field(points: Tensor, vectors: Tensor, bounds: tuple[float, float], ax=None, color: str = "k",
               title: str | None = None, normalize: bool = True, **kwargs):
    """Arrows ``vectors`` (N, 2) at ``points`` (N, 2), each of unit length if ``normalize`` (the direction only)."""
    ax = _axes(ax)
    points, vectors = torch.as_tensor(points).detach().cpu(), torch.as_tensor(vectors).detach().cpu()
    if normalize:
        vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
    ax.quiver(points[:, 0], points[:, 1], vectors[:, 0], vectors[:, 1], color=color, angles="xy", **kwargs)
    ax.set_xlim(*bounds); ax.set_ylim(*bounds); ax.set_aspect("equal")
    ax.set_xticks([]); ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_quality_vs_steps(scores: Mapping[str, Mapping[int, float]], ax=None, ylabel: str = "FID",
                          floor: float | None = None, current: tuple[str, int] | None = None,
                          xlabel: str = "network evaluations", logy: bool = True, cost: Mapping[str, int] | None = None):
    """One curve per sampler: ``scores[sampler][steps]``, against steps times ``cost[sampler]`` (evaluations per step,
    default 1); ``floor`` a dashed line (real data against real data); ``current`` = (sampler, steps) circled."""
    ax = _axes(ax, figsize=(4.5, 3.4))
    cost = cost or {}
    for i, (name, values) in enumerate(scores.items()):
        steps = sorted(values)
        ax.plot([cost.get(name, 1) * k for k in steps], [values[k] for k in steps], "o-", color=f"C{i}", label=name,
                ms=4)
        if current is not None and current[0] == name and current[1] in values:
            ax.scatter([cost.get(name, 1) * current[1]], [values[current[1]]], s=150, facecolors="none",
                       edgecolors="C3", lw=2, zorder=4)
    if floor is not None:
        ax.axhline(floor, color="0.4", ls="--", lw=1, label="data vs data")
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel); ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return ax


def plot_precision_recall_vs(values: Sequence[float], precision: Sequence[float], recall: Sequence[float], ax=None,
                             xlabel: str = "guidance weight w", extra: Mapping[str, Sequence[float]] | None = None):
    """Precision and recall (and any ``extra`` curves in [0, 1]) against a knob such as the guidance weight."""
    ax = _axes(ax, figsize=(4.5, 3.4))
    ax.plot(values, precision, "o-", label="precision (samples inside the data)")
    ax.plot(values, recall, "s-", label="recall (data covered by the samples)")
    for i, (name, curve) in enumerate((extra or {}).items()):
        ax.plot(values, curve, "^--", color=f"C{i + 2}", label=name)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)
    return ax


__all__ = ["plot_points_on_density", "plot_field", "plot_quality_vs_steps", "plot_precision_recall_vs"]
