"""The grading command: ``python -m dgmlib.autograde HW [--jobs N]``, run in the course folder.

1. collects ``downloaded/HW/archive/`` (files or zips named ``<student>_<notebook>.ipynb``) into
   ``submitted/`` (:mod:`.collect`), reporting by name whatever it could not collect;
2. autogrades every submission with nbgrader, ``--jobs`` students at a time (default: one per CPU core),
   each kernel in the sandbox with the guard (nbgrader_config.py calls :func:`.config.configure`);
3. writes the feedback (``nbgrader generate_feedback``, hidden tests removed);
4. prints a summary and writes it to ``grading_summary_HW.csv``: each student's autograded score, the
   parts that wait for a person, the seconds their notebook ran, and whether grading failed, timed out,
   lost the kernel or found the grading machinery changed. nbgrader's logs are in ``grading_logs/HW/``
   (one nbgrader process grades each job's share of the class, so it starts once per job).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .collect import collect
from .preprocessors import RECORD


def _nbgrader(course: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # nbgrader runs alembic
    try:
        return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(error.cmd, -9, error.stdout or "", (error.stderr or "") +
                                           f"\nthe grading command stopped nbgrader after {timeout:.0f} s")


def grade_batch(course: Path, hw: str, batch: list[str], everyone: list[str], timeout: float) -> list[dict]:
    """Autograde the students of ``batch`` in one nbgrader process (one start-up for all of them); a student
    whose grading failed on a busy gradebook is tried again alone."""
    start = time.perf_counter()
    others = sorted(set(everyone) - set(batch))
    exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
    proc = _nbgrader(course, "autograde", hw, "--create", "--force", *exclude, timeout=timeout * len(batch))
    text = proc.stdout + proc.stderr
    logs = course / "grading_logs" / hw
    logs.mkdir(parents=True, exist_ok=True)
    runs = []
    for student in batch:
        failed_here = f"for student '{student}'" in text or proc.returncode == -9
        if failed_here and "database is locked" in text:
            single = _nbgrader(course, "autograde", hw, "--student", student, "--create", "--force", timeout=timeout)
            text_one, failed_here = single.stdout + single.stderr, single.returncode != 0
            (logs / f"{student}.retry.log").write_text(text_one)
        errors = [line for line in text.splitlines() if "| ERROR]" in line and student in line]
        reason = errors[0].split("]", 1)[-1].strip() if errors else ("nbgrader was stopped after its time limit"
                                                                      if proc.returncode == -9 else "")
        runs.append({"student": student, "failed": failed_here, "reason": reason,
                     "batch_seconds": time.perf_counter() - start})
    (logs / f"batch-{batch[0]}.log").write_text(text)
    return runs


def _has_feedback(course: Path, hw: str, student: str) -> bool:
    return any((course / "feedback" / student / hw).glob("*.html"))


def _scores(course: Path, hw: str) -> dict[str, dict]:
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                submission = gb.find_submission(hw, student.id)
            except MissingEntry:
                continue
            manual = [grade for notebook in submission.notebooks for grade in notebook.grades
                      if grade.needs_manual_grade]
            out[student.id] = {"score": submission.score, "max": submission.max_score,
                               "manual": [grade.name for grade in manual],
                               # an autograded test left to a person: its cell or metadata was missing
                               "unautograded": [grade.name for grade in manual if grade.cell.cell_type == "code"]}
    return out


def summarize(course: Path, hw: str, runs: list[dict]) -> list[dict]:
    scores = _scores(course, hw)
    rows = []
    for run in sorted(runs, key=lambda r: r["student"]):
        student = run["student"]
        records = [json.loads(p.read_text()) for p in (course / "autograded" / student / hw).glob(RECORD)]
        record = records[0] if records else {}
        problems = []
        if run["failed"] or student not in scores:
            problems.append(f"FAILED: {run['reason'] or 'nbgrader did not grade it'}")
        if record.get("timed_out") or (record.get("not_run") and record.get("kernel_died_at") is None):
            problems.append(f"TIMED OUT ({', '.join(record.get('timed_out', []) + record.get('not_run', []))})")
        if record.get("kernel_died_at"):
            problems.append(f"KERNEL DIED at {record['kernel_died_at']} ({len(record.get('not_run', []))} cells not run)")
        if record.get("tampered"):
            problems.append(f"TAMPERED: {sorted(set(record['tampered'].values()))[0]}")
        if record.get("not_finished"):
            problems.append(f"TAMPERED: {len(record['not_finished'])} test cells skipped or swallowed")
        unautograded = scores.get(student, {}).get("unautograded", [])
        if unautograded:
            problems.append(f"MISSING METADATA: {len(unautograded)} autograded parts could not be run and wait for "
                            "a person (cells or their nbgrader metadata deleted)")
        if not run.get("feedback", True) and student in scores:
            problems.append("NO FEEDBACK (see nbgrader generate_feedback's log)")
        if record and not record.get("isolated", False):
            problems.append("not isolated (grade as root on Linux for the sandbox)")
        score = scores.get(student, {})
        rows.append({"student": student, "score": score.get("score"), "max_score": score.get("max"),
                     "manual_grading": ";".join(score.get("manual", [])), "seconds": record.get("seconds"),
                     "status": "; ".join(problems) or "graded"})
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("assignment", help="the assignment, e.g. hw0_probability")
    parser.add_argument("--course", default=".", help="the course folder (with nbgrader_config.py)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="students graded at once")
    parser.add_argument("--downloads", default=None, help="default: downloaded/HW/archive in the course folder")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for nbgrader on one student")
    args = parser.parse_args(argv)
    course, hw = Path(args.course).resolve(), args.assignment
    if not (course / "nbgrader_config.py").exists():
        parser.error(f"{course} has no nbgrader_config.py: run this in the course folder or pass --course")
    release = course / "assignments" / hw
    notebooks = sorted(p.stem for p in release.glob("*.ipynb"))
    if not notebooks:
        parser.error(f"no released notebooks in {release}: release it first (nbgrader generate_assignment {hw})")
    start = time.perf_counter()

    downloads = Path(args.downloads) if args.downloads else course / "downloaded" / hw / "archive"
    if downloads.is_dir():
        report = collect(downloads, course / "submitted", hw, notebooks)
        print(f"collected {len(report.collected)} students from {downloads}")
        for older, newer in report.replaced:
            print(f"  duplicate: kept {newer}, not {older}")
        for name, why in report.skipped:
            print(f"  NOT COLLECTED: {name}: {why}")
    students = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{hw}") if any(p.glob("*.ipynb")))
    if not students:
        parser.error(f"no submissions of {hw} in {course / 'submitted'}")
    # kernels share the cores: torch with more threads than its share of cores runs many times slower
    threads = str(max(1, (os.cpu_count() or 1) // max(1, args.jobs)))
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    os.environ.setdefault("MKL_NUM_THREADS", threads)
    print(f"grading {len(students)} students, {args.jobs} at a time")
    batches = [students[i::max(1, args.jobs)] for i in range(max(1, args.jobs))]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        runs = [run for batch in pool.map(lambda b: grade_batch(course, hw, b, students, args.timeout),
                                          [b for b in batches if b]) for run in batch]
    # feedback for each job's share at once; one student's failure must not cost the others theirs
    def feedback(batch: list[str]) -> None:
        others = sorted(set(students) - set(batch))
        exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
        _nbgrader(course, "generate_feedback", hw, "--force", *exclude, timeout=args.timeout)

    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        list(pool.map(feedback, [b for b in batches if b]))
    for run in runs:
        if not _has_feedback(course, hw, run["student"]):
            _nbgrader(course, "generate_feedback", hw, "--student", run["student"], "--force", timeout=args.timeout)
        run["feedback"] = _has_feedback(course, hw, run["student"])
    rows = summarize(course, hw, runs)
    out = course / f"grading_summary_{hw}.csv"
    partial = out.with_name(out.name + ".part")
    with open(partial, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(out)
    width = max(len(r["student"]) for r in rows)
    print(f"\n{'student':<{width}}  {'score':>13}  {'s':>5}  status (manual grading waiting)")
    for r in rows:
        score = "-" if r["score"] is None else f"{r['score']:g} / {r['max_score']:g}"
        manual = f"  [{r['manual_grading']}]" if r["manual_grading"] else ""
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.0f}"
        print(f"{r['student']:<{width}}  {score:>13}  {seconds:>5}  {r['status']}{manual}")
    bad = sum(r["status"] != "graded" for r in rows)
    total = time.perf_counter() - start
    print(f"\n{len(rows)} students in {total:.0f} s ({total / len(rows):.1f} s per student with {args.jobs} jobs); "
          f"{bad} need a look; summary in {out.name}")
    return rows


if __name__ == "__main__":
    main()
