"""Pictures for week 1 (notebooks/01_probability_review.ipynb).

* :func:`polygon_area` and :func:`pushed_cell`: push a small square through a 2-D map and measure
  the area of its image, which the change-of-variables formula predicts to be |det J| times the square's.
* :func:`plot_pushed_grid`: a grid of z-space pushed through a map x = f(z), one highlighted cell.
* :func:`plot_traces`: trace plots of a Markov chain, one panel per coordinate, with the exact mean.
* :func:`draw_dag`: a small Bayesian network, nodes and arrows.
"""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import torch
from torch import Tensor

Map2d = Callable[[Tensor], Tensor]  # z (B, 2) -> x (B, 2)


def _axes(ax, figsize=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def polygon_area(vertices: Tensor) -> Tensor:
    """Area of a simple polygon by the shoelace formula.

    vertices: (..., K, 2) corners in order (either direction), K >= 3. Returns (...) areas >= 0.
    """
    if vertices.dim() < 2 or vertices.shape[-1] != 2 or vertices.shape[-2] < 3:
        raise ValueError(f"vertices must have shape (..., K, 2) with K >= 3 corners, got {tuple(vertices.shape)}")
    x, y = vertices[..., 0], vertices[..., 1]
    # sum over edges of x_k y_{k+1} - x_{k+1} y_k is twice the signed area
    return 0.5 * (x * y.roll(-1, -1) - x.roll(-1, -1) * y).sum(-1).abs()


def square_outline(corner: Sequence[float], size: float, points_per_side: int = 32, dtype=torch.float64) -> Tensor:
    """(4 * points_per_side, 2) points around the square [c0, c0 + size] x [c1, c1 + size], counter-clockwise."""
    if size <= 0 or points_per_side < 1:
        raise ValueError(f"need size > 0 and points_per_side >= 1, got {size} and {points_per_side}")
    t = torch.arange(points_per_side, dtype=dtype) / points_per_side * size
    zeros, full = torch.zeros_like(t), torch.full_like(t, size)
    sides = [torch.stack(s, 1) for s in ((t, zeros), (full, t), (size - t, full), (zeros, size - t))]
    return torch.cat(sides) + torch.tensor(corner, dtype=dtype)


def pushed_cell(f: Map2d, corner: Sequence[float], size: float, points_per_side: int = 32) -> Tensor:
    """The image under f of the square's outline: (4 * points_per_side, 2). Its area / size^2 -> |det J|."""
    return f(square_outline(corner, size, points_per_side))


def plot_pushed_grid(f: Map2d, bounds: tuple[float, float] = (-2.0, 2.0), n_lines: int = 11, ax=None,
                     highlight: tuple[Sequence[float], float] | None = None, color: str = "C0", resolution: int = 100,
                     title: str | None = None):
    """Draw the lines of a grid over [lo, hi]^2 after pushing them through f.

    f: z (B, 2) -> x (B, 2), applied to float64 points. With f the identity this is the grid itself.
    highlight: (corner, size) of one square cell to fill in red, pushed through f like the grid.
    """
    ax = _axes(ax)
    lo, hi = bounds
    fine = torch.linspace(lo, hi, resolution, dtype=torch.float64)
    for level in torch.linspace(lo, hi, n_lines, dtype=torch.float64):
        for line in (torch.stack([fine, torch.full_like(fine, level)], 1),
                     torch.stack([torch.full_like(fine, level), fine], 1)):
            x = f(line).detach()
            ax.plot(x[:, 0], x[:, 1], color=color, lw=0.7)
    if highlight is not None:
        corner, size = highlight
        cell = pushed_cell(f, corner, size).detach()
        ax.fill(cell[:, 0], cell[:, 1], color="C3", alpha=0.7)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def plot_traces(samples: Tensor, axes=None, names: Sequence[str] | None = None, exact_mean: Tensor | None = None,
                title: str | None = None):
    """Trace plots of one chain: samples (T, D), one panel per coordinate; a dashed line at the exact mean."""
    if samples.dim() != 2:
        raise ValueError(f"samples must be one chain of shape (T, D), got {tuple(samples.shape)}; "
                         "for result.samples (T, C, D) pass result.samples[:, 0]")
    T, D = samples.shape
    if axes is None:
        _, axes = plt.subplots(D, 1, figsize=(8, 1.6 * D), sharex=True, squeeze=False)
        axes = axes[:, 0]
    if len(axes) != D:
        raise ValueError(f"need one axis per coordinate: got {len(axes)} for {D} coordinates")
    names = names or [f"$x_{i + 1}$" for i in range(D)]
    for i, ax in enumerate(axes):
        ax.plot(torch.arange(1, T + 1), samples[:, i].detach().cpu(), lw=0.6, color=f"C{i}")
        if exact_mean is not None:
            ax.axhline(float(exact_mean[i]), color="k", ls="--", lw=1)
        ax.set_ylabel(names[i])
    axes[-1].set_xlabel("step")
    if title:
        axes[0].set_title(title)
    return axes


def draw_dag(positions: dict[str, tuple[float, float]], edges: Sequence[tuple[str, str]], ax=None,
             labels: dict[str, str] | None = None, title: str | None = None):
    """A Bayesian network: a circle per node at positions[name], an arrow per (parent, child) edge."""
    unknown = {node for edge in edges for node in edge} - set(positions)
    if unknown:
        raise ValueError(f"edges mention nodes without a position: {sorted(unknown)}")
    ax = _axes(ax, figsize=(4, 3))
    labels = labels or {}
    for parent, child in edges:
        ax.annotate("", xy=positions[child], xytext=positions[parent],
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.5, shrinkA=18, shrinkB=18))
    for name, (x, y) in positions.items():
        ax.add_patch(plt.Circle((x, y), 0.25, facecolor="white", edgecolor="C0", lw=2, zorder=2))
        ax.text(x, y, labels.get(name, name), ha="center", va="center", fontsize=10, zorder=3)
    xs, ys = zip(*positions.values())
    ax.set(xlim=(min(xs) - 0.6, max(xs) + 0.6), ylim=(min(ys) - 0.6, max(ys) + 0.6))
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


__all__ = ["draw_dag", "plot_pushed_grid", "plot_traces", "polygon_area", "pushed_cell", "square_outline"]
