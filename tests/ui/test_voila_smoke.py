"""The browser fixtures work: a throwaway notebook served by Voila, driven in headless Chromium.

Independent of the product notebooks, so a failure here points at the test machinery
(Voila, Chromium, offline Altair), not at the workbench.
"""

import time

import nbformat
import pytest
from playwright.sync_api import expect

from tests.conftest import VOILA_CELL_ERROR

CHART_TITLE = "Smoke chart: errors per hour"

SMOKE_CELL = f"""\
import altair as alt
import ipywidgets as widgets
import pandas as pd

alt.JupyterChart.enable_offline()
data = pd.DataFrame({{"hour": ["00", "01", "02"], "errors": [3, 7, 2]}})
chart = alt.Chart(data, title={CHART_TITLE!r}).mark_bar().encode(x="hour", y="errors")
button = widgets.Button(description="Count click")
label = widgets.Label(value="clicks: 0")
button.on_click(lambda _: setattr(label, "value", f"clicks: {{int(label.value[8:]) + 1}}"))
view = alt.JupyterChart(chart, embed_options={{"renderer": "svg", "actions": False}})
display(widgets.VBox([widgets.HBox([button, label]), view]))
"""


def write_smoke_notebook(folder):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# Smoke"), nbformat.v4.new_code_cell(SMOKE_CELL)]
    path = folder / "smoke.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.browser
@pytest.mark.slow
def test_voila_renders_widgets_and_offline_chart(
    voila_app, page, network_log, tmp_path, record_property
):
    notebook = write_smoke_notebook(tmp_path)

    started = time.monotonic()
    url = voila_app(notebook)
    server_ready = time.monotonic() - started

    started = time.monotonic()
    page.goto(url, wait_until="commit")
    title = page.locator(".vega-embed svg .role-title-text")
    cell_error = page.get_by_text(VOILA_CELL_ERROR)
    expect(title.or_(cell_error).first).to_be_visible(timeout=90_000)
    if cell_error.count():
        pytest.fail(f"The smoke notebook raised; Voila log {url.log_path}:\n{url.log_tail()}")
    expect(title).to_contain_text(CHART_TITLE)
    first_chart = time.monotonic() - started

    label = page.locator(".widget-label", has_text="clicks:")
    expect(label).to_have_text("clicks: 0")
    page.get_by_role("button", name="Count click").click()
    expect(label).to_have_text("clicks: 1")

    # Sources are stripped for the on-call audience.
    expect(page.get_by_text("enable_offline")).to_have_count(0)
    # Nothing but the known icon-font stylesheet tried to leave 127.0.0.1.
    assert network_log.unexpected == []

    record_property("voila_server_ready_s", round(server_ready, 2))
    record_property("page_to_first_chart_s", round(first_chart, 2))
    print(f"Voila server ready {server_ready:.1f} s; page to first chart {first_chart:.1f} s")
