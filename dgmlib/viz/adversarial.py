"""Week 5's lecture figures: GAN training watched as it happens."""
from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
from torch import Tensor

from ..data.loader import Data
from ..train import History, fit
from .plots import plot_samples_2d


@dataclass
class Snapshots:
    """Samples drawn from a generator at several training steps (same latents each time)."""

    steps: list[int] = field(default_factory=list)
    samples: list[Tensor] = field(default_factory=list)        # each (n, *event_shape), on the CPU
    histories: list[History] = field(default_factory=list)


def train_with_snapshots(model, data: Data, steps: int, snapshots: int = 8, n_samples: int = 1000,
                         lr: float = 1e-3, batch_size: int = 256, seed: int = 0) -> Snapshots:
    """Train ``model`` with ``fit`` in ``snapshots`` chunks, drawing ``n_samples`` from fixed latents
    after each; the optimizers (and Adam's moments) carry over between chunks."""
    if steps < snapshots:
        raise ValueError(f"need at least one step per snapshot, got steps={steps}, snapshots={snapshots}")
    optimizers = model.configure_optimizers(lr)
    z = torch.randn(n_samples, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    out = Snapshots([0], [model.sample(n_samples, z=z.to(model.device)).cpu()])
    chunk = steps // snapshots
    for i in range(snapshots):
        n = chunk if i < snapshots - 1 else steps - chunk * (snapshots - 1)
        history = fit(model, data, steps=n, optimizer=optimizers, batch_size=batch_size, progress=False,
                      seed=seed + i, device=model.device)
        out.steps.append(out.steps[-1] + n)
        out.samples.append(model.sample(n_samples, z=z.to(model.device)).cpu())
        out.histories.append(history)
    return out


def plot_snapshots(snaps: Snapshots, data: Tensor | None = None, bounds=(-3.0, 3.0), columns: int | None = None,
                   title: str | None = None):
    """One panel per snapshot: the data in grey, the generator's samples on top."""
    columns = columns or len(snaps.steps)
    rows = -(-len(snaps.steps) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 1.9 * rows + 0.3), squeeze=False)
    for ax in axes.flat[len(snaps.steps):]:
        ax.axis("off")
    for ax, step, samples in zip(axes.flat, snaps.steps, snaps.samples):
        if data is not None:
            plot_samples_2d(data, bounds, ax=ax, color="0.75", s=1.0, alpha=0.4)
        plot_samples_2d(samples, bounds, ax=ax, s=1.0, alpha=0.6, color="C3", title=f"step {step}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def modes_covered(samples: Tensor, centres: Tensor, radius: float) -> tuple[int, float]:
    """(how many centres have at least 1% of the samples within ``radius``, the fraction of samples
    near any centre): the usual mode-collapse count on mixtures of Gaussians."""
    d = torch.cdist(samples, centres)
    nearest, which = d.min(dim=1)
    near = nearest < radius
    counts = torch.bincount(which[near], minlength=len(centres))
    return int((counts >= 0.01 * len(samples)).sum()), float(near.float().mean())
