"""Phase 2 (notebooks/isolate.ipynb) in Voila and headless Chromium on the sample incident: one
row per layer with the core's verdict and headline; opening a row shows its evidence and
chart."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.apps import chart_title, full_screenshot, open_app, timed
from workbench.config import load_incident
from workbench.diagnose import diagnose
from workbench.results import LAYERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def diagnosis(sample_incident):
    return diagnose(load_incident(sample_incident), attribution=False)


def test_layers_show_verdicts_and_expand_to_evidence(voila_app, page, sample_incident,
                                                     diagnosis, artifacts_dir,
                                                     record_property):
    page.set_viewport_size({"width": 1400, "height": 1000})
    seconds = open_app(voila_app, page, "notebooks/isolate.ipynb", sample_incident, 0,
                       ".wb-layer")
    record_property("page_to_complete_render_s", round(seconds, 2))
    expect(page.locator(".wb-layer")).to_have_count(len(LAYERS))
    for verdict in diagnosis.layers:
        row = page.locator(f".wb-layer-{verdict.layer}")
        expect(row).to_contain_text(verdict.headline)
        assert f"wb-verdict-{verdict.verdict}" in (row.get_attribute("class") or "")
    assert diagnosis.layer("input_data").verdict == "failing"

    # Input data: the evidence table and the worst feature's drift over time.
    worst = max(diagnosis.drift, key=lambda x: x.psi_onset).feature
    row = page.locator(".wb-layer-input_data")
    seconds = timed(lambda: row.get_by_role("button", name="Evidence").click(),
                    lambda: expect(chart_title(page, f"Drift of '{worst}' over time"))
                    .to_have_count(1, timeout=30_000))
    record_property("expand_input_data_s", round(seconds, 2))
    evidence = diagnosis.layer("input_data").evidence
    expect(row.locator(".wb-evidence tbody tr")).to_have_count(len(evidence))

    # Model: the metric per version; serving: latency and errors over time.
    page.locator(".wb-layer-model").get_by_role("button", name="Evidence").click()
    expect(chart_title(page, "False positive rate per model version")).to_have_count(1)
    page.locator(".wb-layer-serving").get_by_role("button", name="Evidence").click()
    expect(chart_title(page, "Serving signals per 1h")).to_have_count(1)
    full_screenshot(page, artifacts_dir / "app-isolate.png")
