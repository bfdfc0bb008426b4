"""Inside a grading kernel: notice what a submission did to the machinery that runs the tests.

``install(token)`` runs in the kernel before any cell of the submission (the grader passes it as an
``exec_lines`` of the kernel). It turns ``exit()``/``quit()`` into a message (a left-over ``exit()`` would
otherwise end the kernel and lose every later cell), takes a baseline of what a test cell relies on,
and defines one function under a random name, ``token``, that the grader appends as the last line of
every graded test cell. That function prints ``<token>:ok``, or ``<token>:tampered:<what>`` when
something differs from the baseline:

* IPython's input transformers, AST transformers and custom exception handlers (one hook there can turn
  every test cell into ``pass`` or swallow its AssertionError);
* a trace function (which can jump over lines) and the methods that run cells, transform them or show
  tracebacks, on the shell and on its classes;
* builtins, and the comparison helpers tests call (``math``, ``torch``, ``torch.Tensor``, ``torch.testing``,
  ``numpy``, ``numpy.testing``): replaced or removed functions, and replaced modules in ``sys.modules``.

A test cell that was skipped, replaced or cut short never prints ``<token>:ok`` (a blanket try/except
jumps over its last line), so the grader counts it as failed. This is tamper *evidence* for code that
runs in the same process, not a sandbox: see :mod:`dgmlib.autograde.sandbox` for that.
"""
from __future__ import annotations

import builtins
import inspect
import sys

# what tests compare with: module -> the functions watched (None: all of them). Only these, since
# libraries patch others legitimately (torch.func wraps torch.manual_seed, for one)
_COMPARE = ("all", "any", "abs", "max", "min", "sum", "mean", "isfinite", "isnan", "isclose", "allclose", "equal",
            "eq", "ne", "lt", "le", "gt", "ge", "tensor", "as_tensor", "norm")
_WATCHED_MODULES = {
    "math": None,
    "torch": _COMPARE,
    "torch.testing": ("assert_close", "assert_allclose"),
    "numpy": ("all", "any", "abs", "max", "min", "sum", "mean", "isfinite", "isnan", "isclose", "allclose",
              "array_equal", "array", "asarray"),
    "numpy.testing": ("assert_allclose", "assert_array_equal", "assert_almost_equal", "assert_equal",
                      "assert_array_almost_equal"),
}
_TENSOR_METHODS = (*_COMPARE, "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__",
                   "__int__", "__abs__", "__sub__", "__neg__", "__truediv__", "__getitem__", "item", "tolist")
_SHELL_METHODS = ("run_cell", "run_cell_async", "_run_cell", "run_ast_nodes", "run_code", "transform_cell",
                  "transform_ast", "showtraceback", "_showtraceback", "showsyntaxerror", "should_run_async",
                  "user_expressions", "ex", "ev")


def _snapshot(ip) -> dict:
    import importlib
    snap = {"builtins": dict(vars(builtins)), "modules": {}, "classes": {}, "instance": set(vars(ip))}
    for name, watched in _WATCHED_MODULES.items():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        contents = vars(module)
        snap["modules"][name] = (module, {key: contents[key] for key in (watched or contents) if key in contents})
    try:
        import torch
        snap["classes"]["torch.Tensor"] = (torch.Tensor, {key: getattr(torch.Tensor, key) for key in _TENSOR_METHODS
                                                          if hasattr(torch.Tensor, key)})
    except ImportError:
        pass
    from IPython.core.inputtransformer2 import TransformerManager
    for cls in (*type(ip).__mro__, TransformerManager, type(getattr(ip, "kernel", None) or object)):
        if cls is object:
            continue
        snap["classes"][f"{cls.__module__}.{cls.__qualname__}"] = (cls, dict(vars(cls)))
    snap["cleanup"] = list(ip.input_transformers_cleanup)
    snap["manager"] = (list(ip.input_transformer_manager.cleanup_transforms),
                       list(ip.input_transformer_manager.line_transforms),
                       list(ip.input_transformer_manager.token_transformers))
    return snap


# swapped by ipykernel at every execution (to forward input() to the front end), not by a submission
_VOLATILE = {"input", "raw_input", "getpass", "_", "__", "___"}


def _changed(before: dict, now: dict, limit: int = 3) -> list[str]:
    """Names whose function or method was replaced or removed; data and classes may change freely
    (torch, for one, fills some names in lazily)."""
    names = [key for key, value in before.items()
             if inspect.isroutine(value) and key not in _VOLATILE and now.get(key, _MISSING) is not value]
    return names[:limit]


_MISSING = object()


def _problems(ip, snap: dict) -> list[str]:
    found = []
    if ip.input_transformers_post:
        found.append("an IPython input transformer (input_transformers_post)")
    if list(ip.input_transformers_cleanup) != snap["cleanup"]:
        found.append("IPython's cleanup transformers changed")
    manager = ip.input_transformer_manager
    if (list(manager.cleanup_transforms), list(manager.line_transforms),
            list(manager.token_transformers)) != snap["manager"]:
        found.append("IPython's input transformer manager changed")
    if ip.ast_transformers:
        found.append("an IPython AST transformer")
    if ip.custom_exceptions:
        found.append("a custom exception handler (set_custom_exc)")
    if sys.gettrace() is not None:
        found.append("a trace function (sys.settrace)")
    shadowed = [name for name in _SHELL_METHODS if name in vars(ip) and name not in snap["instance"]]
    if shadowed:
        found.append(f"shell methods replaced: {', '.join(shadowed)}")
    changed = _changed(snap["builtins"], vars(builtins))
    if changed:
        found.append(f"builtins replaced: {', '.join(changed)}")
    for name, (module, contents) in snap["modules"].items():
        if sys.modules.get(name) is not module:
            found.append(f"module {name} replaced in sys.modules")
            continue
        changed = _changed(contents, vars(module))
        if changed:
            found.append(f"{name} functions replaced: {', '.join(changed)}")
    for name, (cls, contents) in snap["classes"].items():
        changed = _changed(contents, {key: getattr(cls, key, _MISSING) for key in contents} if name == "torch.Tensor"
                           else vars(cls))
        if changed:
            found.append(f"{name} methods replaced: {', '.join(changed)}")
    return found


def install(token: str) -> None:
    """Set up the kernel for grading (see the module docstring); call before the submission runs."""
    ip = get_ipython()  # noqa: F821  (defined in an IPython kernel)
    out = sys.stdout

    def ask_exit():
        out.write("exit()/quit() is ignored while grading: the kernel keeps running\n")

    ip.ask_exit = ask_exit
    snap = _snapshot(ip)

    def check() -> None:
        problems = _problems(ip, snap)
        out.write(f"{token}:{'ok' if not problems else 'tampered:' + '; '.join(problems)}\n")
        out.flush()

    setattr(builtins, token, check)
    snap["builtins"][token] = check


def install_from_env() -> None:
    """``install`` with the token the grader put in ``DGM_GRADER_TOKEN`` (removed from the environment)."""
    import os
    token = os.environ.pop("DGM_GRADER_TOKEN", None)
    if token:
        install(token)
