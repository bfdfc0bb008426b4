"""nbgrader preprocessors that make autograding safe and fair (configured in nbgrader_config.py).

* :class:`GuardedExecute` replaces nbgrader's ``Execute``: the kernel starts in the sandbox
  (:mod:`.sandbox`) with the guard (:mod:`.guard`) installed; every graded test cell gets a last line that
  proves it ran to its end untampered; the whole notebook has a time budget (``notebook_time_limit``),
  after which the remaining cells are not run; a kernel that dies (``os._exit``, a crash, the memory limit)
  costs the cells from there on, not the notebook. What happened is written beside the autograded
  notebook (``grading.json``) for the summary.
* :class:`StderrIsNotAnError` comes right after it: text on stderr (a debug print, ``logging``, a warning)
  is shown as ordinary output, so it no longer zeroes a correct test cell (nbgrader scores any stderr 0).
"""
from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import secrets
import threading
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Integer, List, Unicode

RECORD = "grading.json"
_PATH_LOCK = threading.Lock()
_PATH_USERS: collections.Counter = collections.Counter()


def is_test_cell(cell) -> bool:
    """An autograded test cell: a graded code cell that is not a solution cell."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class KernelNotStarted(RuntimeError):
    """The grading kernel died or did not answer before the first cell was sent."""


class GuardedExecute(Execute):
    """nbgrader's Execute in the sandbox, with the guard, a notebook time budget and dead-kernel recovery."""

    notebook_time_limit = Integer(600, help="Seconds for the whole notebook; cells after it are not run.").tag(
        config=True)
    kernel_spec_dir = Unicode("", help="A folder put first on JUPYTER_PATH while a notebook is graded (it holds "
                              "the sandbox's kernel spec; see dgmlib.autograde.config)").tag(config=True)
    kernel_start_attempts = Integer(3, min=1, help="Kernels started before one answers (a kernel can die at start "
                                    "when another takes its port first); no cell has run before that.").tag(config=True)

    @contextlib.contextmanager
    def _kernel_spec_on_path(self):
        """``kernel_spec_dir`` on JUPYTER_PATH while notebooks are graded, then the path as it was (counted,
        for a server that grades several at once)."""
        folder = self.kernel_spec_dir
        if not folder:
            yield
            return
        with _PATH_LOCK:
            if _PATH_USERS[folder] == 0:
                os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [folder, os.environ.get("JUPYTER_PATH")]))
            _PATH_USERS[folder] += 1
        try:
            yield
        finally:
            with _PATH_LOCK:
                _PATH_USERS[folder] -= 1
                if _PATH_USERS[folder] == 0:
                    rest = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != folder]
                    if rest:
                        os.environ["JUPYTER_PATH"] = os.pathsep.join(rest)
                    else:
                        os.environ.pop("JUPYTER_PATH", None)

    @contextlib.contextmanager
    def setup_kernel(self, **kwargs):
        """nbclient's, with a failure to start the kernel told apart from everything after it."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(super().setup_kernel(**kwargs))
            except Exception as error:
                raise KernelNotStarted(f"{type(error).__name__}: {error}") from error
            yield

    def _execute(self, nb, resources, km):
        """nbgrader's execution, again if the kernel never started (seen in CI: two kernels starting at the same
        moment picked the same free port, and one died with 'Address already in use'). No cell has run then,
        so running the notebook again is safe."""
        for attempt in range(1, self.kernel_start_attempts + 1):
            try:
                return super().preprocess(nb, resources, km=km)
            except KernelNotStarted as error:
                if attempt == self.kernel_start_attempts:
                    raise
                self.log.warning("the grading kernel did not start (%s); starting a new one", error)

    def preprocess(self, nb, resources, km=None):
        token = "_dgm_check_" + secrets.token_hex(6)
        self._deadline = time.monotonic() + self.notebook_time_limit
        self._record = {"kernel_died_at": None, "timed_out": [], "not_run": [], "tampered": {},
                        "not_finished": [], "time_limit": self.notebook_time_limit}
        os.environ["DGM_GRADER_TOKEN"] = token  # read (and removed) by the guard in the kernel
        originals = {}
        for index, cell in enumerate(nb.cells):
            if is_test_cell(cell):
                originals[index] = cell.source
                cell.source = cell.source + f"\n{token}()"
        # one more cell at the end audits the kernel even when no test cell got to its last line
        nb.cells.append(NotebookNode(cell_type="code", source=f"{token}()", metadata={}, outputs=[],
                                     execution_count=None))
        start = time.monotonic()
        try:
            with self._kernel_spec_on_path():
                nb, resources = self._execute(nb, resources, km)
        finally:
            os.environ.pop("DGM_GRADER_TOKEN", None)
            audit = nb.cells.pop()
            for index, source in originals.items():
                nb.cells[index].source = source
        for index in originals:
            self._judge(nb.cells[index], token)
        self._audit(audit, token)
        self._record["seconds"] = round(time.monotonic() - start, 1)
        self._record["isolated"] = _isolated()
        path = resources.get("metadata", {}).get("path")
        if path:
            Path(path, RECORD).write_text(json.dumps(self._record, indent=1))
        resources["dgm_grading"] = self._record
        return nb, resources

    @staticmethod
    def _take_verdict(cell, token: str) -> str | None:
        """What the guard printed in ``cell``, its lines removed from the output: None when it did not print,
        "" for ``ok``, else what was changed. Only the check's own lines count: a submission may print the
        cell's text, token included."""
        verdict = None
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and token in output.text:
                lines = output.text.split("\n")
                own = [line for line in lines if line == f"{token}:ok" or line.startswith(f"{token}:tampered:")]
                verdict = own[-1] if own else verdict
                output.text = "\n".join(line for line in lines if line not in own)
        cell.outputs = [o for o in cell.get("outputs", []) if not (o.output_type == "stream" and not o.text)]
        return None if verdict is None else verdict[len(token) + 1:].removeprefix("ok").removeprefix("tampered:")

    def _judge(self, cell, token: str) -> None:
        """Keep the cell's result only if its last line printed ``<token>:ok``; drop that line."""
        grade_id = cell.metadata["nbgrader"].get("grade_id", "?")
        reason = self._take_verdict(cell, token)
        if reason is None:
            if not any(o.output_type == "error" for o in cell.outputs):
                # no error and no proof that the last line ran: skipped, replaced or swallowed
                self._record["not_finished"].append(grade_id)
                cell.outputs.append(_error("GradingError", "this test cell did not run to its end (it was skipped, "
                                                           "replaced or its error was swallowed): no points"))
        elif reason:
            self._record["tampered"][grade_id] = reason
            cell.outputs.append(_error("GradingError", f"the grading machinery was changed ({reason}): no points"))

    def _audit(self, cell, token: str) -> None:
        """The end-of-notebook check: tampering found there is recorded (the points are already decided)."""
        if self._record["kernel_died_at"] is not None or self._record["not_run"]:
            return
        reason = self._take_verdict(cell, token)
        if reason is None:
            self._record["tampered"]["(end of notebook)"] = "the grader's last check did not run"
        elif reason:
            self._record["tampered"]["(end of notebook)"] = reason

    def _get_timeout(self, cell):
        remaining = self._deadline - time.monotonic()
        timeout = super()._get_timeout(cell)
        return max(1, int(min(timeout or remaining, remaining)))

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        from nbclient.exceptions import DeadKernelError
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {cell_index}")
        if self._record["kernel_died_at"] is not None:
            cell.outputs = [_error("GradingError", f"not run: the kernel died in an earlier cell "
                                                   f"({self._record['kernel_died_at']})")]
            self._record["not_run"].append(grade_id)
            return cell
        if time.monotonic() >= self._deadline:
            cell.outputs = [_error("GradingError", f"not run: the notebook's time limit "
                                                   f"({self.notebook_time_limit} s) was reached")]
            self._record["not_run"].append(grade_id)
            return cell
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._record["kernel_died_at"] = grade_id
            cell.outputs = list(cell.get("outputs", [])) + [_error(
                "DeadKernelError", "the kernel died while running this cell (os._exit, a crash or the memory "
                                   "limit); the cells after it were not run")]
            return cell
        return cell

    # nbclient binds the synchronous wrapper to its own coroutine: bind it to the one above
    execute_cell = run_sync(async_execute_cell)

    async def _async_handle_timeout(self, timeout, cell=None):
        if cell is not None:
            self._record["timed_out"].append(cell.metadata.get("nbgrader", {}).get("grade_id")
                                             or f"a cell of the submission ({timeout} s)")
        return await super()._async_handle_timeout(timeout, cell)

    async def _async_cleanup_kernel(self):
        try:
            await super()._async_cleanup_kernel()
        except Exception:  # a dead kernel cannot be shut down politely; the sandbox ends its processes
            pass


