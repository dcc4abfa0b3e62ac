"""The trace notebook in a real Voila server and headless Chromium, on the sample scenario.

The sample is built before the server starts (WORKBENCH_TRACE_REPO), the run cache starts
empty (WORKBENCH_HOME), so the page shows the result of real re-runs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sample_data.pipeline import build_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_sample(tmp_path_factory.mktemp("trace_ui"))


def test_trace_page_shows_the_bisect_path_and_the_ablation_chart(voila_app, page, built,
                                                                   tmp_path):
    url = voila_app("notebooks/trace.ipynb",
                    env={"WORKBENCH_TRACE_REPO": str(built.root),
                         "WORKBENCH_HOME": str(tmp_path / "home")})
    page.set_viewport_size({"width": 1280, "height": 2400})
    page.goto(url)

    steps = page.locator(".wb-trace-bisect li")
    expect(steps.first).to_be_visible(timeout=240_000)
    expect(steps).to_have_count(4)
    assert [s.split()[0] for s in steps.all_inner_texts()] == ["bad", "good", "good", "good"]
    culprit = page.locator(".wb-trace-bisect + p").inner_text()
    assert built.culprit_commit[:10] in culprit and "cap ratio" in culprit
    assert "code change is the culprit" in page.locator(".wb-trace-verdict").inner_text()

    titles = page.locator(".vega-embed svg .role-title-text")
    expect(titles.filter(has_text="Bisect path (4 re-runs)")).to_have_count(1, timeout=30_000)
    expect(titles.filter(has_text="Runs over time")).to_have_count(1)
    expect(titles.filter(has_text="Delta experiments")).to_have_count(1)
    ablation = page.locator(".vega-embed").filter(
        has=page.locator(".role-title-text",
                         has_text="Ablation: share of the regression explained per feature"))
    expect(ablation).to_have_count(1)
    expect(ablation.locator("g.mark-rect path")).to_have_count(11)
    labels = ablation.locator(".role-axis-label text").all_text_contents()
    features = [t for t in labels if not t.endswith("%")]  # y axis (x labels are percentages)
    assert len(features) == 11
    assert features[0] == "ratio"  # the capped feature explains the regression: ranked first
    first_row = page.locator(".wb-trace-ablation tbody tr").first.inner_text()
    assert first_row.startswith("ratio") and first_row.rstrip().endswith("100%")
    assert "Traceback" not in page.content()
