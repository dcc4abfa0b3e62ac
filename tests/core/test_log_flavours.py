"""The same incident written the ordinary ways gives the same diagnosis, flavour by flavour.

One synthetic classification incident is rewritten with its timestamps as every common writer
stores them (pandas, pyarrow in each unit, INT96 as Spark and Hive write it, tz-aware in several
zones, ISO text with and without offsets, epoch numbers, a DuckDB table, Hive partitions, a CSV
with another delimiter) and its label as 0/1, booleans and strings; each must give the very same
`--json` as the plain Parquet original.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.core.conftest import LOG_START, Synthetic, generate
from workbench.cli import main

pytestmark = pytest.mark.slow
SHIFT_AT = LOG_START + timedelta(days=5, hours=14)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Synthetic:
    """A classification incident with a unit change at a known hour (whole-second times)."""
    return generate(tmp_path_factory.mktemp("flavours"), task="classification", rows=12_000,
                    days=8, shift_at=SHIFT_AT)


def _run(config: Path, capsys) -> dict:
    code = main(["diagnose", str(config), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    data.pop("elapsed_seconds")
    data.pop("cache")  # its key fingerprints the very files, which differ by flavour
    return data


def _config(base: Synthetic, out: Path, source: str, extra: str = "",
            timestamp: str = "ts") -> Path:
    """The base config with another production source (and extra [production] lines)."""
    text = base.config.read_text()
    text = text.replace('source = "logs/*.parquet"', f"source = {json.dumps(source)}{extra}")
    text = text.replace('timestamp = "ts"', f"timestamp = {json.dumps(timestamp)}")
    text = re.sub(r'source = "training.parquet"',
                  f'source = {json.dumps(str(base.config.parent / "training.parquet"))}', text)
    text = text.replace('source = "changes.csv"',
                        f'source = {json.dumps(str(base.config.parent / "changes.csv"))}')
    out.mkdir(parents=True, exist_ok=True)
    path = out / "incident.toml"
    path.write_text(text)
    return path


def _arrow(frame: pd.DataFrame, ts: pa.Array) -> pa.Table:
    table = pa.Table.from_pandas(frame.drop(columns="ts"), preserve_index=False)
    return table.add_column(0, "ts", ts)


def _naive(unit: str) -> Callable[[pd.DataFrame, Path], str]:
    def write(frame: pd.DataFrame, out: Path) -> str:
        pq.write_table(_arrow(frame, pa.array(frame["ts"].dt.as_unit(unit))), out / "log.parquet")
        return "log.parquet"
    return write


def _zoned(zone: str) -> Callable[[pd.DataFrame, Path], str]:
    def write(frame: pd.DataFrame, out: Path) -> str:
        zoned = frame.assign(ts=frame["ts"].dt.tz_localize("UTC").dt.tz_convert(zone)
                             .dt.as_unit("ns"))
        zoned.to_parquet(out / "log.parquet")  # pandas' own writer: TIMESTAMPTZ_NS
        return "log.parquet"
    return write


def _int96(frame: pd.DataFrame, out: Path) -> str:
    table = _arrow(frame, pa.array(frame["ts"].dt.as_unit("ns")))
    pq.write_table(table, out / "log.parquet", use_deprecated_int96_timestamps=True)
    return "log.parquet"


def _csv(fmt: Callable[[pd.Series], pd.Series], sep: str = ",") -> Callable:
    def write(frame: pd.DataFrame, out: Path) -> str:
        frame.assign(ts=fmt(frame["ts"])).to_csv(out / "log.csv", index=False, sep=sep)
        return "log.csv"
    return write


def _mixed_offsets(ts: pd.Series) -> pd.Series:
    """Alternate rows written in +02:00 and -05:00: the same instants, different offsets."""
    utc = ts.dt.tz_localize("UTC")
    east = utc.dt.tz_convert("+02:00").map(lambda t: t.isoformat())
    west = utc.dt.tz_convert("-05:00").map(lambda t: t.isoformat())
    return east.where(np.arange(len(ts)) % 2 == 0, west)


def _epoch(unit: str) -> Callable[[pd.DataFrame, Path], str]:
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]

    def write(frame: pd.DataFrame, out: Path) -> str:
        seconds = frame["ts"].astype("datetime64[s]").astype("int64")
        frame.assign(ts=seconds * scale).to_parquet(out / "log.parquet")
        return "log.parquet"
    return write


def _duckdb(frame: pd.DataFrame, out: Path) -> str:
    with duckdb.connect(str(out / "log.duckdb")) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE predictions AS SELECT * FROM frame")
    return "log.duckdb:predictions"


def _hive(frame: pd.DataFrame, out: Path) -> str:
    for day, part in frame.groupby(frame["ts"].dt.strftime("%Y-%m-%d")):
        folder = out / "logs" / f"dt={day}"
        folder.mkdir(parents=True)
        part.to_parquet(folder / "part-0.parquet", index=False)
    return "logs"


FLAVOURS: dict[str, tuple[Callable[[pd.DataFrame, Path], str], str]] = {
    "parquet-timestamp-s": (_naive("s"), ""),
    "parquet-timestamp-ms": (_naive("ms"), ""),
    "parquet-timestamp-ns": (_naive("ns"), ""),
    "pandas-tz-utc-ns": (_zoned("UTC"), ""),
    "pandas-tz-berlin": (_zoned("Europe/Berlin"), ""),
    "pandas-tz-new-york": (_zoned("America/New_York"), ""),
    "parquet-int96": (_int96, ""),
    "csv-iso-naive": (_csv(lambda ts: ts.dt.strftime("%Y-%m-%d %H:%M:%S")), ""),
    "csv-iso-z": (_csv(lambda ts: ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")), ""),
    "csv-mixed-offsets": (_csv(_mixed_offsets), ""),
    "csv-semicolon": (_csv(lambda ts: ts.dt.strftime("%Y-%m-%d %H:%M:%S"), sep=";"),
                      '\ncsv = {delim = ";"}'),
    "epoch-s": (_epoch("s"), ""),
    "epoch-ms": (_epoch("ms"), ""),
    "epoch-us": (_epoch("us"), ""),
    "epoch-ns": (_epoch("ns"), ""),
    "epoch-ms-configured": (_epoch("ms"), '\ntimestamp_unit = "ms"'),
    "duckdb-table": (_duckdb, ""),
    "hive-partitions": (_hive, ""),
}


@pytest.fixture(scope="module")
def expected(base, tmp_path_factory, capsys_module) -> dict:
    return capsys_module(base.config)


@pytest.fixture(scope="module")
def capsys_module():
    """Run the CLI on a config and return its JSON (module-scoped: no capsys there)."""
    import contextlib
    import io

    def run(config: Path) -> dict:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["diagnose", str(config), "--json"])
        assert code == 0, err.getvalue()
        data = json.loads(out.getvalue())
        data.pop("elapsed_seconds")
        data.pop("cache")  # its key fingerprints the very files, which differ by flavour
        return data

    return run


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_every_timestamp_flavour_gives_the_same_json(flavour, base, expected, tmp_path,
                                                     capsys):
    write, extra = FLAVOURS[flavour]
    frame = base.production.copy()
    source = write(frame, tmp_path)
    got = _run(_config(base, tmp_path, source, extra), capsys)
    assert expected["onset"] == SHIFT_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert got == expected


@pytest.mark.parametrize("flavour", ["boolean", "yes-no", "fraud-legit", "nullable-int8"])
def test_every_label_flavour_gives_the_same_json(flavour, base, expected, tmp_path, capsys):
    frame = base.production.copy()
    truth = frame["outcome"].astype(bool)
    extra = ""
    if flavour == "boolean":
        frame["outcome"] = truth
    elif flavour == "yes-no":
        frame["outcome"] = np.where(truth, "Yes", "No")
    elif flavour == "fraud-legit":
        frame["outcome"] = pd.Categorical(np.where(truth, "fraud", "legit"))
        extra = '\npositive = "fraud"'
    else:
        frame["outcome"] = pd.array(truth.astype(int), dtype="Int8")
    frame.to_parquet(tmp_path / "log.parquet")
    got = _run(_config(base, tmp_path, "log.parquet", extra), capsys)
    assert got == expected


def test_odd_column_names_are_read_and_quoted(base, expected, tmp_path, capsys):
    """Spaces, quotes, semicolons, unicode and SQL keywords in every role's column name."""
    names = {"ts": 'event "time"; DROP', "score": "select", "outcome": "ünïcode label",
             "region": "group by", "basket_value": "basket value (€)"}
    frame = base.production.rename(columns=names)
    frame.to_parquet(tmp_path / "log.parquet")
    reference = pd.read_parquet(base.config.parent / "training.parquet").rename(columns=names)
    reference.to_parquet(tmp_path / "training.parquet")
    text = _config(base, tmp_path, "log.parquet", timestamp=names["ts"]).read_text()
    text = text.replace(json.dumps(str(base.config.parent / "training.parquet")),
                        json.dumps(str(tmp_path / "training.parquet")))
    for old, new in names.items():
        if old != "ts":
            text = text.replace(f'"{old}"', json.dumps(new, ensure_ascii=False))
    config = tmp_path / "incident.toml"
    config.write_text(text, encoding="utf-8")
    got = _run(config, capsys)
    assert got["onset"] == expected["onset"]
    assert got["hypotheses"][0]["feature"] == names["basket_value"]
    assert {d["feature"] for d in got["drift"]} >= {names["basket_value"], names["region"]}


