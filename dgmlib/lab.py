"""Lecture notebooks as a reader meets them: JupyterLab in headless Chromium, every widget moved once.

:func:`check_notebook` opens a notebook in a real JupyterLab, runs all cells, and then for every
``interact`` widget checks what a reader would notice:

* every control's label and readout are fully visible (not cut off with an ellipsis);
* moving each slider, dropdown or checkbox once redraws the widget's output within
  ``update_seconds``, without a traceback;
* figures shown with :func:`dgmlib.viz.widgets.show` keep their axes' limits while the controls
  move (except axes named free there), and every widget figure is shown that way.

It saves a screenshot of each widget before and after each move. The browser is Debian's
``chromium`` (or ``$DGM_CHROMIUM``) driven by Playwright; nothing is downloaded at run time::

    python -m dgmlib.lab notebooks/01_probability_review.ipynb --screenshots artifacts/browser

The notebook runs on a copy in a temporary folder (JupyterLab's autosave never touches the
original); the kernel inherits this process's environment (set ``DGM_MODE`` there).
"""
from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import io
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import nbformat

from .viz.widgets import AXES_KEY

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]  # no calls to a closed network
# JupyterLab settings for a test: no news or update pop-ups, every cell kept in the page (no windowing)
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    # the notebook's own kernel starts without a "Select Kernel" question
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                   "autoStartDefaultKernel": True},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


class BrowserUnavailableError(RuntimeError):
    """No Chromium or no Playwright here: the browser test cannot run."""


def find_chromium() -> str:
    """The Chromium executable: ``$DGM_CHROMIUM``, else chromium / chromium-browser / google-chrome on PATH."""
    named = os.environ.get("DGM_CHROMIUM")
    if named:
        if not Path(named).exists():
            raise BrowserUnavailableError(f"DGM_CHROMIUM={named} does not exist")
        return named
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise BrowserUnavailableError("no Chromium found: install Debian's package (apt-get install chromium) "
                                  "or point DGM_CHROMIUM at a Chromium or Chrome executable")


