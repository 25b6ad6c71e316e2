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


# --- the package's shape ----------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parents[1] / "engage_kit"


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """engage_kit's modules and the engage_kit modules each imports (function-level imports too;
    not those under ``if TYPE_CHECKING:``).

    ``from .pkg import name`` counts as importing the submodule ``pkg.name`` when there is
    one, else the package ``pkg`` itself.
    """
    import ast

    mods: dict[str, tuple[Path, bool]] = {}
    for f in root.rglob("*.py"):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        mods[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    def runtime_nodes(tree: ast.AST):
        """Every node except what sits under ``if TYPE_CHECKING:`` (never imported at run time)."""
        for node in ast.iter_child_nodes(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                for other in node.orelse:
                    yield other
                    yield from runtime_nodes(other)
                continue
            yield node
            yield from runtime_nodes(node)

    graph: dict[str, set[str]] = {}
    for mod, (f, is_pkg) in mods.items():
        edges: set[str] = set()
        for node in runtime_nodes(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name.startswith("engage_kit")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif (node.module or "").startswith("engage_kit"):
                    target = node.module
                else:
                    continue
                edges |= {f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names}
        graph[mod] = {e for e in edges if e in mods and e != mod}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert "engage_kit.report.runner" in graph and "engage_kit.catalogue" in graph["engage_kit.report.index"]
    assert import_cycles(graph) == []


def test_no_module_above_800_lines():
    big = {str(f.relative_to(PACKAGE)): n for f in PACKAGE.rglob("*.py")
           if (n := len(f.read_text(encoding="utf-8").splitlines())) > 800}
    assert big == {}


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_hold_calls_only(path):
    """No loops, comprehensions, lambdas, definitions or f-strings over several lines in a notebook:
    the logic and the prose live in the package."""
    import ast

    found = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        for node in ast.walk(ast.parse(src)):
            logic = (ast.For, ast.While, ast.Lambda, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp,
                     ast.FunctionDef, ast.ClassDef)
            if isinstance(node, logic) or (isinstance(node, ast.JoinedStr) and node.end_lineno > node.lineno):
                found.append(f"{cell.get('id')}: {ast.get_source_segment(src, node)[:80]}")
    assert found == []


@pytest.mark.xdist_group("packaging")
def test_loadgroup_really_groups(request):
    """Under ``--dist loadgroup`` a grouped test's id carries its group, which is what sends the
    group to one worker; pytest 9.2 with pytest-xdist 3.8 silently dropped it, and the suite
    built the Spark run of every report on both workers (pytest-dev/pytest-xdist#1386)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run with --dist loadgroup (make test uses it)")
    assert request.node.nodeid.endswith("@packaging"), request.node.nodeid
