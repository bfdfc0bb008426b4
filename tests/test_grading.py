"""The nbgrader round trip, with the real commands, for every assignment under solutions/.

For each assignment a temporary copy of the course (nbgrader_config.py, solutions/, assignments/)
is graded once, in a module-scoped fixture:

    generate_assignment -> the committed release must be reproduced byte for byte;
    zip_collect of a zip of <student>_<notebook>.ipynb files: the reference solution, the untouched
        release, and the plausible wrong answers of tests/grading_mutants.py (several mutants per
        student, one per solution cell);
    autograde -> generate_feedback -> export.

The tests then read the scores from the gradebook and check the files nbgrader wrote. Mutants with
``loses=None`` are correct answers written differently: they must keep full marks. Written answers
(markdown grade cells) are left to a person: they count in the maximum, not in the autograded score.
"""
from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader

from grading_mutants import MUTANTS, Mutant

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                     if p.is_dir() and any(p.glob("*.ipynb")))

SOLUTION_STUDENT = "reference-solution"
RELEASE_STUDENT = "untouched-release"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


# --------------------------------------------------------------------------- helpers
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # alembic
    # as for an instructor, who sets nothing: nbgrader's runs turn quick mode on (dgmlib.quick)
    env.pop("DGM_QUICK", None)
    return env


def _nbgrader(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in the course copy (it reads nbgrader_config.py from there)."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _region(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly inside begin/end marker lines."""
    inside, lines = False, []
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _code_lines(lines: list[str]) -> set[str]:
    """Distinctive code lines: no blanks, comments, string continuations or very short lines."""
    out = set()
    for line in lines:
        s = line.strip()
        if len(s) >= 12 and not s.startswith(("#", '"', "'", 'f"', "f'", ")")):
            out.add(s)
    return out


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n")
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _pack(mutants: list[Mutant]) -> dict[str, list[Mutant]]:
    """Group mutants into students, at most one mutant per solution cell per student."""
    students: list[list[Mutant]] = []
    for mutant in mutants:
        for group in students:
            if all(m.cell != mutant.cell for m in group):
                group.append(mutant)
                break
        else:
            students.append([mutant])
    return {f"mutants-{i + 1}": group for i, group in enumerate(students)}


def _html_text(path: Path) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------- the graded copy
@dataclass
class Graded:
    hw: str
    course: Path
    master: nbformat.NotebookNode                      # solutions/HW/HW.ipynb (first notebook)
    notebook: str                                      # its name without .ipynb
    groups: dict[str, list[Mutant]]                    # mutant students
    scores: dict[str, dict[str, tuple[float, float]]]  # student -> grade_id -> (score, max), autograded parts
    course_id: str
    manual: dict[str, dict[str, tuple[float | None, float, bool]]] = field(default_factory=dict)
    # student -> grade_id -> (score, max, needs_manual_grade) of the parts graded by hand (free response)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def parts(self) -> dict[str, float]:
        return {gid: mx for gid, (_, mx) in self.scores[SOLUTION_STUDENT].items()}

    def lost(self, student: str) -> set[str]:
        return {gid for gid, (score, mx) in self.scores[student].items() if score < mx}


def _submit(course: Path, hw: str, student: str, name: str, nb: nbformat.NotebookNode) -> None:
    """Hand in as a learning platform's download would: <student>_<notebook>.ipynb, zipped below."""
    folder = course / "lms-download"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / f"{student}_{name}.ipynb")


def _collect(course: Path, hw: str) -> None:
    """The README's step 2: a zip of the downloads in downloaded/HW/archive/, then zip_collect."""
    archive = course / "downloaded" / hw / "archive"
    archive.mkdir(parents=True)
    shutil.make_archive(str(archive / "submissions"), "zip", course / "lms-download")
    _nbgrader(course, "zip_collect", hw)


