"""The landing page and `?incident=` links, served as `make apps` serves them: Voila's tree
over notebooks/, kernels started per request, incidents from WORKBENCH_INCIDENTS_DIR."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.ui.apps import voila_without_preheat
from tests.widgets.helpers import relocated_config
from workbench.config import load_incident

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_landing_page_links_open_the_incident(page, sample_incident, tmp_path, artifacts_dir):
    folder = tmp_path / "incidents"
    config = relocated_config(sample_incident, folder / "fraud_weekend")
    title = load_incident(config).title
    rel = config.relative_to(folder).as_posix()
    env = {"WORKBENCH_INCIDENTS_DIR": str(folder)}
    with voila_without_preheat("notebooks", env, artifacts_dir / "voila-apps.log") as url:
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}voila/render/index.ipynb")
        row = page.locator(".wb-index tbody tr", has_text=str(config))
        expect(row).to_have_count(1, timeout=120_000)
        expect(row).to_contain_text(title)
        page.screenshot(path=str(artifacts_dir / "app-index.png"))

        row.get_by_role("link", name="Triage (start here)").click()
        expect(page).to_have_url(f"{url}voila/render/triage.ipynb?{urlencode({'incident': rel})}")
        expect(page.locator(".wb-title")).to_have_text(title, timeout=120_000)
        expect(page.locator(".wb-suspects tbody tr").first).to_be_visible(timeout=120_000)

        page.goto(f"{url}voila/render/triage.ipynb?"
                  f"{urlencode({'incident': 'nowhere/incident.toml'})}")
        panel = page.locator(".wb-error")
        expect(panel).to_be_visible(timeout=120_000)
        assert "nowhere/incident.toml" in panel.inner_text()
        assert "Traceback" not in page.content()
