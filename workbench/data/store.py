"""`LogStore`: one DuckDB connection over an incident's sources, opened read-only, queried in SQL.

Sources are registered as views (`production`, `reference`) and read out of core; only small
aggregates or explicitly limited records come back as pandas frames.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from workbench.config import CHANGE_KINDS, Incident, SourceSpec
from workbench.data import queries
from workbench.data.queries import BinSpec, Sql
from workbench.data.schema import (
    ColumnKind,
    FeatureSpec,
    Roles,
    check_column,
    is_numeric,
    is_time,
    quote_ident,
)
from workbench.exceptions import DataSourceError, EmptyDataError, InvalidInputError

# Quantile probabilities choosing the reference bins: 20 equal-mass bins.
BIN_PROBS = [i / 20 for i in range(21)]
MAX_LEVELS = 30


@dataclass(frozen=True)
class Window:
    """A half-open time window [start, end) of the production log; None means unbounded."""

    name: str
    start: datetime | None
    end: datetime | None

    def as_tuple(self) -> tuple[str, datetime | None, datetime | None]:
        """(name, start, end) as the query builders take it."""
        return (self.name, self.start, self.end)


@dataclass(frozen=True)
class TimeSpan:
    """First and last timestamp and row count of the log in a window."""

    first: datetime | None
    last: datetime | None
    rows: int


class LogStore:
    """The query layer of one incident: register sources, resolve roles, run aggregate queries."""

    def __init__(self, incident: Incident, *, threads: int | None = None,
                 memory_limit: str | None = None) -> None:
        self.incident = incident
        self._lock = threading.RLock()
        self._attached: dict[str, str] = {}
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 2)}")
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute("SET memory_limit = $m", {"m": memory_limit})
        self._register("production", incident.production.source)
        self._register("reference", incident.reference.source)
        self.production_schema = self._schema("production")
        self.reference_schema = self._schema("reference")
        self.roles = self._resolve_roles()
        self._bins: dict[str, BinSpec] = {}
        self._changes: pd.DataFrame | None = None

    # ---- sources ------------------------------------------------------------------------------

    def _register(self, view: str, spec: SourceSpec) -> None:
        """Register a source as a read-only view; raise naming the file when it cannot be read."""
        try:
            if spec.kind == "duckdb":
                rel = self._attach_table(view, spec)
            else:
                files = sorted(glob.glob(spec.path))
                if not files:
                    raise DataSourceError(
                        f"The {view} source {spec.describe()!r} matches no file. Check the path "
                        f"(relative to the incident config) or generate the data first."
                    )
                if spec.kind == "parquet":
                    rel = self.con.read_parquet(files, union_by_name=True)
                else:
                    rel = self.con.read_csv(files, union_by_name=True)
            rel.create_view(view, replace=True)
            self.con.execute(f"SELECT * FROM {view} LIMIT 0")  # noqa: S608 - fixed view name
        except duckdb.Error as exc:
            raise DataSourceError(
                f"The {view} source {spec.describe()!r} cannot be read as {spec.kind}: {exc}"
            ) from exc

    def _attach_table(self, view: str, spec: SourceSpec) -> duckdb.DuckDBPyRelation:
        """Attach a DuckDB file read-only and return a relation over the named table."""
        if not Path(spec.path).is_file():
            raise DataSourceError(f"The {view} source file {spec.path!r} does not exist.")
        key = str(Path(spec.path).resolve())
        alias = self._attached.get(key)
        if alias is None:
            alias = f"src_{len(self._attached)}"
            literal = "'" + key.replace("'", "''") + "'"  # a path, escaped as a SQL literal
            self.con.execute(f"ATTACH {literal} AS {alias} (READ_ONLY)")
            self._attached[key] = alias
        tables = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = $db "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = $db",
            {"db": alias},
        ).fetchall()
        names = {row[0]: "TABLE" for row in tables}
        check_column(spec.table or "", names, "table", spec.path)
        return self.con.sql(f"SELECT * FROM {alias}.{quote_ident(spec.table or '')}")

    def _schema(self, view: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {view}").fetchall()
        return {r[0]: str(r[1]) for r in rows}

    # ---- roles --------------------------------------------------------------------------------

    def _resolve_roles(self) -> Roles:
        """Check every configured column exists with a usable type; choose the features."""
        prod = self.incident.production
        schema = self.production_schema
        where = f"the production log {prod.source.describe()!r}"
        for role, name in (("timestamp", prod.timestamp), ("prediction", prod.prediction),
                           ("decision", prod.decision), ("label", prod.label),
                           ("model_version", prod.model_version), ("id", prod.id),
                           ("latency", prod.latency), ("status", prod.status)):
            if name is not None:
                check_column(name, schema, role, where)
        for seg in prod.segments:
            check_column(seg, schema, "segment", where)
        if not is_time(schema[prod.timestamp]):
            raise DataSourceError(
                f"Column {prod.timestamp!r} (the timestamp) in {where} has type "
                f"{schema[prod.timestamp]}, not a timestamp. Convert it upstream or point "
                f"[production] timestamp at a TIMESTAMP column."
            )
        for role, name in (("prediction", prod.prediction), ("latency", prod.latency)):
            if name is not None and not is_numeric(schema[name]):
                raise DataSourceError(
                    f"Column {name!r} (the {role}) in {where} has type {schema[name]}; "
                    f"a number is needed."
                )
        for role, name in (("label", prod.label), ("decision", prod.decision)):
            if name is not None and not (is_numeric(schema[name]) or schema[name] == "BOOLEAN"):
                raise DataSourceError(
                    f"Column {name!r} (the {role}) in {where} has type {schema[name]}; "
                    f"a boolean or number is needed."
                )
        ref_label = self.incident.reference.label
        if ref_label is not None:
            check_column(ref_label, self.reference_schema, "label", "the reference data")
        roles = Roles(
            timestamp=prod.timestamp, prediction=prod.prediction, task="classification",
            decision=prod.decision, label=prod.label, model_version=prod.model_version,
            id=prod.id, latency=prod.latency, status=prod.status, segments=prod.segments,
            features=self._features(), reference_label=ref_label,
        )
        return Roles(**{**roles.__dict__, "task": self._task(roles)})

    def _features(self) -> tuple[FeatureSpec, ...]:
        """Configured features, or the columns shared with the reference minus the roles."""
        prod = self.incident.production
        if prod.features is not None:
            names = list(prod.features)
            for name in names:
                check_column(name, self.production_schema, "feature", "the production log")
        else:
            taken = {prod.timestamp, prod.prediction, prod.decision, prod.label,
                     prod.model_version, prod.id, prod.latency, prod.status,
                     self.incident.reference.label}
            names = [c for c in self.production_schema
                     if c in self.reference_schema and c not in taken]
        specs = []
        for name in names:
            ptype = self.production_schema[name]
            rtype = self.reference_schema.get(name)
            numeric = is_numeric(rtype or ptype) and is_numeric(ptype)
            kind = ColumnKind.NUMERIC if numeric else ColumnKind.CATEGORICAL
            specs.append(FeatureSpec(name, kind, ptype, rtype))
        return tuple(specs)

    def _task(self, roles: Roles) -> str:
        """The model's task: from the config, else inferred from the label and score values."""
        model = self.incident.model
        if model is not None and model.task is not None:
            return model.task
        if roles.label is not None and self.production_schema[roles.label] == "BOOLEAN":
            return "classification"
        col = quote_ident(roles.label or roles.prediction)
        q = Sql()
        q.parts.append(
            f"SELECT min(CAST({col} AS DOUBLE)), max(CAST({col} AS DOUBLE)), "
            f"count(DISTINCT {col}) FROM (SELECT {col} FROM production LIMIT 100000)")
        lo, hi, distinct = self.run(q).iloc[0].tolist()
        if lo is not None and lo >= 0 and hi <= 1 and (roles.label is None or distinct <= 2):
            return "classification"
        return "regression"

    def missing_in_production(self) -> tuple[str, ...]:
        """Reference columns (other than its label) that the production log lacks."""
        ignore = {self.incident.reference.label}
        return tuple(c for c in self.reference_schema
                     if c not in self.production_schema and c not in ignore)

    # ---- running queries ----------------------------------------------------------------------

    def run(self, q: Sql) -> pd.DataFrame:
        """Execute a built query and return its (small) result.

        Errors the data causes (a value that does not convert, a file that changed under us)
        become DataSourceError naming the source, so the CLI can say what to fix.
        """
        with self._lock:
            try:
                return self.con.execute(q.text, q.params).df()
            except (duckdb.ConversionException, duckdb.InvalidInputException,
                    duckdb.IOException) as exc:
                first = str(exc).strip().splitlines()[0]
                raise DataSourceError(
                    f"Reading the production log {self.incident.production.source.describe()!r} "
                    f"or reference {self.incident.reference.source.describe()!r} failed: "
                    f"{first}. Fix the offending value or column type in the source."
                ) from exc

    def span(self, start: datetime | None = None, end: datetime | None = None) -> TimeSpan:
        """First/last timestamp and rows of the log in [start, end)."""
        df = self.run(queries.span(self.roles, start, end))
        row = df.iloc[0]
        n = int(row["n"])
        if n == 0:
            return TimeSpan(None, None, 0)
        return TimeSpan(_from_us(row["first_us"]), _from_us(row["last_us"]), n)

    def bucket_counts(self, bucket_seconds: int, start: datetime | None = None,
                      end: datetime | None = None,
                      segment: tuple[str, Any] | None = None) -> pd.DataFrame:
        """Per time bucket outcome counts (see queries.outcome_aggregates)."""
        if segment is not None:
            check_column(segment[0], self.production_schema, "segment", "the production log",
                         fix="Choose a column of the production log.")
        q = queries.bucket_counts(self.roles, self.incident.threshold, bucket_seconds, start, end,
                                  segment)
        return _buckets_to_time(self.run(q), bucket_seconds)

    def bin_specs(self, features: list[FeatureSpec] | None = None) -> list[BinSpec]:
        """Bins chosen on the reference for each feature (cached): quantile edges or top levels."""
        features = list(self.roles.features if features is None else features)
        todo = [f for f in features if f.name not in self._bins and f.in_reference]
        numeric = [f for f in todo if f.kind is ColumnKind.NUMERIC]
        if numeric:
            row = self.run(queries.reference_quantiles(numeric, BIN_PROBS)).iloc[0]
            for i, f in enumerate(numeric):
                qs = row[f"q{i}"]
                edges = () if qs is None or row[f"n{i}"] == 0 else tuple(
                    float(v) for v in np.unique(np.asarray(qs, dtype=float)))
                self._bins[f.name] = BinSpec(f, edges=edges)
        for f in todo:
            if f.kind is ColumnKind.CATEGORICAL:
                levels = self.run(queries.top_levels(f, MAX_LEVELS))["level"].tolist()
                self._bins[f.name] = BinSpec(f, levels=tuple(str(v) for v in levels))
        for f in features:
            if f.name not in self._bins:  # not in the reference: bin on nothing, all "unseen"
                self._bins[f.name] = BinSpec(f)
        return [self._bins[f.name] for f in features]

    def binned_counts(self, specs: list[BinSpec], windows: list[Window],
                      reference: bool = False) -> pd.DataFrame:
        """Rows per (window, feature index, bin id) with score and value sums; -1 rows = totals."""
        table = "reference" if reference else "production"
        q = queries.binned_counts(self.roles, specs, table, [w.as_tuple() for w in windows],
                                  with_score=not reference)
        return self.run(q)

    def feature_profile_by_bucket(self, bucket_seconds: int, start: datetime | None = None,
                                  end: datetime | None = None) -> pd.DataFrame:
        """Per bucket: each feature's mean, zero count, non-null count and constant flag."""
        q = queries.feature_profile_by_bucket(self.roles, list(self.roles.features),
                                              bucket_seconds, start, end)
        return _buckets_to_time(self.run(q), bucket_seconds)

    def segment_counts(self, segments: list[str], windows: list[Window]) -> pd.DataFrame:
        """Outcome counts per window and segment value; columns s0..sk hold the values."""
        for seg in segments:
            check_column(seg, self.production_schema, "segment", "the production log")
        q = queries.segment_counts(self.roles, self.incident.threshold, segments,
                                   [w.as_tuple() for w in windows])
        return self.run(q)

    def version_counts(self, start: datetime | None, end: datetime | None,
                       split: datetime | None) -> pd.DataFrame:
        """Per model version and side of split: first/last seen and outcome counts."""
        q = queries.version_counts(self.roles, self.incident.threshold, start, end, split)
        df = self.run(q)
        for col in ("first_seen", "last_seen"):
            df[col] = pd.to_datetime(df.pop(col + "_us"), unit="us")
        return df

    def changes(self) -> pd.DataFrame:
        """The change log (small), validated: columns time, id, kind, description."""
        spec = self.incident.changes
        if spec is None:
            return pd.DataFrame(columns=["time", "id", "kind", "description"])
        if self._changes is not None:
            return self._changes.copy()
        with self._lock:
            self._register("changes", spec.source)
            schema = self._schema("changes")
            for col in ("time", "id", "kind", "description"):
                check_column(col, schema, "change-log column", spec.source.describe())
            df = self.con.execute(
                "SELECT CAST(time AS TIMESTAMP) AS time, CAST(id AS VARCHAR) AS id, "
                "lower(CAST(kind AS VARCHAR)) AS kind, CAST(description AS VARCHAR) AS description "
                "FROM changes ORDER BY 1"
            ).df()
        bad = sorted(set(df["kind"]) - set(CHANGE_KINDS))
        if bad:
            raise DataSourceError(
                f"The change log {spec.source.describe()!r} has unknown kind(s) {bad}; "
                f"use one of {', '.join(CHANGE_KINDS)}."
            )
        df["time"] = pd.to_datetime(df["time"])
        self._changes = df
        return df.copy()

    def require_rows(self, start: datetime | None, end: datetime | None) -> TimeSpan:
        """The span of [start, end), raising EmptyDataError when it holds no rows."""
        span = self.span(start, end)
        if span.rows == 0:
            where = "the production log" if start is None and end is None else (
                f"the window {start or '…'}..{end or '…'}")
            raise EmptyDataError(f"There are no rows in {where} of "
                                 f"{self.incident.production.source.describe()!r}.")
        return span

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def binned_by_bucket(self, spec: BinSpec, bucket_seconds: int,
                         start: datetime | None = None,
                         end: datetime | None = None) -> pd.DataFrame:
        """Rows per (bucket start time, bin id) of one feature."""
        q = queries.binned_by_bucket(self.roles, spec, bucket_seconds, start, end)
        return _buckets_to_time(self.run(q), bucket_seconds)

    def slice_counts(self, specs: list[BinSpec], windows: list[Window],
                     pairs: list[tuple[int, int]], modulus: int = 1) -> pd.DataFrame:
        """Outcome counts per window for each condition column and pair of columns
        (on a deterministic 1/modulus sample of the rows when modulus > 1)."""
        q = queries.slice_counts(self.roles, self.incident.threshold, specs,
                                 [w.as_tuple() for w in windows], pairs, modulus)
        return self.run(q)

    # ---- explain: failing records and seeded samples --------------------------------------

    def failing_records(self, kind: str, columns: list[str], start: datetime | None = None,
                        end: datetime | None = None, segment: tuple[str, Any] | None = None,
                        limit: int = 50) -> pd.DataFrame:
        """The `limit` most confidently wrong labelled rows of [start, end) (see the query).

        Columns `_wb_id`, `_wb_time`, `_wb_score`, `_wb_decision`, `_wb_label`, `_wb_total`
        (matching rows before the limit), then `columns` as stored in the log. Callers check
        that the log has labels and that `kind` suits its task (see workbench.explain.records).
        """
        where = "the production log"
        for col in columns:
            check_column(col, self.production_schema, "model feature", where)
        if segment is not None:
            check_column(segment[0], self.production_schema, "segment", where,
                         fix="Choose a column of the production log.")
        q = queries.failing_records(self.roles, self.incident.threshold, kind, list(columns),
                                    start, end, segment, int(limit))
        df = self.run(q)
        df["_wb_time"] = pd.to_datetime(df["_wb_time"])
        return df

    def seeded_sample(self, columns: list[str], rows: int, seed: int = 0, *,
                      reference: bool = False, start: datetime | None = None,
                      end: datetime | None = None) -> pd.DataFrame:
        """A reproducible sample of at most `rows` rows of the reference or a log window."""
        schema = self.reference_schema if reference else self.production_schema
        where = "the reference data" if reference else "the production log"
        for col in columns:
            check_column(col, schema, "sampled column", where)
        q = queries.seeded_sample(self.roles, "reference" if reference else "production",
                                  list(columns), int(rows), int(seed), start, end)
        return self.run(q)


    # ---- verify: streaming a window's rows through a fix ---------------------------------------

    def replay_batches(self, start: datetime | None = None, end: datetime | None = None,
                       batch_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The logged rows of [start, end) as pandas frames of at most `batch_rows` rows.

        Out of core: DuckDB streams Arrow record batches, so memory holds one batch at a time
        whatever the window's size. Frames carry `_wb_score`, `_wb_decision`, `_wb_label` (see
        `queries.replay_rows`) and then the log's columns. A cursor of its own keeps the store
        usable for other queries while a replay is in progress.
        """
        if batch_rows < 1:
            raise InvalidInputError(f"batch_rows must be a positive number. Got {batch_rows!r}.")
        q = queries.replay_rows(self.roles, self.incident.threshold, start, end)
        with self._lock:
            cursor = self.con.cursor()
        try:
            reader = cursor.sql(q.text, params=q.params).to_arrow_reader(int(batch_rows))
            for batch in reader:
                yield batch.to_pandas()
        except (duckdb.ConversionException, duckdb.InvalidInputException,
                duckdb.IOException) as exc:
            first = str(exc).strip().splitlines()[0]
            raise DataSourceError(
                f"Reading the production log {self.incident.production.source.describe()!r} "
                f"failed during the replay: {first}. Fix the offending value or column type "
                f"in the source."
            ) from exc
        finally:
            cursor.close()

    def prediction_range(self, start: datetime | None = None,
                         end: datetime | None = None) -> tuple[float | None, float | None, int]:
        """(min, max, count) of the finite logged predictions in [start, end)."""
        row = self.run(queries.prediction_range(self.roles, start, end)).iloc[0]
        lo = None if pd.isna(row["lo"]) else float(row["lo"])
        hi = None if pd.isna(row["hi"]) else float(row["hi"])
        return lo, hi, int(row["n"])

def _from_us(value: Any) -> datetime | None:
    """Epoch microseconds as a naive-UTC datetime."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(int(value), unit="us").to_pydatetime()


def _buckets_to_time(df: pd.DataFrame, bucket_seconds: int) -> pd.DataFrame:
    """Replace bucket indexes by the buckets' start times."""
    df["bucket"] = pd.to_datetime(df["bucket"].astype("int64") * bucket_seconds, unit="s")
    return df
