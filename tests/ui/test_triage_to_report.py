"""The whole path in the on-call app: triage names the culprit, the fix is replayed and
verified, the post-mortem is written — all in `triage.ipynb` served by Voila."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import VOILA_CELL_ERROR
from workbench.config import load_incident
from workbench.journal import slug

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_triage_to_verified_fix_to_report(voila_app, page, sample_incident, tmp_path,
                                          artifacts_dir):
    truth = json.loads((sample_incident.parent / "truth.json").read_text())
    home = tmp_path / "wb-home"
    url = voila_app("notebooks/triage.ipynb",
                    env={"WORKBENCH_INCIDENT": str(sample_incident), "WORKBENCH_HOME": str(home)})
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.goto(url)

    suspects = page.locator(".wb-suspects tbody tr")
    expect(suspects.first).to_be_visible(timeout=120_000)
    assert truth["feature"] in suspects.first.inner_text()
    assert truth["change_id"] in suspects.first.inner_text()

    choice = page.locator(".wb-fix-choice", has_text="recompute-ratio")
    expect(choice).to_be_visible(timeout=60_000)
    choice.locator("input[type=checkbox]").check()
    page.locator(".wb-verify-run").click()
    verdict = page.locator('.wb-verdict[data-fix="recompute-ratio"] .wb-verdict-word')
    expect(verdict).to_have_text("restores", timeout=90_000)

    page.locator(".wb-report-run").click()
    expect(page.locator(".wb-report-files")).to_contain_text("report.html", timeout=120_000)
    page.screenshot(path=str(artifacts_dir / "triage-to-report.png"), full_page=True)
    assert page.get_by_text(VOILA_CELL_ERROR).count() == 0

    folder = home / "reports" / slug(load_incident(sample_incident))
    report = json.loads((folder / "report.json").read_text())
    assert report["fix"]["verification"]["verdict"] == "restores"
