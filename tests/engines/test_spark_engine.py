"""The Spark engine's pieces: DuckDB's hash reproduced, the SQL rewrites, exact quantiles,
source reading, the config keys and the CLI flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.config import ConfigError, load_incident, parse_incident, with_engine
from workbench.data.queries import Sql
from workbench.data.schema import quote_ident

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]


def _keys(n: int = 500) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table({
        "i32": pa.array([*rng.integers(-2**31, 2**31, n - 2).tolist(), -1, None], pa.int32()),
        "i64": pa.array([*rng.integers(-2**62, 2**62, n - 1).tolist(), None], pa.int64()),
        "f64": pa.array([*rng.normal(size=n - 4).tolist(), 0.0, -0.0, float("nan"), None]),
        "f32": pa.array(rng.normal(size=n).astype("float32")),
        "s": pa.array([None if i % 41 == 0 else "k" * (i % 19) + f"{i}é" for i in range(n)]),
        "b": pa.array([None if i % 11 == 0 else bool(i % 3) for i in range(n)]),
    })


def test_duckdb_hash_reproduced_bit_for_bit() -> None:
    from workbench.data.spark import duckdb_hash

    table = _keys()
    con = duckdb.connect()
    con.register("t", table)
    for cols in (["i32"], ["i64"], ["f64"], ["f32"], ["s"], ["b"], ["f64", "s", "i64", "b"]):
        want = np.array([r[0] for r in con.execute(
            f"SELECT hash({', '.join(cols)}, 42::BIGINT) FROM t").fetchall()], dtype=np.uint64)
        seed = pa.array([42] * table.num_rows, pa.int64())
        got = duckdb_hash([table[c].combine_chunks() for c in cols] + [seed])
        assert (got == want).all(), cols


def test_hash_order_and_modulo_match_duckdb(spark: Any, tmp_path: Path) -> None:
    """The same rows come first and the same rows fall in a hash-modulo subset."""
    from workbench.data.spark import SparkEngine

    path = tmp_path / "keys.parquet"
    pq.write_table(_keys(), path)
    con = duckdb.connect()
    con.read_parquet(str(path)).create_view("t")
    engine = SparkEngine(session=spark)
    engine.spark.read.parquet(str(path)).createOrReplaceTempView("t")
    q = Sql()
    q.parts.append(f"SELECT i64, hash(s, f64, i32, {q.p(3)}::BIGINT) % {q.p(7)} AS m FROM t "
                   f"ORDER BY hash(s, f64, b, {q.p(5)}::BIGINT) LIMIT {q.p(50)}")
    want = con.execute(q.text, q.params).df()
    got = engine.run(q)
    assert got["i64"].fillna(-1).tolist() == want["i64"].fillna(-1).tolist()
    assert got["m"].astype(int).tolist() == want["m"].astype(int).tolist()


def test_rewrites_and_parameters() -> None:
    from workbench.data.spark import translate

    q = Sql()
    text_value = "it's"
    q.parts.append(
        f"SELECT epoch_us(t) // {q.p(3_600_000_000)} AS b, "
        f"quantile_cont(CASE WHEN isfinite(x) THEN x END, {q.p([0.1, 0.5])}::DOUBLE[]) AS q "
        f"FROM production WHERE c = {q.p(text_value)} AND x < {q.p(0.25)} "
        f"AND y > {q.p(float('-inf'))} GROUP BY ALL ORDER BY ALL LIMIT {q.p(5)}")
    text, args = translate(q)
    assert "UNIX_MICROS(CAST(t AS TIMESTAMP)) DIV 3600000000" in text
    assert "PERCENTILE(CASE WHEN (ABS(x) < CAST('Infinity' AS DOUBLE))" in text
    assert "ARRAY(0.1E0, 0.5E0)" in text and "x < 0.25E0" in text
    assert "CAST('-Infinity' AS DOUBLE)" in text
    assert "c = :p2" in text and args == {"p2": "it's"}  # strings stay parameters
    assert "ORDER BY 1 NULLS LAST, 2 NULLS LAST LIMIT 5" in text
    assert "ISFINITE" not in text and "EPOCH_US" not in text and "QUANTILE" not in text
    odd = Sql()
    odd.parts.append("SELECT " + quote_ident('we"ird`name x') + " AS v FROM production")
    assert translate(odd) == ('SELECT `we"ird``name x` AS v FROM production', {})


def test_quantiles_exact_like_duckdb(spark: Any) -> None:
    from workbench.data.spark import SparkEngine

    rng = np.random.default_rng(3)
    values = np.r_[rng.lognormal(size=997), [np.nan, np.inf, -np.inf]]
    engine = SparkEngine(session=spark)
    engine.spark.createDataFrame([(float(v),) for v in values], "x double") \
        .createOrReplaceTempView("v")
    con = duckdb.connect()
    con.register("v", pa.table({"x": values}))
    probs = [i / 20 for i in range(21)]
    q = Sql()
    q.parts.append(f"SELECT quantile_cont(CASE WHEN isfinite(x) THEN x END, "
                   f"{q.p(probs)}::DOUBLE[]) AS q FROM v")
    want = np.asarray(con.execute(q.text, q.params).df()["q"].iloc[0], dtype=float)
    got = np.asarray(engine.run(q)["q"].iloc[0], dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_spark_types_read_as_duckdb_types(spark: Any, tmp_path: Path) -> None:
    from workbench.data.spark import SparkEngine
    from workbench.data.store import SourceSpec

    table = pa.table({
        "ts": pa.array([0, 1], pa.timestamp("us", tz="UTC")),
        "naive": pa.array([0, 1], pa.timestamp("us")),
        "d": pa.array([0, 1], pa.int32()).cast(pa.date32()),
        "i": pa.array([1, 2], pa.int32()), "n": pa.array([1, 2], pa.int64()),
        "x": pa.array([0.5, 1.5]), "s": pa.array(["a", "b"]), "b": pa.array([True, False]),
        "l": pa.array([[1.0], [2.0]]),
    })
    for part in ("a", "b"):
        pq.write_table(table, tmp_path / f"{part}.parquet")
    engine = SparkEngine(session=spark)
    engine.register("production_source",
                    SourceSpec(path=str(tmp_path / "*.parquet"), kind="parquet"), "log")
    assert engine.schema("production_source") == {
        "ts": "TIMESTAMP WITH TIME ZONE", "naive": "TIMESTAMP", "d": "DATE", "i": "INTEGER",
        "n": "BIGINT", "x": "DOUBLE", "s": "VARCHAR", "b": "BOOLEAN", "l": "DOUBLE[]"}


def test_engine_config_keys(tmp_path: Path) -> None:
    base = {"production": {"source": "x.parquet", "timestamp": "t", "prediction": "p"},
            "reference": {"source": "r.parquet"}}
    assert parse_incident(base, tmp_path / "i.toml").engine.kind == "duckdb"
    engine = parse_incident({**base, "engine": {"kind": "spark", "master": "local[2]", "conf": {
        "spark.sql.shuffle.partitions": 4, "spark.sql.adaptive.enabled": False}}},
        tmp_path / "i.toml").engine
    assert (engine.kind, engine.master) == ("spark", "local[2]")
    assert dict(engine.conf) == {"spark.sql.shuffle.partitions": "4",
                                 "spark.sql.adaptive.enabled": "false"}
    with pytest.raises(ConfigError, match=r"\[engine\] kind must be one of duckdb, spark"):
        parse_incident({**base, "engine": {"kind": "presto"}}, tmp_path / "i.toml")
    with pytest.raises(ConfigError, match="unknown key 'mastr' in \\[engine\\]"):
        parse_incident({**base, "engine": {"mastr": "local"}}, tmp_path / "i.toml")
    with pytest.raises(ConfigError, match=r"\[engine\] conf must be a table"):
        parse_incident({**base, "engine": {"conf": "x"}}, tmp_path / "i.toml")


def test_engine_left_out_of_the_cache_key(small_sample_incident: Path) -> None:
    from workbench.fingerprint import identity, key_of

    incident = load_incident(small_sample_incident)
    spark_one = with_engine(incident, "spark", "local[2]")
    assert spark_one.engine.kind == "spark"
    assert key_of(identity(incident, {})) == key_of(identity(spark_one, {}))


def test_cli_engine_flag(small_sample_incident: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """`diagnose --engine spark --master URL` reaches the diagnosis as the incident's engine."""
    import workbench.cache
    from workbench.cli import main

    seen = []

    def fake(incident: Any, **_: Any) -> Any:
        seen.append(incident.engine)
        raise ConfigError("stop here")

    monkeypatch.setattr(workbench.cache, "cached_diagnose", fake)
    main(["diagnose", str(small_sample_incident), "--engine", "spark", "--master", "local[3]",
          "--json", "--quiet"])
    assert [(e.kind, e.master) for e in seen] == [("spark", "local[3]")]
    assert main(["diagnose", str(small_sample_incident), "--engine", "presto"]) != 0
    capsys.readouterr()


