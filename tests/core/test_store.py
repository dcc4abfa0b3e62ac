"""LogStore: sources, role checks, and every aggregate query checked against pandas/numpy."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from workbench.config import load_incident
from workbench.data import ColumnKind, LogStore, Window
from workbench.data import store as store_module
from workbench.data.queries import LOW_BIN, NULL_BIN
from workbench.data.store import BIN_PROBS
from workbench.diagnose import diagnose
from workbench.exceptions import ColumnNotFoundError, DataSourceError, EmptyDataError

T0 = datetime(2026, 5, 4, 0, 0)
THRESHOLD = 0.3


def small_log(seed: int = 3, rows: int = 400, hours: int = 6) -> pd.DataFrame:
    """A tiny classification log: NaN scores, missing labels, out-of-range scores, statuses."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, hours * 3600, rows))
    score = rng.random(rows)
    score[rng.random(rows) < 0.05] = np.nan
    score[:2] = [1.5, -0.1]  # out of the [0, 1] range of a probability
    label = (rng.random(rows) < 0.3).astype(float)
    label[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame({
        "ts": (pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]"),
        "score": score,
        "label": label,
        "region": rng.choice(np.array(["eu", "us", "apac"]), rows),
        "latency_ms": rng.gamma(3.0, 20.0, rows),
        "status": rng.choice(np.array(["ok", "200", "500", "timeout", "OK"]), rows,
                             p=[0.6, 0.2, 0.1, 0.05, 0.05]),
        "x": rng.normal(0.0, 1.0, rows),
        "cat": rng.choice(np.array(["a", "b", "c"]), rows),
    })


def small_reference(seed: int = 4, rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(0.0, 1.0, rows),
        "cat": rng.choice(np.array(["a", "b", "c", "d"]), rows, p=[0.5, 0.25, 0.2, 0.05]),
        "label": (rng.random(rows) < 0.3).astype(float),
    })


FULL_ROLES = {"label": "label", "segments": ["region"], "latency": "latency_ms",
              "status": "status"}
MODEL = {"path": "model.skops", "threshold": THRESHOLD}
CLASSIFIER = {"path": "model.skops", "task": "classification"}


