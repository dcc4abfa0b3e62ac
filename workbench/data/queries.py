"""SQL text of every query the workbench runs, built from validated identifiers and parameters.

All SQL lives in this module so another engine can be added behind `LogStore` without touching
its callers. Identifiers come only from `Roles`/`FeatureSpec` (checked against the real schema) and
are quoted; every value (times, bin edges, categories, thresholds) is a `?` parameter. The SQL is
plain ANSI plus DuckDB's `epoch_us`, `quantile_cont`, `isnan`, `isfinite` and `GROUPING SETS`,
all of which SQLGlot can transpile to Spark SQL (`unix_micros`, `percentile`, ...).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workbench.data.schema import ColumnKind, FeatureSpec, Roles, check_column, quote_ident

# Bin ids shared by every binned query: 0 = null/NaN, 1 = below the reference range (or an
# unseen category), 2..k+1 = reference bins, k+2 = above the reference range.
NULL_BIN = 0
LOW_BIN = 1
OK_STATUS = ("ok", "success", "succeeded", "200", "true")


@dataclass
class Sql:
    """A query under construction: text plus its named parameters ($p0, $p1, ...)."""

    parts: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def p(self, value: Any) -> str:
        """Register a parameter and return its placeholder."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return "$" + name

    @property
    def text(self) -> str:
        """The SQL text."""
        return " ".join(self.parts)


@dataclass(frozen=True)
class BinSpec:
    """How one feature is binned: numeric edges or categorical levels chosen on the reference."""

    feature: FeatureSpec
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        """Total number of bin ids, null/under/over (or null/other) included."""
        if self.feature.kind is ColumnKind.NUMERIC:
            return len(self.edges) + 2 if len(self.edges) >= 2 else 4
        return len(self.levels) + 2


def num(col: str) -> str:
    """A numeric column as DOUBLE with NaN and infinities kept (callers decide)."""
    return f"CAST({quote_ident(col)} AS DOUBLE)"


def finite(col: str) -> str:
    """A numeric column as DOUBLE with NaN/inf turned into NULL."""
    return f"CASE WHEN isfinite({num(col)}) THEN {num(col)} END"


_EPOCH = datetime(1970, 1, 1)


def micros(value: datetime) -> int:
    """A naive-UTC datetime as integer microseconds since the Unix epoch."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def ts_expr(roles: Roles) -> str:
    """The timestamp as integer microseconds since the epoch (UTC).

    Integer arithmetic keeps bucketing and window filters free of per-row time-zone work, which
    is several times faster than casting TIMESTAMPTZ values.
    """
    return f"epoch_us({quote_ident(roles.timestamp)})"


def bucket_expr(q: Sql, roles: Roles, bucket_seconds: int) -> str:
    """Index of the epoch-aligned time bucket of each row."""
    return f"({ts_expr(roles)} // {q.p(int(bucket_seconds) * 1_000_000)})"


def where_window(q: Sql, roles: Roles, start: datetime | None, end: datetime | None) -> str:
    """WHERE clause restricting rows to [start, end)."""
    conds = ["TRUE"]
    if start is not None:
        conds.append(f"{ts_expr(roles)} >= {q.p(micros(start))}")
    if end is not None:
        conds.append(f"{ts_expr(roles)} < {q.p(micros(end))}")
    return " AND ".join(conds)


def window_case(q: Sql, roles: Roles,
                windows: list[tuple[str, datetime | None, datetime | None]]) -> tuple[str, str]:
    """(CASE naming each row's window, the condition keeping rows inside any window) for
    disjoint (name, start, end) windows."""
    whens, conds = [], []
    for name, start, end in windows:
        cond = where_window(q, roles, start, end)
        conds.append(f"({cond})")
        whens.append(f"WHEN {cond} THEN {q.p(name)}")
    return f"CASE {' '.join(whens)} END", " OR ".join(conds)


def decision_expr(q: Sql, roles: Roles, threshold: float) -> str:
    """1 when the logged decision is positive (or the score reaches the threshold), else 0."""
    if roles.decision is not None:
        return f"CASE WHEN CAST({quote_ident(roles.decision)} AS DOUBLE) > 0 THEN 1 ELSE 0 END"
    return f"CASE WHEN {finite(roles.prediction)} >= {q.p(float(threshold))} THEN 1 ELSE 0 END"


def label_expr(roles: Roles) -> str:
    """Ground truth: 0/1 for classification, the value for regression; NULL when unknown."""
    assert roles.label is not None
    if roles.task == "classification":
        return (
            f"CASE WHEN {num(roles.label)} IS NULL THEN NULL "
            f"WHEN {num(roles.label)} > 0.5 THEN 1 ELSE 0 END"
        )
    return finite(roles.label)


def status_error_expr(roles: Roles) -> str:
    """1 when the serving status says the request did not succeed."""
    assert roles.status is not None
    col = quote_ident(roles.status)
    oks = ", ".join("'" + s + "'" for s in OK_STATUS)  # constants, not user input
    return (
        f"CASE WHEN {col} IS NULL THEN 0 "
        f"WHEN TRY_CAST({col} AS DOUBLE) IS NOT NULL THEN "
        f"CASE WHEN TRY_CAST({col} AS DOUBLE) >= 400 THEN 1 ELSE 0 END "
        f"WHEN lower(CAST({col} AS VARCHAR)) IN ({oks}) THEN 0 ELSE 1 END"
    )


# ---- sources ----------------------------------------------------------------------------------

# The views the store registers; the only table names its introspection queries take.
VIEWS = ("production", "reference", "production_source", "reference_source", "changes")


def view_query(kind: str, view: str) -> Sql:
    """An introspection query on one registered view: "describe" (its schema), "probe" (reads
    nothing, fails early on an unreadable source) or "count" (its rows)."""
    assert view in VIEWS, view  # a fixed name, never user text
    q = Sql()
    q.parts.append({"describe": f"DESCRIBE {view}", "probe": f"SELECT * FROM {view} LIMIT 0",
                    "count": f"SELECT count(*) AS n FROM {view}"}[kind])
    return q


def set_threads(threads: int) -> Sql:
    """DuckDB's thread count (SET takes no parameter; the value is a checked integer)."""
    q = Sql()
    q.parts.append(f"SET threads = {max(int(threads), 1)}")
    return q


def attach_read_only(path: str, alias: str) -> Sql:
    """Attach a DuckDB file read-only under a generated alias (ATTACH takes no parameter: the
    path is written as an escaped SQL literal)."""
    assert re.fullmatch(r"src_\d+", alias), alias  # generated by the engine, never user text
    q = Sql()
    q.parts.append(f"ATTACH {sql_literal(path)} AS {alias} (READ_ONLY)")
    return q


def attached_table(alias: str, table: str) -> Sql:
    """Every row of a table of an attached file (the name checked against its tables)."""
    assert re.fullmatch(r"src_\d+", alias), alias
    q = Sql()
    q.parts.append(f"SELECT * FROM {alias}.{quote_ident(table)}")
    return q


# Options a secret of the object stores may carry (see `workbench.data.remote`).
SECRET_OPTIONS = ("KEY_ID", "SECRET", "SESSION_TOKEN", "REGION", "ENDPOINT", "URL_STYLE",
                  "USE_SSL")


def create_secret(name: str, kind: str, options: list[tuple[str, Any]]) -> Sql:
    """A temporary DuckDB secret for an object store (CREATE SECRET takes no parameter: values
    are escaped SQL literals, option names and the type from fixed lists)."""
    assert re.fullmatch(r"workbench_[a-z0-9]+", name) and kind in ("s3", "gcs"), (name, kind)
    parts = [f"TYPE {kind}"]
    for key, value in options:
        assert key in SECRET_OPTIONS, key
        text = str(value).lower() if isinstance(value, bool) else sql_literal(value)
        parts.append(f"{key} {text}")
    q = Sql()
    q.parts.append(f"CREATE OR REPLACE SECRET {name} ({', '.join(parts)})")
    return q


def load_extension(name_or_path: str) -> Sql:
    """LOAD of an installed extension by name, or of an extension file by path (a literal)."""
    q = Sql()
    target = name_or_path if re.fullmatch(r"[a-z_]+", name_or_path) else sql_literal(name_or_path)
    q.parts.append(f"LOAD {target}")
    return q


def remote_listing() -> Sql:
    """Path, size and modification time (microseconds) of the objects matching $pattern, from
    the store's listing (read_blob reads no content when none is selected)."""
    q = Sql()
    q.parts.append("SELECT filename, size, epoch_us(last_modified) FROM read_blob($pattern) "
                   "ORDER BY filename")
    return q


# The engine's own table of a text label's positive values (see `LogStore._set_positive`).
POSITIVE_TABLE = "_wb_positive"


def positive_table(columns: list[str]) -> tuple[Sql, Sql]:
    """(create the positive-values table with these text columns, insert one row of named
    parameters $v0, $v1, ...)."""
    cols = ", ".join(f"{quote_ident(c)} VARCHAR" for c in columns)
    create, insert = Sql(), Sql()
    create.parts.append(f"CREATE OR REPLACE TABLE {POSITIVE_TABLE} ({cols})")
    marks = ", ".join(f"$v{i}" for i in range(len(columns)))
    insert.parts.append(f"INSERT INTO {POSITIVE_TABLE} VALUES ({marks})")
    return create, insert


def sql_literal(text: str) -> str:
    """A string as a single-quoted SQL literal (quotes doubled), for statements without
    parameters."""
    return "'" + str(text).replace("'", "''") + "'"


def hash_sample(keys: str, modulus: int) -> str:
    """The condition keeping the rows whose hash of `keys` (checked expressions) is 0 modulo
    `modulus`: a deterministic 1/modulus sample. The modulus, an integer of the program, is a
    literal: as a parameter it doubled the time of a sampled quantile query."""
    return f"hash({keys}) % {max(int(modulus), 1)} = 0"


def float_list_literal(values: list[float]) -> str:
    """Finite numbers as a DOUBLE[] literal. For constants of the program (quantile
    probabilities): DuckDB folds a literal list, while a list parameter makes quantile_cont
    over a sample twice as slow."""
    numbers = [float(v) for v in values]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"not finite: {values!r}")
    return "[" + ", ".join(repr(v) for v in numbers) + "]::DOUBLE[]"