def browser_problem() -> str | None:
    """Why the browser test cannot run here (a sentence), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -c constraints.txt -e '.[browser]'"
    try:
        find_chromium()
    except BrowserUnavailableError as error:
        return str(error)
    return None


@dataclass
class ControlCheck:
    """One control moved once: how long its widget took to redraw, and what went wrong (empty: nothing)."""

    label: str
    kind: str  # "slider", "dropdown" or "checkbox"
    seconds: float | None  # None: the output did not change within the limit
    problems: list[str] = field(default_factory=list)


@dataclass
class WidgetCheck:
    index: int  # 0-based, in page order
    labels: list[str]
    controls: list[ControlCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the widget's own (labels, axes record)

    def all_problems(self) -> list[str]:
        return self.problems + [f"{c.label!r}: {p}" for c in self.controls for p in c.problems]


@dataclass
class NotebookCheck:
    path: str
    run_seconds: float
    cell_errors: list[str]
    widgets: list[WidgetCheck]
    # JupyterLab dialogs that popped up and were dismissed; reported, not failed: seen once, from the test's set-up
    dialogs: list[str] = field(default_factory=list)
    # the end of JupyterLab's own log, kept when a cell did not run (why a kernel did not start is there)
    server_log: str = ""

    def problems(self) -> list[str]:
        """Everything a reader would trip over, one line each (empty: the notebook passed)."""
        lines = [f"cell error: {e}" for e in self.cell_errors]
        lines += [f"widget {w.index + 1} ({', '.join(w.labels)}): {p}" for w in self.widgets for p in w.all_problems()]
        if self.server_log:
            lines.append("JupyterLab's log ended with:\n" + self.server_log)
        return lines

    def summary(self) -> str:
        slowest = max((c.seconds for w in self.widgets for c in w.controls if c.seconds is not None), default=0.0)
        n_controls = sum(len(w.controls) for w in self.widgets)
        return (f"{self.path}: ran in {self.run_seconds:.0f} s; {len(self.widgets)} widgets, {n_controls} controls "
                f"moved, slowest redraw {slowest:.2f} s; {len(self.problems())} problems"
                + "".join(f"\n  (a JupyterLab dialog was dismissed{f' {n} times' if n > 1 else ''}: {d})"
                          for d, n in collections.Counter(self.dialogs).items()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, *, log: Path | None = None, start_seconds: float = 60) -> Iterator[str]:
    """A JupyterLab server on localhost serving ``root``; yields its base URL with the token."""
    port, token = _free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="dgm-lab-") as home:
        settings = Path(home) / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        # without the grading sandbox's kernel spec, which an autograde run in this process may have put on the path
        jupyter_path = os.pathsep.join(p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
                                       if p and "dgm-kernels-" not in p)
        env = dict(os.environ, JUPYTER_PATH=jupyter_path, JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(Path(home) / "workspaces"),
                   MPLBACKEND="module://matplotlib_inline.backend_inline")
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                   "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
                   f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--ServerApp.open_browser=False"]
        out = open(log, "w") if log else subprocess.DEVNULL
        # started in root, so that it reads no nbgrader_config.py of the folder this process happens to be in
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
        try:
            deadline = time.monotonic() + start_seconds
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited at start (code {server.returncode}); see {log}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"JupyterLab did not listen on port {port} within {start_seconds} s")
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}", token
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
            if log:
                out.close()


def _png_axes(src: str) -> list[dict] | None:
    """The axes record in a data-URL PNG (see dgmlib.viz.widgets), or None when it carries none."""
    from PIL import Image
    if not src.startswith("data:image/png;base64,"):
        return None
    image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    text = getattr(image, "text", None) or image.info
    return json.loads(text[AXES_KEY]) if AXES_KEY in text else None


def _same_limits(a: list[float], b: list[float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a, b))


def _axes_problems(before: list[dict], after: list[dict], setting: str) -> list[str]:
    if len(before) != len(after):
        return [f"the figure had {len(before)} axes and has {len(after)} after {setting}"]
    problems = []
    for i, (a, b) in enumerate(zip(before, after)):
        if a["free"] or b["free"]:
            continue
        for axis in ("xlim", "ylim"):
            if not _same_limits(a[axis], b[axis]):
                name = a["title"] or f"axes {i + 1}"
                problems.append(f"{axis[0]} axis of {name!r} moved from {_fmt(a[axis])} to {_fmt(b[axis])} after "
                                f"{setting}: fix its limits so that settings can be compared (or name it free in "
                                "dgmlib.viz.widgets.show)")
    return problems


def _fmt(limits: list[float]) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in limits) + ")"


# JavaScript run in the page: the state of one widget's output area
_OUTPUT_STATE = """interact => {
  const out = interact.querySelector(':scope > .widget-output');
  if (!out) return null;
  const images = Array.from(out.querySelectorAll('img')).map(img => img.src);
  const errors = Array.from(out.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
                      .map(e => e.innerText).filter(t => /Error|Traceback|Exception/.test(t));
  return {html: out.innerHTML, images, errors, text: out.innerText};
}"""
_CUT_LABELS = """interact => Array.from(interact.querySelectorAll('.widget-label, .widget-readout'))
  .filter(e => e.offsetParent !== null && e.innerText.trim() !== '' && e.scrollWidth > e.clientWidth)
  .map(e => e.innerText.trim())"""


class LabPage:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page, url: str, token: str, relpath: str, kernel_seconds: float = 180):
        self.page = page
        self.dialogs: list[str] = []
        self.url, self.token, self.relpath = url, token, relpath
        page.goto(f"{url}/lab/tree/{relpath}?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        self.wait_for_kernel(kernel_seconds)

    def kernel_state(self) -> str | None:
        """The execution state the server reports for this notebook's kernel (None: no session yet)."""
        with urllib.request.urlopen(f"{self.url}/api/sessions?token={self.token}", timeout=10) as reply:
            sessions = json.load(reply)
        for session in sessions:
            if session.get("path", "").endswith(self.relpath) and session.get("kernel"):
                return session["kernel"].get("execution_state")
        return None

    def wait_for_kernel(self, timeout: float) -> None:
        """Wait until the notebook's kernel has started and is idle, on the server and in the page: a Run All
        clicked before that meets no kernel, and JupyterLab then asks which kernel to start."""
        deadline = time.monotonic() + timeout
        while self.kernel_state() != "idle":
            self.dismiss_dialogs()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the notebook's kernel was not ready {timeout:.0f} s after the page opened "
                                   f"(the server says {self.kernel_state()!r})")
            time.sleep(0.5)
        self.page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                    timeout=max(1.0, deadline - time.monotonic()) * 1000)

    def dismiss_dialogs(self, most: int = 10) -> None:
        """Close any JupyterLab dialog (keeping its text in ``dialogs``): it would block every click."""
        dialog = self.page.locator(".jp-Dialog")
        for _ in range(most):
            if not dialog.count():
                return
            self.dialogs.append(" ".join(dialog.first.inner_text().split()))
            choice = dialog.first.locator("select")
            if choice.count():  # "Select Kernel": the notebook's own, ipykernel's python3
                options = choice.first.evaluate("s => Array.from(s.options).map(o => [o.value, o.text])")
                wanted = [value for value, text in options if '"python3"' in value or "ipykernel" in text]
                if wanted:
                    choice.first.select_option(wanted[0])
            buttons = dialog.first.locator(".jp-Dialog-footer button")
            if buttons.count():
                buttons.last.click()
            else:
                self.page.keyboard.press("Escape")
            self.page.wait_for_timeout(300)

    def menu(self, top: str, item: str) -> None:
        self.dismiss_dialogs()
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()

    def busy_cells(self) -> int:
        return self.page.evaluate("""() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'))
                                     .filter(e => e.innerText.includes('*')).length""")

    def ran_any(self) -> bool:
        return self.page.evaluate("""() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'))
                                     .some(e => /\\d/.test(e.innerText))""")

    def run_all(self, timeout: float) -> float:
        """Run all cells and wait until none is queued or running; returns the seconds it took."""
        start = time.monotonic()
        for _ in range(3):  # a click that lands before the notebook panel is ready does nothing: click again
            self.menu("Run", "Run All Cells")
            clicked = time.monotonic()
            while self.busy_cells() == 0 and not self.ran_any() and time.monotonic() - clicked < 15:
                time.sleep(0.1)
            if self.busy_cells() or self.ran_any():
                break
        while self.busy_cells() > 0:
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"Run All had not finished after {timeout:.0f} s ({self.busy_cells()} cells left)")
            time.sleep(0.5)
        return time.monotonic() - start

    def save(self, path: Path, timeout: float = 30) -> None:
        before = path.stat().st_mtime_ns
        self.menu("File", "Save Notebook")
        deadline = time.monotonic() + timeout
        while path.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"JupyterLab did not save {path.name} within {timeout} s")
            time.sleep(0.2)
        time.sleep(0.5)  # the write is atomic on the server, but let it finish


