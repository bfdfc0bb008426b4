"""Shared test set-up: quick mode, the venv's tools on PATH, the repository root."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Notebooks, solutions and benchmarks run in quick mode under test; subprocesses
# (nbgrader, notebook kernels) inherit this environment.
os.environ.setdefault("DGM_QUICK", "1")
os.environ.pop("DGM_MODE", None)  # a reader's DGM_MODE=laptop would disagree with the tests' quick mode
# nbgrader shells out to `alembic`, which lives beside this Python.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")
# Two xdist workers (pyproject.toml's addopts) share 2 cores: one thread each (and in every kernel they start), because torch's
# threads spin when the cores are oversubscribed and small models then train ten times slower.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT



# -- spreading the slow tests over the two xdist workers --------------------------------------------------
# Each assignment's nbgrader round trip is one module-scoped fixture (minutes), and each notebook or
# benchmark run is one test (up to minutes): whole files per worker (--dist loadfile) put all the round
# trips on one worker. Here a work unit is one assignment's round trip, one notebook, or one benchmark run
# (any other file stays one unit), and those slow units are handed out first, so the many small files
# fill the gaps at the end.
SPLIT_BY_PARAMETER = "tests/test_grading.py"                            # unit: the assignment
# unit: the test (each lecture in the browser takes one to four minutes: one worker for all of them made CI 28 min)
SPLIT_BY_TEST = ("tests/test_notebooks.py", "tests/test_benchmarks.py", "tests/test_browser.py")


def _work_unit(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    if path == SPLIT_BY_PARAMETER and "[" in name:
        return path + "[" + name.split("[", 1)[1]
    if path in SPLIT_BY_TEST:
        return nodeid
    return path


SLOW_ORDER = (SPLIT_BY_PARAMETER, "tests/test_browser.py", "tests/test_grading_security.py", "tests/test_notebooks.py",
              "tests/test_benchmarks.py")


def _slow_first(nodeid: str) -> int:
    """Round trips first (the slowest), then lectures in the browser, the hostile class (one unit), notebooks,
    benchmark runs, and the rest."""
    path = nodeid.partition("::")[0]
    return SLOW_ORDER.index(path) if path in SLOW_ORDER else len(SLOW_ORDER)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # a stable sort: the tests of one unit stay together and in pytest's order (one fixture set-up each)
    items.sort(key=lambda item: _slow_first(item.nodeid))


class _SlowUnitsFirstPlugin:
    """Registered only when xdist is loaded (``-p no:xdist`` would reject its unknown hook)."""

    @staticmethod
    def pytest_xdist_make_scheduler(config, log):
        from xdist.scheduler import LoadScopeScheduling

        class SlowUnitsFirst(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _work_unit(nodeid)

        config.option.loadscopereorder = False  # keep the order above, not "most tests first"
        return SlowUnitsFirst(config, log)


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SlowUnitsFirstPlugin(), "dgm-slow-units-first")
