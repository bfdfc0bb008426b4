"""Sort what a learning platform's download holds into ``submitted/<student>/<hw>/``, losing no one.

Files (or zips of files) are named ``<student>_<notebook>.ipynb``, as most platforms name downloads. The
notebook name is matched against the assignment's own notebooks, case-insensitively and from the end, so a
student id may hold underscores (``mary_ann_hw0_probability.ipynb``); a browser's `` (1)`` suffix is
allowed. Zip members that would land outside the folder (absolute paths, ``..``) or are links are refused.
When one student handed in the same notebook twice, the newest file is kept. Everything that was not
collected is reported by name, with the reason.
"""
from __future__ import annotations

import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

_COPY_SUFFIX = re.compile(r"\s*\(\d+\)$")  # "alice_hw0 (1)" -> "alice_hw0"


@dataclass
class Collection:
    collected: dict[str, list[str]] = field(default_factory=dict)   # student -> notebooks
    skipped: list[tuple[str, str]] = field(default_factory=list)    # (file, why)
    replaced: list[tuple[str, str]] = field(default_factory=list)   # (older file, newer file kept)


def _safe_members(archive: zipfile.ZipFile, report: Collection, name: str):
    for info in archive.infolist():
        path = PurePosixPath(info.filename.replace("\\", "/"))
        is_link = stat.S_ISLNK(info.external_attr >> 16)
        if path.is_absolute() or ".." in path.parts or is_link:
            report.skipped.append((f"{name}:{info.filename}", "refused: a zip member outside the folder or a link"))
            continue
        if not info.is_dir():
            yield info, path


def _candidates(downloads: Path, scratch: Path, report: Collection) -> list[tuple[Path, str, float]]:
    """(file on disk, name to parse, modification time) for every notebook in the downloads and their zips."""
    found = []
    for path in sorted(p for p in downloads.rglob("*") if p.is_file()):
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    for i, (info, member) in enumerate(_safe_members(archive, report, path.name)):
                        target = scratch / f"{len(found)}-{i}{member.suffix}"
                        with archive.open(info) as src, open(target, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        found.append((target, member.name, _zip_time(info)))
            except zipfile.BadZipFile:
                report.skipped.append((path.name, "not a readable zip file"))
        else:
            found.append((path, path.name, path.stat().st_mtime))
    return found


def _zip_time(info: zipfile.ZipInfo) -> float:
    import datetime
    return datetime.datetime(*info.date_time).timestamp()


def parse(name: str, notebooks: list[str]) -> tuple[str, str] | None:
    """(student id, notebook) for a file name ``<student>_<notebook>[ (k)].ipynb``, or None."""
    stem, suffix = name.rsplit(".", 1) if "." in name else (name, "")
    if suffix.lower() != "ipynb":
        return None
    stem = _COPY_SUFFIX.sub("", stem)
    for notebook in sorted(notebooks, key=len, reverse=True):
        if stem.lower().endswith("_" + notebook.lower()) and len(stem) > len(notebook) + 1:
            return stem[:-len(notebook) - 1], notebook
    return None


def collect(downloads: str | Path, submitted: str | Path, assignment: str, notebooks: list[str]) -> Collection:
    """Copy each student's newest notebook(s) from ``downloads`` into ``submitted/<student>/<assignment>/``."""
    downloads, submitted = Path(downloads), Path(submitted)
    report = Collection()
    with tempfile.TemporaryDirectory() as scratch:
        newest: dict[tuple[str, str], tuple[float, Path, str]] = {}
        for path, name, mtime in _candidates(downloads, Path(scratch), report):
            parsed = parse(name, notebooks)
            if parsed is None:
                report.skipped.append((name, f"not named <student>_<notebook>.ipynb for one of {notebooks}"))
                continue
            student, notebook = parsed
            if not re.fullmatch(r"[\w.@+-]+", student):
                report.skipped.append((name, f"the student id {student!r} holds characters a folder cannot"))
                continue
            key = (student, notebook)
            if key in newest:
                older, newer = sorted([newest[key], (mtime, path, name)], key=lambda item: item[0])
                report.replaced.append((older[2], newer[2]))
                newest[key] = newer
            else:
                newest[key] = (mtime, path, name)
        for (student, notebook), (_, path, _) in sorted(newest.items()):
            folder = submitted / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{notebook}.ipynb.part"
            shutil.copyfile(path, partial)
            partial.replace(folder / f"{notebook}.ipynb")  # atomic: nbgrader never sees half a file
            report.collected.setdefault(student, []).append(notebook)
    return report