def _cell_errors(path: Path) -> list[str]:
    """The error outputs of a saved notebook, 'cell N: Name: message' each, and the code cells that never ran."""
    nb = nbformat.read(path, as_version=4)
    errors, not_run = [], []
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            not_run.append(number)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"cell {number}: {output.get('ename')}: {output.get('evalue')}")
    if not_run and not errors:  # after an error Run All stops: that error is the news
        errors.append(f"{len(not_run)} code cells never ran (cells {not_run[0]}..{not_run[-1]}): no kernel, or "
                      "Run All did not reach them")
    return errors


def _controls(interact):
    """(locator, kind, label) of each control of an interact widget, in order."""
    found = []
    for box in interact.locator(":scope > .widget-inline-hbox").all():
        classes = box.get_attribute("class") or ""
        label = box.locator(".widget-label").first.inner_text().strip() if box.locator(".widget-label").count() else ""
        if "widget-slider" in classes and box.locator(".noUi-handle").count():
            found.append((box.locator(".noUi-handle").first, "slider", label))
        elif "widget-dropdown" in classes:
            found.append((box.locator("select").first, "dropdown", label))
        elif "widget-checkbox" in classes:
            found.append((box.locator("input[type=checkbox]").first, "checkbox", label))
    for box in interact.locator(":scope > .widget-checkbox").all():
        label = box.inner_text().strip()
        found.append((box.locator("input[type=checkbox]").first, "checkbox", label))
    return found


def _move(control, kind: str) -> str:
    """Change a control once, as a reader would; returns what was done, for messages."""
    if kind == "slider":
        now, high = float(control.get_attribute("aria-valuenow")), float(control.get_attribute("aria-valuemax"))
        key = "ArrowLeft" if now >= high else "ArrowRight"
        control.focus()
        control.press(key)
        return f"one step {'left' if key == 'ArrowLeft' else 'right'}"
    if kind == "dropdown":
        options = control.evaluate("s => Array.from(s.options).map(o => o.value)")
        current = control.input_value()
        other = next(o for o in options if o != current)
        control.select_option(other)
        return f"choosing {other!r}"
    control.click()
    return "a click"


def _content(state: dict) -> tuple:
    """What a reader sees of an output area: its images and its text (not the page's markup around them)."""
    return tuple(state["images"]), state["text"].strip()


def _wait_for_redraw(interact, before: dict, seconds: float) -> tuple[dict, float | None]:
    """The output state once it differs from ``before`` and has content (or the last seen, with None)."""
    start = time.monotonic()
    state = before
    while time.monotonic() - start < seconds:
        state = interact.evaluate(_OUTPUT_STATE)
        if state and _content(state) != _content(before) and (state["images"] or state["text"].strip()):
            time.sleep(0.3)  # let an output that is cleared and redrawn settle
            return interact.evaluate(_OUTPUT_STATE), time.monotonic() - start
        time.sleep(0.05)
    return state, None