def test_csv_log_and_replay_batches_match(spark: Any, tmp_path: Path) -> None:
    """A CSV log with ISO-8601 text times and text labels: the same normalised counts, and the
    same rows streamed in batches for a replay."""
    import pandas as pd

    from workbench.data import LogStore

    rng = np.random.default_rng(11)
    n = 3000
    times = pd.Timestamp("2026-03-01T00:00:00Z") + pd.to_timedelta(
        np.sort(rng.integers(0, 10 * 86_400, n)), unit="s")
    log = pd.DataFrame({
        "t": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "score": rng.random(n).round(6),
        "outcome": np.where(rng.random(n) < 0.3, "fraud", "legit"),
        "x": rng.normal(size=n).round(6), "cat": rng.choice(["a", "b", "c"], n)})
    log.to_csv(tmp_path / "log.csv", index=False)
    pq.write_table(pa.Table.from_pandas(log[["x", "cat"]]), tmp_path / "train.parquet")
    config = tmp_path / "incident.toml"
    config.write_text('[production]\nsource = "log.csv"\ntimestamp = "t"\n'
                      'prediction = "score"\nlabel = "outcome"\npositive = "fraud"\n'
                      '[reference]\nsource = "train.parquet"\n')
    incident = load_incident(config)
    with LogStore(incident) as duck, LogStore(with_engine(incident, "spark")) as on_spark:
        assert on_spark.roles == duck.roles
        a = duck.bucket_counts(3600).sort_values("bucket").reset_index(drop=True)
        b = on_spark.bucket_counts(3600).sort_values("bucket").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12)
        rows = [sum(len(f) for f in s.replay_batches(batch_rows=700)) for s in (duck, on_spark)]
        assert rows == [n, n]
        sums = [sum(float(f["_wb_label"].sum()) for f in s.replay_batches(batch_rows=700))
                for s in (duck, on_spark)]
        assert sums[0] == sums[1] == float((log["outcome"] == "fraud").sum())


