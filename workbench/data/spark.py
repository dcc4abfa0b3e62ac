"""The Spark engine: the query layer's SQL run on a SparkSession, local or on a cluster.

The builders in `workbench.data.queries` write DuckDB SQL; `translate` turns each query into
Spark SQL with SQLGlot and a few rewrites where a plain transpile would change the answer:

- `epoch_us(ts)` becomes `unix_micros(CAST(ts AS TIMESTAMP))` (the session's time zone is UTC,
  so naive and zoned timestamps give the same integers DuckDB gives);
- `isfinite(x)` becomes `abs(x) < Infinity` (NULL stays NULL, NaN and infinities are false);
- `quantile_cont(x, [p...])` becomes Spark's exact `percentile(x, array(p...))` (the same
  linear interpolation between order statistics, never the approximate one);
- `hash(...)`, which orders seeded samples and picks hash-modulo subsets, becomes `wb_hash`, a
  vectorised Arrow UDF computing DuckDB's own 64-bit hash bit for bit (`duckdb_hash`), so
  both engines draw the same sample rows;
- `ORDER BY ALL` becomes the select list's positions.

Values stay out of the text: strings are Spark named parameters (`:p0`, bound by
`spark.sql(..., args=...)`); numbers, which cannot carry SQL, are written as typed literals
(integers as integers, floats as DOUBLE literals, lists of floats as arrays of them).
Identifiers are the quoted names `LogStore` validated against the real schema.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.config import SourceSpec
from workbench.data import queries
from workbench.data.engines import EngineNotSupportedError
from workbench.data.files import check_csv_headers, source_files
from workbench.data.queries import POSITIVE_TABLE, Sql
from workbench.exceptions import DataSourceError

try:  # the engine is an optional extra: `pip install 'ml-incident-workbench[spark]'`
    from pyspark.errors import (
        AnalysisException,
        ArithmeticException,
        DateTimeException,
        NumberFormatException,
        SparkRuntimeException,
    )
except ImportError:  # pragma: no cover - checked when the engine is made
    AnalysisException = ArithmeticException = DateTimeException = RuntimeError  # type: ignore
    NumberFormatException = SparkRuntimeException = RuntimeError  # type: ignore

SPARK_DATA_ERRORS: tuple[type[BaseException], ...] = (
    NumberFormatException, ArithmeticException, DateTimeException, SparkRuntimeException)

# Defaults under any [engine] conf: UTC like DuckDB's session, Arrow transfers, no web UI.
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",  # the CLI's progress line, not Spark's warnings, on stderr
}
DEFAULT_MASTER = "local[*]"

_lock = threading.Lock()


class SparkUnavailableError(EngineNotSupportedError):
    """The Spark engine was asked for but PySpark (or Java) is not installed."""


# ---- DuckDB's hash, bit for bit ----------------------------------------------------------------

_M = np.uint64(0xD6E8FEB86659FD93)
_NULL_HASH = np.uint64(0xBF58476D1CE4E5B9)
_S32 = np.uint64(32)


def _murmur64(x: np.ndarray) -> np.ndarray:
    """DuckDB's MurmurHash64 finaliser on uint64 values (wrapping arithmetic)."""
    x = x ^ (x >> _S32)
    x = x * _M
    x = x ^ (x >> _S32)
    x = x * _M
    return x ^ (x >> _S32)


def _hash_bytes(data: bytes) -> int:
    """DuckDB's hash of a string's UTF-8 bytes (8-byte little-endian blocks, zero-padded)."""
    m = 0xD6E8FEB86659FD93
    mask = (1 << 64) - 1
    h = (0xE17A1465 ^ (len(data) * 0xC6A4A7935BD1E995)) & mask
    for i in range(0, len(data), 8):
        block = int.from_bytes(data[i:i + 8].ljust(8, b"\0"), "little")
        h = ((h ^ block) * m) & mask
    h ^= h >> 32
    h = (h * m) & mask
    h ^= h >> 32
    h = (h * m) & mask
    return h ^ (h >> 32)


