"""The grading sandbox's kernel spec is seen only while a notebook is graded.

nbgrader_config.py is read by every Jupyter server started in the course folder (nbgrader's formgrader is a
server extension), so whatever it puts on JUPYTER_PATH a reader's JupyterLab offers as a kernel: CI saw its
"Select Kernel" dialog block a lecture. These tests load the configuration as such a server does.
"""
from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from traitlets.config.loader import PyFileConfigLoader

from dgmlib.autograde.config import KERNEL_NAME
from dgmlib.autograde.preprocessors import GuardedExecute

ROOT = Path(__file__).resolve().parents[1]


def _kernel_names() -> set[str]:
    return set(KernelSpecManager().find_kernel_specs())


@pytest.fixture
def course_config(monkeypatch):
    """nbgrader_config.py loaded the way a Jupyter server loads it, with JUPYTER_PATH restored afterwards."""
    # a reader's own folder on the path, which must survive
    monkeypatch.setenv("JUPYTER_PATH", str(ROOT / "no-such-jupyter-folder"))
    before = os.environ["JUPYTER_PATH"]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert os.environ["JUPYTER_PATH"] == before, "loading the configuration changed JUPYTER_PATH"
    return config


def test_loading_the_course_configuration_offers_no_grading_kernel(course_config):
    assert KERNEL_NAME not in _kernel_names()
    assert course_config.GuardedExecute.kernel_name == KERNEL_NAME
    assert (Path(course_config.GuardedExecute.kernel_spec_dir) / "kernels" / KERNEL_NAME / "kernel.json").is_file()


def test_the_grading_kernel_is_on_the_path_only_while_grading(course_config):
    before = os.environ["JUPYTER_PATH"]
    execute = GuardedExecute(config=course_config)
    with execute._kernel_spec_on_path():
        assert KERNEL_NAME in _kernel_names()
        with execute._kernel_spec_on_path():  # a second notebook graded at the same time
            assert KERNEL_NAME in _kernel_names()
        assert KERNEL_NAME in _kernel_names(), "the first grading lost its kernel when the second ended"
    assert os.environ["JUPYTER_PATH"] == before
    assert KERNEL_NAME not in _kernel_names()


def test_overlapping_gradings_in_threads_restore_the_path(course_config):
    before = os.environ["JUPYTER_PATH"]
    execute = GuardedExecute(config=course_config)
    inside, seen = threading.Barrier(4), []

    def grade():
        with execute._kernel_spec_on_path():
            inside.wait(timeout=30)  # all four hold it at once
            seen.append(KERNEL_NAME in _kernel_names())
            inside.wait(timeout=30)

    threads = [threading.Thread(target=grade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [True] * 4
    assert os.environ["JUPYTER_PATH"] == before


@pytest.mark.slow
def test_jupyterlab_started_in_the_course_folder_offers_only_python(tmp_path):
    """What a reader does: `jupyter lab` in the repository, where nbgrader's server extension reads the
    course configuration."""
    from dgmlib.lab import jupyterlab

    with jupyterlab(ROOT, log=tmp_path / "lab.log") as (url, token):
        with urllib.request.urlopen(f"{url}/api/kernelspecs?token={token}", timeout=30) as reply:
            specs = json.load(reply)["kernelspecs"]
    assert KERNEL_NAME not in specs, (sorted(specs), (tmp_path / "lab.log").read_text()[-3000:])
    assert "python3" in specs


# --- a kernel that dies at start is started again ---------------------------------------------------------------

FLAKY_KERNEL = """import pathlib, runpy, sys
tries = pathlib.Path(sys.argv[1])
tries.write_text(tries.read_text() + "x" if tries.exists() else "x")
if len(tries.read_text()) <= int(sys.argv[2]):
    sys.exit("the port was taken (a stand-in for ZMQError: Address already in use)")
sys.argv = ["ipykernel_launcher"] + sys.argv[3:]
runpy.run_module("ipykernel_launcher", run_name="__main__")
"""


def _flaky_kernel(folder: Path, failures: int) -> Path:
    """A kernel spec whose first ``failures`` starts die before answering; returns the file counting starts."""
    import sys

    script, tries = folder / "flaky_kernel.py", folder / "starts"
    script.write_text(FLAKY_KERNEL)
    spec = folder / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(script), str(tries), str(failures), "-f", "{connection_file}"],
        "display_name": "flaky", "language": "python"}))
    return tries


@pytest.mark.parametrize("failures, attempts, runs", [(2, 3, True), (1, 1, False)])
def test_a_kernel_that_dies_at_start_is_started_again(tmp_path, monkeypatch, failures, attempts, runs):
    import nbformat

    from dgmlib.autograde.preprocessors import KernelNotStarted

    tries = _flaky_kernel(tmp_path, failures)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    execute = GuardedExecute(kernel_name="flaky", kernel_start_attempts=attempts, startup_timeout=60)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    if runs:
        nb, _ = execute.preprocess(nb, {})  # the whole grading run (no guard in this kernel: the audit complains)
        assert nb.cells[0].outputs[0].text.strip() == "42"
        assert tries.read_text() == "x" * (failures + 1)
    else:
        with pytest.raises(KernelNotStarted):
            execute.preprocess(nb, {})
        assert tries.read_text() == "x" * attempts
