"""The verify, journal and report widgets, driven through their state (no browser)."""

from __future__ import annotations

import json

import pytest

from widgets.app import open_state
from widgets.journal import JournalState, JournalView
from widgets.report import ReportView
from widgets.verify import FixState, VerifyView
from workbench.charts import comparison_frame, fix_comparison_chart

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(sample, tmp_path_factory):
    """The loaded incident state and the three views over it, with an isolated home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
    mp.setenv("WORKBENCH_AUTHOR", "erin")
    state = open_state(sample.config)
    state.load()
    assert not state.error
    journal = JournalState.for_incident(state)
    fixes = FixState(state, journal)
    yield state, journal, fixes, VerifyView(fixes), JournalView(journal)
    mp.undo()


def test_picking_and_replaying_fixes(app, ratio_fix, rollback_fix):
    state, journal, fixes, view, _ = app
    assert [b.description for b in view.boxes] == ["recompute-ratio", "rollback-v1.3.0"]
    fixes.run(["a", "b", "c", "d"])
    assert "at most 3" in fixes.error and not fixes.results
    view.button.click()  # nothing picked
    assert "at least one fix" in fixes.error
    for box in view.boxes:
        box.value = True
    view.button.click()
    assert fixes.error == "" and fixes.busy == ""
    assert [r.verdict for r in fixes.results] == ["restores", "insufficient"]
    assert fixes.results[0].primary == ratio_fix.primary
    assert fixes.best is fixes.results[0]
    assert 'data-fix="recompute-ratio"' in view.verdicts.value
    assert "restores" in view.verdicts.value and "insufficient" in view.verdicts.value
    assert view.chart in view.children and "wb-side-effects" in view.effects.value
    assert [s.entry.kind for s in journal.states] == ["fix", "fix"]
    assert [s.entry.status for s in journal.states] == ["restores", "insufficient"]


def test_the_comparison_chart_carries_the_results_numbers(ratio_fix, rollback_fix):
    df = comparison_frame([ratio_fix, rollback_fix])
    assert df["label"].tolist() == ["incident as logged", "recompute-ratio", "rollback-v1.3.0"]
    assert df["value"].tolist() == [ratio_fix.primary.before.value, ratio_fix.primary.after.value,
                                    rollback_fix.primary.after.value]
    spec = fix_comparison_chart([ratio_fix, rollback_fix]).to_dict()
    band = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rect")
    datasets = spec["datasets"]
    band_rows = next(v for v in datasets.values() if v and "what" in v[0])
    assert band_rows[0]["lower"] == ratio_fix.primary.baseline.lower
    assert band_rows[0]["upper"] == ratio_fix.primary.baseline.upper
    assert band["encoding"]["y2"]["field"] == "upper"
    assert "baseline target" in spec["title"]


def test_journal_view_notes_and_marks(app):
    _, journal, _, _, view = app
    view.note.value = "   "
    view.add.click()
    count = journal.count
    view.note.value = "warehouse team confirms the new avg_amount definition"
    view.add.click()
    assert journal.count == count + 1 and view.note.value == ""
    assert "warehouse team confirms" in view.timeline.value
    fix_id = next(s.entry.id for s in journal.states if s.entry.kind == "fix")
    view.picker.value = fix_id
    view.reason.value = "restores within the baseline interval"
    view.confirm.click()
    assert journal.journal.outcome(fix_id) == "confirmed"
    assert "restores within the baseline interval" in view.timeline.value
    assert view.reason.value == ""
    view.kind.value = "hypothesis"
    view.note.value = "CHG-1042 changed what avg_amount means"
    view.add.click()
    latest = journal.states[-1]
    assert (latest.entry.kind, latest.outcome) == ("hypothesis", "open")
    assert latest.entry.id == view.picker.options[0][1]  # newest first in the picker
    assert view.picker.value == fix_id  # the selection survives a redraw


def test_report_button_writes_the_report_and_records_it(app):
    state, journal, fixes, _, _ = app
    view = ReportView(state, fixes, journal)
    assert view.folder.value.endswith(journal.journal.incident)
    view.generate()
    files = view.files
    assert files is not None and files.html.is_file() and "wb-error" not in view.status.value
    data = json.loads(files.json.read_text())
    assert data["fix"]["verification"]["verdict"] == "restores"
    assert str(files.html) in view.output.value
    assert journal.journal.entries()[-1].kind == "report"
    view.folder.value = str(state.incident.base_dir / "logs" / "report")
    view.generate()
    assert "the workbench never writes there" in view.status.value
    assert view.output.value == ""  # no stale paths next to the error


def test_verify_panel_composes_the_three_views_over_one_state(app):
    from widgets import Workbench

    state = app[0]
    wb = Workbench(state)
    panel = wb.verify_panel()
    kinds = [type(c).__name__ for c in panel.children]
    assert kinds.count("VerifyView") == kinds.count("JournalView") == \
        kinds.count("ReportView") == 1
    assert wb.fixes.state is state and wb.fixes.journal is wb.journal
    assert wb.verify_panel() is panel and wb.fixes is wb.fixes  # one of each per app
    views = {type(c).__name__: c for c in panel.children}
    assert views["VerifyView"].fixes is wb.fixes and views["JournalView"].state is wb.journal
