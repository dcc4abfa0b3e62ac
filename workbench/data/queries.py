"""SQL text of every query the workbench runs, built from validated identifiers and parameters.

All SQL lives in this module so another engine can be added behind `LogStore` without touching
its callers. Identifiers come only from `Roles`/`FeatureSpec` (checked against the real schema) and
are quoted; every value (times, bin edges, categories, thresholds) is a `?` parameter. The SQL is
plain ANSI plus DuckDB's `time_bucket`, `quantile_cont`, `isnan` and `GROUPING SETS`, all of which
SQLGlot can transpile to Spark SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workbench.data.schema import ColumnKind, FeatureSpec, Roles, quote_ident

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
            return len(self.edges) + 2 if len(self.edges) >= 2 else 3
        return len(self.levels) + 2


def num(col: str) -> str:
    """A numeric column as DOUBLE with NaN and infinities kept (callers decide)."""
    return f"CAST({quote_ident(col)} AS DOUBLE)"


def finite(col: str) -> str:
    """A numeric column as DOUBLE with NaN/inf turned into NULL."""
    return f"CASE WHEN isfinite({num(col)}) THEN {num(col)} END"


def ts_expr(roles: Roles) -> str:
    """The timestamp as naive UTC TIMESTAMP (the connection runs in UTC)."""
    return f"CAST({quote_ident(roles.timestamp)} AS TIMESTAMP)"


def where_window(q: Sql, roles: Roles, start: datetime | None, end: datetime | None) -> str:
    """WHERE clause restricting rows to [start, end)."""
    conds = ["TRUE"]
    if start is not None:
        conds.append(f"{ts_expr(roles)} >= {q.p(start)}")
    if end is not None:
        conds.append(f"{ts_expr(roles)} < {q.p(end)}")
    return " AND ".join(conds)


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
    bucket = f"time_bucket(to_seconds({q.p(int(bucket_seconds))}::BIGINT), {ts_expr(roles)})"
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
        ]
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
        f"SELECT min({ts}) AS first, max({ts}) AS last, count(*) AS n FROM production "
        f"WHERE {where_window(q, roles, start, end)}"
    )
    return q


def reference_quantiles(features: list[FeatureSpec], probs: list[float]) -> Sql:
    """Quantile edges, min, max and null counts of numeric reference features (one scan)."""
    q = Sql()
    cols = []
    for i, f in enumerate(features):
        x = finite(f.name)
        cols += [
            f"quantile_cont({x}, {q.p(probs)}::DOUBLE[]) AS q{i}",
            f"min({x}) AS lo{i}", f"max({x}) AS hi{i}", f"count({x}) AS n{i}",
        ]
    q.parts.append(f"SELECT count(*) AS n_rows, {', '.join(cols)} FROM reference")
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


def bin_expr(q: Sql, spec: BinSpec) -> str:
    """CASE expression mapping a value to its bin id (see NULL_BIN/LOW_BIN)."""
    f = spec.feature
    if f.kind is ColumnKind.NUMERIC:
        x = num(f.name)
        parts = [f"WHEN {x} IS NULL OR isnan({x}) THEN {NULL_BIN}"]
        edges = spec.edges
        if len(edges) < 2:  # degenerate reference: one value (or none)
            pivot = edges[0] if edges else 0.0
            parts += [f"WHEN {x} < {q.p(pivot)} THEN 1", f"WHEN {x} = {q.p(pivot)} THEN 2"]
            return f"CASE {' '.join(parts)} ELSE 3 END"
        parts.append(f"WHEN {x} < {q.p(edges[0])} THEN {LOW_BIN}")
        for i, edge in enumerate(edges[1:-1]):
            parts.append(f"WHEN {x} < {q.p(edge)} THEN {i + 2}")
        parts.append(f"WHEN {x} <= {q.p(edges[-1])} THEN {len(edges)}")
        return f"CASE {' '.join(parts)} ELSE {len(edges) + 1} END"
    col = f"CAST({quote_ident(f.name)} AS VARCHAR)"
    parts = [f"WHEN {col} IS NULL THEN {NULL_BIN}"]
    for i, level in enumerate(spec.levels):
        parts.append(f"WHEN {col} = {q.p(level)} THEN {i + 2}")
    return f"CASE {' '.join(parts)} ELSE {LOW_BIN} END"


def binned_counts(
    roles: Roles, specs: list[BinSpec], table: str, windows: list[tuple[str, datetime | None,
                                                                       datetime | None]],
    with_score: bool,
) -> Sql:
    """Counts (and score sums, value sums) per window and bin of every feature, in one scan.

    windows: (name, start, end) triples, disjoint; rows outside every window are skipped.
    table: "production" or "reference" (reference rows form one window named windows[0][0]).
    """
    q = Sql()
    if table == "reference":
        wcase = q.p(windows[0][0])
        where = "TRUE"
    else:
        whens, conds = [], []
        for name, start, end in windows:
            cond = where_window(q, roles, start, end)
            conds.append(f"({cond})")
            whens.append(f"WHEN {cond} THEN {q.p(name)}")
        wcase = f"CASE {' '.join(whens)} END"
        where = " OR ".join(conds)
    cols = [f"{wcase} AS w"]
    if with_score:
        cols.append(f"{finite(roles.prediction)} AS score")
    for i, spec in enumerate(specs):
        cols.append(f"{bin_expr(q, spec)} AS b{i}")
        if spec.feature.kind is ColumnKind.NUMERIC:
            cols.append(f"{finite(spec.feature.name)} AS x{i}")
    score_aggs = (
        "count(score) AS n_score, sum(score) AS score_sum, sum(score * score) AS score_sumsq"
        if with_score else "0 AS n_score, 0.0 AS score_sum, 0.0 AS score_sumsq"
    )
    selects = []
    for i, spec in enumerate(specs):
        xsum = f"sum(x{i})" if spec.feature.kind is ColumnKind.NUMERIC else "CAST(NULL AS DOUBLE)"
        selects.append(
            f"SELECT w, {i} AS feature, b{i} AS bin, count(*) AS n, {score_aggs}, "
            f"{xsum} AS value_sum FROM rows GROUP BY w, b{i}"
        )
    selects.append(f"SELECT w, -1 AS feature, -1 AS bin, count(*) AS n, {score_aggs}, "
                   "CAST(NULL AS DOUBLE) AS value_sum FROM rows GROUP BY w")
    source = "reference" if table == "reference" else "production"
    q.parts.append(
        f"WITH rows AS MATERIALIZED (SELECT {', '.join(cols)} FROM {source} WHERE {where}) "
        + " UNION ALL ".join(selects)
    )
    return q


def feature_profile_by_bucket(
    roles: Roles, features: list[FeatureSpec], bucket_seconds: int, start: datetime | None,
    end: datetime | None,
) -> Sql:
    """Per bucket and feature: mean (numeric), non-null count, and whether min equals max."""
    q = Sql()
    bucket = f"time_bucket(to_seconds({q.p(int(bucket_seconds))}::BIGINT), {ts_expr(roles)})"
    cols = ["count(*) AS n"]
    for i, f in enumerate(features):
        ident = quote_ident(f.name)
        if f.kind is ColumnKind.NUMERIC:
            cols += [f"avg({finite(f.name)}) AS mean{i}",
                     f"sum(CASE WHEN {finite(f.name)} = 0 THEN 1 ELSE 0 END) AS zeros{i}"]
        else:
            cols += [f"NULL AS mean{i}", f"0 AS zeros{i}"]
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
    whens, conds = [], []
    for name, start, end in windows:
        cond = where_window(q, roles, start, end)
        conds.append(f"({cond})")
        whens.append(f"WHEN {cond} THEN {q.p(name)}")
    aggs = outcome_aggregates(q, roles, threshold)
    seg_cols = [f"CAST({quote_ident(s)} AS VARCHAR) AS _wb_s{i}" for i, s in enumerate(segments)]
    sets = ", ".join(f"(_wb_w, _wb_s{i})" for i in range(len(segments)))
    q.parts.append(
        f"SELECT _wb_w AS w, {', '.join(f'_wb_s{i} AS s{i}' for i in range(len(segments)))}, "
        f"{', '.join(aggs)} FROM (SELECT *, CASE {' '.join(whens)} END AS _wb_w, "
        f"{', '.join(seg_cols)} FROM production WHERE {' OR '.join(conds)}) "
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
    side = f"CASE WHEN {ts} < {q.p(split)} THEN 'before' ELSE 'after' END" if split else "'all'"
    aggs = outcome_aggregates(q, roles, threshold)
    q.parts.append(
        f"SELECT CAST({quote_ident(roles.model_version)} AS VARCHAR) AS version, {side} AS side, "
        f"min({ts}) AS first_seen, max({ts}) AS last_seen, {', '.join(aggs)} FROM production "
        f"WHERE {where_window(q, roles, start, end)} GROUP BY 1, 2 ORDER BY 3"
    )
    return q