_WIDEST = 256  # strings up to this many bytes are hashed vectorised, longer ones one by one


def _string_hash(arr: pa.Array) -> np.ndarray:
    """DuckDB's hash of each string: the bytes as zero-padded 8-byte blocks, all rows at once."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else \
        np.zeros(0, dtype=np.uint8)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.where(valid, lengths, 0)
    short = lengths <= _WIDEST
    width = int(-(-max(int(lengths[short].max(initial=0)), 1) // 8) * 8)
    cols = np.arange(width)
    inside = cols[None, :] < lengths[:, None]
    index = np.where(inside, offsets[:-1, None] + cols[None, :], 0)
    padded = np.where(inside & short[:, None], data[index] if len(data) else 0, 0)
    blocks = np.ascontiguousarray(padded.astype(np.uint8)).view("<u8")
    h = np.uint64(0xE17A1465) ^ (lengths.astype(np.uint64) * np.uint64(0xC6A4A7935BD1E995))
    for k in range(blocks.shape[1]):
        used = k * 8 < lengths
        h = np.where(used, (h ^ blocks[:, k]) * _M, h)
    h = _murmur64(h)
    for i in np.flatnonzero(valid & ~short):  # rare long strings
        h[i] = _hash_bytes(arr[int(i)].as_py().encode())
    return np.where(valid, h, _NULL_HASH)


def _column_hash(arr: pa.Array) -> np.ndarray:
    """DuckDB's per-value hash of one column (its NULL hash where null)."""
    kind = arr.type
    if pa.types.is_dictionary(kind):
        arr = arr.dictionary_decode()
        kind = arr.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _string_hash(arr.cast(pa.large_string()))
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_floating(kind):
        wide = pa.types.is_float64(kind)
        values = arr.fill_null(0).to_numpy(zero_copy_only=False).astype(
            np.float64 if wide else np.float32)
        values = np.where(values == 0, values.dtype.type(0), values)  # -0 hashes as 0
        bits = values.view(np.uint64 if wide else np.uint32).copy()
        nan = np.isnan(values)
        bits[nan] = 0x7FF8000000000000 if wide else 0x7FC00000  # one quiet NaN
        h = _murmur64(bits.astype(np.uint64))
    elif pa.types.is_int64(kind) or pa.types.is_uint64(kind) or pa.types.is_timestamp(kind):
        h = _murmur64(arr.cast(pa.int64()).fill_null(0).to_numpy(
            zero_copy_only=False).view(np.uint64))
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_date32(kind):
        # Narrower values hash as their 32-bit pattern (sign-extended), as DuckDB does.
        ints = arr.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        h = _murmur64(ints.astype(np.int32).view(np.uint32).astype(np.uint64))
    else:
        raise EngineTypeError(f"hash() of a {kind} column is not supported on Spark yet.")
    return np.where(valid, h, _NULL_HASH)


class EngineTypeError(EngineNotSupportedError):
    """A column type a Spark rewrite of a DuckDB function cannot take (DECIMAL, nested)."""


def duckdb_hash(columns: list[pa.Array]) -> np.ndarray:
    """DuckDB's `hash(c0, c1, ...)` of Arrow columns as uint64 (see DuckDB's vector_hash)."""
    with np.errstate(over="ignore"):
        h = _column_hash(columns[0])
        for col in columns[1:]:
            h = ((h ^ (h >> _S32)) * _M) ^ _column_hash(col)
    return h


