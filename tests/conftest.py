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


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
