"""Pictures for week 3 (notebooks/03_variational_autoencoders.ipynb): a two-dimensional latent space decoded on a grid.

* :func:`latent_manifold`: decode an n x n grid of latent points z in [lo, hi]^2
  and tile the images into one picture, without gaps, so that the picture can be
  drawn in latent coordinates (the tile of z sits at z).
* :func:`plot_latent_manifold`: draw that picture with axes z_1, z_2 and mark a
  chosen point, e.g. the one a widget's sliders pick.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor


class LatentManifold(NamedTuple):
    """A tiled picture of decoded images and where it lies in latent space."""

    image: np.ndarray  # (n * H, n * W), row 0 at the top (largest z_2)
    extent: tuple[float, float, float, float]  # (left, right, bottom, top) in latent coordinates, for imshow
    n: int  # grid points per axis


@torch.no_grad()
def latent_manifold(decode: Callable[[Tensor], Tensor], n: int = 20, bounds: tuple[float, float] = (-3.0, 3.0),
                    device: torch.device | str | None = None) -> LatentManifold:
    """Decode z on an n x n grid over [lo, hi]^2 and tile the results.

    decode: z (B, 2) -> images (B, 1, H, W) with values in [0, 1] (e.g. the Bernoulli means
    ``lambda z: torch.sigmoid(vae.decode(z))``). z_1 runs left to right, z_2 bottom to top.
    """
    lo, hi = bounds
    ticks = torch.linspace(lo, hi, n)
    z2, z1 = torch.meshgrid(ticks.flip(0), ticks, indexing="ij")  # row 0 holds the largest z_2
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1).to(device)
    images = decode(z).detach().float().cpu()
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"decode must return images (B, 1, H, W), got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    tiled = images.view(n, n, h, w).permute(0, 2, 1, 3).reshape(n * h, n * w).numpy()
    half = (hi - lo) / (n - 1) / 2 if n > 1 else 0.5  # each tile covers its grid point +- half a step
    return LatentManifold(tiled, (lo - half, hi + half, lo - half, hi + half), n)


def plot_latent_manifold(manifold: LatentManifold, ax=None, point: tuple[float, float] | None = None,
                         title: str | None = None):
    """Show a :class:`LatentManifold` with axes in latent coordinates; mark ``point`` (z_1, z_2) in red."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(manifold.image, cmap="gray", vmin=0, vmax=1, extent=manifold.extent, interpolation="nearest")
    if point is not None:
        ax.plot(*point, "o", ms=14, mfc="none", mec="red", mew=2)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return ax


__all__ = ["LatentManifold", "latent_manifold", "plot_latent_manifold"]