def check_widget(interact, index: int, update_seconds: float, shots: Path | None) -> WidgetCheck:
    interact.scroll_into_view_if_needed()
    controls = _controls(interact)
    check = WidgetCheck(index, [label or kind for _, kind, label in controls])
    for text in interact.evaluate(_CUT_LABELS):
        check.problems.append(f"label or readout {text!r} is cut off: give the control a shorter description or "
                              "style={'description_width': 'initial'}")
    state = interact.evaluate(_OUTPUT_STATE)
    if state is None:
        check.problems.append("no output area: not an interact widget")
        return check
    if shots:
        interact.screenshot(path=str(shots / f"widget{index + 1:02d}-0-initial.png"))
    if state["errors"]:
        check.problems.append(f"its output shows an error: {state['errors'][0].strip().splitlines()[-1]}")
        return check
    first_axes = [_png_axes(src) for src in state["images"]]
    if any(axes is None for axes in first_axes):
        check.problems.append("its figure carries no axes record: end the callback with "
                              "dgmlib.viz.widgets.show() instead of plt.show()")
    for number, (control, kind, label) in enumerate(controls, 1):
        result = ControlCheck(label or kind, kind, None)
        check.controls.append(result)
        before = interact.evaluate(_OUTPUT_STATE)
        did = _move(control, kind)
        after, result.seconds = _wait_for_redraw(interact, before, update_seconds)
        if shots:
            interact.screenshot(path=str(shots / f"widget{index + 1:02d}-{number}-{re.sub(r'[^A-Za-z0-9]+', '_', result.label)}.png"))
        if result.seconds is None:
            result.problems.append(f"the output did not change within {update_seconds:g} s of {did}")
            continue
        if after["errors"]:
            last = after["errors"][0].strip().splitlines()[-1]
            result.problems.append(f"the callback raised after {did}: {last}")
            continue
        axes_after = [_png_axes(src) for src in after["images"]]
        if len(axes_after) != len(first_axes):
            result.problems.append(f"the widget showed {len(first_axes)} figures and shows {len(axes_after)} "
                                   f"after {did}")
        for a, b in zip(first_axes, axes_after):
            if a is not None and b is not None:
                result.problems += _axes_problems(a, b, did)
    return check


def check_notebook(path: str | Path, *, run_timeout: float = 900, update_seconds: float = 5.0,
                   screenshots: Path | None = None, log: Path | None = None,
                   viewport: tuple[int, int] = (1400, 1000)) -> NotebookCheck:
    """Open ``path`` in JupyterLab in headless Chromium, run all cells, move every widget control once.

    screenshots: a folder for PNGs of each widget before and after each move (created).
    Raises :class:`BrowserUnavailableError` where there is no browser; otherwise returns the findings.
    """
    problem = browser_problem()
    if problem:
        raise BrowserUnavailableError(problem)
    from playwright.sync_api import sync_playwright

    source = Path(path).resolve()
    with tempfile.TemporaryDirectory(prefix="dgm-browser-") as tmp:
        # the copy sits where the original does relative to its siblings (../benchmarks and the like)
        root = Path(tmp) / "lab"  # served; the server's log sits beside it
        folder = root / source.parent.name
        folder.mkdir(parents=True)
        copy = folder / source.name
        shutil.copy2(source, copy)
        for sibling in source.parent.parent.iterdir():
            if sibling.name != source.parent.name and not sibling.name.startswith("."):
                (root / sibling.name).symlink_to(sibling)
        if screenshots:
            screenshots.mkdir(parents=True, exist_ok=True)
        log = log or Path(tmp) / "jupyterlab.log"
        lab, seconds, widgets = None, 0.0, []
        with jupyterlab(root, log=log) as (url, token), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
                try:
                    lab = LabPage(page, url, token, f"{folder.name}/{copy.name}")
                    seconds = lab.run_all(run_timeout)
                    lab.save(copy)
                    lab.dismiss_dialogs()
                    errors = _cell_errors(copy)
                except TimeoutError as error:  # no kernel, or cells that never finish: the news, with the log
                    errors = [f"{type(error).__name__}: {error}"]
                else:
                    widgets = [check_widget(interact, i, update_seconds, screenshots)
                               for i, interact in enumerate(page.locator(".widget-interact").all())]
                if screenshots:
                    page.screenshot(path=str(screenshots / "notebook-end.png"))
            finally:
                browser.close()
        tail = _tail(log) if errors else ""
    return NotebookCheck(str(path), seconds, errors, widgets, lab.dialogs if lab else [], tail)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for widget screenshots")
    parser.add_argument("--update-seconds", type=float, default=5.0, help="how long a widget may take to redraw")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        shots = args.screenshots / path.stem if args.screenshots else None
        check = check_notebook(path, screenshots=shots, update_seconds=args.update_seconds)
        print(check.summary())
        for line in check.problems():
            print("  " + line)
        failed += bool(check.problems())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