def test_sampled_reference_bins_match(spark: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A reference large enough to be binned on a seeded sample: both engines draw the same
    rows, so every edge is the same."""
    import pandas as pd

    from workbench.data import LogStore
    from workbench.data import store as store_module

    monkeypatch.setattr(store_module, "QUANTILE_SAMPLE_ROWS", 1_000)
    rng = np.random.default_rng(12)
    n = 12_000
    ref = pd.DataFrame({"x": rng.lognormal(size=n), "y": rng.integers(0, 50, n).astype(float),
                        "cat": rng.choice(["a", "b"], n)})
    ref.loc[::3, "y"] = np.nan
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "train.parquet")
    times = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(500) * 60, unit="s")
    log = ref.iloc[:500].assign(t=times, score=rng.random(500))
    pq.write_table(pa.Table.from_pandas(log), tmp_path / "log.parquet")
    config = tmp_path / "incident.toml"
    config.write_text('[production]\nsource = "log.parquet"\ntimestamp = "t"\n'
                      'prediction = "score"\n[reference]\nsource = "train.parquet"\n')
    incident = load_incident(config)
    with LogStore(incident, reference_cache=False) as duck, \
            LogStore(with_engine(incident, "spark"), reference_cache=False) as on_spark:
        want, got = duck.bin_specs(), on_spark.bin_specs()
    assert [s.edges for s in got] == [s.edges for s in want]
    x = np.sort(ref["x"].to_numpy())
    edges = next(s.edges for s in want if s.feature.name == "x")
    assert edges[0] == x[0] and edges[-1] == x[-1]
    assert not np.allclose(edges, np.quantile(x, store_module.BIN_PROBS), rtol=1e-12)


@pytest.mark.parametrize("command", [["verify", "--fix", "no-such-fix"],
                                     ["report", "--out", "/dev/null/x", "--fix", "no-such-fix"],
                                     ["explain", "--segment", "no_equals_sign"]])
def test_other_commands_take_the_engine_flags(command: list[str], small_sample_incident: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """verify, report and explain apply --engine/--master to the incident they read."""
    import workbench.config
    from workbench.cli import main

    seen = []
    real = workbench.config.with_engine

    def spy(incident: Any, kind: Any, master: Any = None) -> Any:
        out = real(incident, kind, master)
        seen.append((out.engine.kind, out.engine.master))
        return out

    monkeypatch.setattr(workbench.config, "with_engine", spy)
    name, *rest = command
    assert main([name, str(small_sample_incident), *rest, "--engine", "spark",
                 "--master", "local[3]", "--quiet"]) != 0  # stops on the bad option
    assert seen == [("spark", "local[3]")]
    capsys.readouterr()
