"""Pictures for week 2 (notebooks/02_autoregressive_models.ipynb): masks, connectivity and receptive fields of autoregressive models.

* :func:`made_connectivity`, :func:`hidden_degrees`, :func:`draw_made`: which
  input reaches which output of a MADE, computed from its masks alone, and the
  network drawn as in Germain et al. (2015), Figure 1.
* :func:`plot_binary_matrix`, :func:`plot_kernel_mask`: a 0/1 matrix (a mask, a
  connectivity matrix) and a convolution kernel's causal mask.
* :func:`plot_colour_mask`: a colour mask (out, in, k, k) as a grid of kernels, one per
  pair of colour groups (R, G, B), showing which channels of the current pixel are seen.
* :func:`plot_sampling_cost`: sampling time against the number of pixels D, with and without a cache.
* :func:`receptive_field`, :func:`plot_receptive_field`: which input pixels one
  output logit depends on, measured by gradients (so it tests the network that
  runs, not the masks we meant to build), with the blind spot coloured.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch, Rectangle
from torch import Tensor

from ..testing import dependency_matrix


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


def made_connectivity(masks: Sequence) -> np.ndarray:
    """Number of paths from input j to output i through masked layers: (D_out, D_in).

    masks: the layers' masks, each (out_features, in_features), input layer first.
    Entry (i, j) > 0 exactly when output i can depend on input j.
    """
    paths = _as_numpy(masks[0]).astype(np.int64)
    for mask in masks[1:]:
        paths = _as_numpy(mask).astype(np.int64) @ paths
    return paths


def hidden_degrees(masks: Sequence, input_degrees: Sequence[int]) -> list[np.ndarray]:
    """The degree of every hidden unit: the largest input degree that reaches it (0 if none).

    masks: as in :func:`made_connectivity`; input_degrees: (D,) with values 1..D.
    Returns one array per hidden layer (the output layer is not included).
    """
    degrees, out = np.asarray(input_degrees), []
    for mask in masks[:-1]:
        mask = _as_numpy(mask) > 0
        degrees = np.where(mask, degrees[None, :], 0).max(axis=1)
        out.append(degrees)
    return out


def draw_made(masks: Sequence, input_degrees: Sequence[int], ax=None, title: str | None = None):
    """Draw a MADE as a layered graph: inputs at the bottom, outputs at the top.

    Each unit is labelled with its degree; an edge is drawn where the mask is 1.
    Outputs are labelled with the conditional they compute, p(x_j | ...).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    input_degrees = np.asarray(input_degrees)
    d = len(input_degrees)
    layers = [input_degrees, *hidden_degrees(masks, input_degrees), input_degrees]
    width = max(len(layer) for layer in layers)
    xs = [np.linspace(0, width - 1, len(layer)) if len(layer) > 1 else np.array([(width - 1) / 2])
          for layer in layers]
    for level, mask in enumerate(masks):
        rows, cols = np.nonzero(_as_numpy(mask))
        for i, j in zip(rows, cols):
            ax.plot([xs[level][j], xs[level + 1][i]], [level, level + 1], color="0.6", lw=0.6, zorder=1)
    cmap = plt.get_cmap("viridis")
    for level, (layer, x) in enumerate(zip(layers, xs)):
        for k, degree in enumerate(layer):
            # colour by degree; a hidden unit of degree 0 sees nothing: white
            face = "white" if degree == 0 else cmap((degree - 1) / max(d - 1, 1))
            ax.scatter(x[k], level, s=330, color=face, edgecolor="black", zorder=2)
            ax.text(x[k], level, str(degree), ha="center", va="center", fontsize=8, zorder=3,
                    color="white" if 0 < degree < 0.6 * d else "black")
    for j in range(d):  # labels of pixel positions below the inputs and above the outputs
        ax.text(xs[0][j], -0.38, f"$x_{{{j + 1}}}$", ha="center", va="top", fontsize=9)
        ax.text(xs[-1][j], len(layers) - 1 + 0.38, f"$p_{{{j + 1}}}$", ha="center", va="bottom", fontsize=9)
    ax.set_yticks(range(len(layers)))
    ax.set_yticklabels(["input"] + [f"hidden {k}" for k in range(1, len(layers) - 1)] + ["output"])
    ax.set_xticks([])
    ax.set_ylim(-0.8, len(layers) - 0.2)
    ax.set_xlim(-0.7, width - 0.3)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def plot_binary_matrix(matrix, ax=None, title: str | None = None, xlabel: str | None = None,
                       ylabel: str | None = None, ticklabels: Sequence | None = None,
                       annotate: bool = False, cmap: str = "Blues"):
    """Show a (rows, cols) matrix of 0/1 (or path counts) with a cell grid; zeros are white.

    ticklabels labels both axes (for square matrices such as a connectivity matrix);
    annotate writes each non-zero count in its cell.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    m = _as_numpy(matrix).astype(float)
    rows, cols = m.shape
    ax.imshow(m > 0, cmap=cmap, vmin=0, vmax=1.4, interpolation="nearest")
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.8", lw=0.5)
    ax.tick_params(which="minor", length=0)
    if ticklabels is not None:
        ax.set_xticks(range(cols), [str(t) for t in ticklabels])
        ax.set_yticks(range(rows), [str(t) for t in ticklabels])
    else:
        ax.set_xticks([]); ax.set_yticks([])
    if annotate:
        # numbers sized to their cells (about 40% of a cell's side, 6 to 12 pt): legible in small and large matrices
        box = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
        cell_points = 72 * min(box.width / cols, box.height / rows)
        fontsize = float(np.clip(0.4 * cell_points, 6, 12))
        for i, j in zip(*np.nonzero(m)):
            ax.text(j, i, f"{m[i, j]:g}", ha="center", va="center", fontsize=fontsize)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def plot_kernel_mask(mask, ax=None, title: str | None = None):
    """A convolution kernel's 0/1 mask, with the centre (the pixel being predicted) outlined in red."""
    if ax is None:
        _, ax = plt.subplots(figsize=(2.5, 2.5))
    m = _as_numpy(mask)
    plot_binary_matrix(m, ax=ax, title=title)
    ci, cj = m.shape[0] // 2, m.shape[1] // 2
    ax.add_patch(Rectangle((cj - 0.5, ci - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
    return ax


COLOURS = ("R", "G", "B")


def plot_colour_mask(mask, n_colours: int = 3, fig=None, title: str | None = None):
    """Draw a colour causal mask (out_channels, in_channels, kh, kw) as an n_colours x n_colours grid of kernels.

    Row c is the output group of colour c, column c' the input group of colour c'; each cell is the
    kernel mask of the first channel pair of those groups, with the centre (the current pixel)
    outlined in red: filled there when output colour c may read input colour c' of the same pixel.
    """
    m = _as_numpy(mask)
    out_size, in_size = m.shape[0] // n_colours, m.shape[1] // n_colours
    fig = fig or plt.figure(figsize=(1.3 * n_colours + 0.6, 1.3 * n_colours + 0.6))
    axes = fig.subplots(n_colours, n_colours, squeeze=False)
    names = COLOURS if n_colours == 3 else [str(c) for c in range(n_colours)]
    for c_out in range(n_colours):
        for c_in in range(n_colours):
            ax = axes[c_out, c_in]
            plot_kernel_mask(m[c_out * out_size, c_in * in_size], ax=ax)
            if c_out == n_colours - 1:
                ax.set_xlabel(f"from {names[c_in]}")
            if c_in == 0:
                ax.set_ylabel(f"to {names[c_out]}")
    if title:
        fig.suptitle(title)
    return fig


def plot_sampling_cost(num_dims: Sequence[int], seconds: dict[str, Sequence[float]], ax=None,
                       title: str | None = None):
    """Sampling time against the number of pixels D on log-log axes, one line per method (e.g. cached or not).

    seconds: {label: times, one per entry of num_dims}. Dotted guides of slope 1 and 2 through the
    first point of the first line show O(D) and O(D^2) growth.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.6))
    d = np.asarray(num_dims, dtype=float)
    for label, times in seconds.items():
        ax.loglog(d, times, "o-", label=label)
    first = np.asarray(next(iter(seconds.values())), dtype=float)[0]
    for power, style in ((1, ":"), (2, "--")):
        ax.loglog(d, first * (d / d[0]) ** power, color="0.6", ls=style, lw=0.8, label=f"$\propto D^{power}$")
    ax.set(xlabel="pixels D", ylabel="seconds per batch of samples")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def receptive_field(model, pixel: tuple[int, int], n_inputs: int = 4, seed: int = 0) -> Tensor:
    """|d logit_pixel / d x| summed over random inputs: (H, W); zero exactly where the logit cannot look.

    model: an autoregressive model with ``conditional_logits`` and an event shape (1, H, W).
    pixel: (row, col) of the output logit. Measured with :func:`dgmlib.testing.dependency_matrix`
    at inputs uniform in [0, 1], not binary, so that no ReLU or gate is switched off by accident.
    """
    h, w = model.event_shape[-2:]
    row, col = pixel
    grad = dependency_matrix(model.conditional_logits, h * w, n_inputs=n_inputs, outputs=[row * w + col],
                             seed=seed, dtype=model.dtype, device=model.device)
    return grad.view(h, w).float()


SEEN, TARGET, BLIND, OUT_OF_REACH, FUTURE = 0, 1, 2, 3, 4
_FIELD_COLOURS = ListedColormap(["#1f4e99", "#d62728", "#ff9f1c", "#f5e6c4", "#e6e6e6"])
_FIELD_LABELS = {SEEN: "seen", TARGET: "predicted pixel", BLIND: "blind spot",
                 OUT_OF_REACH: "earlier, out of reach", FUTURE: "not yet generated"}


def field_categories(grad: Tensor, pixel: tuple[int, int], order: Tensor | None = None) -> np.ndarray:
    """Classify every input pixel of one output logit: (H, W) of the categories below.

    SEEN: earlier in the order and the gradient is non-zero; TARGET: the pixel itself;
    BLIND: earlier, unseen, yet inside the bounding box of the seen pixels (a hole
    in the field, not just its edge); OUT_OF_REACH: earlier, unseen, outside that
    box; FUTURE: not before the pixel in the order.
    grad: (H, W) from :func:`receptive_field`; order: the model's generation order
    (raster order when None).
    """
    h, w = grad.shape
    rank = torch.arange(h * w) if order is None else torch.argsort(order.cpu())
    rank = rank.view(h, w).numpy()
    earlier = rank < rank[pixel]
    seen = earlier & (grad.numpy() > 0)
    cats = np.full((h, w), FUTURE)
    cats[earlier] = OUT_OF_REACH
    if seen.any():
        rows, cols = np.nonzero(seen)
        box = np.zeros((h, w), dtype=bool)
        box[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1] = True
        cats[earlier & box & ~seen] = BLIND
    cats[seen] = SEEN
    cats[pixel] = TARGET
    return cats


def plot_receptive_field(grad: Tensor, pixel: tuple[int, int], order: Tensor | None = None, ax=None,
                         title: str | None = None, legend: bool = True):
    """Colour the inputs of one output logit: seen, blind spot, out of reach, not yet generated."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.5, 3.5))
    cats = field_categories(grad, pixel, order)
    ax.imshow(cats, cmap=_FIELD_COLOURS, vmin=-0.5, vmax=4.5, interpolation="nearest")
    ax.set_xticks([]); ax.set_yticks([])
    n_seen, n_earlier = int((cats == SEEN).sum()), int(((cats == SEEN) | (cats == BLIND)
                                                          | (cats == OUT_OF_REACH)).sum())
    if title:
        ax.set_title(title)
    ax.set_xlabel(f"sees {n_seen} of {n_earlier} earlier pixels\n{int((cats == BLIND).sum())} in a blind spot")
    if legend:
        ax.legend(handles=[Patch(color=_FIELD_COLOURS(k), label=label) for k, label in _FIELD_LABELS.items()],
                  loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, frameon=False)
    return ax


__all__ = ["made_connectivity", "hidden_degrees", "draw_made", "plot_binary_matrix", "plot_kernel_mask",
           "plot_colour_mask", "plot_sampling_cost",
           "receptive_field", "field_categories", "plot_receptive_field"]
