"""The notebooks in JupyterLab: a data scientist opens a phase notebook, runs it, and the
widgets render (served from a temporary copy, as Lab autosaves)."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO_ROOT
from tests.ui.apps import chart_title, jupyterlab
from workbench.results import LAYERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_isolate_notebook_renders_its_widgets_in_jupyterlab(page, sample_incident, tmp_path,
                                                            artifacts_dir):
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / "isolate.ipynb", root)
    env = {"WORKBENCH_INCIDENT": str(sample_incident)}
    with jupyterlab(root, env, artifacts_dir / "jupyterlab.log") as url:
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}lab/tree/isolate.ipynb")
        # Clicks before the kernel is idle are silently dropped.
        expect(page.locator("#jp-main-statusbar", has_text="Idle")).to_be_visible(
            timeout=120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        layers = page.locator(".jp-OutputArea .wb-layer")
        expect(layers).to_have_count(len(LAYERS), timeout=180_000)
        expect(page.locator(".jp-OutputArea .wb-layer-input_data")).to_contain_text("failing")
        page.locator(".wb-layer-input_data").get_by_role("button", name="Evidence").click()
        expect(chart_title(page, "over time")).to_have_count(1, timeout=60_000)
        page.screenshot(path=str(artifacts_dir / "lab-isolate.png"))
