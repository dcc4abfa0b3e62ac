"""Every view drawn from the shared state without a browser: what it shows, and how its inputs
write back into the state."""

from __future__ import annotations

import re
from datetime import datetime

import ipywidgets as w
import pytest

from tests.widgets.helpers import open_sample
from widgets import IncidentIndex, Workbench
from widgets.base import View
from widgets.phases.deep_dive import (
    AttributionView,
    DriftOverTimeView,
    DriftTableView,
    FailingRecordsView,
    RecordView,
    SliceExplorer,
    WhatIfView,
    sort_drift,
)
from widgets.phases.isolate import LayersView
from widgets.phases.triage import AffectedView, ChangesView, SeverityView
from widgets.phases.verify_slot import VerifySlot
from widgets.views import (
    FeatureView,
    HeaderView,
    LabelArrivalView,
    MetricView,
    NextStepView,
    WindowBar,
)


def find(root: w.Widget, kind: type) -> list:
    """Every widget of a type under root."""
    out, todo = [], [root]
    while todo:
        widget = todo.pop(0)
        if isinstance(widget, kind):
            out.append(widget)
        todo.extend(getattr(widget, "children", ()))
    return out


def one(wb: Workbench, kind: type):
    for phase in ("top", "triage", "isolate", "deep_dive", "verify"):
        found = find(getattr(wb, phase), kind)
        if found:
            return found[0]
    raise AssertionError(f"no {kind.__name__}")


def title(slot) -> str:
    spec = slot.widget.spec
    t = spec.get("title", "")
    return t.get("text", "") if isinstance(t, dict) else t


def first_cells(html: str) -> list[str]:
    """Text of the first cell of every body row of an HTML table."""
    body = html.split("<tbody>", 1)[1]
    cells = [row.split("<td>", 1)[1].split("</td>", 1)[0] for row in body.split("<tr")[1:]]
    return [re.sub("<[^>]+>", "", cell) for cell in cells]


@pytest.fixture(scope="module")
def wb(sample_incident) -> Workbench:
    wb = open_sample(sample_incident)
    for phase in ("top", "triage", "isolate", "deep_dive", "verify"):
        getattr(wb, phase)
    return wb


def test_no_view_shows_an_error_on_the_sample(wb):
    views = [v for p in ("top", "triage", "isolate", "deep_dive", "verify")
             for v in find(getattr(wb, p), View)]
    assert len(views) >= 20
    assert [type(v).__name__ for v in views if v.notice.value] == []


def test_header_and_triage_views(wb, sample_incident):
    d = wb.state.diagnosis
    header = one(wb, HeaderView).html.value
    assert "2026-10-16 18:00 UTC" in header and "Split (at the onset)" in header
    assert f"{d.metric.baseline:.2%} → {d.metric.current:.2%}" in header
    assert title(one(wb, MetricView).chart) == "False positive rate per 1h"
    changes = one(wb, ChangesView).html.value
    assert changes.index("CHG-1042") < changes.index("CHG-1040")
    assert '<tr class="wb-near">' in changes
    severity = one(wb, SeverityView).html.value
    o = wb.state.impact.overall
    assert f"{o.excess:,.0f}" in severity and f"{o.rows_current:,}" in severity
    affected = one(wb, AffectedView)
    assert first_cells(affected.html.value)[0] == wb.state.impact.segments[0].label
    assert title(affected.chart).startswith("Who is affected")
    worst = d.slices[0]
    assert f"<b>{' &amp; '.join(worst.conditions)}</b>: {worst.score:.0%}" in affected.html.value
    assert "upstream_data_change (ratio)" in one(wb, NextStepView).html.value


def test_late_labels_show_in_the_header_and_as_an_estimate(wb):
    """The sample's last buckets wait for labels: the header says how many rows since when and
    the estimate now; the triage draws realised beside estimated with the coverage strip."""
    d = wb.state.diagnosis
    labels, est = d.labels, d.estimation
    assert labels.pending_rows > 0 and est is not None
    header = one(wb, HeaderView).html.value
    assert f"{labels.pending_rows:,} rows since 2026-10-19 00:00 UTC" in header
    now = next(m for m in est.current if m.name == est.metric)
    band = f"{now.estimated:.2%} [{now.lower:.2%}, {now.upper:.2%}]"
    assert f"estimated now (CBPE)</b>{band}" in header
    view = one(wb, LabelArrivalView)
    assert "dashed line estimates the false positive rate" in view.html.value
    spec = view.chart.widget.spec
    assert [c["title"] for c in spec["vconcat"]] == [
        "False positive rate per 1h: realised and estimated", "label coverage"]
    rows = [r for data in spec["datasets"].values() for r in data]
    assert sum(1 for r in rows if r.get("source") == "estimated") >= labels.pending_buckets


def test_window_bar_writes_the_split_and_segment(sample_incident):
    wb = open_sample(sample_incident)
    bar = find(wb.top, WindowBar)[0]
    metric = MetricView(wb.state)
    labels = [value for _, value in bar.segments.options]
    assert labels[0] == "" and labels[1] == wb.state.impact.segments[0].label
    bar.segments.value = "channel=online"
    assert wb.state.segment == "channel=online"
    assert title(metric.chart).endswith("everyone vs channel=online")
    bar.picker.value = datetime(2026, 10, 15, 0, 0)
    bar.apply.click()
    assert wb.state.split == datetime(2026, 10, 15, 0, 0)
    assert "Split (chosen)" in find(wb.top, HeaderView)[0].html.value
    assert not bar.reset.disabled
    bar.reset.click()
    assert wb.state.split is None and bar.reset.disabled
    wb.state.busy = "diagnosing"
    assert bar.apply.disabled and bar.segments.disabled
    wb.state.busy = ""
    assert not bar.apply.disabled