def _filled_release(release: nbformat.NotebookNode, master: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with every answer cell holding the reference answer, as a student submits it."""
    answers = {_nbgrader_meta(c)["grade_id"]: c.source for c in master.cells if _nbgrader_meta(c).get("solution")}
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in nb.cells:
        meta = _nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = _strip_markers(answers[meta["grade_id"]])
    return nb


def _mutate(nb: nbformat.NotebookNode, mutants: list[Mutant]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = {_nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    for mutant in mutants:
        cell = cells.get(mutant.cell)
        assert cell is not None and _nbgrader_meta(cell).get("solution"), (
            f"mutant {mutant.name!r}: no solution cell {mutant.cell!r}")
        if mutant.source is not None:  # a differently written answer replaces the whole cell
            cell.source = mutant.source
            continue
        for old, new in mutant.subs:
            count = cell.source.count(old)
            assert count == 1, f"mutant {mutant.name!r}: {old!r} occurs {count} times in cell {mutant.cell!r}, not once"
            cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory) -> Graded:
    hw = request.param
    course = tmp_path_factory.mktemp(hw)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / hw, course / "solutions" / hw)
    if (ROOT / "assignments" / hw).exists():
        shutil.copytree(ROOT / "assignments" / hw, course / "assignments" / hw)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert Path(config.CourseDirectory.root) == course, "CourseDirectory.root must be the config file's folder"

    masters = sorted((course / "solutions" / hw).glob("*.ipynb"))
    assert len(masters) == 1, f"solutions/{hw}: this test grades one notebook per assignment, found {len(masters)}"
    master_path = masters[0]
    name = master_path.stem
    master = nbformat.read(master_path, as_version=4)
    timings = {}

    # release, with the gradebook (autograde needs the assignment's cells there)
    start = time.perf_counter()
    # the README's release command, over the committed release as in a fresh checkout: it must
    # rewrite it unchanged and record the assignment in the gradebook, which autograde needs
    _nbgrader(course, "generate_assignment", hw, "--force")
    timings["generate_assignment"] = time.perf_counter() - start

    release_path = ROOT / "assignments" / hw / f"{name}.ipynb"
    release = nbformat.read(release_path, as_version=4) if release_path.exists() else None
    groups = _pack(MUTANTS.get(hw, []))
    if release is not None:
        filled = _filled_release(release, master)
        _submit(course, hw, SOLUTION_STUDENT, name, filled)
        _submit(course, hw, RELEASE_STUDENT, name, release)
        for student, mutants in groups.items():
            _submit(course, hw, student, name, _mutate(filled, mutants))
    else:  # reported by test_release_is_reproduced; grade the master so the rest still runs
        _submit(course, hw, SOLUTION_STUDENT, name, master)

    _collect(course, hw)
    start = time.perf_counter()
    # every student runs the whole notebook (several train a small model): allow for a busy CI machine
    _nbgrader(course, "autograde", hw, timeout=2400)
    timings["autograde"] = time.perf_counter() - start
    start = time.perf_counter()
    _nbgrader(course, "generate_feedback", hw)
    timings["generate_feedback"] = time.perf_counter() - start
    _nbgrader(course, "export")

    scores, manual = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", config.CourseDirectory.course_id) as gb:
        for student_dir in sorted((course / "submitted").iterdir()):
            sub = gb.find_submission_notebook(name, hw, student_dir.name)
            # a markdown grade cell is a written answer: nbgrader leaves it to a person
            scores[student_dir.name] = {g.name: (g.score, g.max_score) for g in sub.grades
                                        if g.cell.cell_type == "code"}
            manual[student_dir.name] = {g.name: (g.score, g.max_score, g.needs_manual_grade) for g in sub.grades
                                        if g.cell.cell_type != "code"}
    print(f"{hw}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    for student, parts in scores.items():
        lost = {gid: f"{s:g}/{m:g}" for gid, (s, m) in parts.items() if s < m}
        print(f"  {student}: {sum(s for s, _ in parts.values()):g}/{sum(m for _, m in parts.values()):g}"
              f" {[m.name for m in groups.get(student, [])]} lost {lost}")
    return Graded(hw, course, master, name, groups, scores, config.CourseDirectory.course_id,
                  manual=manual, timings=timings)


# --------------------------------------------------------------------------- the tests
def test_there_are_assignments():
    assert ASSIGNMENTS, "no assignment masters under solutions/"


def test_release_is_reproduced(graded: Graded):
    """assignments/HW is exactly what generate_assignment makes of solutions/HW (no drift)."""
    committed = ROOT / "assignments" / graded.hw
    regenerated = graded.course / "assignments" / graded.hw
    assert committed.is_dir(), f"assignments/{graded.hw} is missing: run nbgrader generate_assignment {graded.hw}"
    files = lambda d: sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())  # noqa: E731
    assert files(committed) == files(regenerated)
    for rel in files(committed):
        assert (committed / rel).read_bytes() == (regenerated / rel).read_bytes(), (
            f"assignments/{graded.hw}/{rel} differs from the regenerated release: "
            f"run nbgrader generate_assignment {graded.hw} --force and commit it")


def test_master_has_points_and_no_outputs(graded: Graded):
    grade_cells = [c for c in graded.master.cells if _nbgrader_meta(c).get("grade")]
    assert len(grade_cells) >= 1 and all(_nbgrader_meta(c).get("points", 0) > 0 for c in grade_cells)
    assert "widgets" not in graded.master.metadata
    for cell in graded.master.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_written_answer_is_graded_by_hand(graded: Graded):
    """Each homework has a free-response cell with points, a rubric in the master and none in the release,
    and a person grades it: autograde leaves the reference answer for manual grading."""
    cells = [c for c in graded.master.cells if c.cell_type == "markdown" and _nbgrader_meta(c).get("grade")]
    assert cells, "expected a manually graded written answer (a markdown cell with solution and grade)"
    for cell in cells:
        meta = _nbgrader_meta(cell)
        assert meta.get("solution") and meta.get("points", 0) > 0, f"{meta['grade_id']}: a written answer with points"
        assert "Rubric" in cell.source, f"{meta['grade_id']}: the master holds a rubric for the graders"
    answers = graded.manual[SOLUTION_STUDENT]
    assert set(answers) == {_nbgrader_meta(c)["grade_id"] for c in cells}
    assert all(needs for _, _, needs in answers.values()), f"the written answers are not left to a person: {answers}"
    release = (ROOT / "assignments" / graded.hw / f"{graded.notebook}.ipynb").read_text(encoding="utf-8")
    assert "Rubric" not in release, "the release shows the rubric"


def test_solution_gets_full_marks(graded: Graded):
    scores = graded.scores[SOLUTION_STUDENT]
    assert scores, "the gradebook has no autograded parts"
    short = {gid: f"{s}/{m}" for gid, (s, m) in scores.items() if s != m}
    assert not short, f"the reference solution loses points: {short}"


def test_untouched_release_gets_zero(graded: Graded):
    assert RELEASE_STUDENT in graded.scores, f"assignments/{graded.hw} is missing"
    scores = graded.scores[RELEASE_STUDENT]
    assert set(scores) == set(graded.parts)
    assert all(s == 0 for s, _ in scores.values()), f"the untouched release scores: {scores}"


def test_each_mutant_loses_points_on_its_part(graded: Graded):
    assert graded.groups or graded.hw not in MUTANTS, "no mutants to submit"
    problems = []
    for student, mutants in graded.groups.items():
        expected = {m.loses for m in mutants if m.loses is not None}
        lost = graded.lost(student)
        for m in mutants:
            if m.loses is not None and m.loses not in lost:
                problems.append(f"{m.name!r} keeps its points on {m.loses}")
            if m.loses is not None and m.loses not in graded.parts:
                problems.append(f"{m.name!r}: there is no graded part {m.loses}")
        for gid in lost - expected:
            problems.append(f"{student} ({[m.name for m in mutants]}) loses points on {gid}, "
                            "which none of its mutants should break")
    assert not problems, "\n".join(problems)


def test_export_has_every_student(graded: Graded):
    with open(graded.course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == graded.hw}
    assert set(rows) == set(graded.scores)
    total = sum(graded.parts.values())
    by_hand = sum(mx for _, mx, _ in graded.manual[SOLUTION_STUDENT].values())
    # before anyone grades the written answers, the export holds the autograded points of the maximum
    assert float(rows[SOLUTION_STUDENT]["score"]) == total
    assert float(rows[SOLUTION_STUDENT]["max_score"]) == total + by_hand
    if RELEASE_STUDENT in rows:
        assert float(rows[RELEASE_STUDENT]["score"]) == 0


def test_feedback_hides_hidden_tests(graded: Graded):
    release_text = (ROOT / "assignments" / graded.hw / f"{graded.notebook}.ipynb").read_text(encoding="utf-8")
    release_lines = {line.strip() for cell in nbformat.reads(release_text, as_version=4).cells
                     for line in cell.source.split("\n")}
    hidden = set()
    for cell in graded.master.cells:
        hidden |= _code_lines(_region(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
    hidden -= release_lines  # a line the students see anyway (an import, say) is no secret
    assert hidden, "expected hidden tests in the master"
    for student in graded.scores:
        path = graded.course / "feedback" / student / graded.hw / f"{graded.notebook}.html"
        assert path.exists(), f"no feedback for {student}"
        text = _html_text(path)
        assert "HIDDEN TESTS" not in text, f"feedback for {student} shows a hidden-test marker"
        shown = sorted(line for line in hidden if re.sub(r"\s+", " ", line) in text)
        assert not shown, f"feedback for {student} shows hidden-test code: {shown[:3]}"


def test_release_holds_no_solutions_or_hidden_tests(graded: Graded):
    path = ROOT / "assignments" / graded.hw / f"{graded.notebook}.ipynb"
    raw = path.read_text(encoding="utf-8")
    for marker in MARKERS:
        assert marker not in raw, f"the release contains {marker!r}"
    release = nbformat.read(path, as_version=4)
    assert "widgets" not in release.metadata, "the release holds widget state"
    released = {_nbgrader_meta(c).get("grade_id"): c for c in release.cells if _nbgrader_meta(c)}
    for cell in graded.master.cells:
        meta = _nbgrader_meta(cell)
        if not meta:
            continue
        out = released.get(meta["grade_id"])
        assert out is not None, f"cell {meta['grade_id']} is missing from the release"
        secret = _code_lines(_region(cell.source, "### BEGIN SOLUTION", "### END SOLUTION"))
        secret |= _code_lines(_region(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
        if meta.get("solution"):
            assert secret, f"solution cell {meta['grade_id']} has no solution region"
        visible = {line.strip() for line in out.source.split("\n")}
        leaked = secret & visible
        assert not leaked, f"the release of {meta['grade_id']} contains {sorted(leaked)[:3]}"
    for cell in release.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "the release holds outputs"


def test_solution_tests_write_nothing_to_stderr(graded: Graded, monkeypatch):
    """A test cell that writes to stderr scores 0 (nbgrader), even if the warning is filtered in
    grading: run the master and require silent, error-free cells."""
    nb = nbformat.from_dict(json.loads(json.dumps(graded.master)))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(graded.course / "solutions" / graded.hw)}})
    monkeypatch.setenv("DGM_QUICK", "1")
    client.execute()
    noisy = [(_nbgrader_meta(c).get("grade_id", i), o.get("text", "")[:200])
             for i, c in enumerate(nb.cells) if c.cell_type == "code"
             for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not noisy, f"cells write to stderr: {noisy}"