def _hash_udf(keys: pa.Array) -> pa.Array:
    """`wb_hash(struct(...))`: DuckDB's hash shifted into the signed range (its order kept)."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    fields = [keys.field(i) for i in range(keys.type.num_fields)]
    signed = (duckdb_hash(fields) ^ np.uint64(1 << 63)).view(np.int64)
    return pa.array(signed, type=pa.int64())


# ---- DuckDB SQL to Spark SQL ---------------------------------------------------------------

def _literal(value: Any) -> Any:
    """A number (or list of numbers) as a typed Spark literal expression."""
    from sqlglot import exp

    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | np.integer):
        return exp.Literal.number(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            text = "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
            return exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build("DOUBLE"))
        text = repr(v)
        return exp.Literal.number(text if "e" in text or "E" in text else text + "E0")
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(float(v)) for v in value])
    if value is None:
        return exp.Null()
    raise TypeError(type(value))


def translate(q: Sql) -> tuple[str, dict[str, Any]]:
    """A built query as Spark SQL text and its named string parameters."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(q.text, read="duckdb")
    args: dict[str, Any] = {}

    def placeholder(node: exp.Expression) -> exp.Expression:
        name = node.name
        value = q.params[name]
        if isinstance(value, str):
            args[name] = value
            return node
        return _literal(value)

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Placeholder) and \
                isinstance(q.params.get(node.this.name), list | tuple):
            return _literal(q.params[node.this.name])
        if isinstance(node, exp.Placeholder) and node.name in q.params:
            return placeholder(node)
        if isinstance(node, exp.Anonymous):
            name = str(node.this).lower()
            items = node.expressions
            if name == "epoch_us":
                return exp.func("unix_micros", exp.Cast(this=items[0],
                                                        to=exp.DataType.build("TIMESTAMP")))
            if name == "epoch_ns":
                return exp.Mul(this=exp.func("unix_micros", exp.Cast(
                    this=items[0], to=exp.DataType.build("TIMESTAMP"))),
                    expression=exp.Literal.number(1000))
            if name == "isfinite":
                return exp.Paren(this=exp.LT(
                    this=exp.Abs(this=items[0]),
                    expression=exp.Cast(this=exp.Literal.string("Infinity"),
                                        to=exp.DataType.build("DOUBLE"))))
            if name == "hash":
                return exp.func("wb_hash", exp.func("struct", *items))
        if isinstance(node, exp.Mod) and isinstance(node.this, exp.Anonymous) and \
                str(node.this.this).lower() == "wb_hash":
            # DuckDB's hash is unsigned: h mod m from the signed h - 2**63 (no overflow).
            h, m = node.this, node.expression
            inner = exp.Add(this=exp.Add(this=exp.func("pmod", h, m.copy()),
                                         expression=exp.func("pmod", exp.Literal.number(
                                             (1 << 63) - 1), m.copy())),
                            expression=exp.Literal.number(1))
            return exp.func("pmod", inner, m.copy())
        if isinstance(node, exp.PercentileCont):
            return exp.func("percentile", node.this, node.expression)
        return node

    # A pass does not descend into what it replaced (sqlglot prunes there), so nested calls
    # (isfinite inside quantile_cont, hash inside a modulo) take further passes; no rewrite
    # matches its own output, so the text settles.
    text = tree.sql(dialect="spark")
    for _ in range(20):
        tree = tree.transform(rewrite)
        again = tree.sql(dialect="spark")
        if again == text:
            break
        text = again
    for select in tree.find_all(exp.Select):
        order = select.args.get("order")
        if order is not None and len(order.expressions) == 1 and \
                isinstance(order.expressions[0].this, exp.Var) and \
                order.expressions[0].this.name.upper() == "ALL":
            select.set("order", exp.Order(expressions=[
                exp.Ordered(this=exp.Literal.number(i + 1), nulls_first=False)
                for i in range(len(select.expressions))]))
    text = tree.sql(dialect="spark")
    if text.startswith("CREATE OR REPLACE VIEW"):
        text = "CREATE OR REPLACE TEMPORARY VIEW" + text[len("CREATE OR REPLACE VIEW"):]
    return text, args


# ---- Spark types in DuckDB's names ---------------------------------------------------------

