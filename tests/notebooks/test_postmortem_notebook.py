"""The post-mortem notebook executed headlessly on a closed investigation whose log has grown
and whose labels have arrived since (the scenario of tests/core/test_postmortem.py): it shows
the pinned diagnosis as it was, today's beside it, the journal's timeline, and a reviewer's note
written from it lands in the journal."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from tests.conftest import REPO_ROOT, run_notebook
from tests.core.test_postmortem import ONSET, reviewed_incident
from workbench.config import load_incident
from workbench.journal import slug

NOTEBOOK = REPO_ROOT / "notebooks" / "postmortem.ipynb"
NOTE = "Review: the labels confirm CHG-7; add a schema check on the basket table"


def widget_html(nb) -> list[str]:
    """The values of every HTML widget the executed notebook displayed."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [m["state"].get("value", "") for m in state.get("state", {}).values()
            if m.get("model_name") == "HTMLModel"]


@pytest.mark.slow
def test_postmortem_notebook_reopens_the_investigation_as_it_was(tmp_path_factory, tmp_path):
    built = reviewed_incident(tmp_path_factory)
    home = built.copy_home(tmp_path / "home")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # What a reviewer does on the page: type a note and press the button.
    nb.cells.append(nbformat.v4.new_code_cell(
        f"pm.notes.text.value = {NOTE!r}\npm.notes.add.click()"))
    path = tmp_path / "postmortem.ipynb"
    nbformat.write(nb, path)
    env = {"WORKBENCH_INCIDENT": str(built.config), "WORKBENCH_HOME": str(home),
           "WORKBENCH_AUTHOR": "carol"}
    done = run_notebook(path, env=env)
    html = "\n".join(widget_html(done))

    header = next(h for h in widget_html(done) if "Post-mortem review" in h)
    assert built.key in header and "pinned by <b>alice</b>" in header
    assert 'data-outcome="confirmed"' in header
    compare = next(h for h in widget_html(done) if "wb-pm-compare" in h)
    onset = ONSET.strftime("%Y-%m-%d %H:%M")
    assert re.search(rf"<td>onset</td><td>{onset} UTC</td><td>{onset} UTC</td>"
                     r"<td>unchanged \(\+0\.0 h\)</td>", compare)
    assert "30,000 rows" in compare and "grown" in compare and "labels arrived" in compare
    assert "#1 " in compare and "unchanged" in compare
    timeline = next(h for h in widget_html(done) if "wb-pm-timeline" in h)
    for text in ("basket_value served scaled since CHG-7", "alice", "bob", "rescale-basket"):
        assert text in timeline
    assert "Nothing to review" not in html and "cannot be opened" not in html

    incident = load_incident(built.config)
    lines = (home / "journals" / f"{slug(incident)}.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert (last["kind"], last["text"], last["author"], last["params"]) == (
        "note", NOTE, "carol", {"review": "postmortem"})
    assert any(NOTE in h and "(review)" in h for h in widget_html(done))
