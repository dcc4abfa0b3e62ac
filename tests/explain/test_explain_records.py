"""Failing records are selected in SQL (only those rows come back), compared with training,
and shown by `workbench explain`."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

from workbench.cli import main
from workbench.exceptions import ColumnNotFoundError, InvalidInputError
from workbench.explain import (
    ReferenceProfile,
    explain_failing,
    nearest_correct,
    parse_segment,
    select_failing,
)


def _log(fraud_sample) -> str:
    return str(fraud_sample.root / "logs" / "*.parquet")


def test_false_positive_selection_matches_duckdb(fraud_sample, fraud_store, fraud_adapter,
                                                 fraud_triage):
    cur = fraud_triage.current
    got = select_failing(fraud_store, fraud_adapter, "fp", start=cur.start, end=cur.end,
                         limit=10_000)
    expected = duckdb.sql(
        f"SELECT transaction_id, fraud_score FROM '{_log(fraud_sample)}' "
        f"WHERE blocked AND is_fraud = false AND event_time >= $s AND event_time < $e "
        f"ORDER BY fraud_score DESC",
        params={"s": cur.start, "e": cur.end},
    ).df()
    assert set(got["_wb_id"]) == set(expected["transaction_id"])
    assert len(got) == int(got["_wb_total"].iloc[0]) == len(expected) > 0
    assert (got["_wb_label"] == 0).all() and (got["_wb_decision"] == 1).all()
    assert got["_wb_score"].is_monotonic_decreasing
    assert list(got.columns[6:]) == list(fraud_adapter.feature_names)


def test_limit_and_segment_are_respected(fraud_sample, fraud_store, fraud_adapter,
                                         fraud_triage):
    cur = fraud_triage.current
    top = select_failing(fraud_store, fraud_adapter, "fp", start=cur.start, end=cur.end,
                         limit=7)
    assert len(top) == 7 and int(top["_wb_total"].iloc[0]) > 7
    us = select_failing(fraud_store, fraud_adapter, "fp", start=cur.start, end=cur.end,
                        segment=("country", "US"), limit=10_000)
    n_us = duckdb.sql(
        f"SELECT count(*) FROM '{_log(fraud_sample)}' WHERE blocked AND NOT is_fraud "
        f"AND country = 'US' AND event_time >= $s AND event_time < $e",
        params={"s": cur.start, "e": cur.end}).fetchall()[0][0]
    assert len(us) == n_us > 0 and (us["country"] == "US").all()


def test_false_negatives_and_errors(fraud_store, fraud_adapter):
    fn = select_failing(fraud_store, fraud_adapter, "fn", limit=20)
    assert (fn["_wb_label"] == 1).all() and (fn["_wb_decision"] == 0).all()
    assert fn["_wb_score"].is_monotonic_increasing
    err = select_failing(fraud_store, fraud_adapter, "error", limit=20)
    gaps = (err["_wb_score"] - err["_wb_label"]).abs()
    assert gaps.is_monotonic_decreasing


def test_bad_requests_are_input_errors(fraud_store, fraud_adapter):
    with pytest.raises(InvalidInputError, match="one of fp, fn, error"):
        select_failing(fraud_store, fraud_adapter, "tp")
    with pytest.raises(InvalidInputError, match="positive integer"):
        select_failing(fraud_store, fraud_adapter, "fp", limit=0)
    with pytest.raises(ColumnNotFoundError, match="segment"):
        select_failing(fraud_store, fraud_adapter, "fp", segment=("nation", "US"))
    with pytest.raises(InvalidInputError, match="column=value"):
        parse_segment("country")
    assert parse_segment("country = US") == ("country", "US")


def test_percentiles_and_range_come_from_the_reference(fraud_sample, fraud_store,
                                                       fraud_adapter):
    profile = ReferenceProfile.load(fraud_store, list(fraud_adapter.feature_names))
    train = duckdb.sql(
        f"SELECT ratio, country FROM '{fraud_sample.root}/training/train.parquet'").df()
    for value in (train["ratio"].quantile(0.1), train["ratio"].median(), 3.0):
        exact = 100 * (train["ratio"] < value).mean()
        assert profile.percentile("ratio", value) == pytest.approx(exact, abs=1.0)
    assert profile.outside("ratio", train["ratio"].max() * 2) is True
    assert profile.percentile("ratio", train["ratio"].max() * 2) == 100.0
    assert profile.outside("ratio", train["ratio"].median()) is False
    share = (train["country"] == "US").mean()
    assert profile.share("country", "US") == pytest.approx(share)
    assert profile.outside("country", "XX") is True and profile.share("country", "XX") == 0.0


def test_neighbours_are_close_correctly_handled_reference_records(fraud_store, fraud_adapter):
    records = select_failing(fraud_store, fraud_adapter, "fp", limit=5)
    near = nearest_correct(fraud_store, fraud_adapter, records, k=3)
    assert len(near) == 5
    for found in near:
        assert len(found) == 3
        assert [n.distance for n in found] == sorted(n.distance for n in found)
        assert all((n.score >= 0.5) == (n.label == 1) for n in found)


def test_explain_failing_result_serialises(fraud_store, fraud_triage):
    cur = fraud_triage.current
    result = explain_failing(fraud_store, "fp", start=cur.start, end=cur.end, limit=5,
                             segment=("channel", "online"))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "fp" and data["segment"] == {"column": "channel", "value": "online"}
    assert len(data["records"]) == 5 and data["explainer"]["kind"] == "tree"
    record = result.records[0]
    total = result.explainer.base_value + sum(c.shap for c in record.contributions)
    assert total == pytest.approx(record.model_score, abs=1e-6)
    shaps = [abs(c.shap) for c in record.contributions]
    assert shaps == sorted(shaps, reverse=True)
    frame = result.to_frame()
    assert list(frame["record_id"]) == [r.record_id for r in result.records]
    assert np.isfinite(frame["shap_1"]).all()


def test_cli_table_and_json(fraud_sample, capsys):
    assert main(["explain", str(fraud_sample.config), "--limit", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "record id" in out and "ratio" in out and "false positives" in out
    assert main(["explain", str(fraud_sample.config), "--failing", "fn", "--limit", "3",
                 "--window", "2026-10-01..2026-10-10", "--segment", "country=US",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "fn" and len(data["records"]) <= 3
    assert data["window"]["start"] == "2026-10-01T00:00:00Z"


@pytest.mark.parametrize("args", [
    ["--segment", "country"],
    ["--limit", "0"],
    ["--segment", "nation=US"],
    ["--window", "yesterday"],
])
def test_cli_bad_input_exits_2_with_one_line(fraud_sample, capsys, args):
    assert main(["explain", str(fraud_sample.config), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("workbench: error:")