def duck_type(dtype: Any) -> str:
    """A Spark data type under the DuckDB name `workbench.data.schema` understands."""
    from pyspark.sql import types as T

    simple = {T.ByteType: "TINYINT", T.ShortType: "SMALLINT", T.IntegerType: "INTEGER",
              T.LongType: "BIGINT", T.FloatType: "FLOAT", T.DoubleType: "DOUBLE",
              T.StringType: "VARCHAR", T.BooleanType: "BOOLEAN", T.DateType: "DATE",
              T.BinaryType: "BLOB", T.TimestampNTZType: "TIMESTAMP",
              T.TimestampType: "TIMESTAMP WITH TIME ZONE", T.NullType: "NULL"}
    for cls, name in simple.items():
        if type(dtype) is cls:
            return name
    if isinstance(dtype, T.DecimalType):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, T.ArrayType):
        return f"{duck_type(dtype.elementType)}[]"
    if isinstance(dtype, T.StructType):
        return "STRUCT(" + ", ".join(f"{f.name} {duck_type(f.dataType)}"
                                     for f in dtype.fields) + ")"
    if isinstance(dtype, T.MapType):
        return f"MAP({duck_type(dtype.keyType)}, {duck_type(dtype.valueType)})"
    if isinstance(dtype, T.VarcharType | T.CharType):
        return "VARCHAR"
    return dtype.simpleString().upper()


def _parquet_schema(files: list[str], folder: Path | None) -> Any:
    """The Spark schema of local Parquet files, their footers' columns merged by name (as
    DuckDB's union_by_name), or None when a footer cannot be read here (Spark then merges)."""
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import from_arrow_schema

    try:
        schemas = [pq.read_schema(f) for f in files]
        merged = pa.unify_schemas(schemas, promote_options="permissive")
    except (OSError, pa.ArrowException):
        return None
    if folder is not None:  # Hive partition columns come from the paths: Spark infers them
        return None
    try:
        return from_arrow_schema(merged, prefer_timestamp_ntz=True)
    except (TypeError, ValueError):
        return None


# ---- the session ---------------------------------------------------------------------------

