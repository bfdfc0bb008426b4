"""Every lecture notebook and every solution notebook runs top to bottom in quick mode."""
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))


def test_there_are_notebooks_to_run():
    assert any(p.parent.name == "notebooks" for p in NOTEBOOKS)
    assert any(p.parent.parent.name == "solutions" for p in NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_executes_in_quick_mode(path, monkeypatch):
    monkeypatch.setenv("DGM_QUICK", "1")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError with the failing cell's traceback
    print(f"{path.relative_to(ROOT)}: {time.perf_counter() - start:.1f} s in quick mode")
