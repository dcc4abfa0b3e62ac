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
