"""The trace view bound to its state, without a browser: what it draws and how it fails."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from sample_data.pipeline import BAD_CODE, BAD_DATA, GOOD
from widgets.trace import TraceState, TraceView
from workbench.config import (
    Incident,
    LineageSection,
    ProductionSection,
    ReferenceSection,
    SourceSpec,
)
from workbench.exceptions import WorkbenchError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state(sample):
    """The sample's runs with v1.1 -> v1.2 traced (runs cached in the session's home)."""
    s = TraceState.from_folder(sample.root / "models", GOOD, BAD_CODE, sample.snapshots)
    s.run()
    return s


def test_state_holds_the_trace_and_the_ablation(sample, state):
    assert state.error == "" and state.busy == ""
    assert [m.name for m in state.manifests] == ["v1.0", GOOD, BAD_CODE, BAD_DATA]
    assert state.trace.bisect.culprit == sample.culprit_commit
    assert state.ablation.top.feature == "ratio"


def test_view_draws_every_section_from_the_results(sample, state):
    view = TraceView(state)
    assert "code change is the culprit" in view.verdict.value
    assert sample.culprit_commit[:10] in view.bisect.value
    assert view.bisect.value.count("<li>") == len(state.trace.bisect.steps) == 4
    assert "wb-trace-diff" in view.diff.value and "12 commits" in view.diff.value
    assert "restores 100% of the gap" in view.experiments.value
    assert view.ablation.value.index("ratio") < view.ablation.value.index("amount")
    assert all(len(slot.children) == 1 for slot in view.charts.values())
    assert view.charts["bisect"].children[0].chart.title.startswith("Bisect path (4 ")


def test_picking_the_data_regression_retraces(sample, state):
    view = TraceView(state)
    view.bad.value = BAD_DATA
    view._trace()
    assert state.error == ""
    assert state.trace.experiments.culprit == "data"
    assert state.trace.bisect.kind == "data"
    assert sample.segment in view.verdict.value and sample.segment in view.diff.value


def test_same_run_twice_is_a_readable_error(state):
    view = TraceView(state)
    view.good.value = view.bad.value = GOOD
    view._trace()
    assert "Pick two different runs" in view.status.value and "wb-error" in view.status.value


def test_missing_data_shows_a_sentence_not_a_traceback(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))  # nothing cached: runs happen
    models = tmp_path / "models"
    shutil.copytree(sample.root / "models", models)
    text = (models / BAD_CODE / "manifest.json").read_text()
    (models / BAD_CODE / "manifest.json").write_text(
        text.replace(str(sample.snapshots[1]), str(tmp_path / "gone.parquet")))
    s = TraceState.from_folder(models, GOOD, BAD_CODE)
    s.run()
    assert "gone.parquet" in s.error and "is gone" in s.error and "Traceback" not in s.error
    assert s.trace is None
    assert "Cannot trace these runs" in TraceView(s).status.value


def test_a_folder_without_two_runs_is_reported(tmp_path):
    s = TraceState.from_folder(tmp_path)
    assert "Found 0 run manifest(s)" in s.error


def test_a_state_over_the_runs_a_build_step_writes(sample):
    s = TraceState.from_build(lambda: (sample.root / "models", sample.snapshots), GOOD, BAD_CODE)
    assert s.error == "" and (s.good, s.bad) == (GOOD, BAD_CODE)
    assert [m.name for m in s.manifests] == ["v1.0", GOOD, BAD_CODE, BAD_DATA]
    assert s.snapshots == list(sample.snapshots)

    def broken() -> tuple:
        raise WorkbenchError("the pipeline repository is gone")

    failed = TraceState.from_build(broken)
    assert failed.error == "Preparing the runs failed. the pipeline repository is gone"
    assert "Cannot trace these runs" in TraceView(failed).status.value


def test_an_incidents_lineage_section_names_its_runs(sample):
    source = SourceSpec("logs/*.parquet", "parquet")
    incident = Incident(sample.root / "incident.toml", "any incident",
                        ProductionSection(source, "ts", "score"), ReferenceSection(source),
                        lineage=LineageSection("models"))  # relative to the config's folder
    s = TraceState.for_incident(incident)
    assert s.error == "" and (s.good, s.bad) == ("v1.0", BAD_DATA)  # oldest and newest run
    assert len(s.manifests) == 4
    without = TraceState.for_incident(replace(incident, lineage=None))
    assert "no [lineage] section" in without.error and not without.manifests


def test_a_numeric_label_reads_as_its_mean_never_as_a_rate():
    """A house-price label moved from 412,000 to 412 (thousands lost): the view shows means and
    a Welch t, and a segment's means, never percentages."""
    from widgets.trace import label_rows
    from workbench.lineage.results import DataChange, SegmentShift

    seg = SegmentShift("region", "north", 500, 480, None, None, z=-40.2, significant=True,
                       label_mean_good=412_000.0, label_mean_bad=412.0, test="Welch t")
    change = DataChange("train", "a.parquet", "b.parquet", "x", "y", True, label="sale_price",
                        label_z=-40.2, label_kind="numeric", label_test="Welch t",
                        label_mean_good=412_000.0, label_mean_bad=412.0,
                        label_median_good=390_000.0, label_median_bad=390.0, segments=(seg,))
    rows = label_rows(change)
    assert rows == [["mean sale_price (t = -40.2)", "412,000", "412"],
                    ["median sale_price", "390,000", "390"],
                    ["segment region=north: sale_price mean (t = -40.2)", "412,000", "412"]]
    assert not any("%" in cell for row in rows for cell in row)
    binary = replace(change, label="is_fraud", label_kind="binary", label_rate_good=0.012,
                     label_rate_bad=0.031, label_z=7.5, segments=())
    assert label_rows(binary) == [["is_fraud rate (z = 7.5)", "1.20%", "3.10%"]]
