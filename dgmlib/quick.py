"""Three sizes of every run: quick, laptop and full, chosen by one switch.

Every notebook, solution and benchmark writes its settings once, at full size,
and passes the smaller values through :func:`setting`::

    EPOCHS = setting(20, quick=1, laptop=5)   # 20 at full size, 5 on a laptop, 1 in quick mode
    N_TRAIN = setting(50_000, quick=2_000)    # no laptop value: a laptop takes the quick one

The tiers (``DGM_MODE``):

* ``full`` (the default): the sizes of the papers; a lecture needs about an hour of a GPU.
* ``laptop``: about ten minutes per lecture on a 2-core CPU, with figures of the right shape.
* ``quick``: seconds to a few minutes on a CPU; proves that the code runs. Tests and CI use it.

``DGM_QUICK=1`` still means quick and ``DGM_QUICK=0`` means "not quick" (full, unless
``DGM_MODE`` says laptop). Grading is the one exception to the default: while nbgrader
executes a notebook (``autograde`` or ``validate``, which set ``NBGRADER_EXECUTION``) the
tier is quick unless one of the two variables says otherwise, because the assignments'
thresholds and time limits are set for it.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Iterator, Literal, TypeVar

T = TypeVar("T")
Mode = Literal["quick", "laptop", "full"]
MODES: tuple[str, ...] = ("quick", "laptop", "full")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
_UNSET = object()
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("dgm_mode", default=None)


def _quick_variable() -> bool | None:
    value = os.environ.get("DGM_QUICK")
    if value is None:
        return None
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"DGM_QUICK={value!r} is not understood; set it to 1 (quick) or 0 (not quick), "
                     f"or use DGM_MODE={'|'.join(MODES)}")


def mode() -> Mode:
    """The tier in force: ``"quick"``, ``"laptop"`` or ``"full"`` (see the module docstring)."""
    forced = _forced.get()
    if forced is not None:
        return forced  # type: ignore[return-value]
    quick = _quick_variable()
    value = os.environ.get("DGM_MODE")
    if value is not None and value.strip():
        name = value.strip().lower()
        if name not in MODES:
            raise ValueError(f"DGM_MODE={value!r} is not understood; set it to one of {', '.join(MODES)}")
        if quick is not None and quick != (name == "quick"):
            raise ValueError(f"DGM_MODE={name} and DGM_QUICK={os.environ['DGM_QUICK']} disagree; "
                             "unset DGM_QUICK (DGM_MODE alone chooses the tier)")
        return name  # type: ignore[return-value]
    if quick is None:
        return "quick" if "NBGRADER_EXECUTION" in os.environ else "full"
    return "quick" if quick else "full"


def is_quick() -> bool:
    """True in quick mode (``DGM_MODE=quick`` or ``DGM_QUICK=1``, or nothing set while nbgrader grades)."""
    return mode() == "quick"


def setting(full: T, *, quick: T, laptop: T = _UNSET) -> T:  # type: ignore[assignment]
    """``full``, ``laptop`` or ``quick``, by the tier in force; without a laptop value the laptop tier takes ``quick``."""
    tier = mode()
    if tier == "full":
        return full
    if tier == "laptop" and laptop is not _UNSET:
        return laptop
    return quick


@contextlib.contextmanager
def use_mode(name: str) -> Iterator[None]:
    """Within the block, :func:`mode` is ``name`` whatever the environment says (to rebuild a model of another tier)."""
    if name not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {name!r}")
    token = _forced.set(name)
    try:
        yield
    finally:
        _forced.reset(token)
