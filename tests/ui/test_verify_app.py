"""The verify app in a real Voila server and headless Chromium, on the sample incident.

Walks what an on-call engineer does: replay the ratio correction, see it restores the metric,
note it in the journal, write the post-mortem. The journal and report go to a temporary
WORKBENCH_HOME.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import VOILA_CELL_ERROR
from workbench.config import load_incident
from workbench.journal import slug

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "Warehouse team confirms avg_amount now nets refunds; ratio fix validated on replay."


def test_replay_fix_note_and_report(voila_app, page, sample_incident, tmp_path, artifacts_dir):
    home = tmp_path / "wb-home"
    url = voila_app("notebooks/verify.ipynb",
                    env={"WORKBENCH_INCIDENT": str(sample_incident), "WORKBENCH_HOME": str(home),
                         "WORKBENCH_AUTHOR": "grace"})
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto(url)

    choice = page.locator(".wb-fix-choice", has_text="recompute-ratio")
    expect(choice).to_be_visible(timeout=120_000)
    expect(page.locator(".wb-facts").first).to_contain_text("false positive rate")
    page.screenshot(path=str(artifacts_dir / "verify-app-1-opened.png"), full_page=True)

    choice.locator("input[type=checkbox]").check()
    page.locator(".wb-verify-run").click()
    verdict = page.locator('.wb-verdict[data-fix="recompute-ratio"] .wb-verdict-word')
    expect(verdict).to_have_text("restores", timeout=90_000)
    expect(page.locator(".vega-embed svg .role-title-text",
                        has_text="False positive rate after each fix")).to_have_count(1)
    expect(page.locator(".wb-side-effects")).to_contain_text("None")
    expect(page.locator(".wb-journal")).to_contain_text("Replayed fix 'recompute-ratio'")
    page.screenshot(path=str(artifacts_dir / "verify-app-2-verdict.png"), full_page=True)

    page.locator(".wb-journal-note textarea").fill(NOTE)
    page.locator(".wb-journal-add").click()
    expect(page.locator(".wb-journal")).to_contain_text(NOTE)

    page.locator(".wb-report-run").click()
    files = page.locator(".wb-report-files")
    expect(files).to_contain_text("report.html", timeout=120_000)
    page.screenshot(path=str(artifacts_dir / "verify-app-3-report.png"), full_page=True)
    assert page.get_by_text(VOILA_CELL_ERROR).count() == 0
    assert page.locator(".wb-error").count() == 0

    folder = home / "reports" / slug(load_incident(sample_incident))
    assert (folder / "report.html").is_file() and (folder / "report.md").is_file()
    report = json.loads((folder / "report.json").read_text())
    assert report["fix"]["verification"]["verdict"] == "restores"
    assert [n["text"] for n in report["notes"]] == [NOTE]
    journal = home / "journals" / f"{slug(load_incident(sample_incident))}.jsonl"
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [e["kind"] for e in entries] == ["fix", "note", "report"]
    assert {e["author"] for e in entries} == {"grace"}
