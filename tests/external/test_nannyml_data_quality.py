"""The workbench against NannyML's data-quality verdicts on its car loan data-quality dataset.

The fixture `tests/fixtures/nannyml/car_loan_data_quality/` is an incident (a prediction log of
NannyML's analysis period, one row in 4; its reference period, one row in 8, as the training
data; `debt_to_income_ratio` left out) plus `expected.json`: per chunk of 625 rows, the
missing-value rate of every feature (`nannyml.MissingValuesCalculator`) and the share of values
unseen in the reference of every categorical feature (`nannyml.UnseenValuesCalculator`), with
NannyML's alerts, and the realized ROC AUC (see `NOTICE.md` and `export.py` there). In it
`salary_range` and `driver_tenure` go from about 10 % to about 22 % missing at the start of
chunk 10, and `size_of_downpayment` carries a down payment of `'50%'` that the reference never
has, in every chunk.

What a user should get from the workbench: a `null_rate` fault for each feature NannyML alerts
on, with rates that are the log's own; an `unseen_categories` fault naming `'50%'`; the feature
pipeline and input data layers not healthy; a hypothesis for each fault; an onset where the
missing rates jump. Rates are checked against the log itself: split at the start of NannyML's
first alerting chunk (where the data change) within a couple of points, and over the
workbench's own windows exactly.

Buckets follow the rule of `test_nannyml_datasets.py`: the smallest of the workbench's default
bucket sizes that holds at least 150 predictions on average, and times are compared in buckets
(within one bucket of the bucket holding the start of NannyML's first alerting chunk).
"""

from __future__ import annotations

import functools
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from workbench.config import load_incident
from workbench.diagnose import diagnose
from workbench.results import Diagnosis, FeatureDrift, QualityFault
from workbench.timeutil import parse_duration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nannyml" / "car_loan_data_quality"
DEFAULT_BUCKETS = ("1min", "5min", "15min", "1h", "6h", "1d", "1w")
MIN_ROWS_PER_BUCKET = 150
RATE_TOLERANCE = 0.02  # "within a couple of points" of the log's own rates

# NannyML's verdicts, as recorded in expected.json (checked below).
MISSING = ("driver_tenure", "salary_range")
MISSING_ONSET_CHUNK = 10
UNSEEN = {"size_of_downpayment": "50%"}

# What each fault kind should become (workbench/stages/hypotheses.py, _quality_candidates),
# with no change log: signature, layer, and the opening of its summary.
HYPOTHESIS_FOR = {
    "null_rate": ("silent_pipeline_failure", "feature_pipeline", "The missing rate of {f!r}"),
    "unseen_categories": ("distribution_shift", "input_data",
                          "{f!r} carries categories never seen in training"),
}

@functools.cache
def expected() -> dict[str, Any]:
    """NannyML's verdicts, as exported."""
    return json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))


@functools.cache
def diagnosis() -> Diagnosis:
    """The workbench's diagnosis of the fixture incident (computed once per test session)."""
    return diagnose(FIXTURE / "incident.toml", attribution=False)


@functools.cache
def log() -> pa.Table:
    return pq.read_table(FIXTURE / "analysis.parquet")


@functools.cache
def reference() -> pa.Table:
    return pq.read_table(FIXTURE / "reference.parquet")


def naive_utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def quality_start() -> datetime:
    """Start (naive UTC) of NannyML's first alerting missing-values chunk."""
    return naive_utc(expected()["chunks"][MISSING_ONSET_CHUNK]["start"])


def bucket_index(moment: datetime, bucket: str) -> int:
    """Index of the workbench bucket (aligned to the Unix epoch) holding a naive-UTC moment."""
    seconds = (moment - datetime(1970, 1, 1)).total_seconds()
    return math.floor(seconds / parse_duration(bucket))


def rows_between(start: datetime | None, end: datetime | None) -> pa.Table:
    """The log's rows with start <= timestamp < end (naive UTC bounds, None: open)."""
    stamps = log()["timestamp"].to_numpy()  # datetime64[us], UTC
    keep = np.ones(len(stamps), dtype=bool)
    if start is not None:
        keep &= stamps >= np.datetime64(start, "us")
    if end is not None:
        keep &= stamps < np.datetime64(end, "us")
    return log().filter(pa.array(keep))


def null_share(table: pa.Table, column: str) -> float:
    return table[column].null_count / table.num_rows


