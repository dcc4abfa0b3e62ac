"""The seeded fraud sample incident: layout, reproducibility and the simulated incident itself."""

from __future__ import annotations

import csv
import hashlib
import json
import tomllib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io as sio
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sample_data import DEFAULT_OUT, generate, load_model
from sample_data.__main__ import parse_args
from sample_data.fraud_features import FEATURES

pytestmark = pytest.mark.slow

ROWS = 60_000
SEED = 7
ONSET = "TIMESTAMPTZ '2026-10-16 18:00:00+00'"
ROLLOUT = "TIMESTAMPTZ '2026-10-06 10:00:00+00'"
LABELS_UNTIL = "TIMESTAMPTZ '2026-10-19 00:00:00+00'"
FP = "count(*) FILTER (WHERE blocked AND NOT is_fraud)"
NEG = "count(*) FILTER (WHERE NOT is_fraud)"


@pytest.fixture(scope="module")
def progress_messages() -> list[str]:
    """Progress messages of the main run."""
    return []


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory, progress_messages: list[str]) -> Path:
    """The sample generated once for the module; returns its directory."""
    incident = generate(tmp_path_factory.mktemp("a"), ROWS, SEED, progress_messages.append)
    return incident.parent


@pytest.fixture(scope="module")
def con(sample: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB connection with a `logs` view over the Parquet glob, times in UTC."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{sample}/logs/*.parquet')")
    return connection


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """First row of a query."""
    return con.execute(sql).fetchone()


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file below root, keyed by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout_and_incident_toml(sample: Path) -> None:
    files = set(digests(sample))
    days = pd.date_range("2026-09-28", "2026-10-19", freq="D").strftime("%Y-%m-%d")
    expected = {f"logs/{d}.parquet" for d in days} | {
        "training/train.parquet",
        "models/fraud_v1_3_0.skops",
        "models/fraud_v1_3_1.skops",
        "changes.csv",
        "incident.toml",
        "truth.json",
    }
    assert files == expected
    toml = tomllib.loads((sample / "incident.toml").read_text())
    assert toml["title"] == "Fraud model false positives tripled over the weekend"
    assert toml["bucket"] == "1h"
    assert toml["production"]["source"] == "logs/*.parquet"
    assert toml["production"]["segments"] == ["country", "channel", "merchant_category"]
    assert toml["reference"] == {"source": "training/train.parquet", "label": "is_fraud"}
    assert toml["model"] == {
        "path": "models/fraud_v1_3_1.skops",
        "task": "classification",
        "threshold": 0.5,
    }
    assert (sample / toml["changes"]["source"]).is_file()
    assert DEFAULT_OUT.name == "fraud_weekend"


def test_progress_messages(progress_messages: list[str], sample: Path) -> None:
    assert "training model v1.3.0" in progress_messages
    assert "training model v1.3.1" in progress_messages
    assert "writing logs 2026-10-03 (6/22)" in progress_messages
    assert "writing logs 2026-10-19 (22/22)" in progress_messages


