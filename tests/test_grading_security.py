"""Hostile, broken and noisy submissions through the grading command (python -m dgmlib.autograde).

One class of hw0 (the quickest assignment) is collected from a download folder and graded once, in a
module-scoped fixture, by the documented command; the tests then read the summary, the gradebook, the
feedback and the file system. Each student is the reference solution, or the untouched release, changed
in one way a student might (cheats, snooping, noise, exit(), a loop, odd file names).
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from dgmlib.autograde import __main__ as command
from dgmlib.autograde.sandbox import can_isolate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HW = "hw0_probability"
NOTEBOOK_LIMIT, CELL_LIMIT = 60, 25   # seconds; the reference solution runs in under 10
SLEEP_MARKER = "1234.5"               # a background `sleep` a submission tries to leave behind


def _cell(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _with(nb, grade_id, source, after=True):
    """A copy of nb with a new code cell after (or before) the cell grade_id."""
    copy = nbformat.from_dict(dict(nb))
    copy.cells = list(nb.cells)
    index = _cell(nb, grade_id) + (1 if after else 0)
    copy.cells.insert(index, nbformat.v4.new_code_cell(source))
    return copy


def _first(nb, source):
    copy = nbformat.from_dict(dict(nb))
    copy.cells = [nb.cells[0], nbformat.v4.new_code_cell(source), *nb.cells[1:]]
    return copy


TRANSFORMER = "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"
TRY_EXCEPT = '''import ast
class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[ast.ExceptHandler(type=None, name=None,
                     body=[ast.Pass()])], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(Swallow())'''
CUSTOM_EXC = "get_ipython().set_custom_exc((Exception,), lambda shell, etype, evalue, tb, tb_offset=None: None)"
PATCH = "import torch\ntorch.allclose = lambda *args, **kwargs: True"
NOISE = '''import logging, sys, warnings
_bernoulli = bernoulli_log_likelihood
def bernoulli_log_likelihood(*args, **kwargs):
    print("debug: called", file=sys.stderr)
    logging.getLogger("student").error("debug log at ERROR")
    logging.warning("debug log at WARNING")
    warnings.warn("a debug warning")
    return _bernoulli(*args, **kwargs)'''
ECHO = '''import inspect, linecache
_bernoulli = bernoulli_log_likelihood
def bernoulli_log_likelihood(*args, **kwargs):
    frame = inspect.stack()[1]
    print("".join(linecache.getlines(frame.filename)))   # the calling test cell, hidden tests included
    print(get_ipython().user_ns["In"][-1])
    return _bernoulli(*args, **kwargs)'''
MARKER = '''_note = """### BEGIN HIDDEN TESTS
### END HIDDEN TESTS
### BEGIN SOLUTION
### END SOLUTION"""
print(_note)'''


def _spy(course: Path) -> str:
    return f'''import os, subprocess
for path in [{str(course / "gradebook.db")!r}, {str(course / "solutions" / HW / (HW + ".ipynb"))!r},
             {str(course / "submitted" / "reference" / HW / (HW + ".ipynb"))!r}]:
    try:
        open(path, "rb").read(10)
        print("READ", path)
    except OSError as error:
        print("cannot read", path, error.strerror)
for path in [{str(course / "submitted" / "reference" / HW / "planted.txt")!r},
             {str(Path.home() / ".ipython" / "profile_default" / "startup" / "99-spy.py")!r}]:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("print('planted')")
        print("WROTE", path)
    except OSError as error:
        print("cannot write", path, error.strerror)