def read_csv(options: list[tuple[str, Any]]) -> Sql:
    """DuckDB's CSV reader over the files in parameter `files`, with the configured options
    (names from `config.CSV_OPTIONS`, values as parameters)."""
    from workbench.config import CSV_OPTIONS

    q = Sql()
    q.params["files"] = None  # filled by the caller
    args = ["$files", "union_by_name = true"]
    for key, value in options:
        assert key in CSV_OPTIONS  # a fixed option name, never user text
        args.append(f"{key} = {q.p(list(value) if isinstance(value, tuple) else value)}")
    q.parts.append(f"SELECT * FROM read_csv({', '.join(args)})")
    return q


# ---- source normalisation: the views every other query reads ----------------------------------

def timestamp_profile(column: str, kind: str, view: str = "production_source") -> Sql:
    """Rows, non-null timestamps and what the rule needs: for text, how many values are not
    ISO-8601 times (and one of them); for epochs, the smallest and largest value."""
    q = Sql()
    col = quote_ident(column)
    cols = ["count(*) AS n", f"count({col}) AS nn" if kind != "none" else "count(*) AS nn"]
    if kind == "text":
        parsed = f"TRY_CAST({col} AS TIMESTAMPTZ)"
        cols += [f"count({col}) - count({parsed}) AS bad",
                 f"min(CASE WHEN {col} IS NOT NULL AND {parsed} IS NULL THEN {col} END) "
                 "AS bad_example"]
    elif kind == "epoch":
        cols += [f"min({finite(column)}) AS lo", f"max({finite(column)}) AS hi"]
    assert view in ("production_source", "changes")
    q.parts.append(f"SELECT {', '.join(cols)} FROM {view}")
    return q


def change_log(time_rule: Any) -> Sql:
    """The change log's rows with normalised times, oldest first (rows without a time last)."""
    q = Sql()
    q.parts.append(
        f"SELECT {normalised_time('time', time_rule)} AS time, CAST(id AS VARCHAR) AS id, "
        "lower(CAST(kind AS VARCHAR)) AS kind, CAST(description AS VARCHAR) AS description "
        "FROM changes ORDER BY 1")
    return q