def test_layer_rows_show_verdicts_and_expand_to_evidence(wb):
    rows = find(wb.isolate, LayersView)[0].rows
    d = wb.state.diagnosis
    for name, row in rows.items():
        verdict = d.layer(name)
        assert f"wb-verdict-{verdict.verdict}" in row._dom_classes
        assert verdict.headline.split(":")[0] in row.headline.value
        assert row.details.layout.display == "none"
    row = rows["input_data"]
    row.toggle.value = True
    assert row.details.layout.display == "flex"
    assert title(row.chart) == "Drift of 'avg_amount' over time (PSI vs training per 1h)"
    assert row.evidence.value.count("<tr>") == len(d.layer("input_data").evidence) + 1
    rows["model"].toggle.value = True
    assert title(rows["model"].chart) == "False positive rate per model version"
    rows["external"].toggle.value = True
    assert "CHG-1042" in rows["external"].evidence.value and rows["external"].chart.widget is None


def test_drift_table_sorts_by_the_picked_column(wb):
    table = one(wb, DriftTableView)
    d = wb.state.diagnosis
    assert first_cells(table.html.value) == [x.feature for x in sort_drift(d.drift, "psi")]
    assert first_cells(table.html.value)[0] == max(d.drift, key=lambda x: x.psi).feature
    table.sort.value = "feature"
    assert first_cells(table.html.value) == sorted(x.feature for x in d.drift)
    table.sort.value = "wasserstein"
    order = first_cells(table.html.value)
    numeric = [x for x in d.drift if x.wasserstein is not None]
    assert order[: len(numeric)] == [x.feature for x in
                                     sorted(numeric, key=lambda x: -x.wasserstein)]
    table.sort.value = "psi"


def test_feature_pick_redraws_histogram_and_drift_over_time(wb):
    feature = one(wb, FeatureView)
    over_time = one(wb, DriftOverTimeView)
    feature.picker.value = "amount"
    assert wb.state.feature == "amount"
    assert title(feature.chart) == "Feature 'amount': production vs training"
    assert title(over_time.chart).startswith("Drift of 'amount' over time")
    assert 'class="wb-picked"' in one(wb, DriftTableView).html.value
    wb.state.feature = "ratio"
    assert feature.picker.value == "ratio"


def test_slice_explorer_shows_the_picked_slice(wb):
    explorer = one(wb, SliceExplorer)
    second = wb.state.diagnosis.slices[1]
    label = " & ".join(second.conditions)
    explorer.picker.value = label
    assert wb.state.slice == label
    assert f"{second.rows_current:,}" in explorer.numbers.value
    assert f"{second.lift:.1f}×" in explorer.numbers.value


def test_failing_records_pick_sort_shap_and_what_if(wb):
    records = one(wb, FailingRecordsView)
    failing = wb.state.failing
    assert [v for _, v in records.list.options] == [r.record_id for r in failing.records]
    records.sort.value = "time"
    times = [next(r for r in failing.records if r.record_id == v).time
             for _, v in records.list.options]
    assert times == sorted(times, reverse=True)
    target = failing.records[4]
    records.list.value = target.record_id
    assert wb.state.record == target.record_id
    view = one(wb, RecordView)
    assert title(view.shap).startswith(f"SHAP for record {target.record_id}")
    assert title(view.where) == f"Where record {target.record_id}'s top features sit in training"
    editor = one(wb, WhatIfView)
    assert editor.feature.value == target.contributions[0].feature
    editor.feature.value = "ratio"
    assert editor.value.value == str(next(c.value for c in target.contributions
                                          if c.feature == "ratio"))
    editor.value.value = "1.0"
    editor.run.click()
    result = wb.state.what_if.records[0]
    assert f"{result.score_before:.3f} → {result.score_after:.3f}" in editor.result.value
    assert target.record_id in editor.result.value
    records.sort.value = "score"


def test_attribution_chart(wb):
    view = one(wb, AttributionView)
    assert title(view.chart).startswith("Attribution drift")
    assert "<b>ratio</b>" in view.caption.value


def test_verify_slot_shows_the_comparison_until_filled(wb):
    slot = find(wb.verify, VerifySlot)[0]
    assert slot.view is None
    assert "back near" in find(slot, View)[0].html.value
    mine = w.HTML("fix results")
    wb.set_verify_view(mine)
    assert slot.view is mine and slot.children == (mine,)
    wb.set_verify_view(None)
    assert slot.view is None


def test_a_view_that_fails_to_draw_shows_its_own_panel(wb):
    class Broken(View):
        def render(self) -> None:
            raise ValueError("no such column 'x'")

    view = Broken(wb.state)
    assert "could not be drawn" in view.notice.value
    assert "no such column" in view.notice.value


def test_the_tabbed_app_holds_the_same_phase_widgets(wb):
    app = wb.app()
    tabs = app.children[1]
    assert list(tabs.children) == [wb.triage, wb.isolate, wb.deep_dive, wb.verify]
    assert tabs.titles[0] == "1 · Triage"
    assert app.state is wb.state


def test_index_lists_incidents_with_links(sample_incident):
    folder = sample_incident.parent.parent
    index = IncidentIndex({"WORKBENCH_INCIDENTS_DIR": str(folder)})
    rel = sample_incident.relative_to(folder).as_posix().replace("/", "%2F")
    html = index.html.value
    assert f'href="triage.ipynb?incident={rel}"' in html
    assert f'href="deep_dive.ipynb?incident={rel}"' in html
