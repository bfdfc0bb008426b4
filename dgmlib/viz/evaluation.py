"""Week 6's lecture figures: samples beside their nearest training images, distance histograms, precision-recall paths."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from .plots import _axes, make_grid


def plot_neighbour_pairs(samples: Tensor, train: Tensor, report: dict, n: int = 8, ax=None,
                         title: str | None = None):
    """Samples (top row) above their nearest training images (bottom row), each pair with its distance.

    samples: (N, 1, H, W); train: (M, 1, H, W); report: :func:`dgmlib.metrics.memorization_report`'s dict
    for these samples (its "sample_neighbours" index ``train``). Pairs closer than the report's threshold
    (closer than 99% of test images are to the training set) get a red distance.
    """
    ax = _axes(ax, figsize=(1.0 * n, 2.4))
    idx = report["sample_neighbours"][:n]
    pairs = torch.cat([samples[:n].float().cpu(), train[idx].float().cpu()])
    ax.imshow(make_grid(pairs, nrow=n, pad=2), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    h, w = samples.shape[-2:]
    for i, d in enumerate(report["sample_distances"][:n].tolist()):
        colour = "C3" if d < report["threshold"] else "0.2"
        ax.text(2 + i * (w + 2) + w / 2, 2 * (h + 2) + 6, f"{d:.1f}", ha="center", va="top", fontsize=8,
                color=colour)
    ax.set_xlim(0, n * (w + 2) + 2)
    ax.set_ylim(2 * (h + 2) + 12, 0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_distance_histograms(reports: dict[str, dict], ax=None, bins: int = 40,
                             title: str = "distance to the nearest training image"):
    """One histogram of nearest-training-image distances per report, and the test images' for scale.

    reports: name -> :func:`dgmlib.metrics.memorization_report` dict; the test distances are taken from the
    first report (every report should share one test set).
    """
    ax = _axes(ax, figsize=(5, 3))
    first = next(iter(reports.values()))
    everything = torch.cat([first["test_distances"], *[r["sample_distances"] for r in reports.values()]])
    edges = np.linspace(0, everything.max().item() * 1.02, bins + 1)
    ax.hist(first["test_distances"].numpy(), bins=edges, color="0.6", alpha=0.6, density=True,
            label="test images (scale)")
    for i, (name, report) in enumerate(reports.items()):
        ax.hist(report["sample_distances"].numpy(), bins=edges, histtype="step", lw=1.6, density=True,
                color=f"C{i}", label=f"{name}: {100 * report['fraction_copied']:.0f}% below threshold")
    ax.axvline(first["threshold"], color="C3", ls=":", label="threshold (1% of test images)")
    ax.set_xlabel("Euclidean distance in pixels")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return ax


def plot_precision_recall_path(psis: Sequence[float], precision: Sequence[float], recall: Sequence[float],
                               current: int | None = None, ax=None, extra: dict[str, tuple[float, float]] | None = None):
    """The (recall, precision) points of a family of samplers (e.g. truncation psi), joined in psi order.

    current: index of the point to highlight; extra: name -> (precision, recall) reference points
    (real images, a mode-collapsed set), drawn as labelled crosses.
    """
    ax = _axes(ax, figsize=(3.6, 3.4))
    ax.plot(recall, precision, "-", color="0.6", lw=1)
    points = ax.scatter(recall, precision, c=psis, cmap="viridis", s=22, zorder=3)
    if current is not None:
        ax.scatter([recall[current]], [precision[current]], s=140, facecolors="none", edgecolors="C3", lw=2,
                   zorder=4)
    for i, (name, (p, r)) in enumerate((extra or {}).items()):
        ax.scatter([r], [p], marker="x", s=50, color=f"C{i + 1}", zorder=4, label=name)
    if extra:
        ax.legend(fontsize=7, loc="lower left")
    plt.colorbar(points, ax=ax, label=r"truncation $\psi$")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("recall (coverage of the data)")
    ax.set_ylabel("precision (realistic samples)")
    return ax


__all__ = ["plot_neighbour_pairs", "plot_distance_histograms", "plot_precision_recall_path"]
