"""Notebooks are committed clean and thin: no outputs, no execution counts, short cells.

Outputs carry the ~0.9 MB offline chart bundle and stale numbers; logic belongs in widgets/
and workbench/, where it can be tested, so a code cell longer than 15 lines is a smell.
"""

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
MAX_CELL_LINES = 15


def notebooks() -> list[Path]:
    found = sorted(
        path
        for path in NOTEBOOKS_DIR.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.relative_to(REPO_ROOT).parts
    )
    if not found:
        pytest.fail(f"No notebook under {NOTEBOOKS_DIR}: the apps are notebooks, none was found.")
    return found


def code_cells(path: Path) -> list[tuple[int, dict]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(index, cell) for index, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"]


def source_lines(cell: dict) -> list[str]:
    source = cell["source"]
    text = "".join(source) if isinstance(source, list) else source
    return text.rstrip().splitlines()


def rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def test_notebooks_exist():
    assert notebooks()


def test_notebooks_have_no_outputs_or_execution_counts():
    dirty = [
        f"{rel(path)} cell {index}"
        for path in notebooks()
        for index, cell in code_cells(path)
        if cell.get("outputs") or cell.get("execution_count") is not None
    ]
    assert not dirty, (
        "Clear outputs and execution counts before committing "
        f"(e.g. `jupyter nbconvert --clear-output --inplace`): {dirty}"
    )


def test_notebooks_have_no_saved_widget_state():
    with_state = [
        rel(path)
        for path in notebooks()
        if "widgets" in json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    ]
    assert not with_state, f"Saved widget state in metadata (remove metadata.widgets): {with_state}"


def test_code_cells_are_short():
    long_cells = [
        f"{rel(path)} cell {index}: {len(lines)} lines"
        for path in notebooks()
        for index, cell in code_cells(path)
        if len(lines := source_lines(cell)) > MAX_CELL_LINES
    ]
    assert not long_cells, (
        f"Code cells longer than {MAX_CELL_LINES} lines; move the logic into widgets/ or "
        f"workbench/: {long_cells}"
    )
