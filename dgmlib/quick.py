"""Quick mode: one switch that shrinks data, models and epochs.

Every notebook, solution and benchmark writes its settings once, at full size,
and passes the small value through :func:`setting`::

    EPOCHS = setting(20, quick=1)        # 20 for a student, 1 under DGM_QUICK=1
    N_TRAIN = setting(50_000, quick=2_000)

Tests and CI set ``DGM_QUICK=1`` so that everything runs in seconds on a CPU;
a student who sets nothing gets the full-quality run. Grading is the one
exception: while nbgrader executes a notebook (``autograde`` or ``validate``,
which set ``NBGRADER_EXECUTION``) quick mode is on unless ``DGM_QUICK`` says
otherwise, because the assignments' thresholds and time limits are set for it.
"""
from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def is_quick() -> bool:
    """True when ``DGM_QUICK`` is 1/true/yes/on, or when it is unset and nbgrader is grading."""
    value = os.environ.get("DGM_QUICK")
    if value is None:
        return "NBGRADER_EXECUTION" in os.environ
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"DGM_QUICK={value!r} is not understood; set it to 1 (quick) or 0 (full)")


def setting(full: T, *, quick: T) -> T:
    """Return ``full`` normally and ``quick`` when quick mode is on."""
    return quick if is_quick() else full