def _isolated() -> bool:
    from .sandbox import can_isolate
    return can_isolate()


class StderrIsNotAnError(NbGraderPreprocessor):
    """Show stderr text in test cells as ordinary output (tagged ``[stderr]``): only errors cost points."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = "".join(f"[stderr] {line}" for line in output.text.splitlines(keepends=True))
        return cell, resources


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests, plus: no line of a hidden-test region is shown anywhere in the feedback.

    In tracebacks, a frame of a test cell that fails inside the hidden region becomes one line, other
    frames lose the context lines that fall inside it; frames in the student's own code and the final
    `AssertionError: message` line are kept. In every other output (what the submission printed: its
    code can read the calling cell), lines that repeat a line of a hidden test are replaced by a note.
    """

    # configurable here, as in nbconvert's base class: HTMLExporter sets it, and nbgrader's
    # preprocessor base class would otherwise log "Config option not recognized"
    display_data_priority = List(ClearHiddenTests.display_data_priority.default_value).tag(config=True)

    def preprocess(self, nb, resources):
        self._hidden_lines = {line.strip() for cell in nb.cells if cell.cell_type == "code"
                              for _, line in self._hidden_region(cell.source)
                              if len(line.strip()) >= 8 and self.begin_test_delimeter not in line
                              and self.end_test_delimeter not in line}
        return super().preprocess(nb, resources)

    def _hidden_region(self, source: str) -> list[tuple[int, str]]:
        """(line number from 1, line) of every line of a hidden-test region, its delimiter lines included."""
        lines, inside = [], False
        for number, line in enumerate(source.split("\n"), start=1):
            inside = inside or self.begin_test_delimeter in line
            if inside:
                lines.append((number, line))
            inside = inside and self.end_test_delimeter not in line
        return lines

    def _scrub(self, text: str) -> str:
        return "\n".join("[a line of a hidden test, not shown]" if line.strip() in self._hidden_lines else line
                         for line in text.split("\n"))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self._hidden_lines:
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    output.text = self._scrub(output.text)
                for key, value in output.get("data", {}).items():
                    if key.startswith("text/") and isinstance(value, str):
                        output.data[key] = self._scrub(value)
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade", False):
            hidden = {number for number, _ in self._hidden_region(cell.source)}
            for output in cell.outputs:
                if hidden and output.output_type == "error":
                    output.traceback = [self._trim(frame, hidden, cell.execution_count)
                                        for frame in output.traceback]
            return super().preprocess_cell(cell, resources, index)
        # not a test cell: nbgrader would refuse marker text here (a student may well type it); leave it
        return cell, resources

    @staticmethod
    def _trim(frame, hidden, execution_count):
        plain = re.sub(r"\x1b\[[0-9;]*m", "", frame)
        header = re.match(r"\s*Cell In\[%s\], line (\d+)" % execution_count, plain)
        if header is None:  # another cell's frame: the student's function, a helper
            return frame
        if int(header.group(1)) in hidden:
            return "Cell In[%s]: a hidden test failed (its code is not shown)" % execution_count
        # context lines look like "     26 code" or "---> 25 code"
        numbered = [(re.match(r"\s*(?:-+>)?\s*(\d+)(?: |$)", line), line) for line in plain.split("\n")]
        return "\n".join(line for m, line in numbered if m is None or int(m.group(1)) not in hidden)
