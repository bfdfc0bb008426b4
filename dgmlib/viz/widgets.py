"""Showing a widget's figure so that a browser test can check what a reader sees.

A widget callback ends with :func:`show` instead of ``plt.show()``. The reader sees the
same PNG; the PNG also carries, in a text chunk, the limits of every axes, so that the
browser test (:mod:`dgmlib.lab`) can tell, from the image in the page alone, whether a
figure's axes stayed put while a slider moved. Where a comparison across settings is the
point, they must: a bar chart whose scale follows the bars cannot be compared by eye.
Axes whose limits may follow the data are named in ``free`` (a colour bar always may).
"""
from __future__ import annotations

import io
import json
from typing import Iterable

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

AXES_KEY = "dgmlib.axes"  # the PNG text chunk that carries the axes record


def axes_record(fig: Figure, free: Iterable[Axes] = ()) -> list[dict]:
    """One entry per axes of ``fig``: its title, x and y limits, and whether they may change (``free``)."""
    free = list(free)
    record = []
    for ax in fig.axes:
        is_free = any(ax is other for other in free) or hasattr(ax, "_colorbar")
        record.append({"title": ax.get_title(), "xlim": [float(v) for v in ax.get_xlim()],
                       "ylim": [float(v) for v in ax.get_ylim()], "free": is_free})
    return record


def figure_png(fig: Figure, free: Iterable[Axes] = ()) -> bytes:
    """The figure as PNG bytes (as the inline backend draws it), with :func:`axes_record` in a text chunk."""
    buffer = io.BytesIO()
    fig.canvas.draw()  # limits of autoscaled axes are final only once drawn
    metadata = {AXES_KEY: json.dumps(axes_record(fig, free))}
    fig.savefig(buffer, format="png", bbox_inches="tight", facecolor="white", metadata=metadata)
    return buffer.getvalue()


def show(fig: Figure | None = None, *, free: Iterable[Axes] = ()) -> None:
    """Display ``fig`` (default: the current figure) in the notebook and close it, recording its axes' limits.

    free: the axes whose limits may change with the widget's settings (say why where you call it).
    """
    from IPython.display import Image, display

    fig = plt.gcf() if fig is None else fig
    try:
        png = figure_png(fig, free)
    finally:
        plt.close(fig)  # also keeps the inline backend from showing it a second time
    display(Image(data=png, format="png"))

#: ``style=WIDE`` on a control gives its description the room it needs (ipywidgets cuts labels at 80 px)
WIDE = {"description_width": "initial"}
