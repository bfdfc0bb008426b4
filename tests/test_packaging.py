"""The repository's own contracts: install files agree, README matches CI, notebooks are clean."""
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    expected = {_normalise(r.name): str(r.specifier) for r in pip_reqs}

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python=", "pip")):
            name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", dep).groups()
            conda[_normalise(CONDA_NAMES.get(name, name))] = str(Requirement("x" + spec).specifier)
    assert conda == expected
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


def _ci_command(marker: str) -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return lines[lines.index(next(line for line in lines if line.startswith(f"# --- {marker}"))) + 1]


@pytest.mark.parametrize("marker", ["setup", "test"])
def test_readme_shows_the_commands_ci_runs(marker):
    command = _ci_command(marker)
    assert command in (ROOT / "README.md").read_text(), f"README.md lacks the {marker} command {command!r}"


def test_torch_is_pinned_for_the_setup_command():
    pins = (ROOT / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in pins
    assert "-c constraints.txt" in _ci_command("setup")


def test_readme_links_every_notebook_and_assignment():
    readme = (ROOT / "README.md").read_text()
    for path in sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("assignments/*/*.ipynb")):
        assert str(path.relative_to(ROOT)) in readme, f"README.md does not link {path.relative_to(ROOT)}"


COMMITTED = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb")) \
    + sorted(ROOT.glob("assignments/*/*.ipynb"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebooks_hold_no_outputs_or_widget_state(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], "strip the widget state (metadata.widgets)"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "clear the outputs"
