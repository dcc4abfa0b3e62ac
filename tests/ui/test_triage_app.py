"""The triage app in a real Voila server and headless Chromium, on the sample incident."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_triage_app_renders_chart_and_names_the_culprit(voila_app, page, sample_incident):
    truth = json.loads((sample_incident.parent / "truth.json").read_text())
    url = voila_app("notebooks/triage.ipynb", env={"WORKBENCH_INCIDENT": str(sample_incident)})
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.goto(url)

    suspects = page.locator(".wb-suspects tbody tr")
    expect(suspects.first).to_be_visible(timeout=90_000)
    first = suspects.first.inner_text()
    assert truth["signature"] in first and truth["feature"] in first
    assert truth["change_id"] in first

    titles = page.locator(".vega-embed svg .role-title-text")
    expect(titles.first).to_be_visible(timeout=30_000)
    expect(page.locator(".vega-embed svg .role-title-text", has_text="False positive rate"))\
        .to_have_count(1)
    expect(page.locator(".vega-embed svg .role-title-text",
                        has_text=f"Feature '{truth['feature']}'")).to_have_count(1)
    # The onset rule and its label are drawn on the metric chart.
    expect(page.locator(".vega-embed svg text", has_text=re.compile(r"^onset$")))\
        .to_have_count(1)
    header = page.locator(".wb-facts").inner_text()
    assert truth["onset"][:13] in header


def test_picking_another_feature_redraws_the_histogram(voila_app, page, sample_incident):
    url = voila_app("notebooks/triage.ipynb", env={"WORKBENCH_INCIDENT": str(sample_incident)})
    page.goto(url)
    picker = page.locator("select").first
    expect(picker).to_be_visible(timeout=90_000)
    option = picker.locator("option", has_text="account_age_days").first
    picker.select_option(value=option.get_attribute("value"))
    expect(page.locator(".vega-embed svg .role-title-text",
                        has_text="Feature 'account_age_days'")).to_have_count(1, timeout=15_000)
    stats = page.locator("small", has_text="PSI vs training").inner_text()
    assert "PSI vs training" in stats


def test_bad_incident_shows_a_readable_error_not_a_traceback(voila_app, page, tmp_path):
    bad = tmp_path / "incident.toml"
    bad.write_text('[production]\nsource = "logs/*.parquet"\ntimestamp = "t"\nprediction = "p"\n'
                   'colour = "red"\n[reference]\nsource = "train.parquet"\n')
    url = voila_app("notebooks/triage.ipynb", env={"WORKBENCH_INCIDENT": str(bad)})
    page.goto(url)
    panel = page.locator(".wb-error")
    expect(panel).to_be_visible(timeout=90_000)
    assert "colour" in panel.inner_text()
    assert "Traceback" not in page.content()
