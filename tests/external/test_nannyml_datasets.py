"""The workbench against NannyML's verdicts on the synthetic datasets that ship inside NannyML.

Each fixture under `tests/fixtures/nannyml/<dataset>/` is an incident (a prediction log of
NannyML's analysis period, its reference period as the training data) plus `expected.json`:
which features NannyML's univariate drift calculator flags, from which chunk on, and where the
realized performance leaves its band (see `NOTICE.md` and `export.py` there).

"Drifted" for the workbench means its own verdict, `FeatureDrift.severity != "stable"`, that is
PSI >= 0.1 of the current window against the reference: it is what the hypotheses are built on.
KS and chi-squared p-values are not used as the verdict because at tens of thousands of rows
they reject for shifts of no practical size; they and the KS effect size are compared with
NannyML's separately, so a disagreement shows whether the evidence or the verdict differs.

Buckets follow one rule: the smallest of the workbench's default bucket sizes that holds at least
150 predictions on average. Onsets are compared in buckets: within one bucket of the bucket
holding the start of NannyML's first drifting chunk (which is also where its performance alert
run starts, and, by the chunk statistics, where the data change).
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
import pyarrow.parquet as pq
import pytest

from workbench.config import load_incident
from workbench.diagnose import diagnose
from workbench.results import Diagnosis, FeatureDrift
from workbench.timeutil import parse_duration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nannyml"
DATASETS = ("car_loan", "work_from_home", "car_price")
CLASSIFIERS = ("car_loan", "work_from_home")
DEFAULT_BUCKETS = ("1min", "5min", "15min", "1h", "6h", "1d", "1w")
MIN_ROWS_PER_BUCKET = 150
MAX_FIXTURE_BYTES = 6_000_000
# Workbench KS is exact at 20 reference-quantile edges (a lower bound between them); NannyML's
# is estimated on 10 000 equal-width bins. Same data, same windows: they agree this closely.
KS_AGREEMENT = 0.02

PSI_MISSES_MODERATE_DRIFT = (
    "NannyML flags all 7 car price features (KS 0.04-0.10, chi2 p < 1e-60). The workbench flags "
    "6: PSI >= 0.1 or KS >= 0.05 / Cramer's V >= 0.05 with p < 1e-3; km_driven (PSI 0.053, KS "
    "0.043) stays under both effect-size cut-offs, kept there so benign shifts (a weekend's "
    "hour-of-day mix, KS 0.038) are not called drift"
)


@functools.cache
def expected(dataset: str) -> dict[str, Any]:
    """NannyML's verdicts for one dataset, as exported."""
    return json.loads((FIXTURES / dataset / "expected.json").read_text(encoding="utf-8"))


@functools.cache
def diagnosis(dataset: str) -> Diagnosis:
    """The workbench's diagnosis of one fixture incident (computed once per test session)."""
    return diagnose(FIXTURES / dataset / "incident.toml", attribution=False)


def drift_of(result: Diagnosis) -> dict[str, FeatureDrift]:
    """Feature name -> its drift statistics."""
    return {d.feature: d for d in result.drift}


def drift_start(dataset: str) -> datetime:
    """Start (naive UTC) of the first chunk in which NannyML's drifting features alert."""
    exp = expected(dataset)
    chunks = {exp["features"][name]["onset_chunk"] for name in exp["drifting"]}
    assert len(chunks) == 1, f"drifting features start in different chunks: {chunks}"
    start = exp["chunks"][chunks.pop()]["start"]
    return datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC).replace(
        tzinfo=None)


def bucket_index(moment: datetime, bucket: str) -> int:
    """Index of the workbench bucket (aligned to the Unix epoch) holding a naive-UTC moment."""
    seconds = (moment - datetime(1970, 1, 1)).total_seconds()
    return math.floor(seconds / parse_duration(bucket))


# ---- the fixtures and NannyML's verdicts ------------------------------------------------------

