"""The grading command's collection step: odd names, duplicates and hostile zips (no nbgrader needed)."""
import os
import time
import zipfile

import pytest

from dgmlib.autograde.collect import collect, parse

NOTEBOOKS = ["hw0_probability"]


@pytest.mark.parametrize("name, expected", [
    ("alice_hw0_probability.ipynb", ("alice", "hw0_probability")),
    ("mary_ann_hw0_probability.ipynb", ("mary_ann", "hw0_probability")),      # an id with an underscore
    ("Bob_HW0_Probability.ipynb", ("Bob", "hw0_probability")),                # other capitalisation
    ("carol_hw0_probability (1).ipynb", ("carol", "hw0_probability")),        # a browser's second copy
    ("dave_hw0_probability.IPYNB", ("dave", "hw0_probability")),
    ("hw0_probability.ipynb", None),                                          # no student id
    ("erin_hw1_autoregressive.ipynb", None),                                  # another assignment
    ("frank_hw0_probability.py", None),
])
def test_file_names_are_parsed_from_the_end(name, expected):
    assert parse(name, NOTEBOOKS) == expected


def test_a_class_with_duplicates_odd_names_and_a_hostile_zip_is_collected_or_reported(tmp_path):
    downloads, submitted = tmp_path / "downloads", tmp_path / "course" / "submitted"
    downloads.mkdir()
    (downloads / "alice_hw0_probability.ipynb").write_text("old")
    old = time.time() - 3600
    os.utime(downloads / "alice_hw0_probability.ipynb", (old, old))
    (downloads / "alice_hw0_probability (1).ipynb").write_text("new")
    (downloads / "notes.txt").write_text("not a notebook")
    with zipfile.ZipFile(downloads / "batch.zip", "w") as z:
        z.writestr("mary_ann_hw0_probability.ipynb", "mary")
        z.writestr("../../evil_hw0_probability.ipynb", "escape")
        z.writestr("/abs_hw0_probability.ipynb", "absolute")
    (downloads / "broken.zip").write_text("not a zip")
    report = collect(downloads, submitted, "hw0_probability", NOTEBOOKS)
    assert sorted(report.collected) == ["alice", "mary_ann"]
    assert (submitted / "alice" / "hw0_probability" / "hw0_probability.ipynb").read_text() == "new"
    assert report.replaced == [("alice_hw0_probability.ipynb", "alice_hw0_probability (1).ipynb")]
    skipped = dict(report.skipped)
    assert "refused" in skipped["batch.zip:../../evil_hw0_probability.ipynb"]
    assert "refused" in skipped["batch.zip:/abs_hw0_probability.ipynb"]
    assert "not named" in skipped["notes.txt"] and "zip" in skipped["broken.zip"]
    assert not list(tmp_path.rglob("evil*")) and not list(tmp_path.rglob("abs_*"))
    assert not list(submitted.rglob("*.part"))


# -- only a kernel that never started is started again (that case, with a real kernel: test_autograde_config.py)
import nbformat  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402

from dgmlib.autograde.preprocessors import GuardedExecute  # noqa: E402


def test_other_errors_are_not_retried(monkeypatch):
    calls = []
    def fake(self, nb, resources=None, km=None):
        calls.append(1)
        raise RuntimeError("something else")
    monkeypatch.setattr(Execute, "preprocess", fake)
    import pytest
    with pytest.raises(RuntimeError, match="something else"):
        GuardedExecute()._execute(nbformat.v4.new_notebook(), {}, None)
    assert len(calls) == 1