def distinct_values(view: str, column: str, limit: int) -> Sql:
    """The most frequent non-null values of a column as text (label/decision mapping)."""
    assert view in ("production_source", "reference_source")
    q = Sql()
    col = f"CAST({quote_ident(column)} AS VARCHAR)"
    q.parts.append(f"SELECT {col} AS value, count(*) AS n FROM {view} WHERE {col} IS NOT NULL "
                   f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {q.p(int(limit))}")
    return q


def label_values(column: str, limit: int) -> Sql:
    """The most frequent numeric values of the (normalised) label, with their counts."""
    q = Sql()
    col = num(column)
    q.parts.append(f"SELECT {col} AS value, count(*) AS n FROM production WHERE {col} IS NOT NULL "
                   f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {q.p(int(limit))}")
    return q


def outcome_profile(roles: Roles) -> Sql:
    """Range and counts of the finite predictions (all, and those in [0, 1]), non-finite ones
    and labelled rows."""
    q = Sql()
    pred = finite(roles.prediction)
    raw = num(roles.prediction)
    label = f"count({num(roles.label)})" if roles.label is not None else "0"
    q.parts.append(
        f"SELECT min({pred}) AS pred_lo, max({pred}) AS pred_hi, count({pred}) AS n_pred, "
        f"count(CASE WHEN {pred} BETWEEN 0 AND 1 THEN 1 END) AS n_unit, "
        f"count({raw}) - count({pred}) AS n_nonfinite, {label} AS n_label FROM production")
    return q


def normalised_time(column: str, rule: Any) -> str:
    """SQL turning a timestamp column into a naive-UTC TIMESTAMP under a `TimeRule`.

    Integer epoch arithmetic (epoch_us/make_timestamp) rather than time-zone casts keeps the
    per-row cost at a few integer operations.
    """
    col = quote_ident(column)
    if rule.kind == "timestamp":
        return col
    if rule.kind == "cast":
        return f"CAST({col} AS TIMESTAMP)"
    if rule.kind == "tz":
        return f"make_timestamp(epoch_us({col}))"
    if rule.kind == "tz_ns":
        return f"make_timestamp(epoch_ns({col}) // 1000)"
    if rule.kind == "text":
        return f"make_timestamp(epoch_us(TRY_CAST({col} AS TIMESTAMPTZ)))"
    assert rule.kind == "epoch"
    scale = {"s": "* 1000000", "ms": "* 1000", "us": "", "ns": "/ 1000"}[rule.unit]
    return f"make_timestamp(CAST(round({num(column)} {scale}) AS BIGINT))"


def normalised_binary(column: str, role: str, rule: Any) -> str:
    """SQL turning a label or decision into 0/1 under a `BinaryRule` (NULL stays NULL).

    The positive value is read from the `_wb_positive` table the store fills with parameters,
    since a view's text cannot hold parameters.
    """
    col = quote_ident(column)
    if rule.kind == "boolean":  # not a CAST: DuckDB would push it into a CSV scan and fail
        return f"CASE WHEN {col} THEN 1 WHEN NOT {col} THEN 0 END"
    positive = f"(SELECT v FROM {POSITIVE_TABLE} WHERE role = '{role}')"  # role: a constant
    if rule.kind == "number":
        test = f"CAST({col} AS DOUBLE) = CAST({positive} AS DOUBLE)"
    elif rule.fold_case:
        test = f"lower(CAST({col} AS VARCHAR)) = {positive}"
    else:
        test = f"CAST({col} AS VARCHAR) = {positive}"
    return f"CASE WHEN {col} IS NULL THEN NULL WHEN {test} THEN 1 ELSE 0 END"


def normalised_view(name: str, source: str, schema: dict[str, str], *,
                    timestamp: tuple[str, Any] | None, binaries: list[tuple[str, str, Any]],
                    drop: list[str], skip_null_time: bool = False) -> Sql:
    """CREATE VIEW `name` over `source`: the timestamp and binaries replaced by their normalised
    form, the `drop` columns left out, rows without a timestamp skipped when asked.

    binaries: (column, role, BinaryRule) with role "label" or "decision".
    """
    assert name in ("production", "reference") and source in ("production_source",
                                                               "reference_source")
    for column in [*(c for c, _, _ in binaries), *drop, *([timestamp[0]] if timestamp else [])]:
        check_column(column, schema, "normalised column", source)
    replaced = {}
    if timestamp is not None:
        replaced[timestamp[0]] = normalised_time(timestamp[0], timestamp[1])
    for column, role, rule in binaries:
        assert role in ("label", "decision")
        replaced[column] = normalised_binary(column, role, rule)
    # An explicit column list in the source's order (not `* EXCLUDE/REPLACE`): plain SQL that
    # every engine reads alike.
    select = ", ".join(f"{replaced[c]} AS {quote_ident(c)}" if c in replaced else quote_ident(c)
                       for c in schema if c not in drop)
    where = ""
    if skip_null_time and timestamp is not None:
        where = f" WHERE {quote_ident(timestamp[0])} IS NOT NULL"
    q = Sql()
    q.parts.append(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM (SELECT {select} FROM "
                   f"{source}){where}")
    return q


def outcome_aggregates(q: Sql, roles: Roles, threshold: float) -> list[str]:
    """Count columns every metric is derived from (confusion counts or error sums)."""
    pred = finite(roles.prediction)
    dec = decision_expr(q, roles, threshold)
    aggs = [
        "count(*) AS n",
        f"count({pred}) AS n_scored",
        f"sum({pred}) AS score_sum",
        f"sum({pred} * {pred}) AS score_sumsq",
        f"sum({dec}) AS decision_pos",
    ]
    if roles.label is None:
        return aggs
    lab = label_expr(roles)
    aggs += [f"count({lab}) AS n_labeled", f"sum({lab}) AS label_pos"]
    if roles.task == "classification":
        for name, (want_lab, want_dec) in {
            "tp": (1, 1), "fp": (0, 1), "fn": (1, 0), "tn": (0, 0)
        }.items():
            dec_again = decision_expr(q, roles, threshold)
            aggs.append(
                f"sum(CASE WHEN {lab} = {want_lab} AND {dec_again} = {want_dec} "
                f"THEN 1 ELSE 0 END) AS {name}"
            )
    else:
        aggs += [
            f"sum(abs({pred} - {lab})) AS abs_err_sum",
            f"sum(({pred} - {lab}) * ({pred} - {lab})) AS sq_err_sum",
            f"sum({pred} - {lab}) AS err_sum",
        ]
    return aggs


def bucket_counts(
    roles: Roles, threshold: float, bucket_seconds: int, start: datetime | None,
    end: datetime | None, segment: tuple[str, Any] | None = None,
) -> Sql:
    """Per time bucket: volume, score moments, decisions, confusion counts, serving signals."""
    q = Sql()
    bucket = bucket_expr(q, roles, bucket_seconds)
    aggs = outcome_aggregates(q, roles, threshold)
    if roles.task == "classification":
        pred = finite(roles.prediction)
        aggs.append(
            f"sum(CASE WHEN {pred} < 0 OR {pred} > 1 THEN 1 ELSE 0 END) AS score_out_of_range")
    if roles.latency is not None:
        lat = finite(roles.latency)
        aggs += [
            f"quantile_cont({lat}, 0.5) AS latency_p50",
            f"quantile_cont({lat}, 0.95) AS latency_p95",
        ]  # exact and, per bucket, faster here than approx_quantile
    if roles.status is not None:
        aggs.append(f"sum({status_error_expr(roles)}) AS status_errors")
    where = where_window(q, roles, start, end)
    if segment is not None:
        where += f" AND CAST({quote_ident(segment[0])} AS VARCHAR) = {q.p(str(segment[1]))}"
    q.parts.append(
        f"SELECT {bucket} AS bucket, {', '.join(aggs)} FROM production WHERE {where} "
        "GROUP BY 1 ORDER BY 1"
    )
    return q


def span(roles: Roles, start: datetime | None, end: datetime | None) -> Sql:
    """First and last timestamp and row count of the production log in a window."""
    q = Sql()
    ts = ts_expr(roles)
    q.parts.append(
        f"SELECT min({ts}) AS first_us, max({ts}) AS last_us, count(*) AS n FROM production "
        f"WHERE {where_window(q, roles, start, end)}"
    )
    return q


def reference_quantiles(features: list[FeatureSpec], probs: list[float], modulus: int = 1,
                        seed: int = 0) -> Sql:
    """Quantiles, min, max and non-null counts of numeric reference features.

    modulus > 1: the quantiles (q{i}, over ns{i} values) come from the rows whose seeded hash
    of the features' values is 0 modulo it, a sample that depends neither on the thread count
    nor on the engine; min, max and counts (lo, hi, n) always cover every row.
    """
    q = Sql()
    values = ", ".join(f"{finite(f.name)} AS _wb_v{i}" for i, f in enumerate(features))
    extremes = ", ".join(f"min(_wb_v{i}) AS lo{i}, max(_wb_v{i}) AS hi{i}, count(_wb_v{i}) AS n{i}"
                         for i in range(len(features)))
    quantiles = ", ".join(f"quantile_cont(_wb_v{i}, {float_list_literal(probs)}) AS q{i}, "
                          f"count(_wb_v{i}) AS ns{i}" for i in range(len(features)))
    if modulus <= 1:
        q.parts.append(f"SELECT count(*) AS n_rows, {extremes}, {quantiles} "
                       f"FROM (SELECT {values} FROM reference)")
        return q
    keys = ", ".join(quote_ident(f.name) for f in features)
    sample = hash_sample(f"{keys}, {int(seed)}::BIGINT", modulus)
    q.parts.append(
        f"SELECT * FROM (SELECT count(*) AS n_rows, {extremes} FROM (SELECT {values} "
        f"FROM reference)) AS _wb_all, (SELECT {quantiles} FROM (SELECT {values} "
        f"FROM reference WHERE {sample})) AS _wb_sample")
    return q


def top_levels(feature: FeatureSpec, limit: int) -> Sql:
    """Most frequent values of a categorical reference feature."""
    q = Sql()
    col = f"CAST({quote_ident(feature.name)} AS VARCHAR)"
    q.parts.append(
        f"SELECT {col} AS level, count(*) AS n FROM reference WHERE {col} IS NOT NULL "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {q.p(int(limit))}"
    )
    return q


def bin_expr(q: Sql, spec: BinSpec, value: str | None = None) -> str:
    """CASE expression mapping a value to its bin id (see NULL_BIN/LOW_BIN).

    value: an expression already holding the numeric feature as DOUBLE (a column of an inner
    projection), which keeps the expression small for wide logs; default: cast the column.
    """
    f = spec.feature
    if f.kind is ColumnKind.NUMERIC:
        x = value or num(f.name)
        edges = spec.edges
        if len(edges) < 2:  # degenerate reference: one value (or none)
            pivot = q.p(edges[0] if edges else 0.0)
            return (f"CASE WHEN {x} IS NULL OR isnan({x}) THEN {NULL_BIN} WHEN {x} < {pivot} "
                    f"THEN 1 WHEN {x} = {pivot} THEN 2 ELSE 3 END")
        # Bin k+2 holds [e_k, e_k+1); the last reference bin is closed; beyond it: overflow.
        uppers = [q.p(e) for e in edges[1:-1]]
        tree = _search(x, uppers, 2, len(edges))
        return (f"CASE WHEN {x} IS NULL OR isnan({x}) THEN {NULL_BIN} "
                f"WHEN {x} < {q.p(edges[0])} THEN {LOW_BIN} "
                f"WHEN {x} > {q.p(edges[-1])} THEN {len(edges) + 1} ELSE {tree} END")
    col = f"CAST({quote_ident(f.name)} AS VARCHAR)"
    parts = [f"WHEN {col} IS NULL THEN {NULL_BIN}"]
    for i, level in enumerate(spec.levels):
        parts.append(f"WHEN {col} = {q.p(level)} THEN {i + 2}")
    return f"CASE {' '.join(parts)} ELSE {LOW_BIN} END"


def _search(x: str, uppers: list[str], first: int, last: int) -> str:
    """Balanced CASE tree: bin ids first..last separated by upper edges (log2 comparisons)."""
    if first == last:
        return str(first)
    mid = (len(uppers) + 1) // 2  # uppers[mid - 1] splits the bins in two halves
    left = _search(x, uppers[: mid - 1], first, first + mid - 1)
    right = _search(x, uppers[mid:], first + mid, last)
    return f"(CASE WHEN {x} < {uppers[mid - 1]} THEN {left} ELSE {right} END)"


# Features whose bins share one aggregation of the rows in `binned_counts` (their joint cells,
# at most 23 x 23 per window, then summed per feature): 0.31 s for 16 features of 1 M rows where
# one aggregation per feature takes 0.45 s; three per cell is slower again (0.35 s).
FEATURES_PER_CELL = 2


def binned_counts(
    roles: Roles, specs: list[BinSpec], table: str, windows: list[tuple[str, datetime | None,
                                                                       datetime | None]],
    with_score: bool, threshold: float | None = None,
) -> Sql:
    """Counts (and score sums, value sums) per window and bin of every feature.

    windows: (name, start, end) triples, disjoint; rows outside every window are skipped.
    table: "production" or "reference" (reference rows form one window named windows[0][0]).
    Result rows: w, feature (index into specs; -1 for the window totals), bin, n, n_score,
    score_sum, score_sumsq, value_sum, value_sumsq; with a `threshold` (production only) also every
    outcome count of `outcome_aggregates` per bin, which the metric decomposition reads.

    Two levels: the rows are aggregated per joint cell of FEATURES_PER_CELL features' bins (a
    columnar scan reads only those columns), then each feature's bins and the window totals are
    summed over those few cells. One GROUPING SETS query instead computes every feature's sums
    in every feature's set (quadratic in the number of features; 5-10x slower at 25 features).
    """
    q = Sql()
    if table == "reference":
        wcase = q.p(windows[0][0])
        where = "TRUE"
    else:
        wcase, where = window_case(q, roles, windows)
    score = finite(roles.prediction) if with_score else "NULL::DOUBLE"
    source = "reference" if table == "reference" else "production"
    if threshold is not None and table == "production":
        aggs = [*outcome_aggregates(q, roles, threshold), "count(_wb_score) AS n_score"]
        rest = "*, "  # the log's columns, which the outcome counts read
    else:
        aggs = ["count(*) AS n", "count(_wb_score) AS n_score", "sum(_wb_score) AS score_sum",
                "sum(_wb_score * _wb_score) AS score_sumsq"]
        rest = ""

    def inner(extra: str = "", cast: str = "") -> str:
        return (f"SELECT {rest}{wcase} AS _wb_w, {score} AS _wb_score{extra} "
                f"FROM (SELECT *{cast} FROM {source} WHERE {where})")

    if not specs:
        q.parts.append(f"SELECT _wb_w AS w, -1 AS feature, -1 AS bin, {', '.join(aggs)}, "
                       f"NULL::DOUBLE AS value_sum, NULL::DOUBLE AS value_sumsq "
                       f"FROM ({inner()}) GROUP BY _wb_w")
        return q
    resum = ", ".join(_resum(agg) for agg in aggs)
    cells, branches = [], []
    for first in range(0, len(specs), FEATURES_PER_CELL):
        group = list(enumerate(specs))[first:first + FEATURES_PER_CELL]
        casts, columns, sums = "", [], []
        for i, spec in group:
            # A feature the reference lacks counts as null there (its absence shows in the null
            # bin).
            present = table != "reference" or spec.feature.in_reference
            numeric = spec.feature.kind is ColumnKind.NUMERIC and present
            if numeric:
                casts += f", {num(spec.feature.name)} AS _wb_v{i}"
            b = bin_expr(q, spec, f"_wb_v{i}" if numeric else None) if present else str(NULL_BIN)
            x = f"CASE WHEN isfinite(_wb_v{i}) THEN _wb_v{i} END" if numeric else "NULL::DOUBLE"
            columns += [f"{b} AS _wb_b{i}", f"{x} AS _wb_x{i}"]
            sums += [f"sum(_wb_x{i}) AS _wb_vs{i}", f"sum(_wb_x{i} * _wb_x{i}) AS _wb_vq{i}"]
        keys = ", ".join(["_wb_w", *(f"_wb_b{i}" for i, _ in group)])
        cell = f"_wb_cells{first}"
        cells.append(f"{cell} AS (SELECT {keys}, {', '.join(aggs)}, {', '.join(sums)} "
                     f"FROM ({inner(', ' + ', '.join(columns), casts)}) GROUP BY {keys})")
        branches += [f"SELECT _wb_w AS w, {i} AS feature, _wb_b{i} AS bin, {resum}, "
                     f"sum(_wb_vs{i}) AS value_sum, sum(_wb_vq{i}) AS value_sumsq "
                     f"FROM {cell} GROUP BY _wb_w, _wb_b{i}" for i, _ in group]
    totals = (f"SELECT _wb_w AS w, -1 AS feature, -1 AS bin, {resum}, NULL::DOUBLE AS value_sum, "
              f"NULL::DOUBLE AS value_sumsq FROM _wb_cells0 GROUP BY _wb_w")
    q.parts.append(f"WITH {', '.join(cells)} {' UNION ALL '.join([totals, *branches])}")
    return q


# Groups the reference bins of each feature are merged into for the joint decomposition of k
# features (null, below-range and above-range bins kept apart), so joint cells stay populated.
COARSE_BINS = {1: 20, 2: 10, 3: 5}


def coarse_bin_expr(spec: BinSpec, fine: str, groups: int) -> str:
    """The fine bin id held in column `fine` with the reference bins merged into `groups`
    groups (for categories: the top `groups` levels kept, the rest merged into one)."""
    inner = spec.n_bins - (3 if spec.feature.kind is ColumnKind.NUMERIC else 2)
    if inner <= groups:
        return fine
    if spec.feature.kind is ColumnKind.NUMERIC:
        high = spec.n_bins - 1
        return (f"CASE WHEN {fine} <= {LOW_BIN} OR {fine} = {high} THEN {fine} "
                f"ELSE 2 + ({fine} - 2) * {groups} // {inner} END")
    return f"least({fine}, {groups + 2})"


def joint_cells(roles: Roles, threshold: float, specs: list[BinSpec],
                windows: list[tuple[str, datetime | None, datetime | None]]) -> Sql:
    """Outcome counts per window and cell of the coarse bins of a few features (one scan).

    Result columns: w, c0..ck (coarse bin ids) and the outcome counts.
    """
    q = Sql()
    wcase, in_windows = window_case(q, roles, windows)
    fine = [f"{bin_expr(q, spec)} AS _wb_b{i}" for i, spec in enumerate(specs)]
    aggs = outcome_aggregates(q, roles, threshold)
    groups = COARSE_BINS[len(specs)]
    keys = ", ".join(f"{coarse_bin_expr(spec, f'_wb_b{i}', groups)} AS c{i}"
                     for i, spec in enumerate(specs))
    q.parts.append(
        f"SELECT _wb_w AS w, {keys}, {', '.join(aggs)} FROM (SELECT *, "
        f"{wcase} AS _wb_w, {', '.join(fine)} FROM production "
        f"WHERE {in_windows}) GROUP BY ALL ORDER BY ALL"
    )
    return q


def feature_profile_by_bucket(
    roles: Roles, features: list[FeatureSpec], bucket_seconds: int, start: datetime | None,
    end: datetime | None, offset: int = 0,
) -> Sql:
    """Per bucket and feature: mean, zeros and approximate distinct values (numeric), non-null
    count, and whether min equals max (column suffixes count from `offset`)."""
    q = Sql()
    bucket = bucket_expr(q, roles, bucket_seconds)
    cols = ["count(*) AS n"]
    for i, f in enumerate(features, start=offset):
        ident = quote_ident(f.name)
        if f.kind is ColumnKind.NUMERIC:
            cols += [f"avg({finite(f.name)}) AS mean{i}",
                     f"sum(CASE WHEN {finite(f.name)} = 0 THEN 1 ELSE 0 END) AS zeros{i}",
                     f"approx_count_distinct({finite(f.name)}) AS nd{i}"]
        else:
            cols += [f"NULL AS mean{i}", f"0 AS zeros{i}", f"NULL AS nd{i}"]
        cols += [f"count({ident}) AS nn{i}",
                 f"CASE WHEN min({ident}) = max({ident}) THEN 1 ELSE 0 END AS const{i}"]
    q.parts.append(
        f"SELECT {bucket} AS bucket, {', '.join(cols)} FROM production "
        f"WHERE {where_window(q, roles, start, end)} GROUP BY 1 ORDER BY 1"
    )
    return q


def segment_counts(
    roles: Roles, threshold: float, segments: list[str],
    windows: list[tuple[str, datetime | None, datetime | None]],
) -> Sql:
    """Outcome counts per window and value of each segment column (one scan)."""
    q = Sql()
    wcase, in_windows = window_case(q, roles, windows)
    aggs = outcome_aggregates(q, roles, threshold)
    seg_cols = [f"CAST({quote_ident(s)} AS VARCHAR) AS _wb_s{i}" for i, s in enumerate(segments)]
    sets = ", ".join(f"(_wb_w, _wb_s{i})" for i in range(len(segments)))
    q.parts.append(
        f"SELECT _wb_w AS w, {', '.join(f'_wb_s{i} AS s{i}' for i in range(len(segments)))}, "
        f"{', '.join(aggs)} FROM (SELECT *, {wcase} AS _wb_w, "
        f"{', '.join(seg_cols)} FROM production WHERE {in_windows}) "
        f"GROUP BY GROUPING SETS ({sets})"
    )
    return q


def version_counts(
    roles: Roles, threshold: float, start: datetime | None, end: datetime | None,
    split: datetime | None,
) -> Sql:
    """Per model version (and side of the split time): first/last seen and outcome counts."""
    assert roles.model_version is not None
    q = Sql()
    ts = ts_expr(roles)
    side = (f"CASE WHEN {ts} < {q.p(micros(split))} THEN 'before' ELSE 'after' END"
            if split else "'all'")
    aggs = outcome_aggregates(q, roles, threshold)
    q.parts.append(
        f"SELECT CAST({quote_ident(roles.model_version)} AS VARCHAR) AS version, {side} AS side, "
        f"min({ts}) AS first_seen_us, max({ts}) AS last_seen_us, {', '.join(aggs)} "
        "FROM production "
        f"WHERE {where_window(q, roles, start, end)} GROUP BY 1, 2 ORDER BY 3"
    )
    return q


def binned_by_bucket(roles: Roles, spec: BinSpec, bucket_seconds: int,
                     start: datetime | None, end: datetime | None) -> Sql:
    """Rows per (time bucket, bin id) of one feature."""
    q = Sql()
    q.parts.append(
        f"SELECT {bucket_expr(q, roles, bucket_seconds)} AS bucket, {bin_expr(q, spec)} AS bin, "
        f"count(*) AS n FROM production WHERE {where_window(q, roles, start, end)} "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return q


def slice_counts(
    roles: Roles, threshold: float, specs: list[BinSpec],
    windows: list[tuple[str, datetime | None, datetime | None]],
    pairs: list[tuple[int, int]], modulus: int = 1,
) -> Sql:
    """Outcome counts per window for every single condition column and every pair (one scan).

    Condition columns are the bin ids of `specs` (c0..cn); result columns w, c0..cn (NULL where
    a column is not in the grouping set) and the outcome counts. With modulus m > 1 only rows
    whose hash of (time, prediction) is 0 mod m are read: a deterministic 1/m sample.
    """
    q = Sql()
    wcase, in_windows = window_case(q, roles, windows)
    aggs = outcome_aggregates(q, roles, threshold)
    cols = [f"{bin_expr(q, spec)} AS _wb_c{i}" for i, spec in enumerate(specs)]
    sets = [f"(_wb_w, _wb_c{i})" for i in range(len(specs))]
    sets += [f"(_wb_w, _wb_c{i}, _wb_c{j})" for i, j in pairs]
    out_cols = ", ".join(f"_wb_c{i} AS c{i}" for i in range(len(specs)))
    where = f"({in_windows})"
    if modulus > 1:
        where += f" AND {hash_sample(f'{ts_expr(roles)}, {num(roles.prediction)}', modulus)}"
    # Two levels: the outcome counts of each populated cell of all condition columns (one
    # aggregation over the rows), then every grouping set summed over those few cells, instead
    # of every grouping set aggregating every row (28 passes over the rows at 7 columns).
    keys = ", ".join(["_wb_w", *(f"_wb_c{i}" for i in range(len(specs)))])
    resum = ", ".join(_resum(agg) for agg in aggs)
    q.parts.append(
        f"SELECT _wb_w AS w, {out_cols}, {resum} "
        f"FROM (SELECT {keys}, {', '.join(aggs)} "
        f"FROM (SELECT *, {wcase} AS _wb_w, {', '.join(cols)} "
        f"FROM production WHERE {where}) GROUP BY {keys}) "
        f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    return q


def _resum(aggregate: str) -> str:
    """The sum over cells of a per-cell count or sum ("... AS name"), typed as per cell."""
    name = aggregate.rsplit(" AS ", 1)[1]
    if aggregate.startswith("count("):
        return f"CAST(sum({name}) AS BIGINT) AS {name}"
    return f"sum({name}) AS {name}"


# ---- data quality: faults the drift bins cannot name -----------------------------------------

def unseen_values(roles: Roles, feature: FeatureSpec, start: datetime | None,
                  end: datetime | None, limit: int) -> Sql:
    """The most frequent values of a categorical feature in [start, end) that the reference
    never holds, with their row counts."""
    q = Sql()
    col = f"CAST({quote_ident(feature.name)} AS VARCHAR)"
    q.parts.append(
        f"SELECT {col} AS value, count(*) AS n FROM production "
        f"WHERE {where_window(q, roles, start, end)} AND {col} IS NOT NULL AND {col} NOT IN "
        f"(SELECT DISTINCT {col} FROM reference WHERE {col} IS NOT NULL) "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {q.p(int(limit))}")
    return q


def non_numeric_values(roles: Roles, column: str,
                       windows: list[tuple[str, datetime | None, datetime | None]]) -> Sql:
    """Per window: rows, non-null values of a text column and how many are not numbers, with
    the most frequent such value."""
    q = Sql()
    col = quote_ident(column)
    bad = f"({col} IS NOT NULL AND TRY_CAST({col} AS DOUBLE) IS NULL)"
    wcase, in_windows = window_case(q, roles, windows)
    q.parts.append(
        f"SELECT w, count(*) AS n, count(v) AS n_values, count(CASE WHEN bad THEN 1 END) "
        f"AS n_bad, mode(CASE WHEN bad THEN v END) AS example FROM (SELECT "
        f"{wcase} AS w, CAST({col} AS VARCHAR) AS v, {bad} AS bad FROM "
        f"production WHERE {in_windows}) GROUP BY 1")
    return q


def duplicate_ids(roles: Roles, windows: list[tuple[str, datetime | None, datetime | None]],
                  modulus: int = 1) -> Sql:
    """Per window: rows with an id and distinct ids (their difference: repeated rows), on the
    ids whose hash is 0 modulo `modulus` (1: all)."""
    assert roles.id is not None
    q = Sql()
    ident = quote_ident(roles.id)
    wcase, in_windows = window_case(q, roles, windows)
    sample = f" AND {hash_sample(ident, modulus)}" if modulus > 1 else ""
    q.parts.append(
        f"SELECT {wcase} AS w, count({ident}) AS n, "
        f"count(DISTINCT {ident}) AS n_distinct FROM production WHERE ({in_windows}){sample} "
        f"GROUP BY 1")
    return q


# ---- explain: failing records and seeded samples --------------------------------------------

FAILING_KINDS = ("fp", "fn", "error")


def failing_records(
    roles: Roles, threshold: float, kind: str, columns: list[str], start: datetime | None,
    end: datetime | None, segment: tuple[str, Any] | None, limit: int,
) -> Sql:
    """The `limit` worst-handled labelled rows of a window, most confidently wrong first.

    kind: "fp" (label 0, positive decision; highest score first), "fn" (label 1, negative
    decision; lowest score first) or "error" (largest |score - label| first). `_wb_total` holds
    how many rows matched before the limit. columns: extra columns (already checked) to return.
    """
    assert roles.label is not None and kind in FAILING_KINDS
    q = Sql()
    pred = finite(roles.prediction)
    lab = label_expr(roles)
    dec = decision_expr(q, roles, threshold)
    ident = (f"CAST({quote_ident(roles.id)} AS VARCHAR)" if roles.id is not None
             else "CAST(NULL AS VARCHAR)")
    where = where_window(q, roles, start, end)
    if segment is not None:
        where += f" AND CAST({quote_ident(segment[0])} AS VARCHAR) = {q.p(str(segment[1]))}"
    if kind == "fp":
        where += f" AND {lab} = 0 AND {dec} = 1"
        order = "_wb_score DESC NULLS LAST"
    elif kind == "fn":
        where += f" AND {lab} = 1 AND {dec} = 0"
        order = "_wb_score ASC NULLS LAST"
    else:
        where += f" AND {lab} IS NOT NULL AND {pred} IS NOT NULL"
        order = "abs(_wb_score - _wb_label) DESC"
    extra = "".join(f", {quote_ident(c)}" for c in columns)
    q.parts.append(
        f"SELECT {ident} AS _wb_id, CAST({quote_ident(roles.timestamp)} AS TIMESTAMP) AS _wb_time, "
        f"{pred} AS _wb_score, "
        f"{dec} AS _wb_decision, {lab} AS _wb_label, count(*) OVER () AS _wb_total{extra} "
        f"FROM production WHERE {where} ORDER BY {order}, _wb_time, _wb_id "
        f"LIMIT {q.p(int(limit))}"
    )
    return q


def seeded_sample(
    roles: Roles, table: str, columns: list[str], rows: int, seed: int,
    start: datetime | None = None, end: datetime | None = None,
) -> Sql:
    """A reproducible sample of `rows` rows: ordered by a seeded hash of the row, then limited.

    Unlike `USING SAMPLE`, the result does not depend on the thread count; it costs one scan
    and a top-N, so the table never comes into memory. table: "production" (restricted to
    [start, end)) or "reference". columns: checked column names.
    """
    q = Sql()
    cols = [quote_ident(c) for c in columns]
    keys = list(cols)
    where = "TRUE"
    if table == "production":
        keys.append(ts_expr(roles))
        if roles.id is not None:
            keys.append(quote_ident(roles.id))
        where = where_window(q, roles, start, end)
    source = "production" if table == "production" else "reference"
    q.parts.append(
        f"SELECT {', '.join(cols)} FROM {source} WHERE {where} "
        f"ORDER BY hash({', '.join(keys)}, {q.p(int(seed))}::BIGINT) LIMIT {q.p(int(rows))}"
    )
    return q


# ---- verify: replaying logged rows through a candidate fix ------------------------------------

def replay_rows(roles: Roles, threshold: float, start: datetime | None,
                end: datetime | None) -> Sql:
    """Every logged row of [start, end) with the helper columns a replay needs, unordered.

    Helper columns (computed exactly as in `outcome_aggregates`, so figures before the fix
    match the triage's): `_wb_score` (finite prediction), `_wb_decision` (logged decision or
    score >= threshold), `_wb_label` (0/1 or the value; NULL when unknown), `_wb_s0`.. (each
    segment as text, as in `segment_counts`). The log's own columns follow unchanged, for the
    fix to read. Callers stream the result in batches.
    """
    q = Sql()
    lab = label_expr(roles) if roles.label is not None else "NULL::DOUBLE"
    segs = "".join(f"CAST({quote_ident(s)} AS VARCHAR) AS _wb_s{i}, "
                   for i, s in enumerate(roles.segments))
    q.parts.append(
        f"SELECT {finite(roles.prediction)} AS _wb_score, "
        f"{decision_expr(q, roles, threshold)} AS _wb_decision, {lab} AS _wb_label, {segs}* "
        f"FROM production WHERE {where_window(q, roles, start, end)}"
    )
    return q


def prediction_range(roles: Roles, start: datetime | None, end: datetime | None) -> Sql:
    """Minimum, maximum and count of the finite logged predictions in [start, end)."""
    q = Sql()
    pred = finite(roles.prediction)
    q.parts.append(
        f"SELECT min({pred}) AS lo, max({pred}) AS hi, count({pred}) AS n FROM production "
        f"WHERE {where_window(q, roles, start, end)}"
    )
    return q


# ---- lineage: rewriting a training table for ablation re-runs --------------------------------
# Both tables are views registered by the caller: `source` (the data being rewritten) and, for
# swaps, `donor`.

def constant_column(schema: dict[str, str], column: str) -> Sql:
    """`source` with one column replaced everywhere by its most frequent value.

    A constant carries no information, so a model trained on it cannot use the feature: the
    data-level form of dropping a feature, for pipelines that cannot leave a feature out.
    """
    col = check_column(column, schema, "ablated feature", "the training data",
                       fix="Choose a column of the training data.")
    q = Sql()
    q.parts.append(
        f"SELECT * REPLACE ((SELECT {col} FROM source WHERE {col} IS NOT NULL GROUP BY 1 "
        f"ORDER BY count(*) DESC, 1 LIMIT 1) AS {col}) FROM source"
    )
    return q


def swap_column(schema: dict[str, str], donor_schema: dict[str, str], column: str,
                key: str) -> Sql:
    """`source` with one column's values taken from `donor` where the key matches.

    Rows the donor lacks keep their own value; duplicate keys in the donor take one value.
    """
    col = check_column(column, schema, "swapped column", "the bad run's data",
                       fix="Choose a column present in both data versions.")
    check_column(column, donor_schema, "swapped column", "the good run's data",
                 fix="Choose a column present in both data versions.")
    k = check_column(key, schema, "row key", "the bad run's data",
                     fix="Pass --key naming a column that identifies rows in both versions.")
    check_column(key, donor_schema, "row key", "the good run's data",
                 fix="Pass --key naming a column that identifies rows in both versions.")
    q = Sql()
    q.parts.append(
        f"SELECT s.* REPLACE (CASE WHEN d._wb_key IS NULL THEN s.{col} ELSE d._wb_value END "
        f"AS {col}) FROM source AS s LEFT JOIN (SELECT {k} AS _wb_key, any_value({col}) AS "
        f"_wb_value FROM donor GROUP BY 1) AS d ON s.{k} = d._wb_key"
    )
    return q


def csv_dialect(path: str) -> Sql:
    """Delimiter, quote character and header flag of a CSV file, as DuckDB's sniffer sees them.

    Lineage writes tables derived from a CSV input with the same dialect, so the pipeline's own
    reader reads them back.
    """
    q = Sql()
    q.parts.append(f"SELECT Delimiter, Quote, HasHeader FROM sniff_csv({q.p(str(path))})")
    return q


# ---- estimating labelled metrics before the labels arrive -------------------------------------

def score_quantiles(roles: Roles, probs: list[float], start: datetime | None,
                    end: datetime | None) -> Sql:
    """Quantiles, minimum, maximum and count of the finite logged scores in [start, end)."""
    q = Sql()
    s = finite(roles.prediction)
    q.parts.append(
        f"SELECT quantile_cont({s}, {q.p(list(probs))}::DOUBLE[]) AS q, min({s}) AS lo, "
        f"max({s}) AS hi, count({s}) AS n FROM production "
        f"WHERE {where_window(q, roles, start, end)}"
    )
    return q


def _score_bin(q: Sql, x: str, edges: list[float]) -> str:
    """Bin id 0..K-1 of a score between K + 1 edges; below or above the edges: the end bins."""
    return _search(x, [q.p(float(e)) for e in edges[1:-1]], 0, len(edges) - 2)


def score_bins(roles: Roles, threshold: float, edges: list[float], bucket_seconds: int,
               start: datetime | None, end: datetime | None) -> Sql:
    """Per time bucket, score bin and logged decision (one scan): rows `n`, score sum `s1` and
    sum of squares `s2`; labelled rows `m`, their positives `y` and score sum `ms`.

    Rows without a finite score are left out. Enough to sum any piecewise-linear map of the
    score (a calibration) per bucket and decision without reading a row twice.
    """
    q = Sql()
    bucket = bucket_expr(q, roles, bucket_seconds)
    dec = decision_expr(q, roles, threshold)
    lab = label_expr(roles) if roles.label is not None else "NULL::DOUBLE"
    where = where_window(q, roles, start, end)
    q.parts.append(
        f"SELECT _wb_bucket AS bucket, {_score_bin(q, '_wb_s', edges)} AS bin, "
        f"_wb_d AS decision, count(*) AS n, sum(_wb_s) AS s1, sum(_wb_s * _wb_s) AS s2, "
        f"count(_wb_y) AS m, sum(_wb_y) AS y, "
        f"sum(CASE WHEN _wb_y IS NOT NULL THEN _wb_s END) AS ms "
        f"FROM (SELECT {bucket} AS _wb_bucket, {finite(roles.prediction)} AS _wb_s, "
        f"{dec} AS _wb_d, {lab} AS _wb_y FROM production WHERE {where}) "
        f"WHERE _wb_s IS NOT NULL GROUP BY 1, 2, 3"
    )
    return q


def reference_score_bins(roles: Roles, edges: list[float], folds: int,
                         columns: list[str]) -> Sql:
    """Labelled reference rows per fold and score bin of the log's prediction column: rows `m`,
    positives `y`, score sum `ms`. Folds by a hash of `columns` (checked names)."""
    assert roles.reference_label is not None
    q = Sql()
    s = finite(roles.prediction)
    lab = (f"CASE WHEN {num(roles.reference_label)} IS NULL THEN NULL "
           f"WHEN {num(roles.reference_label)} > 0.5 THEN 1 ELSE 0 END")
    keys = ", ".join([quote_ident(c) for c in columns] + [s])
    q.parts.append(
        f"SELECT hash({keys}) % {q.p(int(folds))} AS fold, "
        f"{_score_bin(q, '_wb_s', edges)} AS bin, count(*) AS m, sum(_wb_y) AS y, "
        f"sum(_wb_s) AS ms FROM (SELECT *, {s} AS _wb_s, {lab} AS _wb_y FROM reference) "
        f"WHERE _wb_s IS NOT NULL AND _wb_y IS NOT NULL GROUP BY 1, 2"
    )
    return q


def loss_sample(roles: Roles, columns: list[str], bucket_seconds: int, rows: int, seed: int,
                start: datetime | None, end: datetime | None, labelled: bool) -> Sql:
    """A seeded sample of up to `rows` scored rows of [start, end) (only labelled ones when
    `labelled`): `_wb_bucket`, `_wb_score`, `_wb_label` (NULL when unknown), then `columns`.

    Ordered by a seeded hash of the row like `seeded_sample`: one scan and a top-N.
    """
    q = Sql()
    cols = [quote_ident(c) for c in columns]
    keys = [*cols, ts_expr(roles)] + ([quote_ident(roles.id)] if roles.id is not None else [])
    pred = finite(roles.prediction)
    lab = label_expr(roles) if roles.label is not None else "NULL::DOUBLE"
    where = f"{where_window(q, roles, start, end)} AND {pred} IS NOT NULL"
    if labelled:
        where += f" AND {lab} IS NOT NULL"
    select = ", ".join([f"{bucket_expr(q, roles, bucket_seconds)} AS _wb_bucket",
                        f"{pred} AS _wb_score", f"{lab} AS _wb_label", *cols])
    q.parts.append(
        f"SELECT {select} FROM production WHERE {where} "
        f"ORDER BY hash({', '.join(keys)}, {q.p(int(seed))}::BIGINT) LIMIT {q.p(int(rows))}"
    )
    return q


# ---- data quality: ranges, frozen values ------------------------------------------------------

def value_range(roles: Roles, features: list[FeatureSpec], start: datetime | None,
                end: datetime | None) -> Sql:
    """Smallest and largest finite value of numeric features in [start, end) (lo{i}, hi{i})."""
    q = Sql()
    cols = ", ".join(f"min({finite(f.name)}) AS lo{i}, max({finite(f.name)}) AS hi{i}"
                     for i, f in enumerate(features))
    q.parts.append(f"SELECT {cols} FROM production WHERE {where_window(q, roles, start, end)}")
    return q


def chunk_distinct(roles: Roles, features: list[FeatureSpec], origin: datetime, chunk_us: int,
                   start: datetime | None, end: datetime | None) -> Sql:
    """Per chunk of `chunk_us` microseconds counted from `origin` (chunk 0 starts there, earlier
    chunks are negative), in [start, end): rows, and per feature its non-null values (nn{i})
    and distinct values (d{i})."""
    q = Sql()
    chunk = f"floor(({ts_expr(roles)} - {q.p(micros(origin))}) / {q.p(int(chunk_us))})"
    cols = []
    for i, f in enumerate(features):
        value = (finite(f.name) if f.kind is ColumnKind.NUMERIC
                 else f"CAST({quote_ident(f.name)} AS VARCHAR)")
        cols.append(f"count({value}) AS nn{i}, count(DISTINCT {value}) AS d{i}")
    q.parts.append(
        f"SELECT CAST({chunk} AS BIGINT) AS chunk, count(*) AS n, {', '.join(cols)} "
        f"FROM production WHERE {where_window(q, roles, start, end)} GROUP BY 1 ORDER BY 1")
    return q


def value_share(roles: Roles, feature: FeatureSpec, values: list[str],
                windows: list[tuple[str, datetime | None, datetime | None]]) -> Sql:
    """Per window: non-null values of a feature and how many equal one of `values` (compared
    as text)."""
    q = Sql()
    col = f"CAST({quote_ident(feature.name)} AS VARCHAR)"
    wcase, in_windows = window_case(q, roles, windows)
    listed = ", ".join(q.p(str(v)) for v in values)
    q.parts.append(
        f"SELECT w, count(v) AS n, count(CASE WHEN v IN ({listed}) THEN 1 END) AS n_in FROM "
        f"(SELECT {wcase} AS w, {col} AS v FROM production WHERE {in_windows}) GROUP BY 1")
    return q


def sample_values(roles: Roles, feature: FeatureSpec, start: datetime | None,
                  end: datetime | None, limit: int) -> Sql:
    """The most frequent values of a feature in [start, end) as text, with their counts."""
    q = Sql()
    col = f"CAST({quote_ident(feature.name)} AS VARCHAR)"
    q.parts.append(
        f"SELECT {col} AS value, count(*) AS n FROM production "
        f"WHERE {where_window(q, roles, start, end)} AND {col} IS NOT NULL "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {q.p(int(limit))}")
    return q