def test_nested_columns_that_are_not_features_are_skipped_with_a_note(base, tmp_path,
                                                                      capsys):
    frame = base.production.assign(tags=[["a", "b"]] * len(base.production))
    frame.to_parquet(tmp_path / "log.parquet")
    got = _run(_config(base, tmp_path, "log.parquet"), capsys)
    assert any("'tags' (VARCHAR[])" in note for note in got["notes"])
    assert "tags" not in {d["feature"] for d in got["drift"]}


def test_rows_without_timestamps_are_left_out_with_a_note(base, expected, tmp_path, capsys):
    frame = pd.concat([base.production, base.production.iloc[:7].assign(ts=pd.NaT)])
    frame.to_parquet(tmp_path / "log.parquet")
    got = _run(_config(base, tmp_path, "log.parquet"), capsys)
    assert got.pop("notes") == [f"7 of {len(frame)} rows of the production log have no "
                                "timestamp ('ts' is null) and are left out."]
    assert got == {k: v for k, v in expected.items() if k != "notes"}


def test_feature_types_as_pandas_and_arrow_write_them(base, tmp_path, capsys):
    """Nullable integers, booleans, decimals, categoricals, large strings and a
    high-cardinality text column are all binned, each with the kind it should have."""
    rng = np.random.default_rng(5)
    n = len(base.production)

    def odd(frame: pd.DataFrame, rows: int) -> pa.Table:
        small = pd.array(rng.integers(0, 5, rows), dtype="Int8")
        small[rng.random(rows) < 0.1] = pd.NA
        extra = pd.DataFrame({
            "small_int": small,
            "flag": rng.random(rows) < 0.3,
            "tier": pd.Categorical(rng.choice(["gold", "silver", "bronze"], rows)),
            "account": [f"acct-{i}" for i in rng.integers(0, 50_000, rows)],
        })
        table = pa.Table.from_pandas(pd.concat([frame.reset_index(drop=True), extra], axis=1),
                                     preserve_index=False)
        amounts = pa.array([None if i % 17 == 0 else round(float(v), 2)
                            for i, v in enumerate(rng.gamma(2.0, 30.0, rows))])
        table = table.append_column("amount", amounts.cast(pa.decimal128(12, 2)))
        return table.append_column("note", pa.array(["free text"] * rows, pa.large_string()))

    pq.write_table(odd(base.production, n), tmp_path / "log.parquet")
    reference = pd.read_parquet(base.config.parent / "training.parquet")
    pq.write_table(odd(reference, len(reference)), tmp_path / "training.parquet")
    text = _config(base, tmp_path, "log.parquet").read_text().replace(
        json.dumps(str(base.config.parent / "training.parquet")),
        json.dumps(str(tmp_path / "training.parquet")))
    (tmp_path / "incident.toml").write_text(text)
    got = _run(tmp_path / "incident.toml", capsys)
    kinds = {d["feature"]: d["kind"] for d in got["drift"]}
    assert kinds["small_int"] == "numeric" and kinds["amount"] == "numeric"
    assert {kinds[c] for c in ("flag", "tier", "account", "note")} == {"categorical"}
    drift = {d["feature"]: d for d in got["drift"]}
    assert drift["small_int"]["null_rate_current"] == pytest.approx(0.1, abs=0.03)
    assert drift["amount"]["mean_current"] == pytest.approx(60.0, rel=0.1)
    assert got["hypotheses"][0]["feature"] == "basket_value"
