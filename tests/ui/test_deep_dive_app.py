"""Phase 3 (notebooks/deep_dive.ipynb) in Voila and headless Chromium on the sample incident:
the drift table and its sort, picking a feature, a slice and a failing record, the what-if
editor and the attribution chart. Expected values come from the core on the same incident."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.ui.apps import (
    chart_title,
    exact_label,
    full_screenshot,
    open_app,
    select_by_label,
    timed,
)
from widgets.state import FAILING_LIMIT
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.explain import drilldown, explain_failing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS_ON_LOAD = 9  # histogram, drift over time, slices, SHAP, 3+1 training panels, attribution
RECORD = 2  # the third failing record of the list
FEATURE = "amount"


@pytest.fixture(scope="module")
def expected(sample_incident):
    """What the core finds on the sample incident at the detected onset."""
    incident = load_incident(sample_incident)
    with LogStore(incident) as store:
        d = diagnose(incident, store=store, attribution=False)
        current = d.current_window
        failing = explain_failing(store, "fp", start=current.start, end=current.end,
                                  limit=FAILING_LIMIT, neighbours=0)
        record = failing.records[RECORD]
        what_if = drilldown.what_if_record(store, record, "ratio", "1.0")
    return {"diagnosis": d, "record": record, "what_if": what_if.records[0]}


def test_deep_dive_feature_slice_record_and_what_if(voila_app, page, sample_incident, expected,
                                                     artifacts_dir, record_property):
    d = expected["diagnosis"]
    page.set_viewport_size({"width": 1400, "height": 1000})
    seconds = open_app(voila_app, page, "notebooks/deep_dive.ipynb", sample_incident,
                       CHARTS_ON_LOAD, ".wb-drift tbody tr")
    record_property("page_to_complete_render_s", round(seconds, 2))

    # Drift table: largest PSI first; the column picker re-sorts.
    rows = page.locator(".wb-drift tbody tr")
    top_psi = max(d.drift, key=lambda x: x.psi)
    expect(rows.first.locator("td").first).to_have_text(top_psi.feature)
    expect(rows).to_have_count(len(d.drift))
    select_by_label(page.locator(".wb-sort select"), "^name$")
    expect(rows.first.locator("td").first).to_have_text(min(x.feature for x in d.drift))

    # Feature: histogram and drift over time follow the pick.
    picker = page.locator(".wb-feature-picker select")
    seconds = timed(lambda: select_by_label(picker, rf"^{FEATURE}\s"),
                    lambda: expect(chart_title(page, f"Drift of '{FEATURE}' over time"))
                    .to_have_count(1, timeout=30_000))
    record_property("feature_switch_s", round(seconds, 2))
    expect(chart_title(page, f"Feature '{FEATURE}': production vs training")).to_have_count(1)
    expect(page.locator(".wb-drift tr.wb-picked")).to_contain_text(FEATURE)

    # Slice: its numbers.
    second = d.slices[1]
    label = " & ".join(second.conditions)
    seconds = timed(lambda: select_by_label(page.locator(".wb-slice-picker select"),
                                            exact_label(label)),
                    lambda: expect(page.locator(".wb-slice-numbers"))
                    .to_contain_text(label, timeout=30_000))
    record_property("slice_pick_s", round(seconds, 2))
    numbers = page.locator(".wb-slice-numbers")
    expect(numbers).to_contain_text(f"{second.rows_current:,}")
    expect(numbers).to_contain_text(f"{second.lift:.1f}×")

    # Failing record: SHAP bars and the training panels name it.
    record = expected["record"]
    records = page.locator(".wb-records select")
    option = records.locator("option").nth(RECORD)
    assert (option.text_content() or "").split()[0] == record.record_id
    seconds = timed(lambda: records.select_option(value=option.get_attribute("value")),
                    lambda: expect(chart_title(page, f"SHAP for record {record.record_id}"))
                    .to_have_count(1, timeout=30_000))
    record_property("record_pick_s", round(seconds, 2))
    expect(chart_title(page, f"Where record {record.record_id}'s top features")).to_have_count(1)
    top = record.contributions[0]
    expect(chart_title(page, re.compile(rf"^{re.escape(top.feature)} = "))).to_have_count(1)

    # What-if: ratio back to 1.0 re-scores the record with the model.
    after = expected["what_if"]
    select_by_label(page.locator(".wb-whatif-feature select"), "^ratio$")
    page.locator(".wb-whatif-value input").fill("1.0")
    seconds = timed(lambda: page.get_by_role("button", name="Re-score").click(),
                    lambda: expect(page.locator(".wb-whatif")).to_contain_text(
                        f"{after.score_before:.3f} → {after.score_after:.3f}", timeout=30_000))
    record_property("what_if_s", round(seconds, 2))
    expect(page.locator(".wb-whatif")).to_contain_text(record.record_id)
    if after.flipped:
        expect(page.locator(".wb-whatif")).to_contain_text("the decision flips")

    expect(chart_title(page, "Attribution drift")).to_have_count(1)
    full_screenshot(page, artifacts_dir / "app-deep-dive.png")
