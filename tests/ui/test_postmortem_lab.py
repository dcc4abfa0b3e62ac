"""The post-mortem notebook in JupyterLab: a reviewer opens it days after the incident, runs it,
reads the investigation as it was beside today's data, and adds a note to the journal (served
from a temporary copy, as Lab autosaves)."""

from __future__ import annotations

import json
import shutil

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO_ROOT
from tests.core.test_postmortem import ONSET, reviewed_incident
from tests.ui.apps import chart_title, jupyterlab
from workbench.config import load_incident
from workbench.journal import slug

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "Review: labels confirm CHG-7, schema check requested"


def test_postmortem_notebook_in_jupyterlab(page, tmp_path_factory, tmp_path, artifacts_dir):
    built = reviewed_incident(tmp_path_factory)
    home = built.copy_home(tmp_path / "home")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / "postmortem.ipynb", root)
    env = {"WORKBENCH_INCIDENT": str(built.config), "WORKBENCH_HOME": str(home),
           "WORKBENCH_AUTHOR": "dana"}
    with jupyterlab(root, env, artifacts_dir / "jupyterlab-postmortem.log") as url:
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}lab/tree/postmortem.ipynb")
        # Clicks before the kernel is idle are silently dropped.
        expect(page.locator("#jp-main-statusbar", has_text="Idle")).to_be_visible(
            timeout=120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        header = page.locator(".jp-OutputArea .wb-pm-header")
        expect(header).to_contain_text(built.key, timeout=180_000)
        expect(header.locator(".wb-pm-outcome")).to_have_attribute("data-outcome", "confirmed")
        onset = page.locator(".jp-OutputArea .wb-pm-compare tr", has_text="onset").first
        stamp = ONSET.strftime("%Y-%m-%d %H:%M")
        expect(onset).to_contain_text(f"{stamp} UTC{stamp} UTCunchanged")
        expect(page.locator(".wb-pm-compare tr", has_text="log analysed")).to_contain_text(
            "grown")
        expect(chart_title(page, "as it was and today")).to_have_count(1, timeout=60_000)
        page.locator(".wb-pm-compare").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "lab-postmortem-compare.png"))
        timeline = page.locator(".jp-OutputArea .wb-pm-timeline")
        expect(timeline).to_contain_text("basket_value served scaled since CHG-7")
        entries = timeline.locator("tr.wb-pm-entry")
        before = entries.count()

        page.locator(".wb-pm-note textarea").fill(NOTE)
        page.locator("button.wb-pm-add").click()
        expect(entries).to_have_count(before + 1, timeout=30_000)
        added = timeline.locator("tr.wb-pm-review").last
        expect(added).to_contain_text(NOTE)
        expect(added).to_contain_text("dana")
        page.screenshot(path=str(artifacts_dir / "lab-postmortem.png"), full_page=True)

    lines = (home / "journals" / f"{slug(load_incident(built.config))}.jsonl").read_text()
    last = json.loads(lines.splitlines()[-1])
    assert (last["kind"], last["text"], last["author"]) == ("note", NOTE, "dana")
