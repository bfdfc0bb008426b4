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
