"""Figures the apps show beside a diagnosis: severity, who is affected, per-segment metric over
time, serving signals and model versions over the diagnosed windows.

Pure functions over the query layer (one small aggregate query each) and over result objects;
no plotting, no widgets. Every number is derived from the same outcome counts as the triage, so
figures agree with the diagnosis they accompany.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from workbench.data import LogStore, Window
from workbench.exceptions import InvalidInputError
from workbench.results import Diagnosis, MetricSeries, Serialisable
from workbench.stages import metrics

# Metrics whose numerator counts rows, so "extra bad outcomes" is a number of rows.
COUNT_COLUMNS = frozenset({"fp", "fn", "tp", "decision_pos"})
# Buckets of a week keep the per-window count query to a handful of rows.
WINDOW_BUCKET_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Severity(Serialisable):
    """How bad the incident is over the current window, for everyone or one segment.

    bad_current: rows counted by the metric's numerator (e.g. false positives) since the split;
    excess: how many of them exceed what the baseline rate would have produced (None for
    metrics that do not count rows); affected_share: excess as a share of the current rows.
    """

    metric: str
    segment: str | None
    rows_baseline: int
    rows_current: int
    bad_current: float
    denominator_current: float
    metric_baseline: float | None
    metric_current: float | None
    excess: float | None
    affected_share: float | None
    hours_current: float

    @property
    def excess_per_hour(self) -> float | None:
        """Extra bad outcomes per hour of the current window."""
        if self.excess is None or self.hours_current <= 0:
            return None
        return self.excess / self.hours_current

    @property
    def ratio(self) -> float | None:
        """Current metric over the baseline metric."""
        if not self.metric_baseline or self.metric_current is None:
            return None
        return self.metric_current / self.metric_baseline


@dataclass(frozen=True)
class SegmentImpact(Serialisable):
    """One value of a segment column: its traffic and its share of the extra bad outcomes."""

    column: str
    value: str
    rows_current: int
    traffic_share: float
    metric_baseline: float | None
    metric_current: float | None
    excess: float
    excess_share: float

    @property
    def label(self) -> str:
        """'column=value', the form segment filters take."""
        return f"{self.column}={self.value}"


@dataclass(frozen=True)
class Impact(Serialisable):
    """Severity for everyone, the per-segment breakdown and, with a filter, that segment's view."""

    overall: Severity
    segments: tuple[SegmentImpact, ...]
    segment: Severity | None = None
    segment_series: MetricSeries | None = None


@dataclass(frozen=True)
class VersionMetric(Serialisable):
    """The metric of one model version on one side of the split."""

    version: str
    side: str  # "before" or "after" the split
    first_seen: datetime
    last_seen: datetime
    rows: int
    metric: float | None


def parse_segment_filter(text: str | None) -> tuple[str, str] | None:
    """'column=value' -> (column, value); '' or None -> None (everyone)."""
    if not text:
        return None
    column, sep, value = str(text).partition("=")
    if not sep or not column.strip():
        raise InvalidInputError(
            f"A segment filter must look like 'column=value', e.g. 'country=US'. Got {text!r}.")
    return column.strip(), value.strip()


def severity(store: LogStore, metric: str, baseline: Window, current: Window,
             segment: tuple[str, str] | None = None) -> Severity:
    """The metric before and after the split and the extra bad outcomes since, in one segment
    or for everyone."""
    m = _metric(metric)
    before = store.bucket_counts(WINDOW_BUCKET_SECONDS, baseline.start, baseline.end, segment)
    after = store.bucket_counts(WINDOW_BUCKET_SECONDS, current.start, current.end, segment)
    rate_b, rate_c = metrics.total(before, metric), metrics.total(after, metric)
    bad = float(sum(_sum(after, c) for c in m.numerator))
    denom = float(sum(_sum(after, c) for c in m.denominator))
    rows_c = int(_sum(after, "n"))
    excess = share = None
    if set(m.numerator) <= COUNT_COLUMNS and rate_b is not None and rate_c is not None:
        excess = max(_sign(m) * (rate_c - rate_b), 0.0) * denom
        share = excess / rows_c if rows_c else 0.0
    hours = 0.0
    if current.start is not None and current.end is not None:
        hours = (current.end - current.start).total_seconds() / 3600
    return Severity(metric, f"{segment[0]}={segment[1]}" if segment else None,
                    int(_sum(before, "n")), rows_c, bad, denom, rate_b, rate_c, excess, share,
                    hours)


def segment_breakdown(store: LogStore, metric: str, baseline: Window,
                      current: Window) -> tuple[SegmentImpact, ...]:
    """Every value of every configured segment column, most extra bad outcomes first."""
    segments = list(store.roles.segments)
    if not segments:
        return ()
    m = _metric(metric)
    df = store.segment_counts(segments, [baseline, current])
    out = []
    for i, column in enumerate(segments):
        part = df[df[f"s{i}"].notna()]
        base = part[part["w"] == baseline.name].set_index(f"s{i}")
        cur = part[part["w"] == current.name].set_index(f"s{i}")
        rows = []
        for value, row in cur.iterrows():
            rate_c = metrics.total(row.to_frame().T, metric)
            rate_b = metrics.total(base.loc[[value]], metric) if value in base.index else None
            denom = float(sum(_num(row[c]) for c in m.denominator))
            excess = 0.0
            if rate_c is not None and rate_b is not None:
                excess = max(_sign(m) * (rate_c - rate_b), 0.0) * denom
            rows.append((str(value), int(_num(row["n"])), rate_b, rate_c, excess))
        total_rows = sum(r[1] for r in rows) or 1
        total_excess = sum(r[4] for r in rows)
        for value, n, rate_b, rate_c, excess in rows:
            out.append(SegmentImpact(column, value, n, n / total_rows, rate_b, rate_c, excess,
                                     excess / total_excess if total_excess > 0 else 0.0))
    return tuple(sorted(out, key=lambda s: (-s.excess, s.column, s.value)))


