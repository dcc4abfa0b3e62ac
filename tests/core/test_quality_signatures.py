"""Data-quality signatures beyond missing values and categories, each on a real Parquet log:
values outside training's range, a feature frozen at one value, a volume drop judged against
the log's own weekly rhythm; each fires on its fault and stays silent on healthy logs."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tests.core.conftest import LOG_START, generate, write_table
from workbench.cli import main
from workbench.stages.quality import seasonal_expectation

SHIFT_AT = LOG_START + timedelta(days=5, hours=14)  # a Saturday afternoon


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("signatures"), task="classification", rows=16_000,
                    days=8, shift_at=None)


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    """Three weeks with a weekly rhythm: weekends bring a third of a weekday's rows."""
    out = generate(tmp_path_factory.mktemp("weeks"), task="classification", rows=40_000,
                   days=22, shift_at=None)
    prod = out.production
    weekend = (prod["ts"].dt.day_of_week >= 5).to_numpy()
    keep = ~weekend | (np.random.default_rng(5).random(len(prod)) < 0.35)
    return out, prod[keep].reset_index(drop=True)


def _diagnose(base, tmp_path, production: pd.DataFrame, capsys) -> dict:
    write_table(tmp_path / "logs" / "part-0.parquet", production)
    text = base.config.read_text().replace(
        'source = "training.parquet"',
        f'source = {json.dumps(str(base.config.parent / "training.parquet"))}')
    (tmp_path / "incident.toml").write_text(text)
    assert main(["diagnose", str(tmp_path / "incident.toml"), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _worse_scores(prod: pd.DataFrame, rows: np.ndarray, by: float = 0.4) -> None:
    """The serving side mishandles the faulty rows: their scores move, so the metric steps."""
    prod.loc[rows, "score"] = np.clip(prod.loc[rows, "score"] + by, 0, 1)


def _faults(result: dict) -> dict:
    return {(f["kind"], f["feature"]): f for f in result["quality"]}


def test_values_outside_the_training_range_are_named_with_their_share(base, tmp_path, capsys):
    prod = base.production.copy()
    after = (prod["ts"] >= SHIFT_AT).to_numpy()
    prod.loc[after, "tenure"] = prod.loc[after, "tenure"] * 100  # a unit change upstream
    _worse_scores(prod, after)
    result = _diagnose(base, tmp_path, prod, capsys)
    fault = _faults(result)[("out_of_range", "tenure")]
    assert fault["current"] > 0.9 and fault["baseline"] < 0.01
    assert "training" in fault["detail"] and "since the onset" in fault["detail"]
    layers = {v["layer"]: v for v in result["layers"]}
    assert layers["input_data"]["verdict"] == "failing"
    assert any(h["feature"] == "tenure" and "outside training's range" in h["summary"]
               for h in result["hypotheses"])
    assert ("stale_values", "tenure") not in _faults(result)


def test_a_feature_frozen_at_one_value_is_named(base, tmp_path, capsys):
    prod = base.production.copy()
    after = (prod["ts"] >= SHIFT_AT).to_numpy()
    prod.loc[after, "noise"] = float(prod.loc[~after, "noise"].iloc[-1])  # the stream stalled
    _worse_scores(prod, after)
    result = _diagnose(base, tmp_path, prod, capsys)
    fault = _faults(result)[("stale_values", "noise")]
    assert fault["current"] == 1.0 and fault["baseline"] < 0.01
    assert "frozen at" in fault["detail"]
    layers = {v["layer"]: v for v in result["layers"]}
    assert layers["feature_pipeline"]["verdict"] == "failing"
    stale = [h for h in result["hypotheses"] if "frozen" in h["summary"]]
    assert stale and stale[0]["signature"] == "silent_pipeline_failure"
    assert stale[0]["feature"] == "noise"


def test_a_volume_drop_is_named_with_its_size(base, tmp_path, capsys):
    prod = base.production.copy()
    after = (prod["ts"] >= SHIFT_AT).to_numpy()
    lost = after & (np.random.default_rng(9).random(len(prod)) < 0.8)
    _worse_scores(prod, after)
    result = _diagnose(base, tmp_path, prod[~lost].reset_index(drop=True), capsys)
    fault = _faults(result)[("volume_drop", None)]
    assert fault["current"] > 0.5 and fault["baseline"] < 0.05
    assert "%" in fault["detail"]
    layers = {v["layer"]: v for v in result["layers"]}
    assert layers["feature_pipeline"]["verdict"] == "failing"


def test_a_weekend_is_no_volume_drop_but_an_outage_on_it_is(weeks, tmp_path, capsys):
    out, prod = weeks
    saturday = LOG_START + timedelta(days=19, hours=2)  # onset just before the third weekend
    after = (prod["ts"] >= saturday).to_numpy()
    scored = prod.copy()
    _worse_scores(scored, after)
    quiet = _diagnose(out, tmp_path / "quiet", scored, capsys)
    assert quiet["onset"] is not None
    assert quiet["quality"] == []
    lost = after & (np.random.default_rng(2).random(len(scored)) < 0.8)
    loud = _diagnose(out, tmp_path / "loud", scored[~lost].reset_index(drop=True), capsys)
    assert ("volume_drop", None) in _faults(loud)


def test_a_log_whose_only_fault_is_in_the_scores_has_no_quality_fault(base, tmp_path, capsys):
    prod = base.production.copy()
    after = (prod["ts"] >= SHIFT_AT).to_numpy()
    _worse_scores(prod, after)
    result = _diagnose(base, tmp_path, prod, capsys)
    assert result["onset"] is not None
    assert result["quality"] == []


def test_the_seasonal_expectation_reads_the_same_phase_of_earlier_periods():
    n = np.array([10, 50, 10, 50, 10, 50, 0, 0], dtype=float)
    usable = np.array([True] * 6 + [False] * 2)
    expected, refs = seasonal_expectation(n, 2, usable, references=2)
    assert expected[6] == 10 and expected[7] == 50  # from the two periods before
    assert refs[6] == 2
    assert expected[2] == 10 and refs[2] == 2  # a baseline bucket: its neighbours, not itself


def test_rows_timestamped_far_after_the_log_are_named(base, tmp_path, capsys):
    prod = base.production.copy()
    after = (prod["ts"] >= SHIFT_AT).to_numpy()
    _worse_scores(prod, after)
    ahead = prod.iloc[-40:].copy()  # a producer whose clock runs a year ahead
    ahead["ts"] = ahead["ts"] + pd.Timedelta(days=365)
    ahead["request_id"] = ahead["request_id"] + 10_000_000
    result = _diagnose(base, tmp_path, pd.concat([prod, ahead], ignore_index=True), capsys)
    fault = _faults(result)[("future_timestamps", None)]
    assert fault["current"] == pytest.approx(40 / (len(prod) + 40))
    assert "40 rows" in fault["detail"]
