"""The shared IncidentState without a browser: one window drives every result, each view
redraws once per change, and failures become readable messages, never exceptions."""

from __future__ import annotations

from datetime import datetime

import ipywidgets as w
import pytest

from tests.widgets.helpers import no_model_config, open_sample
from widgets import Workbench
from widgets.base import View
from widgets.state import IncidentState
from workbench.stages import summary

SPLIT = datetime(2026, 10, 15, 0, 0)


class Counting(View):
    """A view that counts its redraws (what every real view goes through)."""

    observes = ("diagnosis", "impact", "failing", "attribution", "feature", "record")
    requires = ("impact", "failing", "attribution", "feature_drift")

    def build(self) -> list[w.Widget]:
        self.draws = 0
        return []

    def render(self) -> None:
        self.draws += 1


@pytest.fixture(scope="module")
def wb(sample_incident) -> Workbench:
    """The sample incident with every phase built (read-only tests share it)."""
    wb = open_sample(sample_incident)
    for phase in ("top", "triage", "isolate", "deep_dive", "verify"):
        getattr(wb, phase)
    return wb


def test_loading_diagnoses_and_selects_the_top_suspect(wb, sample_incident):
    s = wb.state
    assert s.error == "" and s.busy == "" and s.problems == {}
    assert s.diagnosis.top.feature == "ratio"
    assert s.feature == "ratio"
    assert s.split is None and s.effective_split == s.diagnosis.onset
    assert s.required == {"impact", "failing", "attribution", "feature_drift"}
    assert s.impact.overall.metric == "false_positive_rate"
    assert s.failing.kind == "fp" and len(s.failing.records) == 50
    assert s.record == s.failing.records[0].record_id
    assert s.selected_record is s.failing.records[0]
    assert s.slice == " & ".join(s.diagnosis.slices[0].conditions)
    assert s.attribution.top.feature == "ratio"
    assert s.feature_drift.name == "psi:ratio"


def test_results_are_read_only(wb):
    with pytest.raises(Exception, match="read-only"):
        wb.state.diagnosis = None
    with pytest.raises(Exception, match="read-only"):
        wb.state.failing = None


def test_changing_the_split_recomputes_everything_and_redraws_each_view_once(sample_incident):
    wb = open_sample(sample_incident)
    view = Counting(wb.state)
    before = view.draws
    old = wb.state.diagnosis
    wb.state.split = SPLIT
    s = wb.state
    assert view.draws == before + 1
    assert s.diagnosis is not old
    assert s.diagnosis.current_window.start == SPLIT
    assert s.diagnosis.baseline_window.end == SPLIT
    baseline, current = s.diagnosis.baseline_window, s.diagnosis.current_window
    assert s.impact.overall.rows_current == summary.severity(
        s.store, "false_positive_rate", baseline, current).rows_current
    assert s.failing.window == {"start": SPLIT, "end": current.end}
    assert s.attribution.current_window["start"] == SPLIT
    assert s.busy == ""

    wb.state.split = None  # back to the detected onset
    assert s.diagnosis.current_window.start == s.diagnosis.onset


def test_segment_filter_narrows_impact_and_failing_records(sample_incident):
    wb = open_sample(sample_incident)
    view = Counting(wb.state)
    before, diagnosis = view.draws, wb.state.diagnosis
    overall = wb.state.impact.overall
    wb.state.segment = "channel=online"
    s = wb.state
    assert view.draws == before + 1
    assert s.diagnosis is diagnosis  # the windows did not change: no new diagnosis
    assert s.impact.overall is overall
    assert s.impact.segment.segment == "channel=online"
    assert s.impact.segment_series.name == "false_positive_rate (channel=online)"
    assert s.failing.segment == {"column": "channel", "value": "online"}
    for record in s.failing.records:
        values = {c.feature: c.value for c in record.contributions}
        assert values["channel"] == "online"
    assert s.record in [r.record_id for r in s.failing.records]


def test_a_split_outside_the_log_is_a_readable_problem_and_is_undone(sample_incident):
    wb = open_sample(sample_incident)
    assert wb.state.impact is None  # no view asked for it
    wb.state.require("impact")
    diagnosis = wb.state.diagnosis
    wb.state.split = datetime(2030, 1, 1)
    s = wb.state
    assert "must lie inside the analysed span" in s.problems["window"]
    assert s.split is None and s.diagnosis is diagnosis and s.error == ""
    wb.state.set_window(split=SPLIT, segment="country=US")
    assert "window" not in s.problems
    assert s.diagnosis.current_window.start == SPLIT
    assert s.impact.segment.segment == "country=US"


