"""The analysis core stays free of UI packages: only workbench/charts.py may import Altair.

Imports are read with `ast`, so comments and strings do not count and aliases do.
"""

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CORE = REPO_ROOT / "workbench"
UI_PACKAGES = frozenset({"ipywidgets", "IPython", "voila", "altair"})
# Chart specs are built in one place; that module may use Altair, never widgets or IPython.
ALLOWED = {Path("workbench/charts.py"): frozenset({"altair"})}


def imported_modules(source: str, filename: str = "<source>") -> set[str]:
    """Top-level names of every absolute import, including importlib/__import__ with a literal."""
    found = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    found.add(first.value.split(".")[0])
    return found


def ui_imports(path: Path) -> set[str]:
    relative = path.relative_to(REPO_ROOT)
    banned = UI_PACKAGES - ALLOWED.get(relative, frozenset())
    return imported_modules(path.read_text(encoding="utf-8"), str(relative)) & banned


def test_core_package_exists():
    assert CORE.is_dir(), f"{CORE} is missing: the analysis core lives there"


def test_core_does_not_import_ui_packages():
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(names)
        for path in sorted(CORE.rglob("*.py"))
        if (names := ui_imports(path))
    }
    assert not offenders, (
        "workbench/ is the UI-free analysis core (charts.py alone may import altair); "
        f"move these imports to widgets/ or charts.py: {offenders}"
    )


def test_import_reader_sees_every_form():
    source = """
import os, ipywidgets as w
from IPython.display import display
from . import results
from .charts import bar
import importlib
importlib.import_module("voila.utils")
__import__("altair")
x = "import altair"  # a string, not an import
"""
    assert imported_modules(source) == {
        "os",
        "ipywidgets",
        "IPython",
        "importlib",
        "voila",
        "altair",
    }


# ---- layering: who may import what --------------------------------------------------------------

WIDGETS = REPO_ROOT / "widgets"
SAMPLE_GENERATOR = "sample_data"
# The one core module that may import the sample generator: the CLI command writing the sample.
SAMPLE_COMMAND = Path("workbench/commands/sample.py")


def import_nodes(source: str, *, type_checking: bool = True) -> list[ast.ImportFrom | ast.Import]:
    """Every import statement of a source (those under `if TYPE_CHECKING:` unless excluded)."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    if not type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                skipped.update(id(n) for n in ast.walk(node))
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, **kwargs: bool) -> set[str]:
    """Full dotted names of every absolute import of a source (`from a.b import c` gives a.b)."""
    found = set()
    for node in import_nodes(source, **kwargs):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif node.level == 0 and node.module:
            found.add(node.module)
    return found


def python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py"))


def test_core_never_imports_the_sample_generator():
    offenders = sorted(
        str(path.relative_to(REPO_ROOT)) for path in python_files(CORE)
        if path.relative_to(REPO_ROOT) != SAMPLE_COMMAND
        and SAMPLE_GENERATOR in imported_modules(path.read_text(encoding="utf-8")))
    assert not offenders, (
        f"Only {SAMPLE_COMMAND} (the `workbench sample` command) may import the sample "
        f"generator; the core works on any user's incident. Offenders: {offenders}")


def test_widgets_never_import_the_sample_generator():
    offenders = sorted(str(path.relative_to(REPO_ROOT)) for path in python_files(WIDGETS)
                       if SAMPLE_GENERATOR in imported_modules(path.read_text(encoding="utf-8")))
    assert not offenders, (
        "Widgets work on whatever incident, repository and manifests they are given; the "
        f"notebooks pass them the sample. Offenders: {offenders}")


def test_widgets_never_open_the_data_themselves():
    offenders = {}
    for path in python_files(WIDGETS):
        for node in import_nodes(path.read_text(encoding="utf-8")):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if (module == "workbench.data.store" or "workbench.data.store" in names
                    or "LogStore" in names):
                offenders.setdefault(str(path.relative_to(REPO_ROOT)), []).append(
                    module or ", ".join(names))
    assert not offenders, (
        "Widgets talk to the core (workbench.investigation opens an incident's data), never "
        f"to the query layer's LogStore: {offenders}")


def test_only_the_diagnosis_runs_the_triage():
    allowed = {Path("workbench/diagnose.py"), Path("workbench/stages/triage.py")}
    offenders = sorted(
        str(path.relative_to(REPO_ROOT)) for path in python_files(CORE, WIDGETS)
        if path.relative_to(REPO_ROOT) not in allowed
        and any(isinstance(n, ast.ImportFrom) and "run_triage" in [a.name for a in n.names]
                for n in import_nodes(path.read_text(encoding="utf-8"))))
    assert not offenders, (
        "Later phases take a Diagnosis (from workbench.cache when they have none) and never run "
        f"the triage again: {offenders}")


def private_imports(source: str, package: str) -> list[str]:
    """`from a.b import _name` in a module of `package` when a.b lies in another package."""
    out = []
    for node in import_nodes(source):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        source_package = node.module.rpartition(".")[0]
        if source_package == package or node.module == package:
            continue
        out += [f"from {node.module} import {a.name}" for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")]
    return out


def test_no_private_names_are_imported_across_packages():
    offenders = {}
    for path in python_files(CORE, WIDGETS):
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        if found := private_imports(path.read_text(encoding="utf-8"), package):
            offenders[str(path.relative_to(REPO_ROOT))] = found
    assert not offenders, (
        "A name starting with '_' is private to its package; make it public where it is "
        f"defined if another package needs it: {offenders}")


def unit_of(module: str) -> str:
    """The unit of the layering graph: a core subpackage or top module, or a widget module."""
    parts = module.split(".")
    if parts[0] == "workbench":
        return ".".join(parts[:2])
    return module


def import_graph() -> dict[str, set[str]]:
    """Unit -> the units it imports (imports for type checkers only do not count)."""
    graph: dict[str, set[str]] = {}
    for path in python_files(CORE, WIDGETS):
        unit = unit_of(module_name(path))
        for name in imported_names(path.read_text(encoding="utf-8"), type_checking=False):
            if name.split(".")[0] in ("workbench", "widgets") and unit_of(name) != unit:
                graph.setdefault(unit, set()).add(unit_of(name))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of units that reach each other."""
    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {unit: reach(unit) for unit in graph}
    return sorted({tuple(sorted((a, b))) for a in graph for b in graph[a]
                   if a in reachable.get(b, ())})


