"""The figures shown beside a diagnosis (workbench.stages.summary), a record's drill-down
(workbench.explain.drilldown), the incident catalog and the runbooks: checked against counts
computed directly with DuckDB on the sample incident, and on small hand-made inputs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from workbench.catalog import list_incidents
from workbench.config import load_incident
from workbench.data import LogStore, Window
from workbench.diagnose import diagnose
from workbench.exceptions import InvalidInputError
from workbench.explain import drilldown
from workbench.explain.results import FeatureContribution, RecordExplanation
from workbench.results import SIGNATURES, Histogram
from workbench.runbooks import RUNBOOKS, runbook
from workbench.stages import summary

SPLIT = datetime(2026, 10, 16, 18)


@pytest.fixture(scope="module")
def sample(sample_incident):
    incident = load_incident(sample_incident)
    store = LogStore(incident)
    d = diagnose(incident, store=store, attribution=False)
    yield incident, store, d
    store.close()


def direct(sample_incident: Path, where: str) -> dict[str, float]:
    """Rows, false positives and negatives of the sample's log under a SQL condition."""
    logs = str(sample_incident.parent / "logs" / "*.parquet")
    row = duckdb.sql(
        f"SELECT count(*), sum(CASE WHEN NOT is_fraud AND blocked THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN NOT is_fraud THEN 1 ELSE 0 END) FROM read_parquet('{logs}') "
        f"WHERE {where}").fetchall()[0]
    return {"rows": row[0], "fp": float(row[1]), "neg": float(row[2])}


def test_severity_matches_counts_read_directly(sample, sample_incident):
    _, store, d = sample
    baseline, current = d.baseline_window, d.current_window
    assert current.start == SPLIT
    s = summary.severity(store, "false_positive_rate", baseline, current)
    after = direct(sample_incident, f"event_time >= TIMESTAMPTZ '{SPLIT}+00'")
    before = direct(sample_incident, f"event_time < TIMESTAMPTZ '{SPLIT}+00'")
    assert s.rows_current == after["rows"] and s.rows_baseline == before["rows"]
    assert s.bad_current == after["fp"]
    assert s.metric_current == pytest.approx(after["fp"] / after["neg"])
    assert s.metric_baseline == pytest.approx(before["fp"] / before["neg"])
    expected = (after["fp"] / after["neg"] - before["fp"] / before["neg"]) * after["neg"]
    assert s.excess == pytest.approx(expected)
    assert s.affected_share == pytest.approx(expected / after["rows"])
    assert s.excess_per_hour == pytest.approx(expected / s.hours_current)
    assert s.ratio == pytest.approx(s.metric_current / s.metric_baseline)


def test_segment_severity_and_breakdown_match_direct_counts(sample, sample_incident):
    _, store, d = sample
    baseline, current = d.baseline_window, d.current_window
    s = summary.severity(store, "false_positive_rate", baseline, current, ("channel", "online"))
    after = direct(sample_incident,
                   f"event_time >= TIMESTAMPTZ '{SPLIT}+00' AND channel = 'online'")
    assert s.segment == "channel=online"
    assert (s.rows_current, s.bad_current) == (after["rows"], after["fp"])

    breakdown = summary.segment_breakdown(store, "false_positive_rate", baseline, current)
    online = next(x for x in breakdown if x.label == "channel=online")
    assert online.rows_current == after["rows"]
    assert online.excess == pytest.approx(s.excess)
    channels = [x for x in breakdown if x.column == "channel"]
    assert sum(x.traffic_share for x in channels) == pytest.approx(1.0)
    assert sum(x.excess_share for x in channels) == pytest.approx(1.0)
    assert [x.excess for x in breakdown] == sorted((x.excess for x in breakdown), reverse=True)


def test_impact_with_a_segment_adds_its_series_and_reuses_the_rest(sample):
    _, store, d = sample
    everyone = summary.impact(store, d)
    assert everyone.segment is None and everyone.segment_series is None
    online = summary.with_segment(store, d, everyone, "channel=online")
    assert online.overall is everyone.overall and online.segments is everyone.segments
    assert online.segment.segment == "channel=online"
    series = online.segment_series
    assert series.name == "false_positive_rate (channel=online)"
    assert sum(series.weights) == pytest.approx(
        online.segment.denominator_current + _baseline_negatives(store, d))
    assert summary.with_segment(store, d, online, "").segment is None


def _baseline_negatives(store: LogStore, d) -> float:
    baseline = d.baseline_window
    return summary.severity(store, "false_positive_rate", baseline, baseline,
                            ("channel", "online")).denominator_current