def test_feature_selection_computes_its_drift_over_time(wb):
    s = wb.state
    s.feature = "amount"
    assert s.feature_drift.name == "psi:amount"
    assert len(s.feature_drift.values) == len(s.diagnosis.series[0].values)
    s.feature = "ratio"
    assert s.feature_drift.name == "psi:ratio"


def test_what_if_rescores_the_selected_record(wb):
    s = wb.state
    record = s.failing.records[2]
    s.record = record.record_id
    assert s.what_if is None
    s.rescore("ratio", "1.0")
    result = s.what_if.records[0]
    assert result.record_id == record.record_id
    assert result.score_before == pytest.approx(record.model_score)
    assert result.changed["ratio"][1] == 1.0
    assert result.flipped == (result.score_after < 0.5)
    s.rescore("ratio", "abc")
    assert "must be a number" in s.problems["what_if"]
    s.record = s.failing.records[0].record_id
    assert s.what_if is None


def test_a_bad_config_is_an_error_message_not_an_exception(tmp_path):
    bad = tmp_path / "incident.toml"
    bad.write_text("[production]\nsource = 'x.parquet'\n")
    wb = Workbench.open(bad)
    assert "timestamp" in wb.state.error
    assert wb.state.diagnosis is None
    app = wb.app()  # still builds: the error panel only
    status = app.children[0].children[1]
    assert "Cannot analyse this incident" in status.error.value


def test_a_missing_link_target_is_an_error_message(monkeypatch):
    monkeypatch.setenv("QUERY_STRING", "incident=nowhere/incident.toml")
    wb = Workbench.open()
    assert "nowhere/incident.toml" in wb.state.error


def test_without_a_model_the_records_say_why(sample_incident, tmp_path):
    state = IncidentState(no_model_config(sample_incident, tmp_path))
    state.require("failing", "attribution", "impact")
    state.load()
    assert state.error == "" and state.diagnosis is not None
    assert "[model]" in state.problems["failing"]
    assert "[model]" in state.problems["attribution"]
    assert state.impact is not None and "impact" not in state.problems
    assert state.record == "" and state.selected_record is None


def test_a_second_viewer_loads_the_finished_diagnosis(sample_incident, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))  # an empty diagnosis cache
    first = IncidentState(sample_incident)
    first.load()
    assert first.error == "" and first.cache["hit"] is False
    second = IncidentState(sample_incident)
    work: list[str] = []
    second.observe(lambda change: work.append(change["new"]), names="busy")
    second.load()
    assert second.cache == {"hit": True, "key": first.cache["key"]}
    assert second.diagnosis == first.diagnosis and second.diagnosis is not first.diagnosis
    assert not [w for w in work if w.startswith(("triage", "features", "model"))]
    second.split = SPLIT  # a re-diagnosis: its own entry
    assert second.cache["hit"] is False and second.cache["key"] != first.cache["key"]
    assert second.diagnosis.current_window.start == SPLIT
    second.split = None  # going back is instant
    assert second.cache == first.cache | {"hit": True}
    assert second.diagnosis == first.diagnosis


def test_results_derived_from_a_diagnosis_are_loaded_by_the_next_viewer(sample_incident,
                                                                        tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    first = IncidentState(sample_incident)
    first.load()
    first.require("impact", "failing")
    second = IncidentState(sample_incident)
    second.load()
    second.require("impact", "failing")
    assert second.failing == first.failing and second.impact == first.impact
    assert second.failing.elapsed_seconds == first.failing.elapsed_seconds  # not recomputed
    second.segment = "channel=online"  # a segment: its own entries
    online = second.failing
    assert online.segment == {"column": "channel", "value": "online"} and online != first.failing
    second.segment = ""  # back to everyone: loaded
    assert second.failing == first.failing and second.impact.segment is None
    first.segment = "channel=online"  # the first viewer picks that segment too: loaded
    assert first.failing == online and first.failing.elapsed_seconds == online.elapsed_seconds
    assert first.impact.segment.segment == "channel=online"
