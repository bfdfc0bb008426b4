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

