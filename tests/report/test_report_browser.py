"""The HTML post-mortem opened from disk in headless Chromium: the charts render, offline."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_html_report_renders_its_charts_offline(written, page, artifacts_dir):
    page.goto((written.out / "report.html").as_uri())
    expect(page.locator("h1")).to_contain_text("Post-mortem: Fraud model false positives")
    charts = page.locator("figure.wb-chart svg")
    expect(charts).to_have_count(2)
    titles = page.locator("figure.wb-chart svg .role-title-text")
    expect(titles.filter(has_text="False positive rate per 1h")).to_have_count(1)
    expect(titles.filter(has_text="Feature 'ratio': production vs training")).to_have_count(1)
    for i in range(2):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    # Marks were drawn (the metric line and the histogram bars), not just axes.
    assert page.locator("#metric_over_time svg .mark-line path").count() >= 1
    assert page.locator("#feature_histogram svg .mark-rect path").count() >= 10
    expect(page.locator("table.fix-metrics")).to_contain_text("false_positive_rate")
    page.screenshot(path=str(artifacts_dir / "report-html-full.png"), full_page=True)