def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """The process's SparkSession (made on first use with `master` and `conf`)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailableError(
            "The Spark engine needs PySpark: pip install 'ml-incident-workbench[spark]' (and a "
            "Java 17+ runtime on the PATH).") from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        builder = SparkSession.builder.master(master or DEFAULT_MASTER).appName("workbench")
        for key, value in {**BASE_CONF, **(conf or {})}.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - no Java, a bad master URL: say which
            raise SparkUnavailableError(
                f"Spark could not start (master {master or DEFAULT_MASTER!r}): "
                f"{str(exc).strip().splitlines()[0][:300]}. Spark 4 needs Java 17 or later "
                f"on the PATH (or JAVA_HOME).") from exc
        session.sparkContext.setLogLevel("ERROR")
        return session


class SparkEngine:
    """Queries on a Spark session of its own (temporary views and conf kept apart from other
    stores), sharing the process's SparkContext."""

    kind = "spark"

    def __init__(self, master: str | None = None, conf: dict[str, str] | None = None,
                 session: Any = None) -> None:
        root = session or spark_session(master, conf)
        self.spark = root.newSession()
        for key, value in {**BASE_CONF, **(conf or {})}.items():
            if key.startswith("spark.sql."):
                self.spark.conf.set(key, value)
        from pyspark.sql.functions import arrow_udf

        self.spark.udf.register("wb_hash", arrow_udf(_hash_udf, "bigint"))
        self._duck: Any = None

    # ---- sources

    def register(self, view: str, spec: SourceSpec, what: str) -> None:
        try:
            frame = self._read(spec, what)
            frame.createOrReplaceTempView(view)
            self.spark.sql(queries.view_query("probe", view).text).collect()
        except (AnalysisException, SparkRuntimeException) as exc:
            first = str(exc).strip().splitlines()[0]
            raise DataSourceError(
                f"The {what} {spec.describe()!r} cannot be read as {spec.kind} on Spark: "
                f"{first}. Check that the file is complete and of that format."
            ) from exc

    def _read(self, spec: SourceSpec, what: str) -> Any:
        if spec.kind == "duckdb":
            raise DataSourceError(
                f"The {what} {spec.describe()!r} is a table in a DuckDB file, which Spark "
                f"cannot read. Export it to Parquet, or use [engine] kind = \"duckdb\".")
        reader = self.spark.read
        folder = Path(spec.folder) if spec.folder is not None and not spec.remote else None
        if folder is not None and (folder / "_delta_log").is_dir():
            if importlib.util.find_spec("delta") is None:
                raise DataSourceError(
                    f"The {what} {spec.describe()!r} is a Delta table: install delta-spark "
                    f"and configure the session for it to read it on Spark.")
            return reader.format("delta").load(str(folder))
        if spec.remote:  # the cluster's connectors list the store (s3a://, abfss://, ...)
            files = [spec.folder or spec.path]
            if spec.folder is not None:
                reader = reader.option("basePath", spec.folder)
        else:
            files = source_files(spec, what)
        if folder is not None:
            reader = reader.option("basePath", str(folder))
        if spec.kind == "parquet":
            schema = None if spec.remote else _parquet_schema(files, folder)
            if schema is not None:  # merged from the footers here: no schema job on Spark
                return reader.schema(schema).parquet(*files)
            return reader.option("mergeSchema", "true").parquet(*files)
        if not spec.remote:
            check_csv_headers(files, spec, what)
        options = dict(spec.csv_options)
        names = {"delim": "sep", "quote": "quote", "escape": "escape", "comment": "comment",
                 "encoding": "encoding", "timestampformat": "timestampFormat",
                 "dateformat": "dateFormat", "nullstr": "nullValue"}
        reader = reader.option("header", str(options.get("header", True)).lower()) \
            .option("inferSchema", "true")
        for key, value in options.items():
            if key in names:
                reader = reader.option(names[key], str(value))
        return reader.csv(files)

    def schema(self, view: str) -> dict[str, str]:
        return {f.name: duck_type(f.dataType) for f in self.spark.table(view).schema.fields}

    # ---- queries

    def run(self, q: Sql) -> pd.DataFrame:
        text, args = translate(q)
        with warnings.catch_warnings():  # PySpark's notice about pandas 3, on every call
            warnings.simplefilter("ignore", FutureWarning)
            frame = self.spark.sql(text, args=args or None).toPandas()
        for col in frame.columns:  # arrays (quantiles) arrive as numpy arrays, as in DuckDB
            if frame[col].dtype == object and len(frame) and \
                    isinstance(frame[col].iloc[0], list):
                frame[col] = frame[col].map(lambda v: None if v is None else np.asarray(v))
        return frame

    def execute(self, q: Sql) -> None:
        text, args = translate(q)
        self.spark.sql(text, args=args or None)

    def set_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        assert table == POSITIVE_TABLE  # a fixed name, never user text
        schema = ", ".join(f"`{c}` STRING" for c in columns)
        self.spark.createDataFrame(rows, schema=schema).createOrReplaceTempView(table)

    def batches(self, q: Sql, batch_rows: int) -> Iterator[pd.DataFrame]:
        text, args = translate(q)
        frame = self.spark.sql(text, args=args or None)
        names = frame.columns
        rows: list[tuple] = []
        for row in frame.toLocalIterator(prefetchPartitions=False):
            rows.append(tuple(row))
            if len(rows) >= batch_rows:
                yield pd.DataFrame.from_records(rows, columns=names)
                rows = []
        if rows:
            yield pd.DataFrame.from_records(rows, columns=names)

    def metadata_connection(self) -> Any:
        """An in-memory DuckDB connection for the local files' metadata checks."""
        if self._duck is None:
            import duckdb

            self._duck = duckdb.connect(":memory:")
        return self._duck

    def close(self) -> None:
        """Drop this engine's views; the shared SparkContext stays for the next store."""
        for table in self.spark.catalog.listTables():
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)
        if self._duck is not None:
            self._duck.close()