def segment_series(store: LogStore, metric: str, bucket_seconds: int, segment: tuple[str, str],
                   start: datetime | None = None, end: datetime | None = None) -> MetricSeries:
    """The metric per time bucket within one segment."""
    _metric(metric)
    counts = store.bucket_counts(bucket_seconds, start, end, segment)
    values, weights = metrics.series(counts, metric)
    return MetricSeries(f"{metric} ({segment[0]}={segment[1]})",
                        tuple(pd.Timestamp(b).to_pydatetime() for b in counts["bucket"]),
                        tuple(float(v) for v in values), tuple(float(w) for w in weights))


def impact(store: LogStore, diagnosis: Diagnosis, segment: str | None = None) -> Impact:
    """Severity, the per-segment breakdown and, for a 'column=value' filter, that segment's
    severity and metric over time."""
    baseline, current = diagnosis.baseline_window, diagnosis.current_window
    metric = diagnosis.metric.name
    seg = parse_segment_filter(segment)
    overall = severity(store, metric, baseline, current)
    breakdown = segment_breakdown(store, metric, baseline, current)
    if seg is None:
        return Impact(overall, breakdown)
    return Impact(overall, breakdown, severity(store, metric, baseline, current, seg),
                  segment_series(store, metric, diagnosis.bucket_seconds, seg,
                                 baseline.start, current.end))


def with_segment(store: LogStore, diagnosis: Diagnosis, found: Impact,
                 segment: str | None) -> Impact:
    """`found` (an impact of the same diagnosis) with another segment filter: only the
    segment's own figures are computed again."""
    seg = parse_segment_filter(segment)
    if seg is None:
        return Impact(found.overall, found.segments)
    baseline, current = diagnosis.baseline_window, diagnosis.current_window
    metric = diagnosis.metric.name
    return Impact(found.overall, found.segments,
                  severity(store, metric, baseline, current, seg),
                  segment_series(store, metric, diagnosis.bucket_seconds, seg,
                                 baseline.start, current.end))


def serving_series(store: LogStore, bucket_seconds: int, start: datetime | None = None,
                   end: datetime | None = None) -> tuple[MetricSeries, ...]:
    """Serving signals per bucket: latency p95 (ms), error-status rate and null-score rate."""
    counts = store.bucket_counts(bucket_seconds, start, end)
    buckets = tuple(pd.Timestamp(b).to_pydatetime() for b in counts["bucket"])
    n = counts["n"].astype(float).to_numpy()
    found = {}
    if "latency_p95" in counts:
        found["latency_p95_ms"] = counts["latency_p95"].astype(float).to_numpy()
    if "status_errors" in counts:
        found["error_status_rate"] = counts["status_errors"].astype(float).to_numpy() / n
    found["null_score_rate"] = 1 - counts["n_scored"].astype(float).to_numpy() / n
    return tuple(MetricSeries(name, buckets, tuple(float(v) for v in values),
                              tuple(float(w) for w in n)) for name, values in found.items())


def version_metrics(store: LogStore, metric: str, start: datetime | None, end: datetime | None,
                    split: datetime | None) -> tuple[VersionMetric, ...]:
    """The metric per model version on each side of the split, in order of first use."""
    _metric(metric)
    if store.roles.model_version is None:
        return ()
    df = store.version_counts(start, end, split).sort_values(["first_seen", "side"])
    return tuple(
        VersionMetric(str(row["version"]), str(row["side"]),
                      row["first_seen"].to_pydatetime(), row["last_seen"].to_pydatetime(),
                      int(row["n"]), metrics.total(row.to_frame().T, metric))
        for _, row in df.iterrows())


def failing_kind(metric: str, task: str) -> str:
    """Which failing records explain a metric: false positives, false negatives or errors."""
    if task != "classification":
        return "error"
    if metric in ("false_positive_rate", "precision", "positive_rate"):
        return "fp"
    if metric in ("false_negative_rate", "recall"):
        return "fn"
    return "error"


def _metric(name: str) -> metrics.MetricDef:
    if name not in metrics.METRICS:
        raise InvalidInputError(
            f"Unknown metric {name!r}; choose one of {', '.join(metrics.METRICS)}.")
    return metrics.METRICS[name]


def _sign(m: metrics.MetricDef) -> float:
    return -1.0 if m.higher_is_worse is False else 1.0


def _sum(df: pd.DataFrame, column: str) -> float:
    if column not in df:
        return 0.0
    return float(pd.to_numeric(df[column], errors="coerce").fillna(0).sum())


def _num(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)
