"""The guided triage app (notebooks/triage.ipynb) in a real Voila server and headless Chromium,
on the sample incident: phase 1 and the verify placeholder, the shared window bar, errors, and
`?incident=` links. Expected figures come from the core on the same incident."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.ui.apps import (
    chart_title,
    full_screenshot,
    open_app,
    select_by_label,
    timed,
)
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.explain import explain_failing
from workbench.stages import summary

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRIAGE = "notebooks/triage.ipynb"
CHARTS_ON_LOAD = 11  # every chart of the four phases, first record and feature selected
SPLIT = datetime(2026, 10, 15, 0, 0)
SEGMENT = "channel=online"


def pct(x: float) -> str:
    return f"{x:.2%}"


def test_triage_phase_names_the_culprit_and_the_change(voila_app, page, sample_incident,
                                                       artifacts_dir, record_property):
    truth = json.loads((sample_incident.parent / "truth.json").read_text())
    page.set_viewport_size({"width": 1400, "height": 1000})
    seconds = open_app(voila_app, page, TRIAGE, sample_incident, CHARTS_ON_LOAD,
                       ".wb-suspects tbody tr")
    record_property("page_to_complete_render_s", round(seconds, 2))

    first = page.locator(".wb-suspects tbody tr").first.inner_text()
    assert truth["signature"] in first and truth["feature"] in first
    assert truth["change_id"] in first
    expect(chart_title(page, re.compile(r"^False positive rate per 1h$"))).to_have_count(1)
    # The last buckets' labels are late: the estimate beside the realised rate, and the header
    # says how many rows still wait.
    expect(chart_title(page, "realised and estimated")).to_have_count(1)
    expect(chart_title(page, re.compile(r"^label coverage$"))).to_have_count(1)
    expect(page.locator(".wb-labels-pending")).to_contain_text("rows since")
    expect(page.locator(".vega-embed svg text", has_text=re.compile(r"^onset$")))\
        .to_have_count(1)
    onset = truth["onset"][:16].replace("T", " ")
    assert onset in page.locator(".wb-facts").first.inner_text()

    # What changed: the culprit change first, flagged as near the onset.
    changes = page.locator(".wb-changes tbody tr")
    expect(changes.first).to_contain_text(truth["change_id"])
    expect(changes.first).to_have_class(re.compile("wb-near"))
    # How bad and who: the runbook of the top suspect; who-is-affected chart.
    expect(page.locator(".wb-runbook")).to_contain_text(truth["signature"])
    expect(chart_title(page, "Who is affected")).to_have_count(1)
    everyone = page.locator('.wb-severity[data-who="Everyone"]')
    expect(everyone).to_contain_text("extra vs the baseline rate")
    # Phase 4: the triage page fills the verify slot with the fix replay, listing the sample's
    # declared fixes (the placeholder comparison is tested in tests/widgets).
    expect(page.locator(".wb-verify-slot .wb-fix-choice", has_text="recompute-ratio"))\
        .to_be_visible()
    full_screenshot(page, artifacts_dir / "app-triage-phase1.png")


@pytest.fixture(scope="module")
def expected(sample_incident):
    """Core figures for the split and segment the window test picks."""
    incident = load_incident(sample_incident)
    with LogStore(incident) as store:
        d = diagnose(incident, store=store, split=SPLIT, attribution=False)
        baseline, current = d.baseline_window, d.current_window
        overall = summary.severity(store, d.metric.name, baseline, current)
        seg = summary.severity(store, d.metric.name, baseline, current, ("channel", "online"))
        failing = explain_failing(store, "fp", start=current.start, end=current.end,
                                  segment=("channel", "online"), limit=1, neighbours=0)
    return {"metric": d.metric, "overall": overall, "segment": seg, "failing": failing.total}


def test_window_bar_split_and_segment_update_every_view(voila_app, page, sample_incident,
                                                        expected, artifacts_dir,
                                                        record_property):
    page.set_viewport_size({"width": 1400, "height": 1000})
    open_app(voila_app, page, TRIAGE, sample_incident, CHARTS_ON_LOAD, ".wb-suspects tbody tr")
    header = page.locator(".wb-facts").first
    busy = page.locator(".wb-busy")

    # Split by hand: a busy note while the kernel works, then every view on the new windows.
    page.locator(".wb-window input[type=datetime-local]").fill("2026-10-15T00:00")
    m = expected["metric"]

    def apply() -> None:
        page.get_by_role("button", name="Apply split").click()
        expect(busy).to_be_visible(timeout=10_000)
        page.screenshot(path=str(artifacts_dir / "app-triage-busy.png"))

    seconds = timed(apply, lambda: expect(header).to_contain_text(
        f"{pct(m.baseline)} → {pct(m.current)}", timeout=90_000))
    record_property("split_change_s", round(seconds, 2))
    expect(busy).to_have_count(0)
    expect(header).to_contain_text("Split (chosen)")
    expect(header).to_contain_text("2026-10-15 00:00 UTC")
    expect(page.locator(".vega-embed svg text", has_text=re.compile(r"^split$")))\
        .to_have_count(1)
    everyone = page.locator('.wb-severity[data-who="Everyone"]')
    expect(everyone).to_contain_text(f"{expected['overall'].rows_current:,}")
    full_screenshot(page, artifacts_dir / "app-triage-split.png")

    # Segment filter: the segment's figures, its line on the metric chart, its records.
    segment = page.locator(".wb-window select")
    seconds = timed(lambda: select_by_label(segment, rf"^{SEGMENT}\s"),
                    lambda: expect(page.locator(f'.wb-severity[data-who="{SEGMENT}"]'))
                    .to_contain_text(f"{expected['segment'].rows_current:,}", timeout=60_000))
    record_property("segment_change_s", round(seconds, 2))
    expect(chart_title(page, f"everyone vs {SEGMENT}")).to_have_count(1)
    failing = page.locator(".wb-phase-deep-dive p", has_text="Showing")
    expect(failing).to_contain_text(f"segment {SEGMENT}")
    expect(failing).to_contain_text(f"{expected['failing']:,}")
    full_screenshot(page, artifacts_dir / "app-triage-segment.png")


def test_bad_incident_shows_a_readable_error_not_a_traceback(voila_app, page, tmp_path):
    bad = tmp_path / "incident.toml"
    bad.write_text('[production]\nsource = "logs/*.parquet"\ntimestamp = "t"\nprediction = "p"\n'
                   'colour = "red"\n[reference]\nsource = "train.parquet"\n')
    url = voila_app(TRIAGE, env={"WORKBENCH_INCIDENT": str(bad)})
    page.goto(url)
    panel = page.locator(".wb-error")
    expect(panel).to_be_visible(timeout=90_000)
    assert "colour" in panel.inner_text()
    assert "Traceback" not in page.content()