def test_serving_series_and_version_metrics(sample, sample_incident):
    _, store, d = sample
    baseline, current = d.baseline_window, d.current_window
    series = {s.name: s for s in summary.serving_series(store, 3600, baseline.start,
                                                        current.end)}
    assert set(series) == {"latency_p95_ms", "error_status_rate", "null_score_rate"}
    assert sum(series["latency_p95_ms"].weights) == d.rows
    assert max(series["null_score_rate"].values) == 0.0
    versions = summary.version_metrics(store, "false_positive_rate", baseline.start,
                                       current.end, current.start)
    assert [(v.version, v.side) for v in versions] == [
        ("v1.3.0", "before"), ("v1.3.1", "before"), ("v1.3.1", "after")]
    after = direct(sample_incident, f"event_time >= TIMESTAMPTZ '{SPLIT}+00'")
    assert versions[-1].rows == after["rows"]
    assert versions[-1].metric == pytest.approx(after["fp"] / after["neg"])


def test_locate_follows_the_query_layers_bins():
    numeric = Histogram("x", "numeric", ("null", "< 0", "[0, 1)", "[1, 2]", "> 2"),
                        (0,) * 5, (0,) * 5, (0,) * 5, edges=(0.0, 1.0, 2.0))
    assert [drilldown.locate(numeric, v) for v in (None, -1, 0, 0.5, 1, 2, 2.5)] == \
        [0, 1, 2, 2, 3, 3, 4]
    categorical = Histogram("c", "categorical", ("null", "other / unseen", "a", "b"),
                            (0,) * 4, (0,) * 4, (0,) * 4)
    assert [drilldown.locate(categorical, v) for v in (None, "zz", "a", "b")] == [0, 1, 2, 3]


def test_record_positions_and_what_if_inputs(sample):
    _, _, d = sample
    record = RecordExplanation(
        "r1", None, 0.9, 0.9, 0.0, 1,
        (FeatureContribution("ratio", 500.0, 0.7, 100.0, True),
         FeatureContribution("channel", "online", 0.1),
         FeatureContribution("not_a_feature", 1.0, 0.05),
         FeatureContribution("amount", 20.0, 0.01)))
    found = drilldown.record_positions(d, record, top=3)
    assert [p.feature for p in found] == ["ratio", "channel", "amount"]
    assert found[0].bin_label == d.histogram("ratio").labels[-1]  # above training's range
    assert found[1].bin_label == "online"
    frame = drilldown.record_frame(record)
    assert frame.iloc[0].to_dict() == {"ratio": 500.0, "channel": "online",
                                       "not_a_feature": 1.0, "amount": 20.0}


def test_parse_value_reads_like_the_current_value():
    assert drilldown.parse_value("1.5", 2.0) == 1.5
    assert drilldown.parse_value(" 2e3 ", 7) == 2000.0
    assert drilldown.parse_value("pos", "online") == "pos"
    assert drilldown.parse_value("", 1.0) is None and drilldown.parse_value("null", "a") is None
    with pytest.raises(InvalidInputError, match="must be a number"):
        drilldown.parse_value("abc", 1.0)


def test_parse_segment_filter_and_failing_kind():
    assert summary.parse_segment_filter("country = US") == ("country", "US")
    assert summary.parse_segment_filter("") is None
    with pytest.raises(InvalidInputError, match="column=value"):
        summary.parse_segment_filter("country")
    assert summary.failing_kind("false_positive_rate", "classification") == "fp"
    assert summary.failing_kind("recall", "classification") == "fn"
    assert summary.failing_kind("error_rate", "classification") == "error"
    assert summary.failing_kind("mae", "regression") == "error"


def test_unknown_metric_is_a_readable_error(sample):
    _, store, _ = sample
    with pytest.raises(InvalidInputError, match="Unknown metric 'fpr'"):
        summary.severity(store, "fpr", Window("b", None, SPLIT), Window("c", SPLIT, None))


def test_every_signature_has_a_runbook():
    assert set(RUNBOOKS) == set(SIGNATURES)
    for signature in SIGNATURES:
        book = runbook(signature)
        assert book.meaning and book.steps and book.mitigation
    assert runbook("no_such_signature") is None


def test_catalog_lists_incidents_with_links_that_resolve(tmp_path, sample_incident):
    folder = tmp_path / "incidents"
    good = folder / "fraud" / "incident.toml"
    good.parent.mkdir(parents=True)
    text = sample_incident.read_text()
    root = sample_incident.parent
    for rel in ("logs/*.parquet", "training/train.parquet", "models/fraud_v1_3_1.skops",
                "changes.csv"):
        text = text.replace(f'"{rel}"', f'"{root / rel}"')
    good.write_text(text)
    broken = folder / "broken" / "incident.toml"
    broken.parent.mkdir()
    broken.write_text("title = 3\n")
    env = {"WORKBENCH_INCIDENTS_DIR": str(folder)}
    entries = {e.path: e for e in list_incidents(env)}
    assert entries[good.resolve()].query == "incident=fraud%2Fincident.toml"
    assert entries[good.resolve()].title == load_incident(sample_incident).title
    assert entries[good.resolve()].error is None
    assert "[production] section is required" in entries[broken.resolve()].error
    assert entries[good.resolve()].name == "fraud"