subprocess.Popen(["sleep", "{SLEEP_MARKER}"])
print("secrets visible:", sorted(k for k in os.environ if "SECRET" in k))'''


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nconfigure(c, c.CourseDirectory.root, notebook_time_limit={NOTEBOOK_LIMIT}, "
                f"cell_time_limit={CELL_LIMIT})\n")
    for folder in ("solutions", "assignments"):
        shutil.copytree(ROOT / folder / HW, course / folder / HW)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               DGM_SECRET_TOKEN="not for students")
    env.pop("DGM_QUICK", None)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", HW, "--force"], cwd=course, env=env,
                   check=True, capture_output=True)
    master = nbformat.read(course / "solutions" / HW / f"{HW}.ipynb", 4)
    release = nbformat.read(course / "assignments" / HW / f"{HW}.ipynb", 4)
    archive = course / "downloaded" / HW / "archive"
    archive.mkdir(parents=True)

    def put(name, nb, mtime=None):
        path = archive / name
        nbformat.write(nb, path)
        if mtime:
            os.utime(path, (mtime, mtime))

    # the reference is graded first of all (alphabetically "a..."), so the spy finds its folder to attack
    put(f"reference_{HW}.ipynb", master)
    put(f"dup_{HW}.ipynb", release, mtime=time.time() - 3600)       # the old, blank hand-in ...
    put(f"dup_{HW} (1).ipynb", master)                               # ... and the newer, finished one
    put(f"transformer_{HW}.ipynb", _first(release, TRANSFORMER))
    put(f"tryexcept_{HW}.ipynb", _first(release, TRY_EXCEPT))
    put(f"customexc_{HW}.ipynb", _first(release, CUSTOM_EXC))
    put(f"patched_{HW}.ipynb", _first(master, PATCH))
    put(f"spy_{HW}.ipynb", _first(release, _spy(course)))
    put(f"noisy_{HW}.ipynb", _with(master, "bernoulli_log_likelihood", NOISE))
    put(f"echo_{HW}.ipynb", _with(master, "bernoulli_log_likelihood", ECHO))
    put(f"exits_{HW}.ipynb", _with(master, "test_bernoulli_mle", "exit()\nquit()"))
    put(f"dies_{HW}.ipynb", _with(master, "test_bernoulli_mle", "import os\nos._exit(0)"))
    put(f"loops_{HW}.ipynb", _with(master, "test_bernoulli_mle", "while True:\n    pass"))
    put(f"marker_{HW}.ipynb", _with(master, "bernoulli_log_likelihood", MARKER))
    stripped = nbformat.from_dict(dict(master))
    stripped.cells = [nbformat.from_dict({**cell, "metadata": {}}) for cell in master.cells]
    put(f"nometa_{HW}.ipynb", stripped)                               # nbgrader's cell metadata deleted
    with zipfile.ZipFile(archive / "batch.zip", "w") as z:
        z.writestr(f"mary_ann_{HW}.ipynb", nbformat.writes(master))             # an id with an underscore
        z.writestr(f"Caps_{HW.upper()}.ipynb", nbformat.writes(master))         # other capitalisation
        z.writestr(f"../../escape_{HW}.ipynb", nbformat.writes(master))          # outside the folder
    home_startup = Path.home() / ".ipython" / "profile_default" / "startup" / "99-spy.py"
    # the gradebook changes as grading goes on: the spy's output shows it could not open it
    protected = [course / "solutions" / HW / f"{HW}.ipynb", course / "assignments" / HW / f"{HW}.ipynb"]
    before = {p: _digest(p) for p in protected}

    old_env = dict(os.environ)
    os.environ.update(env)
    os.environ.pop("DGM_QUICK", None)
    start = time.perf_counter()
    try:
        rows = command.main([HW, "--course", str(course), "--jobs", "2"])
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    seconds = time.perf_counter() - start
    leftover = subprocess.run(["pgrep", "-f", f"sleep {SLEEP_MARKER}"], capture_output=True, text=True).stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s.id: {g.name: (g.score, g.max_score) for nb in gb.find_submission(HW, s.id).notebooks
                         for g in nb.grades if g.cell.cell_type == "code"}
                  for s in gb.students}
    return {"course": course, "rows": {r["student"]: r for r in rows}, "scores": scores, "seconds": seconds,
            "before": before, "protected": protected, "home_startup": home_startup, "leftover": leftover,
            "master": master}


def _full(graded, student):
    return all(score == mx for score, mx in graded["scores"][student].values())


def _total(graded, student):
    return sum(score for score, _ in graded["scores"][student].values())


def _outputs(graded, student) -> str:
    nb = nbformat.read(graded["course"] / "autograded" / student / HW / f"{HW}.ipynb", 4)
    return "\n".join(o.get("text", "") + o.get("evalue", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_everyone_is_collected_and_the_escaping_member_is_refused(graded, capsys):
    expected = {"reference", "dup", "transformer", "tryexcept", "customexc", "patched", "spy", "noisy", "echo",
                "exits", "dies", "loops", "marker", "mary_ann", "Caps", "nometa"}
    assert set(graded["rows"]) == expected
    assert not list(graded["course"].rglob(f"escape_{HW}*.ipynb"))
    assert not (graded["course"].parent / f"escape_{HW}.ipynb").exists()
    summary = list(csv.DictReader(open(graded["course"] / f"grading_summary_{HW}.csv")))
    assert {row["student"] for row in summary} == expected


@pytest.mark.parametrize("student", ["reference", "dup", "mary_ann", "Caps", "marker"])
def test_correct_submissions_keep_full_marks(graded, student):
    assert _full(graded, student), graded["scores"][student]
    assert graded["rows"][student]["status"].startswith("graded")


@pytest.mark.parametrize("student", ["transformer", "tryexcept", "customexc"])
def test_cheats_on_a_blank_release_score_zero_and_are_flagged(graded, student):
    assert _total(graded, student) == 0
    assert "TAMPERED" in graded["rows"][student]["status"]


def test_patched_comparison_helpers_are_flagged_and_cost_the_points(graded):
    assert "TAMPERED" in graded["rows"]["patched"]["status"] and "allclose" in graded["rows"]["patched"]["status"]
    assert _total(graded, "patched") == 0


@pytest.mark.skipif(not can_isolate(), reason="the sandbox needs root on Linux with unshare")
def test_a_snooping_submission_reads_and_writes_nothing_and_leaves_no_process(graded):
    text = _outputs(graded, "spy")
    assert "READ" not in text and "WROTE" not in text
    assert text.count("cannot read") == 3 and text.count("cannot write") == 2
    assert "secrets visible: []" in text
    assert {p: _digest(p) for p in graded["protected"]} == graded["before"]
    assert not (graded["course"] / "submitted" / "reference" / HW / "planted.txt").exists()
    assert not graded["home_startup"].exists()
    assert graded["leftover"] == ""


def test_noise_on_stderr_logging_and_warnings_costs_nothing(graded):
    assert _full(graded, "noisy"), graded["scores"]["noisy"]
    assert "[stderr] debug: called" in _outputs(graded, "noisy")


def test_exit_and_quit_are_ignored(graded):
    assert _full(graded, "exits") and graded["rows"]["exits"]["status"].startswith("graded")


def test_a_dead_kernel_costs_only_the_cells_after_it(graded):
    scores = graded["scores"]["dies"]
    assert scores["test_bernoulli_log_likelihood"][0] == scores["test_bernoulli_log_likelihood"][1]
    assert scores["test_bernoulli_mle"][0] == scores["test_bernoulli_mle"][1]
    assert scores["test_importance_estimate"][0] == 0
    assert "KERNEL DIED" in graded["rows"]["dies"]["status"]


def test_a_loop_is_stopped_within_the_time_limit(graded):
    row = graded["rows"]["loops"]
    assert "TIMED OUT" in row["status"]
    assert row["seconds"] < NOTEBOOK_LIMIT + 45  # the budget, plus starting nbgrader and the kernel
    scores = graded["scores"]["loops"]
    assert scores["test_bernoulli_mle"][0] == scores["test_bernoulli_mle"][1]


def test_a_submission_that_prints_its_test_cells_is_not_mistaken_for_tampering(graded):
    assert _full(graded, "echo") and graded["rows"]["echo"]["status"].startswith("graded")


def test_feedback_never_shows_hidden_tests_even_when_the_submission_prints_them(graded):
    hidden = []
    for cell in graded["master"].cells:
        inside = False
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25:
                hidden.append(line.strip())
    assert hidden
    assert any(line in _outputs(graded, "echo") for line in hidden), "the echo really printed its test cell"
    for student in ("echo", "reference", "marker"):
        feedback = next((graded["course"] / "feedback" / student / HW).glob("*.html")).read_text()
        text = re.sub(r"\s+", " ", __import__("html").unescape(re.sub(r"<[^>]+>", "", feedback)))
        leaked = [line for line in hidden if re.sub(r"\s+", " ", line) in text]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:2]}"


def test_a_submission_without_nbgrader_metadata_is_reported_not_lost(graded):
    row = graded["rows"]["nometa"]
    assert "MISSING METADATA" in row["status"] and "test_bernoulli_mle" in row["manual_grading"]


def test_the_whole_class_grades_in_bounded_time(graded):
    assert graded["seconds"] < 15 * 60
