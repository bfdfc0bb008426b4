"""Configure nbgrader for safe autograding: ``configure(c, course_root)`` from nbgrader_config.py.

It writes a kernel specification, ``dgm-grading``, into a private temporary folder (put on
``JUPYTER_PATH`` only while :class:`~.preprocessors.GuardedExecute` grades a notebook, so a Jupyter server
that reads this configuration, nbgrader's formgrader in a reader's JupyterLab, never offers it) whose
command starts ipykernel through the sandbox
(:mod:`.sandbox`) with the guard (:mod:`.guard`), and puts :class:`~.preprocessors.GuardedExecute` and
:class:`~.preprocessors.StderrIsNotAnError` into nbgrader's autograde pipeline. Everything else stays
nbgrader's own.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..data.cache import data_dir

KERNEL_NAME = "dgm-grading"
GUARD = "import dgmlib.autograde.guard as _g; _g.install_from_env(); del _g"


def write_kernel_spec(course_root: str | os.PathLike, *, cpu_seconds: int, memory_mb: int) -> Path:
    """The ``dgm-grading`` kernel spec in a new temporary folder (removed at exit); returns that folder."""
    folder = Path(tempfile.mkdtemp(prefix="dgm-kernels-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    hide = [str(Path(course_root).resolve()), str(Path.home())]
    # the launcher runs by its path, not with -m: dgmlib's package (torch with it) would be imported twice
    # before every kernel, about 4 s of each submission's grading
    argv = [sys.executable, str(Path(__file__).with_name("sandbox.py")), "--workdir", ".",
            *[arg for path in hide for arg in ("--hide", path)],
            "--read-only", str(data_dir().resolve()), "--cpu", str(cpu_seconds), "--memory-mb", str(memory_mb),
            "--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            f"--IPKernelApp.code_to_run={GUARD}"]
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3 (grading sandbox)",
                                                  "language": "python"}, indent=1))
    return folder


def configure(c, course_root: str | os.PathLike, *, notebook_time_limit: int = 600, cell_time_limit: int = 600,
              memory_mb: int = 8192) -> None:
    """Set nbgrader's autograde pipeline on the config object ``c`` (see the module docstring)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, LimitOutput, SaveAutoGrades

    from .preprocessors import GuardedExecute, StderrIsNotAnError

    folder = write_kernel_spec(course_root, cpu_seconds=2 * notebook_time_limit + 60, memory_mb=memory_mb)
    c.Autograde.autograde_preprocessors = [GuardedExecute, StderrIsNotAnError, ClearMetadataPreprocessor,
                                           LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    c.GuardedExecute.kernel_name = KERNEL_NAME
    c.GuardedExecute.kernel_spec_dir = str(folder)
    c.GuardedExecute.notebook_time_limit = notebook_time_limit
    c.Execute.timeout = cell_time_limit
    c.Execute.interrupt_on_timeout = True
    # long outputs (a print in a loop) are cut, so feedback stays readable and small
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_traceback = 60