def value_share(table: pa.Table, column: str, value: str) -> float:
    return pc.sum(pc.equal(table[column], value)).as_py() / table.num_rows


def faults(kind: str) -> dict[str, QualityFault]:
    return {f.feature: f for f in diagnosis().quality if f.kind == kind}


def drift_of(feature: str) -> FeatureDrift:
    return next(d for d in diagnosis().drift if d.feature == feature)


# ---- the fixture and NannyML's verdicts ------------------------------------------------------


def test_fixture_holds_the_exported_log_and_reference():
    exp = expected()
    incident = load_incident(FIXTURE / "incident.toml")
    features = list(exp["missing_values"])
    assert log().schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert log().num_rows == exp["rows"]["analysis"] == 12_500
    assert reference().num_rows == exp["rows"]["reference"] == 6_250
    assert list(incident.production.features) == features
    assert set(features) <= set(log().column_names) & set(reference().column_names)
    assert not set(exp["left_out"]) & set(log().column_names)
    label = incident.production.label
    assert label == incident.reference.label
    assert log()[label].null_count == 0 and reference()[label].null_count == 0
    stamps = log()["timestamp"].to_numpy()
    assert (np.diff(stamps) >= np.timedelta64(0)).all()
    assert str(np.datetime_as_string(stamps[0], unit="s")) == exp["chunks"][0]["start"][:19]
    assert str(np.datetime_as_string(stamps[-1], unit="s")) == exp["chunks"][-1]["end"][:19]


def test_nannyml_ground_truth_is_what_was_recorded():
    exp = expected()
    assert exp["nannyml_version"] == "0.13.1"
    assert exp["method"]["chunk_size"] == 625 and len(exp["chunks"]) == 20
    assert exp["missing_alerting"] == list(MISSING)
    for name, nml in exp["missing_values"].items():
        if name in MISSING:  # every chunk from the jump on alerts, none before
            assert nml["alert_chunks"] == list(range(MISSING_ONSET_CHUNK, 20)), name
            assert nml["onset_chunk"] == MISSING_ONSET_CHUNK
        else:
            assert nml["alert_chunks"] == [] and max(nml["values"]) == 0.0, name
    assert exp["unseen_alerting"] == list(UNSEEN)
    for name, nml in exp["unseen_values"].items():
        if name in UNSEEN:  # the new category is there from the first chunk on
            assert nml["alert_chunks"] == list(range(20)), name
            assert list(nml["unseen_categories"]) == [UNSEEN[name]]
        else:
            assert nml["alert_chunks"] == [] and nml["unseen_categories"] == {}, name
    # The realized metric moves: ROC AUC falls (its alert run starts late, in chunk 18, as the
    # 625-row chunks leave it a wide reference band).
    assert exp["performance"]["direction"] == "worse"


def test_nannyml_rates_are_the_fixtures_rates():
    # What NannyML computed is what the fixture holds, chunk by chunk.
    exp = expected()
    size = exp["method"]["chunk_size"]
    for i, chunk in enumerate(exp["chunks"]):
        rows = log().slice(i * size, chunk["rows"])
        for name, nml in exp["missing_values"].items():
            assert null_share(rows, name) == pytest.approx(nml["values"][i], abs=1e-6), name
        for name, value in UNSEEN.items():
            nml = exp["unseen_values"][name]
            assert value_share(rows, name, value) == pytest.approx(nml["values"][i], abs=1e-6)
            assert pc.sum(pc.equal(rows[name], value)).as_py() == \
                nml["unseen_categories"][value][i]
    for name, value in UNSEEN.items():
        assert value not in set(reference()[name].drop_null().to_pylist())


def test_bucket_is_the_smallest_default_with_enough_rows():
    exp = expected()
    start, end = naive_utc(exp["chunks"][0]["start"]), naive_utc(exp["chunks"][-1]["end"])
    rows = exp["rows"]["analysis"]

    def per_bucket(bucket: str) -> float:
        return rows / ((end - start).total_seconds() / parse_duration(bucket))

    fitting = [b for b in DEFAULT_BUCKETS if per_bucket(b) >= MIN_ROWS_PER_BUCKET]
    result = diagnosis()
    assert result.bucket == fitting[0] == "1w"
    assert result.rows == rows


# ---- when it started -------------------------------------------------------------------------


