"""Packaging and repository conventions: dependencies in step, notebooks clean and documented."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set().union(
        *(project["optional-dependencies"][extra] for extra in ("lab", "dev", "spark"))
    )
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {p for p in pip_section if p != "-e ."}
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"
    assert "python>=3.11" in env["dependencies"]


def test_console_script_and_makefile_targets():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["engage-kit"] == "engage_kit.cli:main"
    makefile = (ROOT / "Makefile").read_text()
    for target in ("setup", "report", "test", "lab", "bench", "help"):
        assert f"\n{target}:" in makefile, target
    assert "ipykernel install --sys-prefix --name engage-kit" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_stripped_and_parameterised(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "commit without outputs"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    lines = [ln for ln in "".join(params[0]["source"]).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[0].startswith("config =") and lines[1].startswith("output_dir =")
    for ln in lines:
        if "=" in ln.split("#")[0] and not ln.startswith((" ", "\t")):
            assert "#" in ln, f"parameter without a comment: {ln}"
    assert nb["cells"][0]["cell_type"] == "markdown" and "".join(nb["cells"][0]["source"]).startswith("# ")
    assert nb["metadata"]["kernelspec"]["name"] == "engage-kit"