NANNYML_VERDICTS = {
    "car_loan": ({"car_value", "loan_length", "repaid_loan_on_prev_car", "salary_range"}, 5,
                 "worse"),
    "work_from_home": ({"distance_from_office", "public_transportation_cost", "salary_range",
                        "wfh_prev_workday"}, 5, "worse"),
    "car_price": ({"accident_count", "car_age", "door_count", "fuel", "km_driven", "price_new",
                   "transmission"}, 3, "better"),
}


@pytest.mark.parametrize("dataset", DATASETS)
def test_fixture_holds_the_exported_log_and_reference(dataset):
    exp = expected(dataset)
    log = pq.read_table(FIXTURES / dataset / "analysis.parquet")
    ref = pq.read_table(FIXTURES / dataset / "reference.parquet")
    assert log.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert log.num_rows == exp["rows"]["analysis"]
    assert ref.num_rows == exp["rows"]["reference"]
    features = set(exp["features"])
    assert features <= set(log.column_names) and features <= set(ref.column_names)
    incident = load_incident(FIXTURES / dataset / "incident.toml")
    label = incident.production.label
    assert label == incident.reference.label
    assert log[label].null_count == 0 and ref[label].null_count == 0
    stamps = log["timestamp"].to_numpy()
    assert (np.diff(stamps) >= np.timedelta64(0)).all()
    first, last = exp["chunks"][0]["start"], exp["chunks"][-1]["end"]
    assert str(np.datetime_as_string(stamps[0], unit="s")) == first[:19]
    assert str(np.datetime_as_string(stamps[-1], unit="s")) == last[:19]


@pytest.mark.parametrize("dataset", DATASETS)
def test_nannyml_ground_truth_is_what_was_recorded(dataset):
    exp = expected(dataset)
    drifting, chunk, direction = NANNYML_VERDICTS[dataset]
    assert exp["nannyml_version"] == "0.13.1"
    assert exp["method"]["chunk_size"] == 5000
    assert set(exp["drifting"]) == drifting
    assert set(exp["not_drifting"]) == set(exp["features"]) - drifting
    assert {exp["features"][f]["onset_chunk"] for f in drifting} == {chunk}
    assert exp["performance"]["change_chunk"] == chunk
    assert exp["performance"]["direction"] == direction
    for name, feature in exp["features"].items():
        alerts = feature["methods"][feature["deciding_method"]]["alerts"]
        if name in drifting:  # every chunk from the onset on alerts
            assert all(alerts[chunk:]), name
        else:  # isolated noise alerts at most
            assert sum(alerts) <= 2, name


def test_fixtures_stay_small():
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < MAX_FIXTURE_BYTES


@pytest.mark.parametrize("dataset", DATASETS)
def test_bucket_is_the_smallest_default_with_enough_rows(dataset):
    exp = expected(dataset)
    result = diagnosis(dataset)
    start = datetime.fromisoformat(exp["chunks"][0]["start"].replace("Z", ""))
    end = datetime.fromisoformat(exp["chunks"][-1]["end"].replace("Z", ""))
    rows = exp["rows"]["analysis"]

    def per_bucket(bucket: str) -> float:
        return rows / ((end - start).total_seconds() / parse_duration(bucket))

    fitting = [b for b in DEFAULT_BUCKETS if per_bucket(b) >= MIN_ROWS_PER_BUCKET]
    assert result.bucket == fitting[0]
    assert result.rows == rows


# ---- drift verdicts and evidence ---------------------------------------------------------------


@pytest.mark.parametrize("dataset", [
    "car_loan", "work_from_home",
    pytest.param("car_price", marks=pytest.mark.xfail(strict=True,
                                                      reason=PSI_MISSES_MODERATE_DRIFT)),
])
def test_features_flagged_as_drifted_are_nannymls(dataset):
    exp = expected(dataset)
    flagged = {d.feature for d in diagnosis(dataset).drift if d.severity != "stable"}
    assert flagged == set(exp["drifting"])


