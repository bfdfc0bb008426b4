"""Helpers for the homework tests (nbgrader masters under solutions/).

`check_own_work(fn)` fails when a student's function reaches dgmlib, which holds reference answers to
the course's exercises. It follows what the function's code names: globals, modules and attributes
(``dgmlib.nn.gaussian_kl``), imports inside the function, nested functions and lambdas, and the
notebook's own helper functions that it calls, recursively. Functions passed in as arguments are
not globals, so calling them is always allowed (a homework says which ones a part may call).

It is a guard against a shortcut, not a sandbox: code that hides its imports (``__import__``,
``getattr`` on strings, ``exec``) is not followed.
"""
from __future__ import annotations

import inspect
import types
from typing import Callable, Iterable

# dgmlib's utilities that are not answers to any exercise: seeding, devices and quick-mode settings
ALLOWED_MODULES = ("dgmlib.device", "dgmlib.quick")


def _home(obj: object) -> str | None:
    """The module an object comes from: the module's own name for a module, else its __module__."""
    if inspect.ismodule(obj):
        return obj.__name__
    if callable(obj) or inspect.isclass(obj):
        return getattr(obj, "__module__", None)
    return None


def dgmlib_uses(fn: Callable, allowed_modules: Iterable[str] = ALLOWED_MODULES) -> set[str]:
    """The names through which `fn` (or a helper it calls) reaches dgmlib; empty if it does not.

    Args:
        fn: a Python function (a lambda, a def in a notebook, a nested function).
        allowed_modules: dgmlib modules whose functions do not count (seed_everything, setting).

    Returns:
        the set of names in fn's code (and its helpers' code) that refer to dgmlib.
    """
    if not isinstance(fn, types.FunctionType):
        raise ValueError(f"check_own_work expects a Python function (def or lambda), got {type(fn).__name__}")
    allowed = tuple(allowed_modules)
    used: set[str] = set()
    seen: set[types.CodeType] = set()
    todo: list[tuple[types.CodeType, dict]] = [(fn.__code__, fn.__globals__)]
    while todo:
        code, globals_ = todo.pop()
        if code in seen:
            continue
        seen.add(code)
        # nested defs, lambdas and comprehensions are code objects among the constants
        todo += [(const, globals_) for const in code.co_consts if inspect.iscode(const)]
        for name in code.co_names:
            if name.startswith("dgmlib"):  # `import dgmlib...` / `from dgmlib... import` inside fn
                used.add(name)
                continue
            obj = globals_.get(name)
            home = str(_home(obj))
            if home.startswith(allowed):
                continue
            if home == "dgmlib" or home.startswith("dgmlib."):
                used.add(name)
            elif isinstance(obj, types.FunctionType) and obj.__module__ in ("__main__", fn.__module__):
                # a helper defined in the notebook (or beside fn): look inside it too
                todo.append((obj.__code__, obj.__globals__))
    return used


def check_own_work(fn: Callable, allowed_modules: Iterable[str] = ALLOWED_MODULES) -> None:
    """Fail (AssertionError, as a test does) if `fn` uses dgmlib directly, through an import inside
    it, or through a helper function of the notebook; dgmlib's seeding and settings are allowed."""
    used = dgmlib_uses(fn, allowed_modules)
    assert not used, (f"{fn.__name__} uses dgmlib ({', '.join(sorted(used))}): dgmlib holds the course's "
                      "reference code, so write this part yourself with torch")