def expected_bucket_counts(df: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """What bucket_counts must return, computed row by row in pandas (hourly buckets)."""
    score = df["score"].where(np.isfinite(df["score"]))
    dec = (score >= threshold).fillna(False)
    lab = df["label"]
    status = df["status"].str.lower()
    numeric_status = pd.to_numeric(df["status"], errors="coerce")
    status_err = np.where(numeric_status.notna(), numeric_status >= 400,
                          ~status.isin(["ok", "success", "succeeded", "200", "true"]))
    frame = pd.DataFrame({
        "bucket": df["ts"].dt.floor("h"),
        "n": 1,
        "n_scored": score.notna().astype(int),
        "score_sum": score.fillna(0.0),
        "score_sumsq": score.fillna(0.0) ** 2,
        "decision_pos": dec.astype(int),
        "n_labeled": lab.notna().astype(int),
        "label_pos": (lab > 0.5).astype(int),
        "tp": ((lab == 1) & dec).astype(int),
        "fp": ((lab == 0) & dec).astype(int),
        "fn": ((lab == 1) & ~dec).astype(int),
        "tn": ((lab == 0) & ~dec).astype(int),
        "score_out_of_range": ((score < 0) | (score > 1)).astype(int),
        "status_errors": status_err.astype(int),
    })
    out = frame.groupby("bucket").sum().reset_index()
    lat = df.groupby(df["ts"].dt.floor("h"))["latency_ms"]
    out["latency_p50"] = lat.quantile(0.5).to_numpy()
    out["latency_p95"] = lat.quantile(0.95).to_numpy()
    return out


def assert_counts_equal(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual["bucket"]) == list(expected["bucket"])
    for col in expected.columns.drop("bucket"):
        np.testing.assert_allclose(actual[col].astype(float).to_numpy(),
                                   expected[col].astype(float).to_numpy(), rtol=1e-9,
                                   err_msg=col)


def expected_numeric_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin ids 0 null, 1 below, 2..k inner bins (np.histogram, last closed), k+1 above."""
    n_edges = len(edges)
    counts = np.zeros(n_edges + 2)
    null = np.isnan(values)
    counts[NULL_BIN] = null.sum()
    x = values[~null]
    counts[LOW_BIN] = (x < edges[0]).sum()
    counts[n_edges + 1] = (x > edges[-1]).sum()
    counts[2:n_edges + 1] = np.histogram(x[(x >= edges[0]) & (x <= edges[-1])], bins=edges)[0]
    return counts


def bins_of(df: pd.DataFrame, window: str, feature: int, n_bins: int,
            column: str = "n") -> np.ndarray:
    rows = df[(df["w"] == window) & (df["feature"] == feature)]
    out = np.zeros(n_bins)
    for _, row in rows.iterrows():
        out[int(row["bin"])] = 0.0 if pd.isna(row[column]) else row[column]
    return out


# ---- sources that cannot be used ----------------------------------------------------------------


def test_glob_matching_no_file_names_the_path(write_toml, tmp_path):
    path = write_toml({
        "production": {"source": "logs/*.parquet", "timestamp": "ts", "prediction": "score"},
        "reference": {"source": "ref.parquet"},
    })
    with pytest.raises(DataSourceError) as info:
        LogStore(load_incident(path))
    message = str(info.value)
    assert "matches no file" in message
    assert str(tmp_path.resolve() / "logs/*.parquet") in message
    assert "production" in message


def test_missing_column_names_it_its_role_and_a_close_match(write_incident):
    log = small_log().rename(columns={"ts": "event_time"})
    path = write_incident(log, small_reference(), production_cfg={"timestamp": "event_tme"})
    with pytest.raises(ColumnNotFoundError) as info:
        LogStore(load_incident(path))
    message = str(info.value)
    assert "'event_tme'" in message
    assert "(the timestamp)" in message
    assert "Close matches: event_time" in message


@pytest.mark.parametrize(("key", "value", "role"), [
    ("prediction", "scor", "prediction"), ("label", "lable", "label"),
    ("segments", ["regoin"], "segment"), ("features", ["x", "catt"], "feature"),
])
def test_missing_column_of_each_role(write_incident, key, value, role):
    path = write_incident(small_log(), small_reference(), production_cfg={key: value})
    with pytest.raises(ColumnNotFoundError, match=rf"\(the {role}\)"):
        LogStore(load_incident(path))


def test_missing_reference_label(write_incident):
    path = write_incident(small_log(), small_reference(), reference_cfg={"label": "target"})
    with pytest.raises(ColumnNotFoundError, match=r"'target' \(the label\) is not in the refer"):
        LogStore(load_incident(path))


def test_iso_text_timestamps_are_read_as_utc(write_incident):
    log = small_log()
    first = log["ts"].min()
    log["ts"] = log["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    with LogStore(load_incident(write_incident(log, small_reference()))) as store:
        span = store.span()
    assert span.first == first.to_pydatetime() and span.rows == len(log)


def test_text_timestamps_that_are_not_times_are_named(write_incident):
    log = small_log()
    log["ts"] = log["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    log.loc[3, "ts"] = "yesterday"
    path = write_incident(log, small_reference())
    with pytest.raises(DataSourceError) as info:
        LogStore(load_incident(path))
    message = str(info.value)
    assert "'ts' (the timestamp)" in message
    assert "1 value(s) that are not ISO-8601 times, e.g. 'yesterday'" in message


def test_non_numeric_prediction_is_rejected(write_incident):
    log = small_log()
    log["score"] = log["score"].map(lambda v: f"{v:.3f}")
    path = write_incident(log, small_reference())
    with pytest.raises(DataSourceError, match=r"'score' \(the prediction\).*VARCHAR; a number"):
        LogStore(load_incident(path))


def test_non_numeric_label_is_rejected(write_incident):
    log = small_log()
    log["label"] = np.where(log["label"] > 0.5, "fraud", "legit")
    path = write_incident(log, small_reference(), production_cfg={"label": "label"})
    with pytest.raises(DataSourceError, match=r"'label' \(the label\).*holds text values "
                       r"\('legit', 'fraud'\).*positive = \"fraud\""):
        LogStore(load_incident(path))


def test_text_label_with_positive_key_is_zero_one(write_incident):
    log = small_log()
    truth = (log["label"] > 0.5).astype(int)
    log["label"] = np.where(truth == 1, "fraud", "legit")
    log.loc[:4, "label"] = None
    path = write_incident(log, small_reference(),
                          production_cfg={"label": "label", "positive": "fraud"})
    with LogStore(load_incident(path)) as store:
        counts = store.bucket_counts(86_400 * 365)
        assert store.roles.task == "classification"
    assert int(counts["label_pos"].sum()) == int(truth.iloc[5:].sum())
    assert int(counts["n_labeled"].sum()) == len(log) - 5


def test_unreadable_file_is_a_data_source_error(write_toml, tmp_path):
    (tmp_path / "log.parquet").write_bytes(b"not a parquet file" * 4)
    path = write_toml({
        "production": {"source": "log.parquet", "timestamp": "ts", "prediction": "score"},
        "reference": {"source": "log.parquet"},
    })
    with pytest.raises(DataSourceError, match="cannot be read as parquet"):
        LogStore(load_incident(path))


# ---- empty data ---------------------------------------------------------------------------------


def test_empty_log_raises_empty_data_error(write_incident):
    empty = small_log().iloc[:0]
    path = write_incident(empty, small_reference())
    with pytest.raises(EmptyDataError, match=r"production log '.*production.parquet' has no rows"):
        LogStore(load_incident(path))
    with pytest.raises(EmptyDataError):
        diagnose(path)


def test_window_without_rows_raises_empty_data_error(write_incident):
    path = write_incident(small_log(), small_reference(), model=MODEL)
    later, much_later = T0 + timedelta(days=30), T0 + timedelta(days=31)
    with LogStore(load_incident(path)) as store:
        span = store.require_rows(None, None)
        assert span.rows == 400
        with pytest.raises(EmptyDataError, match="no rows in the window"):
            store.require_rows(later, much_later)
    with pytest.raises(EmptyDataError):
        diagnose(path, start=later, end=much_later)


# ---- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prod_file", "ref_file"), [
    ("production.parquet", "reference.parquet"),
    ("log.csv", "ref.csv"),
    ("store.duckdb:preds", "store.duckdb:train"),
])
def test_every_source_format_gives_the_same_counts(write_incident, prod_file, ref_file):
    log = small_log()
    path = write_incident(log, small_reference(), production_cfg=FULL_ROLES, model=MODEL,
                          prod_file=prod_file, ref_file=ref_file)
    with LogStore(load_incident(path)) as store:
        assert store.production_schema["ts"].startswith("TIMESTAMP")
        assert store.reference_schema["x"] == "DOUBLE"
        counts = store.bucket_counts(3600)
    assert_counts_equal(counts, expected_bucket_counts(log, THRESHOLD))


def test_duckdb_source_is_read_only(write_toml, tmp_path):
    db = tmp_path / "store.duckdb"
    log, ref = small_log(), small_reference()
    changes = pd.DataFrame({"time": [T0 + timedelta(hours=2)], "id": ["C-1"], "kind": ["Data"],
                            "description": ["backfill"]})
    with duckdb.connect(str(db)) as con:
        for name, frame in (("preds", log), ("train", ref), ("change_log", changes)):
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    before_bytes = hashlib.sha256(db.read_bytes()).hexdigest()
    before_mtime = os.stat(db).st_mtime_ns
    before_files = sorted(p.name for p in tmp_path.iterdir())
    path = write_toml({
        "production": {"source": "store.duckdb:preds", "timestamp": "ts", "prediction": "score",
                       **FULL_ROLES},
        "reference": {"source": "store.duckdb:train", "label": "label"},
        "model": MODEL,
        "changes": {"source": "store.duckdb:change_log"},
    })
    with LogStore(load_incident(path)) as store:
        assert store.span().rows == len(log)
        assert_counts_equal(store.bucket_counts(3600), expected_bucket_counts(log, THRESHOLD))
        specs = store.bin_specs()
        store.binned_counts(specs, [Window("all", None, None)])
        got = store.changes()
        assert got["id"].tolist() == ["C-1"]
        assert got["kind"].tolist() == ["data"]
        attached = store.con.execute(
            "SELECT database_name, readonly FROM duckdb_databases() WHERE path LIKE $p",
            {"p": "%store.duckdb"},
        ).fetchall()
        assert attached, "the DuckDB file is not attached"
        for name, readonly in attached:
            assert readonly, f"{name} is attached writable"
            with pytest.raises(duckdb.Error):
                store.con.execute(f'INSERT INTO "{name}".preds SELECT * FROM "{name}".preds')
            with pytest.raises(duckdb.Error):
                store.con.execute(f'CREATE TABLE "{name}".scratch AS SELECT 1 AS v')
            with pytest.raises(duckdb.Error):
                store.con.execute(f'DELETE FROM "{name}".train')
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before_bytes
    assert os.stat(db).st_mtime_ns == before_mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before_files, path.name])


def test_duckdb_missing_table_names_a_close_match(write_toml, tmp_path):
    with duckdb.connect(str(tmp_path / "store.duckdb")) as con:
        con.execute("CREATE TABLE predictions AS SELECT TIMESTAMP '2026-01-01' AS ts, 0.5 AS score")
    path = write_toml({
        "production": {"source": "store.duckdb:prediction", "timestamp": "ts",
                       "prediction": "score"},
        "reference": {"source": "store.duckdb:predictions"},
    })
    with pytest.raises(DataSourceError, match="has no table 'prediction'. Close matches: "
                       "predictions"):
        LogStore(load_incident(path))


def test_duckdb_missing_file(write_toml, tmp_path):
    path = write_toml({
        "production": {"source": "gone.duckdb:preds", "timestamp": "ts", "prediction": "score"},
        "reference": {"source": "ref.parquet"},
    })
    with pytest.raises(DataSourceError, match="gone.duckdb' does not exist"):
        LogStore(load_incident(path))
    assert not (tmp_path / "gone.duckdb").exists()


def test_timezone_aware_timestamps_are_bucketed_in_utc(write_incident, tmp_path):
    log = small_log()
    aware = log.assign(ts=log["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin"))
    path = write_incident(aware, small_reference(), production_cfg=FULL_ROLES, model=MODEL)
    with LogStore(load_incident(path)) as store:
        counts = store.bucket_counts(3600)
        span = store.span()
    assert_counts_equal(counts, expected_bucket_counts(log, THRESHOLD))
    assert span.first == log["ts"].min().to_pydatetime()
    assert span.first.tzinfo is None


# ---- roles and features -------------------------------------------------------------------------


def test_default_features_are_shared_columns_minus_roles(write_incident):
    log = small_log().assign(decision=1, version="v1", rid=np.arange(400), only_prod=1.0,
                             code=7)
    ref = small_reference().assign(score=0.5, rid=1, version="v0", only_ref=2.0, code="7",
                                   latency_ms=3.0)
    path = write_incident(log, ref, production_cfg={
        **FULL_ROLES, "decision": "decision", "model_version": "version", "id": "rid"},
        reference_cfg={"label": "label"})
    with LogStore(load_incident(path)) as store:
        features = store.roles.features
    assert [f.name for f in features] == ["x", "cat", "code"]
    kinds = {f.name: f.kind for f in features}
    assert kinds == {"x": ColumnKind.NUMERIC, "cat": ColumnKind.CATEGORICAL,
                     "code": ColumnKind.CATEGORICAL}  # a number in production, text in training
    assert all(f.in_reference for f in features)


def test_configured_features_override_the_default(write_incident):
    log = small_log().assign(only_prod=1.0)
    path = write_incident(log, small_reference(), production_cfg={"features": ["only_prod", "x"]})
    with LogStore(load_incident(path)) as store:
        features = store.roles.features
        specs = store.bin_specs()
    assert [(f.name, f.in_reference) for f in features] == [("only_prod", False), ("x", True)]
    assert specs[0].edges == () and specs[0].levels == ()
    assert len(specs[1].edges) > 2


@pytest.mark.parametrize(("label", "task"), [
    (np.array([0.0, 1.0] * 200), "classification"),
    (np.array([True, False] * 200), "classification"),
    (np.linspace(-5.0, 40.0, 400), "regression"),
    (None, "classification"),  # no label: scores in [0, 1]
])
def test_task_is_inferred_from_label_and_scores(write_incident, label, task):
    log = small_log().drop(columns="label")
    log["score"] = np.linspace(0.0, 1.0, len(log))
    cfg = {}
    if label is not None:
        log["label"] = label
        cfg["label"] = "label"
    path = write_incident(log, small_reference(), production_cfg=cfg)
    with LogStore(load_incident(path)) as store:
        assert store.roles.task == task
        assert store.roles.has_labels is (label is not None)


def test_configured_task_wins(write_incident):
    path = write_incident(small_log(), small_reference(), production_cfg={"label": "label"},
                          model={"path": "m.skops", "task": "regression"})
    with LogStore(load_incident(path)) as store:
        assert store.roles.task == "regression"


# ---- aggregate queries vs pandas ----------------------------------------------------------------


def test_bucket_counts_match_pandas(write_incident):
    log = small_log()
    path = write_incident(log, small_reference(), production_cfg=FULL_ROLES, model=MODEL)
    with LogStore(load_incident(path)) as store:
        assert store.roles.task == "classification"
        counts = store.bucket_counts(3600)
    expected = expected_bucket_counts(log, THRESHOLD)
    assert len(counts) == 6
    assert_counts_equal(counts, expected)
    assert counts["fp"].sum() > 0 and counts["tn"].sum() > 0
    assert counts["score_out_of_range"].sum() == 2


def test_bucket_counts_window_and_segment(write_incident):
    log = small_log()
    path = write_incident(log, small_reference(), production_cfg=FULL_ROLES, model=MODEL)
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=4)
    with LogStore(load_incident(path)) as store:
        counts = store.bucket_counts(3600, start, end, segment=("region", "eu"))
    part = log[(log["ts"] >= start) & (log["ts"] < end) & (log["region"] == "eu")]
    assert_counts_equal(counts, expected_bucket_counts(part, THRESHOLD))


def test_bucket_counts_use_the_logged_decision(write_incident):
    log = small_log()
    log["blocked"] = log["score"] > 0.8
    path = write_incident(log, small_reference(), production_cfg={"label": "label",
                                                                  "decision": "blocked"})
    with LogStore(load_incident(path)) as store:
        counts = store.bucket_counts(3600)
    hourly = log.groupby(log["ts"].dt.floor("h"))
    np.testing.assert_array_equal(counts["decision_pos"], hourly["blocked"].sum().to_numpy())
    fp = ((log["label"] == 0) & log["blocked"]).groupby(log["ts"].dt.floor("h")).sum()
    np.testing.assert_array_equal(counts["fp"], fp.to_numpy())


def test_bucket_counts_of_a_regression_log(write_incident):
    rng = np.random.default_rng(9)
    log = small_log().assign(label=lambda d: rng.normal(50.0, 10.0, len(d)),
                             score=lambda d: rng.normal(50.0, 12.0, len(d)))
    log.loc[5, "score"] = np.inf  # not finite: not scored, no error
    log.loc[6, "label"] = np.nan
    path = write_incident(log, small_reference(), production_cfg={"label": "label"},
                          model={"path": "m.skops", "task": "regression"})
    with LogStore(load_incident(path)) as store:
        counts = store.bucket_counts(86400)
    ok = np.isfinite(log["score"]) & np.isfinite(log["label"])
    err = (log["score"] - log["label"])[ok]
    assert counts["n"].tolist() == [len(log)]
    assert counts["n_scored"].tolist() == [len(log) - 1]
    assert counts["n_labeled"].tolist() == [len(log) - 1]
    assert counts["abs_err_sum"].iloc[0] == pytest.approx(err.abs().sum(), rel=1e-12)
    assert counts["sq_err_sum"].iloc[0] == pytest.approx((err**2).sum(), rel=1e-12)
    assert counts["err_sum"].iloc[0] == pytest.approx(err.sum(), rel=1e-9)
    assert "fp" not in counts


def test_bin_specs_edges_are_reference_quantiles(write_incident):
    ref = small_reference()
    ref.loc[:9, "x"] = np.nan
    ref.loc[10:12, "x"] = np.inf  # not finite: ignored by the quantiles
    path = write_incident(small_log(), ref)
    with LogStore(load_incident(path)) as store:
        specs = {s.feature.name: s for s in store.bin_specs()}
    finite = ref["x"][np.isfinite(ref["x"])].to_numpy()
    expected = np.unique(np.quantile(finite, BIN_PROBS))
    np.testing.assert_allclose(specs["x"].edges, expected, rtol=1e-12)
    assert specs["x"].edges[0] == finite.min() and specs["x"].edges[-1] == finite.max()
    assert specs["x"].n_bins == len(expected) + 2
    counts = ref["cat"].value_counts()
    assert specs["cat"].levels == tuple(counts.index)  # most frequent first
    assert specs["cat"].n_bins == len(counts) + 2


def test_bin_edges_of_a_large_reference_come_from_a_seeded_sample(write_incident, monkeypatch):
    """Interior edges from a sample near the exact quantiles, outer edges the exact extremes,
    the same edges whatever the thread count; a mostly-null feature is binned on every value."""
    monkeypatch.setattr(store_module, "QUANTILE_SAMPLE_ROWS", 2_000)
    rng = np.random.default_rng(8)
    rows = 40_000
    ref = pd.DataFrame({"x": rng.lognormal(0.0, 1.0, rows), "sparse": np.nan,
                        "cat": rng.choice(np.array(["a", "b"]), rows),
                        "label": (rng.random(rows) < 0.3).astype(float)})
    ref.loc[rng.choice(rows, 500, replace=False), "sparse"] = rng.normal(0, 1, 500)
    log = small_log()
    log["sparse"] = rng.normal(0, 1, len(log))
    path = write_incident(log, ref)
    edges = {}
    for threads in (1, 2):
        with LogStore(load_incident(path), threads=threads, reference_cache=False) as store:
            edges[threads] = {s.feature.name: s.edges for s in store.bin_specs()}
    assert edges[1] == edges[2]
    x = ref["x"].to_numpy()
    got = np.asarray(edges[1]["x"])
    assert got[0] == x.min() and got[-1] == x.max()
    exact = np.quantile(x, BIN_PROBS)
    assert not np.array_equal(got, exact)  # sampled, not the full sort
    mass = np.searchsorted(np.sort(x), got[1:-1]) / rows  # each edge's quantile in the data
    np.testing.assert_allclose(mass, BIN_PROBS[1:-1], atol=0.02)
    sparse = ref["sparse"].dropna().to_numpy()
    np.testing.assert_allclose(edges[1]["sparse"], np.unique(np.quantile(sparse, BIN_PROBS)),
                               rtol=1e-12)


def test_binned_counts_match_numpy_histogram(write_incident):
    ref = small_reference()
    ref_x = ref["x"].to_numpy()
    lo, hi = ref_x.min(), ref_x.max()
    edges = np.unique(np.quantile(ref_x, BIN_PROBS))
    rng = np.random.default_rng(21)
    special = [np.nan, None, lo - 1.0, hi + 1.0, lo, hi, edges[5], edges[10], -np.inf, np.inf]
    rows = 300
    values = [*special, *rng.normal(0.2, 1.3, rows - len(special))]
    seconds = np.concatenate([np.arange(len(special)) * 60, rng.integers(0, 5 * 3600,
                                                                        rows - len(special))])
    ts = pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s")
    cats = rng.choice(np.array(["a", "b", "c", "d", "zz"]), rows).astype(object)
    cats[[3, 7]] = None
    score = rng.random(rows)
    prod = pa.table({
        "ts": pa.array(ts.astype("datetime64[us]")),
        "score": pa.array(score),
        "x": pa.array(values, type=pa.float64(), from_pandas=False),
        "cat": pa.array(list(cats), type=pa.string()),
    })
    path = write_incident(prod, ref)
    windows = [Window("baseline", T0, T0 + timedelta(hours=2)),
               Window("current", T0 + timedelta(hours=2), T0 + timedelta(hours=4))]
    with LogStore(load_incident(path)) as store:
        specs = store.bin_specs()
        assert [s.feature.name for s in specs] == ["x", "cat"]
        np.testing.assert_allclose(specs[0].edges, edges, rtol=1e-12)
        got = store.binned_counts(specs, windows)
        got_ref = store.binned_counts(specs, [Window("reference", None, None)], reference=True)

    x = np.array([np.nan if v is None else v for v in values], dtype=float)
    seconds_ts = ts.to_numpy()
    n_bins = len(edges) + 2
    for w in windows:
        inside = (seconds_ts >= np.datetime64(w.start)) & (seconds_ts < np.datetime64(w.end))
        expected = expected_numeric_bins(x[inside], edges)
        np.testing.assert_array_equal(bins_of(got, w.name, 0, n_bins), expected)
        totals = got[(got["w"] == w.name) & (got["feature"] == -1)].iloc[0]
        assert totals["n"] == inside.sum()
        assert totals["score_sum"] == pytest.approx(score[inside].sum(), rel=1e-12)
        # value sums per bin: finite values only
        sums = bins_of(got, w.name, 0, n_bins, "value_sum")
        xi = x[inside]
        for b in range(2, n_bins - 1):
            lo_e, hi_e = edges[b - 2], edges[b - 1]
            upper = (xi <= hi_e) if b == n_bins - 2 else (xi < hi_e)
            assert sums[b] == pytest.approx(xi[(xi >= lo_e) & upper].sum(), abs=1e-9)
        # categorical: levels in reference frequency order, unseen -> 1, null -> 0
        levels = specs[1].levels
        cat_w = cats[inside]
        expected_cat = np.zeros(len(levels) + 2)
        expected_cat[NULL_BIN] = sum(c is None for c in cat_w)
        expected_cat[LOW_BIN] = sum(c is not None and c not in levels for c in cat_w)
        for i, level in enumerate(levels):
            expected_cat[i + 2] = sum(c == level for c in cat_w)
        np.testing.assert_array_equal(bins_of(got, w.name, 1, len(levels) + 2), expected_cat)

    # the special rows all fall in the first window, each in its documented bin
    first = bins_of(got, "baseline", 0, n_bins)
    assert first[NULL_BIN] == 2 and first[LOW_BIN] >= 2 and first[n_bins - 1] >= 2
    # the reference against itself: every row inside, none null/below/above
    ref_counts = bins_of(got_ref, "reference", 0, n_bins)
    assert ref_counts[[NULL_BIN, LOW_BIN, n_bins - 1]].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(ref_counts, expected_numeric_bins(ref_x, edges))


def test_feature_profile_by_bucket_matches_pandas(write_incident):
    log = small_log()
    log.loc[log["ts"] >= pd.Timestamp(T0 + timedelta(hours=4)), "x"] = 0.0
    path = write_incident(log, small_reference())
    with LogStore(load_incident(path)) as store:
        profile = store.feature_profile_by_bucket(3600)
        names = [f.name for f in store.roles.features]
    i = names.index("x")
    hourly = log.groupby(log["ts"].dt.floor("h"))
    np.testing.assert_allclose(profile[f"mean{i}"].astype(float), hourly["x"].mean(), rtol=1e-9)
    np.testing.assert_array_equal(profile[f"zeros{i}"], hourly["x"].apply(lambda s: (s == 0).sum()))
    np.testing.assert_array_equal(profile[f"const{i}"], [0, 0, 0, 0, 1, 1])


def test_segment_counts_match_pandas(write_incident):
    log = small_log()
    path = write_incident(log, small_reference(), production_cfg=FULL_ROLES, model=MODEL)
    split = T0 + timedelta(hours=3)
    windows = [Window("baseline", T0, split), Window("current", split, T0 + timedelta(hours=6))]
    with LogStore(load_incident(path)) as store:
        got = store.segment_counts(["region"], windows)
    for w in windows:
        part = log[(log["ts"] >= w.start) & (log["ts"] < w.end)]
        dec = part["score"] >= THRESHOLD
        fp = ((part["label"] == 0) & dec).groupby(part["region"]).sum()
        rows = got[got["w"] == w.name].set_index("s0")
        assert rows["n"].to_dict() == part["region"].value_counts().to_dict()
        assert rows["fp"].astype(int).to_dict() == fp.to_dict()


# ---- identifiers and values in SQL --------------------------------------------------------------


def test_odd_column_names_are_quoted(write_incident):
    odd_score, odd_feature, odd_segment = 'the "score"', 'basket "value" usd', "sales region"
    log = small_log().rename(columns={"score": odd_score, "x": odd_feature,
                                      "region": odd_segment})
    ref = small_reference().rename(columns={"x": odd_feature})
    path = write_incident(log, ref, production_cfg={
        "prediction": odd_score, "label": "label", "segments": [odd_segment]}, model=MODEL)
    with LogStore(load_incident(path)) as store:
        assert odd_feature in [f.name for f in store.roles.features]
        counts = store.bucket_counts(3600, segment=(odd_segment, "us"))
        specs = store.bin_specs()
        binned = store.binned_counts(specs, [Window("all", None, None)])
        profile = store.feature_profile_by_bucket(3600)
        segs = store.segment_counts([odd_segment], [Window("all", None, None)])
    us = log[log[odd_segment] == "us"]
    assert counts["n"].sum() == len(us)
    assert counts["score_sum"].sum() == pytest.approx(us[odd_score].sum(skipna=True), rel=1e-9)
    idx = [s.feature.name for s in specs].index(odd_feature)
    assert binned[(binned["feature"] == idx)]["n"].sum() == len(log)
    assert profile["n"].sum() == len(log)
    assert sorted(segs["s0"]) == ["apac", "eu", "us"]
    result = diagnose(path)
    assert result.rows == len(log)
    assert odd_feature in [d.feature for d in result.drift]


def test_segment_filter_value_is_a_parameter_not_sql(write_incident):
    log = small_log()
    path = write_incident(log, small_reference(), production_cfg=FULL_ROLES, model=MODEL)
    with LogStore(load_incident(path)) as store:
        injected = store.bucket_counts(3600, segment=("region", "x' OR 1=1 --"))
        assert len(injected) == 0
        quote = store.bucket_counts(3600, segment=("region", "eu'; DROP TABLE production; --"))
        assert len(quote) == 0
        eu = store.bucket_counts(3600, segment=("region", "eu"))
        assert eu["n"].sum() == (log["region"] == "eu").sum()
        assert store.span().rows == len(log)
        with pytest.raises(ColumnNotFoundError):
            store.bucket_counts(3600, segment=('region" OR 1=1 --', "eu"))


# ---- the change log -----------------------------------------------------------------------------


def test_changes_are_validated_and_sorted(write_incident):
    changes = pd.DataFrame({
        "time": ["2026-05-04T03:00:00", "2026-05-04T01:00:00"],
        "id": [42, 7], "kind": ["INFRA", "data"], "description": ["b", "a"],
    })
    path = write_incident(small_log(), small_reference(), changes=changes, model=CLASSIFIER)
    with LogStore(load_incident(path)) as store:
        got = store.changes()
    assert got["id"].tolist() == ["7", "42"]
    assert got["kind"].tolist() == ["data", "infra"]
    assert got["time"].tolist() == [pd.Timestamp("2026-05-04 01:00"),
                                    pd.Timestamp("2026-05-04 03:00")]


def test_changes_with_unknown_kind_are_rejected(write_incident):
    changes = pd.DataFrame({"time": ["2026-05-04T03:00:00"], "id": ["C"], "kind": ["magic"],
                            "description": ["?"]})
    path = write_incident(small_log(), small_reference(), changes=changes, model=CLASSIFIER)
    with LogStore(load_incident(path)) as store, pytest.raises(DataSourceError,
                                                               match=r"unknown kind.*magic"):
        store.changes()


def test_changes_missing_a_column(write_incident):
    changes = pd.DataFrame({"when": ["2026-05-04T03:00:00"], "id": ["C"], "kind": ["data"],
                            "description": ["?"]})
    path = write_incident(small_log(), small_reference(), changes=changes, model=CLASSIFIER)
    with LogStore(load_incident(path)) as store, pytest.raises(ColumnNotFoundError,
                                                               match="'time'"):
        store.changes()


def test_changes_can_be_read_first_thing_after_opening_the_store(write_incident):
    # The task is inferred from the data here (no [model] task): opening the store queries the
    # log, and reading the change log straight after must still work.
    changes = pd.DataFrame({"time": ["2026-05-04T03:00:00"], "id": ["C-9"], "kind": ["code"],
                            "description": ["refactor"]})
    path = write_incident(small_log(), small_reference(), changes=changes)
    with LogStore(load_incident(path)) as store:
        got = store.changes()
        assert got["id"].tolist() == ["C-9"]
        assert store.span().rows == 400


def test_duckdb_change_log_can_be_read_again(write_incident, tmp_path):
    changes = pd.DataFrame({"time": [T0 + timedelta(hours=1)], "id": ["C-3"], "kind": ["data"],
                            "description": ["backfill"]})
    with duckdb.connect(str(tmp_path / "ops.duckdb")) as con:
        con.register("frame", changes)
        con.execute("CREATE TABLE change_log AS SELECT * FROM frame")
    path = write_incident(small_log(), small_reference(), model=CLASSIFIER)
    text = path.read_text(encoding="utf-8") + '\n[changes]\nsource = "ops.duckdb:change_log"\n'
    path.write_text(text, encoding="utf-8")
    with LogStore(load_incident(path)) as store:
        first = store.changes()
        again = store.changes()  # e.g. a second diagnosis on the same store
        assert first["id"].tolist() == again["id"].tolist() == ["C-3"]
        diagnose(store.incident, store=store)
        diagnose(store.incident, store=store)


def test_bin_ids_stay_within_n_bins_for_degenerate_references(write_incident):
    log = small_log()
    flag = (np.arange(len(log)) % 5 == 0).astype(float)  # 0/1 in production
    log = log.assign(flag=flag, only_prod=np.linspace(1.0, 9.0, len(log)))
    ref = small_reference().assign(flag=0.0)  # never set in training
    path = write_incident(log, ref, production_cfg={"features": ["flag", "only_prod", "x"]},
                          model=CLASSIFIER)
    with LogStore(load_incident(path)) as store:
        specs = store.bin_specs()
        got = store.binned_counts(specs, [Window("all", None, None)])
    assert specs[0].edges == (0.0,)
    for i, spec in enumerate(specs):
        ids = got[got["feature"] == i]["bin"]
        assert ids.max() < spec.n_bins, spec.feature.name
    # flag: 0 is the reference's single value (bin 2), 1 lies above it (bin 3)
    counts = got[got["feature"] == 0].set_index("bin")["n"].to_dict()
    assert counts == {2: int((flag == 0).sum()), 3: int((flag == 1).sum())}
    result = diagnose(path)
    hist = result.histogram("flag")
    assert hist is not None and len(hist.labels) == len(hist.current) == 4
    assert sum(hist.baseline) + sum(hist.current) == len(log)


def test_sampled_slice_counts_and_duplicate_ids_keep_a_hash_subset(write_incident):
    """modulus m: the rows (ids) whose hash is 0 mod m, about 1/m of them; the same subset
    DuckDB's own hash picks, and the full counts at m = 1."""
    log = small_log(rows=3000, hours=12)
    log["id"] = np.arange(len(log)) % 2500  # 500 ids repeated
    path = write_incident(log, small_reference(), production_cfg={"id": "id"})
    with LogStore(load_incident(path)) as store:
        spec = store.bin_specs([store.roles.feature("cat")])[0]
        sp = store.span()
        windows = [Window("all", sp.first, sp.last + timedelta(seconds=1))]
        full = store.slice_counts([spec], windows, [], 1)
        third = store.slice_counts([spec], windows, [], 3)
        want = store.con.execute(
            "SELECT count(*) FROM production WHERE hash(epoch_us(ts), CAST(score AS DOUBLE)) "
            "% 3 = 0").fetchone()[0]
        ids = store.duplicate_ids(windows, 4).iloc[0]
        kept = store.con.execute("SELECT count(id), count(DISTINCT id) FROM production "
                                 "WHERE hash(id) % 4 = 0").fetchone()
    total = lambda df: int(df[df["c0"].notna()]["n"].sum())  # noqa: E731
    assert total(full) == len(log)
    assert total(third) == want and 0.28 < want / len(log) < 0.39
    assert (int(ids["n"]), int(ids["n_distinct"])) == kept and 0.2 < kept[0] / len(log) < 0.3


def test_segment_counts_are_read_once_per_store(write_incident):
    """The repair test and the segment shifts ask for the same counts: one query, and callers
    get copies they may change."""
    path = write_incident(small_log(), small_reference(), production_cfg=FULL_ROLES)
    with LogStore(load_incident(path)) as store:
        sp = store.span()
        windows = [Window("all", sp.first, sp.last + timedelta(seconds=1))]
        calls = []
        run = store.engine.run
        store.engine.run = lambda q: calls.append(q.text) or run(q)  # type: ignore[method-assign]
        first = store.segment_counts(["region"], windows)
        first.loc[:, "n"] = -1
        second = store.segment_counts(["region"], windows)
        other = store.segment_counts(["region"], [Window("w", sp.first, sp.last)])
    log = small_log()
    assert len(calls) == 2  # the second window set is a new query
    assert int(second["n"].sum()) == len(log) and (second["n"] > 0).all()
    assert int(other["n"].sum()) == int((log["ts"] < pd.Timestamp(sp.last)).sum())
