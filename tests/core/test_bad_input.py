"""Bad input gives a correct verdict or a clear message: never a crash or a silent wrong answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.core.conftest import LOG_START, generate, write_table
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.exceptions import EmptyDataError, WorkbenchError

FAIL_AT = LOG_START + pd.Timedelta(days=7, hours=9)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """A healthy synthetic regression incident whose files the tests rewrite."""
    return generate(tmp_path_factory.mktemp("bad_input"), shift_at=None, rows=20_000)


def _rewrite(tmp_path, healthy, production: pd.DataFrame, reference: pd.DataFrame | None = None):
    out = tmp_path / "incident"
    (out / "logs").mkdir(parents=True)
    write_table(out / "logs" / "part-0.parquet", production)
    write_table(out / "training.parquet", healthy.reference if reference is None else reference)
    config = healthy.config.read_text().replace("[changes]\nsource = \"changes.csv\"\n", "")
    (out / "incident.toml").write_text(config)
    return out / "incident.toml"


def test_feature_null_from_a_point_on_is_a_silent_pipeline_failure(tmp_path, healthy):
    prod = healthy.production.copy()
    broken = prod["ts"] >= FAIL_AT
    prod.loc[broken, "tenure"] = np.nan
    # The serving side imputes 0 for the missing feature, so the prediction degrades.
    prod.loc[broken, "score"] = 2.0 * prod.loc[broken, "basket_value"]
    result = diagnose(_rewrite(tmp_path, healthy, prod))
    assert result.onset is not None
    assert abs(result.onset - FAIL_AT) <= pd.Timedelta(hours=1)
    top = result.top
    assert (top.signature, top.feature) == ("silent_pipeline_failure", "tenure")
    assert result.layer("feature_pipeline").verdict == "failing"
    drift = {d.feature: d for d in result.drift}
    assert drift["tenure"].null_rate_current == pytest.approx(1.0)


def test_entirely_null_and_constant_features_do_not_break_the_diagnosis(tmp_path, healthy):
    prod = healthy.production.assign(empty=np.nan, flat=3.0)
    ref = healthy.reference.assign(empty=np.nan, flat=3.0)
    result = diagnose(_rewrite(tmp_path, healthy, prod, ref))
    drift = {d.feature: d for d in result.drift}
    assert drift["empty"].null_rate_current == 1.0 and drift["empty"].psi < 0.01
    assert drift["flat"].psi < 0.01 and drift["flat"].severity == "stable"
    assert result.histogram("flat").labels == ("null", "< 3", "= 3", "> 3")
    assert result.onset is None and result.hypotheses == ()
    json.dumps(result.to_dict())


def test_nan_and_infinities_land_in_the_null_and_out_of_range_bins(tmp_path, healthy):
    prod = healthy.production.copy()
    n = len(prod)
    values = prod["noise"].to_numpy().copy()
    values[: n // 10] = np.nan
    values[n // 10: n // 5] = np.inf
    values[n // 5: n // 5 + 100] = -np.inf
    prod["noise"] = values
    path = _rewrite(tmp_path, healthy, prod)
    result = diagnose(path)
    hist = result.histogram("noise")
    total = sum(hist.baseline) + sum(hist.current)
    assert hist.baseline[0] + hist.current[0] == pytest.approx(n // 10)
    assert hist.baseline[-1] + hist.current[-1] >= n // 5 - n // 10
    assert hist.baseline[1] + hist.current[1] >= 100
    assert total == n
    text = json.dumps(result.to_dict())
    assert "NaN" not in text and "Infinity" not in text


def test_categorical_with_100k_distinct_values(tmp_path, healthy):
    prod = healthy.production.copy()
    prod["session"] = [f"s{i}" for i in range(len(prod))]
    ref = healthy.reference.assign(session=[f"r{i}" for i in range(len(healthy.reference))])
    ref = pd.concat([ref] * 5, ignore_index=True)
    ref["session"] = [f"r{i}" for i in range(len(ref))]  # 100 000 distinct values
    result = diagnose(_rewrite(tmp_path, healthy, prod, ref))
    hist = result.histogram("session")
    assert len(hist.labels) <= 32  # null, other/unseen, the 30 most frequent levels
    drift = {d.feature: d for d in result.drift}
    assert drift["session"].outside_range_current == pytest.approx(1.0)


def test_log_without_any_labels_uses_label_free_metrics(tmp_path, healthy):
    prod = healthy.production.drop(columns=["outcome"])
    path = _rewrite(tmp_path, healthy, prod)
    text = path.read_text().replace('label = "outcome"\n', "")
    path.write_text(text)
    result = diagnose(path)
    assert result.metric.name in ("score_mean", "positive_rate")
    assert result.onset is None


def test_window_with_zero_rows_is_a_clear_error(healthy):
    end = LOG_START - pd.Timedelta(days=30)
    with pytest.raises(EmptyDataError, match="no rows"):
        diagnose(healthy.config, start=end - pd.Timedelta(days=1), end=end)


def test_reference_columns_missing_from_the_log_are_reported(tmp_path, healthy):
    ref = healthy.reference.assign(credit_limit=1000.0)
    result = diagnose(_rewrite(tmp_path, healthy, healthy.production, ref))
    layer = result.layer("input_data")
    assert "credit_limit" in layer.headline
    assert layer.verdict == "failing"
    assert any(e.statistic == "missing_in_production" for e in layer.evidence)


def test_configured_feature_missing_in_the_log_names_it(tmp_path, healthy):
    path = _rewrite(tmp_path, healthy, healthy.production)
    text = path.read_text().replace("[production]\n", '[production]\nfeatures = ["tenur"]\n')
    path.write_text(text)
    with pytest.raises(WorkbenchError, match="'tenur'.*tenure"):
        LogStore(load_incident(path))