def test_packages_and_widget_modules_import_each_other_one_way_only():
    found = cycles(import_graph())
    assert not found, (
        "Import cycles between core packages or widget modules (move the shared part to the "
        f"lower one, e.g. what-if helpers into workbench.explain): {found}")


def test_the_layering_checks_see_what_they_should():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ("a", "b"), ("a", "c"), ("b", "c")]
    assert cycles({"a": {"b"}, "b": set()}) == []
    source = ("from workbench.stages.features import _hidden, public\n"
              "from workbench.verify.tally import _own_package_is_fine\n"
              "if TYPE_CHECKING:\n    from workbench.data.store import LogStore\n")
    assert private_imports(source, "workbench.verify") == [
        "from workbench.stages.features import _hidden"]
    assert "workbench.data.store" in imported_names(source)
    assert "workbench.data.store" not in imported_names(source, type_checking=False)
    assert unit_of("workbench.stages.features") == "workbench.stages"
    assert unit_of("widgets.phases.triage") == "widgets.phases.triage"


def test_the_diagnosis_loads_heavy_libraries_only_when_a_step_needs_them():
    """Start-up: importing the CLI and the diagnosis leaves scikit-learn, SHAP, Altair and the
    widgets unloaded (the steps that use them import them when they run)."""
    import subprocess
    import sys

    probe = ("import sys, workbench.cli, workbench.diagnose, workbench.cache; "
             "print(sorted(m for m in ('sklearn', 'shap', 'altair', 'ipywidgets', 'lightgbm', "
             "'xgboost') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


ENGINES = frozenset({"duckdb", "pyspark"})


def test_only_the_query_layer_talks_to_an_engine():
    """Logs, references, snapshots and lineage profiles are read through `workbench/data/`:
    no other module of the core or the widgets imports a query engine."""
    data = CORE / "data"
    offenders = {str(p.relative_to(REPO_ROOT)): sorted(found)
                 for p in python_files(CORE, WIDGETS) if data not in p.parents
                 and (found := imported_modules(p.read_text(encoding="utf-8")) & ENGINES)}
    assert not offenders, (
        f"Only workbench/data/ may import {sorted(ENGINES)} (add a method to LogStore or "
        f"Snapshots instead): {offenders}")