@pytest.mark.parametrize("dataset", DATASETS)
def test_current_window_lies_in_nannymls_drifted_period(dataset):
    # The comparisons below are only fair if the workbench's current window is drifted data:
    # it starts no earlier than the bucket in which the drift starts.
    result = diagnosis(dataset)
    start = bucket_index(result.current_window.start, result.bucket)
    assert start >= bucket_index(drift_start(dataset), result.bucket)
    assert result.current_window.end > result.current_window.start


@pytest.mark.parametrize("dataset", DATASETS)
def test_drift_evidence_agrees_with_nannyml(dataset):
    exp = expected(dataset)
    drift = drift_of(diagnosis(dataset))
    assert set(drift) == set(exp["features"])
    for name, nml in exp["features"].items():
        ours = drift[name]
        if nml["kind"] == "continuous":
            ks = nml["methods"]["kolmogorov_smirnov"]
            assert ours.ks is not None, name
            if nml["drifting"]:
                drifted = ks["values"][nml["onset_chunk"]:]
                assert ours.ks == pytest.approx(sum(drifted) / len(drifted), abs=KS_AGREEMENT)
                assert ours.ks_pvalue < 1e-6, name
            else:
                assert ours.ks < ks["upper_threshold"], name
        elif nml["drifting"]:
            assert ours.chi2_pvalue < 1e-6, name
        else:
            assert ours.cramers_v < 0.02, name


@pytest.mark.parametrize("dataset", CLASSIFIERS)
def test_unchanged_features_stay_far_below_the_psi_threshold(dataset):
    # No tolerance is needed for false alarms: NannyML's unchanged features are an order of
    # magnitude below the workbench's 0.1 PSI threshold.
    exp = expected(dataset)
    drift = drift_of(diagnosis(dataset))
    for name in exp["not_drifting"]:
        assert drift[name].psi < 0.01, name
    for name in exp["drifting"]:
        assert drift[name].psi >= 0.2, name


# ---- when it started ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["car_loan", "work_from_home"])
def test_onset_within_one_bucket_of_nannymls_drift_and_performance_drop(dataset):
    result = diagnosis(dataset)
    assert expected(dataset)["performance"]["direction"] == "worse"
    assert result.onset is not None
    gap = bucket_index(result.onset, result.bucket) - bucket_index(drift_start(dataset),
                                                                   result.bucket)
    assert abs(gap) <= 1
    assert result.metric.current > 1.2 * result.metric.baseline


@pytest.mark.parametrize("dataset", ["car_loan", "work_from_home"])
def test_hypotheses_name_exactly_nannymls_drifting_features(dataset):
    hypotheses = diagnosis(dataset).hypotheses
    named = {h.feature for h in hypotheses if h.feature is not None}
    assert named == set(expected(dataset)["drifting"])
    assert hypotheses[0].signature == "distribution_shift"
    assert hypotheses[0].feature in named


def test_no_onset_when_nannyml_sees_performance_improve():
    # Car prices drift and the model's MAE falls (NannyML: 860 -> 700 from chunk 3 on): the
    # workbench looks for harmful changes only, so it reports none.
    result = diagnosis("car_price")
    assert expected("car_price")["performance"]["direction"] == "better"
    assert result.metric.name == "mae"
    assert result.onset is None
    assert result.metric.current < 0.9 * result.metric.baseline


@pytest.mark.parametrize("dataset", DATASETS)
def test_feature_shift_times_within_one_bucket_of_nannymls_drift(dataset):
    exp = expected(dataset)
    result = diagnosis(dataset)
    drift = drift_of(result)
    start = bucket_index(drift_start(dataset), result.bucket)
    timed = []
    for name, nml in exp["features"].items():
        shift = drift[name].shift_time
        if not nml["drifting"]:
            assert shift is None, name
        elif shift is not None:
            assert abs(bucket_index(shift, result.bucket) - start) <= 1, (name, shift)
            timed.append(name)
    assert timed, "no drifting feature got a shift time"