def test_same_seed_is_byte_identical_and_other_seed_differs(
    sample: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = digests(sample)
    twin = digests(generate(tmp_path_factory.mktemp("b"), ROWS, SEED).parent)
    assert twin == first
    other = digests(generate(tmp_path_factory.mktemp("c"), ROWS, SEED + 1).parent)
    assert other.keys() == first.keys()
    same = {name for name in first if other[name] == first[name]}
    assert same == {"incident.toml", "changes.csv"}


def test_log_schema(sample: Path) -> None:
    schema = pq.read_schema(sample / "logs" / "2026-10-16.parquet")
    expected_head = [
        ("transaction_id", pa.string()),
        ("event_time", pa.timestamp("us", tz="UTC")),
    ]
    expected_tail = [
        ("fraud_score", pa.float64()),
        ("blocked", pa.bool_()),
        ("model_version", pa.string()),
        ("latency_ms", pa.float64()),
        ("status", pa.string()),
        ("is_fraud", pa.bool_()),
    ]
    names = [name for name, _ in expected_head] + list(FEATURES) + [n for n, _ in expected_tail]
    assert schema.names == names
    for name, dtype in expected_head + expected_tail:
        assert schema.field(name).type == dtype, name
    assert len(FEATURES) >= 10
    assert pa.types.is_string(schema.field("merchant_category").type)
    assert pa.types.is_integer(schema.field("account_age_days").type)
    meta = pq.ParquetFile(sample / "logs" / "2026-10-16.parquet").metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"


def test_training_set(sample: Path) -> None:
    train = pd.read_parquet(sample / "training" / "train.parquet")
    assert list(train.columns) == [*FEATURES, "is_fraud"]
    assert len(train) == 30_000
    assert train["is_fraud"].dtype == bool
    assert 0.012 < train["is_fraud"].mean() < 0.022
    assert train["merchant_category"].nunique() == 8
    assert train["country"].nunique() == 10
    assert np.allclose(train["ratio"], train["amount"] / train["avg_amount"], rtol=1e-3)


def test_log_spans_three_weeks_hourly(con: duckdb.DuckDBPyConnection) -> None:
    n, ids, first, last, hours, empty_hours = one(
        con,
        """
        WITH h AS (
            SELECT range AS hour FROM range(TIMESTAMPTZ '2026-09-28 00:00:00+00',
                                            TIMESTAMPTZ '2026-10-19 12:00:00+00', INTERVAL 1 HOUR)
        )
        SELECT (SELECT count(*) FROM logs), (SELECT count(DISTINCT transaction_id) FROM logs),
               (SELECT min(event_time) FROM logs), (SELECT max(event_time) FROM logs),
               (SELECT count(DISTINCT date_trunc('hour', event_time)) FROM logs),
               (SELECT count(*) FROM h WHERE hour NOT IN
                    (SELECT date_trunc('hour', event_time) FROM logs))
        """,
    )
    assert n == ids == ROWS
    assert str(first.date()) == "2026-09-28" and str(last.date()) == "2026-10-19"
    assert (last - first).days >= 14
    assert hours == 21 * 24 + 12 and empty_hours == 0


def test_daily_seasonality_and_local_hour(con: duckdb.DuckDBPyConnection, sample: Path) -> None:
    quiet, busy = one(
        con,
        """
        SELECT count(*) FILTER (WHERE hour(event_time) BETWEEN 0 AND 3),
               count(*) FILTER (WHERE hour(event_time) BETWEEN 14 AND 17) FROM logs
        """,
    )
    assert busy > 4 * quiet
    offsets = json.loads((sample / "truth.json").read_text())["hour_utc_offsets"]
    case = " ".join(f"WHEN '{c}' THEN {o}" for c, o in offsets.items())
    wrong = one(
        con,
        f"SELECT count(*) FROM logs WHERE hour != (hour(event_time) + CASE country {case} END"
        " + 24) % 24",
    )[0]
    assert wrong == 0


def test_false_positive_rate_triples_after_the_change(con: duckdb.DuckDBPyConnection) -> None:
    (before,), (after,) = con.execute(
        f"""
        SELECT {FP} / {NEG} FROM logs WHERE is_fraud IS NOT NULL
        GROUP BY event_time >= {ONSET} ORDER BY event_time >= {ONSET}
        """
    ).fetchall()
    assert 0.004 < before < 0.02
    assert 2.0 < after / before < 5.0


def test_fpr_jump_is_not_a_weekend_effect(con: duckdb.DuckDBPyConnection) -> None:
    """Friday 18:00 to Monday 00:00 after the change versus the same hours a week earlier."""

    def fpr(start: str, end: str) -> float:
        window = f"event_time >= TIMESTAMPTZ '{start}' AND event_time < TIMESTAMPTZ '{end}'"
        return one(con, f"SELECT {FP} / {NEG} FROM logs WHERE {window} AND is_fraud IS NOT NULL")[0]

    week_before = fpr("2026-10-09 18:00:00+00", "2026-10-12 00:00:00+00")
    this_weekend = fpr("2026-10-16 18:00:00+00", "2026-10-19 00:00:00+00")
    assert this_weekend > 2.0 * week_before


def test_rollout_is_a_harmless_decoy(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        f"""
        SELECT model_version, min(event_time) >= {ROLLOUT}, max(event_time) < {ROLLOUT},
               {FP} / {NEG}
        FROM logs WHERE event_time < {ONSET} AND is_fraud IS NOT NULL
        GROUP BY ALL ORDER BY model_version
        """
    ).fetchall()
    (old, _, old_before, fpr_old), (new, new_after, _, fpr_new) = rows
    assert (old, new) == ("v1.3.0", "v1.3.1")
    assert old_before and new_after
    assert abs(fpr_new - fpr_old) / fpr_old < 0.30


def test_only_avg_amount_and_ratio_shift(con: duckdb.DuckDBPyConnection) -> None:
    def shift(column: str, agg: str = "avg") -> float:
        before, after = one(
            con,
            f"SELECT {agg}({column}) FILTER (WHERE event_time < {ONSET}),"
            f" {agg}({column}) FILTER (WHERE event_time >= {ONSET}) FROM logs",
        )
        return after / before

    assert shift("avg_amount") == pytest.approx(0.70, rel=0.05)
    assert shift("ratio", "median") == pytest.approx(1 / 0.70, rel=0.05)
    for column in ("account_age_days", "txn_count_24h", "hour"):
        assert shift(column) == pytest.approx(1.0, rel=0.05), column
    for column in ("amount", "distance_from_home_km"):  # heavy tails: compare medians
        assert shift(column, "median") == pytest.approx(1.0, rel=0.05), column
    assert shift("latency_ms") == pytest.approx(1.0, rel=0.03)
    bad_ratio = one(con, "SELECT count(*) FROM logs WHERE abs(ratio - amount / avg_amount) > 1e-3")
    assert bad_ratio[0] == 0


def test_status_is_mostly_ok_and_blocked_follows_score(con: duckdb.DuckDBPyConnection) -> None:
    statuses = dict(con.execute("SELECT status, count(*) FROM logs GROUP BY ALL").fetchall())
    assert set(statuses) <= {"ok", "timeout", "error"}
    assert statuses["ok"] / ROWS > 0.998
    mismatched = one(con, "SELECT count(*) FROM logs WHERE blocked != (fraud_score >= 0.5)")
    assert mismatched[0] == 0


def test_labels_arrive_late(con: duckdb.DuckDBPyConnection) -> None:
    late_labelled, early_missing, early, fraud_rate = one(
        con,
        f"""
        SELECT count(is_fraud) FILTER (WHERE event_time >= {LABELS_UNTIL}),
               count(*) FILTER (WHERE event_time < {LABELS_UNTIL} AND is_fraud IS NULL),
               count(*) FILTER (WHERE event_time < {LABELS_UNTIL}),
               avg(is_fraud::INT)
        FROM logs
        """,
    )
    assert late_labelled == 0
    assert 0.03 < early_missing / early < 0.05
    assert 0.012 < fraud_rate < 0.022


def test_models_load_safely_and_reproduce_logged_scores(sample: Path) -> None:
    for version, day in (("v1_3_0", "2026-09-30"), ("v1_3_1", "2026-10-17")):
        path = sample / "models" / f"fraud_{version}.skops"
        assert sio.get_untrusted_types(file=path) == ["sklearn.tree._tree.Tree"]
        model = load_model(path)
        assert list(model.feature_names_in_) == list(FEATURES)
        logs = pd.read_parquet(sample / "logs" / f"{day}.parquet").head(50)
        assert set(logs["model_version"]) == {version.replace("_", ".")}
        scores = model.predict_proba(logs[list(FEATURES)])[:, 1]
        np.testing.assert_allclose(scores, logs["fraud_score"], rtol=0, atol=1e-12)


def _double(x: np.ndarray) -> np.ndarray:
    """A plain function: skops does not trust functions unless told to."""
    return 2 * x


def test_load_model_refuses_unlisted_types(tmp_path: Path) -> None:
    path = tmp_path / "odd.skops"
    sio.dump(make_pipeline(FunctionTransformer(_double)).fit(np.ones((3, 1))), path)
    with pytest.raises(ValueError, match="untrusted"):
        load_model(path)


def test_shap_tree_explainer_is_additive(sample: Path) -> None:
    shap = pytest.importorskip("shap")
    model = load_model(sample / "models" / "fraud_v1_3_1.skops")
    train = pd.read_parquet(sample / "training" / "train.parquet")
    background = model[:-1].transform(train[list(FEATURES)].head(100))
    rows = model[:-1].transform(train[list(FEATURES)].tail(20))
    explainer = shap.TreeExplainer(model[-1], background)
    values = explainer.shap_values(rows)  # raises if the explanation is not additive
    ratio = list(model[:-1].get_feature_names_out()).index("ratio")
    importance = np.abs(values).mean(axis=0)
    assert importance.argmax() == ratio


def test_changes_and_truth(sample: Path) -> None:
    with (sample / "changes.csv").open(newline="") as f:
        changes = list(csv.DictReader(f))
    assert list(changes[0]) == ["time", "id", "kind", "description"]
    ids = [c["id"] for c in changes]
    assert len(ids) == len(set(ids)) >= 6
    kinds = {"model", "code", "data", "schema", "config", "infra", "upstream"}
    assert {c["kind"] for c in changes} <= kinds
    by_id = {c["id"]: c for c in changes}
    truth = json.loads((sample / "truth.json").read_text())
    culprit = by_id[truth["change_id"]]
    assert (culprit["id"], culprit["kind"], culprit["time"]) == (
        "CHG-1042",
        "upstream",
        "2026-10-16T17:52:00Z",
    )
    assert "average transaction amount" in culprit["description"]
    assert truth["signature"] == "upstream_data_change"
    assert (truth["feature"], truth["raw_feature"]) == ("ratio", "avg_amount")
    assert truth["onset"] == "2026-10-16T18:00:00Z"
    assert set(truth["decoy_change_ids"]) == set(ids) - {"CHG-1042"}
    rollout = [c for c in changes if c["kind"] == "model"]
    assert [(c["time"], truth["rollout"]["version"]) for c in rollout] == [
        ("2026-10-06T10:00:00Z", "v1.3.1")
    ]
    assert truth["rollout"]["time"] == "2026-10-06T10:00:00Z"


def test_cli_arguments() -> None:
    args = parse_args(["--rows", "5000", "--out", "/tmp/x", "--seed", "3"])
    assert (args.rows, args.out, args.seed) == (5000, Path("/tmp/x"), 3)
    assert parse_args([]).out == DEFAULT_OUT
