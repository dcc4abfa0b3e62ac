"""`LogStore`: one query engine over an incident's sources, opened read-only, queried in SQL.

Sources are registered as views (`production`, `reference`) and read out of core; only small
aggregates or explicitly limited records come back as pandas frames. The engine is DuckDB in
process unless the incident's [engine] section asks for Spark (see `workbench.data.engines`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from workbench.config import CHANGE_KINDS, Incident, SourceSpec
from workbench.data import engines, normalize, queries, refstats
from workbench.data.files import check_files_have_columns
from workbench.data.queries import BinSpec, Sql
from workbench.data.schema import (
    ColumnKind,
    FeatureSpec,
    Roles,
    check_column,
    is_binnable,
    is_nested,
    is_numeric,
    is_text,
)
from workbench.exceptions import DataSourceError, EmptyDataError, InvalidInputError
from workbench.windows import Window as Window  # re-exported by workbench.data

# Quantile probabilities choosing the reference bins: 20 equal-mass bins.
BIN_PROBS = [i / 20 for i in range(21)]
MAX_LEVELS = 30
# Numeric edges come from a seeded sample of about this many reference rows (exact quantiles
# sort every value: 1.2 s for 20 features of 1 M rows, 0.16 s from 100,000); the outer edges are
# the exact minimum and maximum. A sampled quantile's mass is off by about 0.002 of the bin's
# 0.05. A feature with fewer than a fifth of this many values in the sample (mostly null) is
# binned on all its values.
QUANTILE_SAMPLE_ROWS = 100_000
# What the reference's bins depend on besides its data (part of the reference-statistics key).
REFERENCE_BINNING = {"probs": BIN_PROBS, "max_levels": MAX_LEVELS,
                     "quantile_sample_rows": QUANTILE_SAMPLE_ROWS}
# Share of finite scores in [0, 1] (or of labels in {0, 1}) that marks a classifier: the rest
# are serving faults to report, not a sign of another task.
UNIT_SHARE = 0.5
# Features aggregated per scan of the log (see `binned_counts`).
FEATURES_PER_SCAN = 16


@dataclass(frozen=True)
class TimeSpan:
    """First and last timestamp and row count of the log in a window."""

    first: datetime | None
    last: datetime | None
    rows: int


class LogStore:
    """The query layer of one incident: register sources, resolve roles, run aggregate queries."""

    def __init__(self, incident: Incident, *, threads: int | None = None,
                 memory_limit: str | None = None, reference_cache: bool = True) -> None:
        self.incident = incident
        self._lock = threading.RLock()
        self.notes: list[str] = []
        self.engine = engines.connect(incident, threads=threads, memory_limit=memory_limit)
        # DuckDB's connection (None on Spark), for callers that inspect the DuckDB engine.
        self.con = getattr(self.engine, "con", None)
        self._register("production_source", incident.production.source, "production log")
        self._register("reference_source", incident.reference.source, "reference data")
        self.source_schema = self._schema("production_source")
        self.reference_source_schema = self._schema("reference_source")
        self._bins: dict[str, BinSpec] = {}
        # Reference statistics kept on disk (None: never stored or read, e.g. in benchmarks).
        self.reference_stats: refstats.ReferenceStats | None = (
            refstats.ReferenceStats() if reference_cache else None)
        self._ref_key: str | None = None
        self._ref_counts: pd.DataFrame | None = None
        self._changes: pd.DataFrame | None = None
        self._samples: dict[tuple, pd.DataFrame] = {}
        self._counts: dict[tuple, pd.DataFrame] = {}
        self._normalise()

    # ---- sources ------------------------------------------------------------------------------

    def _register(self, view: str, spec: SourceSpec, what: str) -> None:
        """Register a source as a read-only view; raise naming the file when it cannot be read."""
        self.engine.register(view, spec, what)

    def _schema(self, view: str) -> dict[str, str]:
        return self.engine.schema(view)

    # ---- normalisation ------------------------------------------------------------------------

    def _normalise(self) -> None:
        """Profile the raw roles, then build the `production` and `reference` views that every
        query reads: naive-UTC timestamps, 0/1 labels and decisions, usable columns only."""
        prod = self.incident.production
        where = f"the production log {prod.source.describe()!r}"
        schema = self.source_schema
        self._check_role_columns(schema, where)
        check_files_have_columns(
            self.engine.metadata_connection(), self.incident.production.source,
            list(dict.fromkeys([*self._configured_columns(), *self.reference_source_schema])),
            "production log")
        ts_kind = normalize.time_kind(schema[prod.timestamp])
        profile = self.run(queries.timestamp_profile(prod.timestamp, ts_kind or "none"),
                           ).iloc[0]
        if int(profile["n"]) == 0:
            raise EmptyDataError(f"The production log {prod.source.describe()!r} has no rows "
                                 f"(only a header, or empty files). Point [production] source "
                                 f"at the files that hold the predictions.")
        if self._count("reference_source") == 0:
            raise EmptyDataError(
                f"The reference data {self.incident.reference.source.describe()!r} has no rows; "
                f"drift and skew need the training data. Point [reference] source at it.")
        time_rule = self._time_rule(ts_kind, profile, where)
        label_rule = self._binary_rule(prod.label, "label", where)
        decision_rule = self._binary_rule(prod.decision, "decision", where)
        dropped = self._unusable_columns(schema)
        null_ts = int(profile["n"]) - int(profile["nn"])
        if null_ts == int(profile["n"]):
            raise DataSourceError(f"Column {prod.timestamp!r} (the timestamp) in {where} is null "
                                  f"in every row. Point [production] timestamp at the column "
                                  f"with the event times.")
        if null_ts:
            self.notes.append(
                f"{null_ts} of {int(profile['n'])} rows of the production log have no "
                f"timestamp ({prod.timestamp!r} is null) and are left out.")
        self._set_positive(label_rule, decision_rule)
        view = queries.normalised_view(
            "production", "production_source", schema, timestamp=(prod.timestamp, time_rule),
            binaries=[(c, role, r) for c, role, r in ((prod.label, "label", label_rule),
                                                      (prod.decision, "decision", decision_rule))
                      if c and r],
            drop=dropped, skip_null_time=null_ts > 0)
        self.engine.execute(view)
        ref_label = self.incident.reference.label
        ref_rule = None
        if ref_label is not None:
            check_column(ref_label, self.reference_source_schema, "label", "the reference data")
            ref_rule = self._binary_rule(ref_label, "label", "the reference data",
                                         view="reference_source")
        ref_view = queries.normalised_view(
            "reference", "reference_source", self.reference_source_schema, timestamp=None,
            binaries=[(ref_label, "label", ref_rule)] if ref_label and ref_rule else [],
            drop=self._unusable_columns(self.reference_source_schema, reference=True))
        self.engine.execute(ref_view)
        self.production_schema = self._schema("production")
        self.reference_schema = self._schema("reference")
        self.roles = self._resolve_roles()

    def _configured_columns(self) -> list[str]:
        """Every column the config names in [production] (roles, segments, features)."""
        prod = self.incident.production
        names = [prod.timestamp, prod.prediction, prod.decision, prod.label,
                 prod.model_version, prod.id, prod.latency, prod.status, *prod.segments,
                 *(prod.features or ())]
        return [n for n in dict.fromkeys(names) if n is not None]

    def _check_role_columns(self, schema: dict[str, str], where: str) -> None:
        """Every configured column exists and none holds nested values."""
        prod = self.incident.production
        for role, name in (("timestamp", prod.timestamp), ("prediction", prod.prediction),
                           ("decision", prod.decision), ("label", prod.label),
                           ("model_version", prod.model_version), ("id", prod.id),
                           ("latency", prod.latency), ("status", prod.status),
                           *(("segment", s) for s in prod.segments),
                           *(("feature", f) for f in prod.features or ())):
            if name is None:
                continue
            check_column(name, schema, role, where)
            if is_nested(schema[name]):
                raise DataSourceError(
                    f"Column {name!r} (the {role}) in {where} has type {schema[name]}, which "
                    f"holds several values per row. Flatten it upstream, or leave it out of "
                    f"the config.")

    def _count(self, view: str) -> int:
        with self._lock:
            return int(self.engine.run(queries.view_query("count", view)).iloc[0, 0])

    def _time_rule(self, kind: str | None, profile: pd.Series,
                   where: str) -> normalize.TimeRule:
        """The timestamp's rule, raising naming the column when its values are not times."""
        prod = self.incident.production
        col = prod.timestamp
        if kind is None:
            raise DataSourceError(
                f"Column {col!r} (the timestamp) in {where} has type "
                f"{self.source_schema[col]}, not a time. Point [production] timestamp at a "
                f"TIMESTAMP, DATE, ISO-8601 text or epoch-number column.")
        if kind == "text" and int(profile["bad"]):
            raise DataSourceError(
                f"Column {col!r} (the timestamp) in {where} has {int(profile['bad'])} value(s) "
                f"that are not ISO-8601 times, e.g. {_quote(profile['bad_example'])}. Fix them "
                f"upstream, or set [production] csv = {{timestampformat = \"…\"}} for a CSV "
                f"log in another format.")
        if kind == "epoch":
            lo, hi = profile["lo"], profile["hi"]
            unit = normalize.epoch_unit(col, None if pd.isna(lo) else float(lo),
                                        None if pd.isna(hi) else float(hi),
                                        prod.timestamp_unit, where)
            return normalize.TimeRule("epoch", unit)
        return normalize.TimeRule(kind)

    def _binary_rule(self, column: str | None, role: str, where: str,
                     view: str = "production_source") -> normalize.BinaryRule | None:
        """The 0/1 mapping of a label or decision column; None when it stays as it is (numbers
        without a `positive` key: 0/1 labels, or a regression target)."""
        if column is None:
            return None
        schema = self.source_schema if view == "production_source" else \
            self.reference_source_schema
        duck_type = schema[column]
        positive = self.incident.production.positive
        if is_numeric(duck_type) and positive is None:
            return None
        if not (is_numeric(duck_type) or is_text(duck_type) or duck_type == "BOOLEAN"):
            raise DataSourceError(
                f"Column {column!r} (the {role}) in {where} has type {duck_type}; a boolean, "
                f"number or two text values are needed.")
        values = self.run(queries.distinct_values(view, column, 8))["value"].tolist()
        if role == "decision" and positive is not None and positive not in values:
            positive = None  # the label's positive value is not a decision value
        if is_numeric(duck_type) and positive is not None:
            values = [_canonical_number(v) for v in values]
            positive = _canonical_number(positive) if _is_number(positive) else None
            if positive is None:  # a text positive for numeric labels: they are 0/1 already
                return None
        return normalize.binary_rule(column, role, duck_type, [str(v) for v in values],
                                     positive, where)

    def _set_positive(self, *rules: normalize.BinaryRule | None) -> None:
        """Hold the positive values as rows of a small table: views cannot take parameters."""
        rows = [(role, rule.positive)
                for role, rule in zip(("label", "decision"), rules, strict=True)
                if rule is not None and rule.positive is not None]
        with self._lock:
            self.engine.set_rows(queries.POSITIVE_TABLE, ["role", "v"], rows)

    def _unusable_columns(self, schema: dict[str, str], reference: bool = False) -> list[str]:
        """Columns of nested types that no role names: left out of the view, with a note."""
        taken = set(self._configured_columns()) | {self.incident.reference.label}
        dropped = [c for c, t in schema.items() if is_nested(t) and c not in taken]
        if dropped and not reference:
            shown = ", ".join(f"{c!r} ({schema[c]})" for c in dropped[:5])
            more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
            self.notes.append(f"Column(s) {shown}{more} of the production log hold several "
                              f"values per row and are not analysed.")
        return dropped

    # ---- roles --------------------------------------------------------------------------------

    def _resolve_roles(self) -> Roles:
        """Check every configured column has a usable type; choose the features and the task."""
        prod = self.incident.production
        schema = self.production_schema
        where = f"the production log {prod.source.describe()!r}"
        for role, name in (("prediction", prod.prediction), ("latency", prod.latency)):
            if name is not None and not is_numeric(schema[name]):
                raise DataSourceError(
                    f"Column {name!r} (the {role}) in {where} has type {schema[name]}; "
                    f"a number is needed."
                )
        ref_label = self.incident.reference.label
        roles = Roles(
            timestamp=prod.timestamp, prediction=prod.prediction, task="classification",
            decision=prod.decision, label=prod.label, model_version=prod.model_version,
            id=prod.id, latency=prod.latency, status=prod.status, segments=prod.segments,
            features=self._features(), reference_label=ref_label,
        )
        return Roles(**{**roles.__dict__, "task": self._task(roles, where)})

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
                     if c in self.reference_schema and c not in taken
                     and is_binnable(self.production_schema[c])]
        specs = []
        for name in names:
            ptype = self.production_schema[name]
            rtype = self.reference_schema.get(name)
            numeric = is_numeric(rtype or ptype) and is_numeric(ptype)
            kind = ColumnKind.NUMERIC if numeric else ColumnKind.CATEGORICAL
            specs.append(FeatureSpec(name, kind, ptype, rtype))
        return tuple(specs)

    def _task(self, roles: Roles, where: str) -> str:
        """The model's task: from the config, else inferred from the label and score values.

        Classification labels outside 0/1 and classifier scores that are not probabilities are
        refused with what to set, never silently read as a regression. A minority of scores
        outside [0, 1] is a serving symptom the triage reports, not a different task.
        """
        configured = self.incident.task
        prof = self.run(queries.outcome_profile(roles)).iloc[0]
        if int(prof["n_pred"]) == 0:
            raise DataSourceError(
                f"Column {roles.prediction!r} (the prediction) in {where} has no finite value "
                f"in any row ({int(prof['n_nonfinite'])} NaN or infinite, the rest null): the "
                f"model served no usable prediction. Check the serving layer, or point "
                f"[production] prediction at the score column.")
        lo, hi = float(prof["pred_lo"]), float(prof["pred_hi"])
        probability = int(prof["n_unit"]) >= UNIT_SHARE * int(prof["n_pred"])
        if roles.label is None:
            return configured or ("classification" if probability else "regression")
        if configured == "regression":
            return configured
        labels = self.run(queries.label_values(roles.label, 12))
        values = [float(v) for v in labels["value"]]
        counts = [int(n) for n in labels["n"]]
        if not values:  # no label has arrived yet: the scores alone tell the task
            return configured or ("classification" if probability else "regression")
        mapped = self.production_schema[roles.label] != self.source_schema[roles.label]
        binary = mapped or (bool(values) and set(values) <= {0.0, 1.0})
        if configured is None and not binary:
            in_pair = sum(n for v, n in zip(values, counts, strict=True) if v in (0, 1))
            if not (probability and in_pair >= UNIT_SHARE * max(int(prof["n_label"]), 1)):
                return "regression"
        if not binary:
            raise DataSourceError(normalize.numeric_label_problem(roles.label, values, counts,
                                                                  where))
        if configured is None and not probability and roles.decision is None:
            raise DataSourceError(
                f"Column {roles.prediction!r} (the prediction) in {where} ranges "
                f"{lo:g} .. {hi:g} while the label {roles.label!r} is binary: a classifier's "
                f"score must be a probability in [0, 1]. Rescale it upstream, log the "
                f"thresholded decision as [production] decision, or set [production] task "
                f"(\"classification\" or \"regression\").")
        return "classification"

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
                return self.engine.run(q)
            except engines.data_errors(self.engine) as exc:
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
        self._load_reference_stats()
        todo = [f for f in features if f.name not in self._bins and f.in_reference]
        numeric = [f for f in todo if f.kind is ColumnKind.NUMERIC]
        if numeric:
            self._bins.update({s.feature.name: s for s in self._numeric_bins(numeric)})
        for f in todo:
            if f.kind is ColumnKind.CATEGORICAL:
                levels = self.run(queries.top_levels(f, MAX_LEVELS))["level"].tolist()
                self._bins[f.name] = BinSpec(f, levels=tuple(str(v) for v in levels))
        for f in features:
            if f.name not in self._bins:  # not in the reference: bin on nothing, all "unseen"
                self._bins[f.name] = BinSpec(f)
        return [self._bins[f.name] for f in features]

    def _numeric_bins(self, numeric: list[FeatureSpec]) -> list[BinSpec]:
        """Quantile edges of numeric features: interior edges from a seeded sample of the
        reference (see QUANTILE_SAMPLE_ROWS), outer edges its exact minimum and maximum."""
        modulus = max(1, self._count("reference") // QUANTILE_SAMPLE_ROWS)
        row = self.run(queries.reference_quantiles(numeric, BIN_PROBS, modulus)).iloc[0]
        quantiles = {i: row[f"q{i}"] for i in range(len(numeric))}
        thin = [i for i in range(len(numeric)) if modulus > 1
                and row[f"ns{i}"] < min(row[f"n{i}"], QUANTILE_SAMPLE_ROWS // 5)]
        if thin:
            exact = self.run(queries.reference_quantiles([numeric[i] for i in thin],
                                                         BIN_PROBS)).iloc[0]
            quantiles.update({i: exact[f"q{j}"] for j, i in enumerate(thin)})
        specs = []
        for i, f in enumerate(numeric):
            qs = quantiles[i]
            if qs is None or row[f"n{i}"] == 0:
                specs.append(BinSpec(f))
                continue
            inner = np.asarray(qs, dtype=float)[1:-1]
            edges = np.unique(np.concatenate([[row[f"lo{i}"]], inner, [row[f"hi{i}"]]]))
            specs.append(BinSpec(f, edges=tuple(float(v) for v in edges)))
        return specs

    def binned_counts(self, specs: list[BinSpec], windows: list[Window],
                      reference: bool = False, outcomes: bool = False) -> pd.DataFrame:
        """Rows per (window, feature index, bin id) with score and value sums; -1 rows = totals.

        outcomes: also every outcome count per bin (see `queries.outcome_aggregates`).
        Wide logs are read in groups of FEATURES_PER_SCAN features: a columnar scan reads each
        column once either way, while one GROUPING SETS query over hundreds of sets costs
        time quadratic in their number.
        """
        if reference and len(windows) == 1 and not outcomes:
            cached = self._cached_reference_counts(specs, windows[0].name)
            if cached is not None:
                return cached
        return self._scan_binned(specs, windows, reference, outcomes)

    def _scan_binned(self, specs: list[BinSpec], windows: list[Window], reference: bool,
                     outcomes: bool) -> pd.DataFrame:
        """`binned_counts` read from the data."""
        table = "reference" if reference else "production"
        parts = []
        for first in range(0, max(len(specs), 1), FEATURES_PER_SCAN):
            chunk = specs[first:first + FEATURES_PER_SCAN]
            q = queries.binned_counts(
                self.roles, chunk, table, [w.as_tuple() for w in windows],
                with_score=not reference,
                threshold=self.incident.threshold if outcomes and not reference else None)
            part = self.run(q)
            if first:  # the window totals (feature -1) come from the first group only
                part = part[part["feature"] >= 0]
                part["feature"] += first
            parts.append(part)
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    def _load_reference_stats(self) -> None:
        """Bins and reference counts of every feature from the reference-statistics cache, once
        per store (see `workbench.data.refstats`); nothing when absent or disabled."""
        if self._ref_counts is not None or self.reference_stats is None or self._bins:
            return
        features = list(self.roles.features)
        self._ref_key = refstats.reference_key(self.incident, features, REFERENCE_BINNING)
        found = self.reference_stats.load(self._ref_key, features) if self._ref_key else None
        if found is not None:
            specs, self._ref_counts = found
            self._bins.update({s.feature.name: s for s in specs})

    def _cached_reference_counts(self, specs: list[BinSpec], name: str) -> pd.DataFrame | None:
        """The reference's per-bin counts of `specs` from every feature's stored counts
        (computed and stored on first use); None when these are not the store's own bins."""
        if self.reference_stats is None:
            return None
        features = list(self.roles.features)
        full = self.bin_specs(features)
        index = {s.feature.name: i for i, s in enumerate(full)}
        if any(index.get(s.feature.name) is None or full[index[s.feature.name]] != s
               for s in specs):
            return None
        if self._ref_counts is None:
            self._ref_counts = self._scan_binned(full, [Window("reference", None, None)],
                                                 reference=True, outcomes=False)
            if self._ref_key:
                self.reference_stats.save(self._ref_key, full, self._ref_counts)
        counts = self._ref_counts
        wanted = {index[s.feature.name]: i for i, s in enumerate(specs)}
        part = counts[counts["feature"].isin([-1, *wanted])].copy()
        part["feature"] = part["feature"].map(lambda j: wanted.get(j, -1)).astype(
            counts["feature"].dtype)
        part["w"] = name
        return part.reset_index(drop=True)

    def joint_cells(self, specs: list[BinSpec], windows: list[Window]) -> pd.DataFrame:
        """Outcome counts per window and joint cell of a few features' coarse bins."""
        q = queries.joint_cells(self.roles, self.incident.threshold, specs,
                                [w.as_tuple() for w in windows])
        return self.run(q)

    def feature_profile_by_bucket(self, bucket_seconds: int, start: datetime | None = None,
                                  end: datetime | None = None) -> pd.DataFrame:
        """Per bucket: each feature's mean, zero count, non-null count and constant flag
        (columns suffixed with the feature's index; wide logs in groups of features)."""
        features = list(self.roles.features)
        merged: pd.DataFrame | None = None
        for first in range(0, max(len(features), 1), FEATURES_PER_SCAN):
            chunk = features[first:first + FEATURES_PER_SCAN]
            q = queries.feature_profile_by_bucket(self.roles, chunk, bucket_seconds, start, end,
                                                  offset=first)
            part = self.run(q)
            merged = part if merged is None else merged.merge(
                part.drop(columns="n"), on="bucket", how="left")
        assert merged is not None
        return _buckets_to_time(merged, bucket_seconds)

    def segment_counts(self, segments: list[str], windows: list[Window]) -> pd.DataFrame:
        """Outcome counts per window and segment value; columns s0..sk hold the values (kept
        for the store's lifetime: the repair test and the segment shifts read the same)."""
        for seg in segments:
            check_column(seg, self.production_schema, "segment", "the production log")
        key = ("segments", tuple(segments), tuple(w.as_tuple() for w in windows))
        if key not in self._counts:
            q = queries.segment_counts(self.roles, self.incident.threshold, segments,
                                       [w.as_tuple() for w in windows])
            self._counts[key] = self.run(q)
        return self._counts[key].copy()

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
            self._register("changes", spec.source, "change log")
            schema = self._schema("changes")
            for col in ("time", "id", "kind", "description"):
                check_column(col, schema, "change-log column", spec.source.describe())
            rule = self._change_time_rule(schema["time"], spec.source.describe())
            df = self.run(queries.change_log(rule))
        missing = int(df["time"].isna().sum())
        if missing:
            raise DataSourceError(
                f"The change log {spec.source.describe()!r} has {missing} row(s) without a time. "
                f"Give every change its time (ISO-8601, e.g. 2026-10-16T18:00:00Z).")
        no_kind = df[df["kind"].isna()]
        if not no_kind.empty:
            raise DataSourceError(
                f"The change log {spec.source.describe()!r} has {len(no_kind)} change(s) without "
                f"a kind, e.g. {no_kind['id'].iloc[0]!r}. Give each one of "
                f"{', '.join(CHANGE_KINDS)}.")
        bad = sorted(set(df["kind"]) - set(CHANGE_KINDS))
        if bad:
            raise DataSourceError(
                f"The change log {spec.source.describe()!r} has unknown kind(s) {bad}; "
                f"use one of {', '.join(CHANGE_KINDS)}."
            )
        df["time"] = pd.to_datetime(df["time"])
        self._changes = df
        return df.copy()

    def _change_time_rule(self, duck_type: str, where: str) -> normalize.TimeRule:
        """The change log's time column rule, raising naming a value that is not a time."""
        kind = normalize.time_kind(duck_type)
        if kind is None:
            raise DataSourceError(f"The change log {where!r} column 'time' has type "
                                  f"{duck_type}, not a time. Write ISO-8601 times.")
        profile = self.run(queries.timestamp_profile("time", kind, view="changes")).iloc[0]
        if kind == "text" and int(profile["bad"]):
            raise DataSourceError(
                f"The change log {where!r} has {int(profile['bad'])} time(s) that are not "
                f"ISO-8601, e.g. {_quote(profile['bad_example'])}. Write them like "
                f"2026-10-16T18:00:00Z.")
        if kind == "epoch":
            lo, hi = profile["lo"], profile["hi"]
            unit = normalize.epoch_unit("time", None if pd.isna(lo) else float(lo),
                                        None if pd.isna(hi) else float(hi), None,
                                        f"the change log {where!r}")
            return normalize.TimeRule("epoch", unit)
        return normalize.TimeRule(kind)

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
        """Close the engine (DuckDB's connection; Spark's session only if the store made it)."""
        self.engine.close()

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

    # ---- data quality ---------------------------------------------------------------------

    def unseen_values(self, feature: FeatureSpec, window: Window,
                      limit: int = 5) -> pd.DataFrame:
        """The most frequent values of a categorical feature in a window that training lacks."""
        return self.run(queries.unseen_values(self.roles, feature, window.start, window.end,
                                              limit))

    def non_numeric_values(self, column: str, windows: list[Window]) -> pd.DataFrame:
        """Per window: how many values of a text column are not numbers (and the commonest)."""
        check_column(column, self.production_schema, "feature", "the production log")
        return self.run(queries.non_numeric_values(self.roles, column,
                                                   [w.as_tuple() for w in windows]))

    def duplicate_ids(self, windows: list[Window], modulus: int = 1) -> pd.DataFrame:
        """Per window: rows with an id and distinct ids (on the ids whose hash is 0 modulo
        `modulus`: a repeated id hashes alike, so the share of repeats is kept)."""
        return self.run(queries.duplicate_ids(self.roles, [w.as_tuple() for w in windows],
                                              modulus))

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
        """A reproducible sample of at most `rows` rows of the reference or a log window
        (kept for the store's lifetime: several stages draw the same sample)."""
        schema = self.reference_schema if reference else self.production_schema
        where = "the reference data" if reference else "the production log"
        for col in columns:
            check_column(col, schema, "sampled column", where)
        key = (tuple(columns), int(rows), int(seed), reference, start, end)
        if key not in self._samples:
            q = queries.seeded_sample(self.roles, "reference" if reference else "production",
                                      list(columns), int(rows), int(seed), start, end)
            self._samples[key] = self.run(q)
        return self._samples[key].copy()


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
        try:
            yield from self.engine.batches(q, int(batch_rows))
        except engines.data_errors(self.engine) as exc:
            first = str(exc).strip().splitlines()[0]
            raise DataSourceError(
                f"Reading the production log {self.incident.production.source.describe()!r} "
                f"failed during the replay: {first}. Fix the offending value or column type "
                f"in the source."
            ) from exc

    def prediction_range(self, start: datetime | None = None,
                         end: datetime | None = None) -> tuple[float | None, float | None, int]:
        """(min, max, count) of the finite logged predictions in [start, end)."""
        row = self.run(queries.prediction_range(self.roles, start, end)).iloc[0]
        lo = None if pd.isna(row["lo"]) else float(row["lo"])
        hi = None if pd.isna(row["hi"]) else float(row["hi"])
        return lo, hi, int(row["n"])

    # ---- estimation: labelled metrics before the labels arrive ---------------------------------

    def score_quantiles(self, probs: list[float], start: datetime | None = None,
                        end: datetime | None = None) -> np.ndarray:
        """Quantiles of the finite logged scores in [start, end) (empty without scores)."""
        row = self.run(queries.score_quantiles(self.roles, probs, start, end)).iloc[0]
        if int(row["n"]) == 0:
            return np.array([])
        return np.asarray(row["q"], dtype=float)

    def score_bins(self, edges: list[float], bucket_seconds: int, start: datetime | None = None,
                   end: datetime | None = None) -> pd.DataFrame:
        """Rows, score sums and labelled counts per bucket, score bin and decision (see
        `queries.score_bins`); `bucket` as the bucket's start time."""
        q = queries.score_bins(self.roles, self.incident.threshold, list(edges), bucket_seconds,
                               start, end)
        return _buckets_to_time(self.run(q), bucket_seconds)

    def reference_score_bins(self, edges: list[float], folds: int) -> pd.DataFrame | None:
        """Labelled reference rows per fold and score bin, or None when the reference lacks a
        label or the log's prediction column."""
        roles = self.roles
        schema = self.reference_schema
        if roles.reference_label is None or roles.prediction not in schema or \
                not is_numeric(schema[roles.prediction]):
            return None
        columns = [f.name for f in roles.features if f.name in schema]
        return self.run(queries.reference_score_bins(roles, list(edges), int(folds), columns))

    def loss_sample(self, columns: list[str], bucket_seconds: int, rows: int, seed: int = 0, *,
                    start: datetime | None = None, end: datetime | None = None,
                    labelled: bool = False) -> pd.DataFrame:
        """A seeded sample of scored rows with their bucket start, score and label (see
        `queries.loss_sample`)."""
        for col in columns:
            check_column(col, self.production_schema, "sampled column", "the production log")
        q = queries.loss_sample(self.roles, list(columns), bucket_seconds, int(rows), int(seed),
                                start, end, labelled)
        df = self.run(q)
        df["_wb_bucket"] = pd.to_datetime(df["_wb_bucket"].astype("int64") * bucket_seconds,
                                          unit="s")
        return df

    # ---- data quality: ranges, frozen values ----------------------------------------------

    def value_range(self, features: list[FeatureSpec], window: Window) -> pd.DataFrame:
        """Per numeric feature: its smallest and largest finite value in the window (columns
        feature, lo, hi)."""
        features = [f for f in features if f.kind is ColumnKind.NUMERIC]
        if not features:
            return pd.DataFrame(columns=["feature", "lo", "hi"])
        for f in features:
            check_column(f.name, self.production_schema, "feature", "the production log")
        row = self.run(queries.value_range(self.roles, features, window.start,
                                           window.end)).iloc[0]
        return pd.DataFrame({"feature": [f.name for f in features],
                             "lo": [row[f"lo{i}"] for i in range(len(features))],
                             "hi": [row[f"hi{i}"] for i in range(len(features))]})

    def chunk_distinct(self, features: list[FeatureSpec], origin: datetime, chunk_us: int,
                       start: datetime | None = None,
                       end: datetime | None = None) -> pd.DataFrame:
        """Rows per chunk of `chunk_us` from `origin` and, per feature, non-null (nn{i}) and
        distinct (d{i}) values (see `queries.chunk_distinct`)."""
        for f in features:
            check_column(f.name, self.production_schema, "feature", "the production log")
        if chunk_us < 1:
            raise InvalidInputError(f"chunk_us must be positive. Got {chunk_us!r}.")
        return self.run(queries.chunk_distinct(self.roles, features, origin, int(chunk_us),
                                               start, end))

    def value_share(self, feature: FeatureSpec, values: list[str],
                    windows: list[Window]) -> pd.DataFrame:
        """Per window: non-null values of a feature (n) and how many are one of `values`
        (n_in)."""
        check_column(feature.name, self.production_schema, "feature", "the production log")
        return self.run(queries.value_share(self.roles, feature, [str(v) for v in values],
                                            [w.as_tuple() for w in windows]))

    def sample_values(self, feature: FeatureSpec, window: Window, limit: int) -> pd.DataFrame:
        """The most frequent values of a feature in the window, as text, with their counts."""
        check_column(feature.name, self.production_schema, "feature", "the production log")
        return self.run(queries.sample_values(self.roles, feature, window.start, window.end,
                                              int(limit)))


def _quote(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut to `limit` characters."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _canonical_number(value: Any) -> str:
    """A numeric label value as text that compares equal however it was written (1, 1.0)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _from_us(value: Any) -> datetime | None:
    """Epoch microseconds as a naive-UTC datetime."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(int(value), unit="us").to_pydatetime()


def _buckets_to_time(df: pd.DataFrame, bucket_seconds: int) -> pd.DataFrame:
    """Replace bucket indexes by the buckets' start times."""
    df["bucket"] = pd.to_datetime(df["bucket"].astype("int64") * bucket_seconds, unit="s")
    return df