def test_onset_within_one_bucket_of_nannymls_first_alerting_chunk():
    result = diagnosis()
    assert expected()["performance"]["direction"] == "worse"  # the realized metric moves
    assert result.onset is not None
    gap = bucket_index(result.onset, result.bucket) - bucket_index(quality_start(),
                                                                   result.bucket)
    assert abs(gap) <= 1
    assert result.metric.current > result.metric.baseline


@pytest.mark.parametrize("feature", MISSING)
def test_missing_rate_jump_located_within_one_bucket_of_nannyml(feature):
    fault = faults("null_rate")[feature]
    assert fault.start is not None
    bucket = diagnosis().bucket
    assert abs(bucket_index(fault.start, bucket) - bucket_index(quality_start(), bucket)) <= 1


# ---- the faults and their numbers ------------------------------------------------------------


def test_missing_rate_faults_are_exactly_nannymls_features():
    assert set(faults("null_rate")) == set(expected()["missing_alerting"])


@pytest.mark.parametrize("feature", MISSING)
def test_missing_rate_jump_has_the_logs_rates(feature):
    fault = faults("null_rate")[feature]
    before, after = rows_between(None, quality_start()), rows_between(quality_start(), None)
    assert fault.baseline == pytest.approx(null_share(before, feature), abs=RATE_TOLERANCE)
    assert fault.current == pytest.approx(null_share(after, feature), abs=RATE_TOLERANCE)
    assert fault.current - fault.baseline >= 0.1  # about 10 % -> 22 %
    # Over the workbench's own windows the rates are the log's, exactly.
    result = diagnosis()
    base = rows_between(result.baseline_window.start, result.baseline_window.end)
    cur = rows_between(result.current_window.start, result.current_window.end)
    assert fault.baseline == pytest.approx(null_share(base, feature), abs=1e-9)
    assert fault.current == pytest.approx(null_share(cur, feature), abs=1e-9)
    assert fault.rows == cur.num_rows


def test_workbench_measures_the_share_of_the_unseen_category():
    # The evidence is there: the share of size_of_downpayment outside training's categories in
    # each window is the share of '50%' there.
    result = diagnosis()
    base = rows_between(result.baseline_window.start, result.baseline_window.end)
    cur = rows_between(result.current_window.start, result.current_window.end)
    for feature, value in UNSEEN.items():
        d = drift_of(feature)
        assert d.outside_range_baseline == pytest.approx(value_share(base, feature, value),
                                                         abs=1e-9)
        assert d.outside_range_current == pytest.approx(value_share(cur, feature, value),
                                                        abs=1e-9)


@pytest.mark.parametrize("feature", list(UNSEEN))
def test_unseen_category_is_a_fault_naming_it(feature):
    fault = faults("unseen_categories").get(feature)
    assert fault is not None
    assert repr(UNSEEN[feature]) in fault.detail
    assert fault.current == pytest.approx(value_share(log(), feature, UNSEEN[feature]),
                                          abs=RATE_TOLERANCE)


# ---- layers and hypotheses -------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["feature_pipeline", "input_data"])
def test_layer_is_not_healthy(layer):
    verdict = diagnosis().layer(layer)
    assert verdict is not None
    assert verdict.verdict != "healthy", verdict.headline


def test_pipeline_layer_evidence_names_each_missing_rate_jump():
    verdict = diagnosis().layer("feature_pipeline")
    named = {e.detail for e in verdict.evidence if e.statistic == "null_rate_rate"}
    assert named == set(MISSING)


@pytest.mark.parametrize("feature", MISSING)
def test_a_hypothesis_names_the_missing_rate_jump(feature):
    fault = faults("null_rate")[feature]
    signature, layer, opening = HYPOTHESIS_FOR["null_rate"]
    rates = f"{fault.baseline:.1%} -> {fault.current:.1%}"
    matching = [h for h in diagnosis().hypotheses
                if h.feature == feature and h.signature == signature and h.layer == layer]
    assert matching, [(h.signature, h.feature) for h in diagnosis().hypotheses]
    assert opening.format(f=feature) in matching[0].summary
    assert rates in matching[0].summary


@pytest.mark.parametrize("feature", list(UNSEEN))
def test_a_hypothesis_names_the_unseen_category(feature):
    signature, layer, opening = HYPOTHESIS_FOR["unseen_categories"]
    matching = [h for h in diagnosis().hypotheses
                if h.feature == feature and h.signature == signature and h.layer == layer
                and opening.format(f=feature) in h.summary]
    assert matching, [(h.signature, h.feature) for h in diagnosis().hypotheses]
    assert repr(UNSEEN[feature]) in matching[0].summary
