"""Phase 2 context: change-log events near the onset, model versions, serving health, segments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from workbench.data import LogStore
from workbench.results import ChangeEvent
from workbench.stages import metrics
from workbench.stages.triage import Triage, bucket_phase
from workbench.stats import changepoint

# A change this many buckets before the onset keeps exp(-1) of its proximity weight.
CHANGE_DECAY_BUCKETS = 3.0


def proximity(event: datetime, onset: datetime | None, bucket_seconds: int,
              onset_low: datetime | None = None, onset_high: datetime | None = None) -> float:
    """How plausibly an event at `event` explains an onset: 1 from just before the earliest
    plausible onset to one bucket after the latest, decaying for earlier events.

    Events more than one bucket after the (latest plausible) onset cannot have caused it (0).
    """
    if onset is None:
        return 0.0
    low, high = onset_low or onset, onset_high or onset
    if (event - high).total_seconds() > bucket_seconds:
        return 0.0
    lag = (low - event).total_seconds() / bucket_seconds  # buckets before the onset
    return math.exp(-max(lag, 0.0) / CHANGE_DECAY_BUCKETS)


def change_events(store: LogStore, triage: Triage) -> tuple[ChangeEvent, ...]:
    """The change log with each event's distance and proximity to the onset."""
    df = store.changes()
    out = []
    for _, row in df.iterrows():
        t = row["time"].to_pydatetime()
        hours = (triage.onset - t).total_seconds() / 3600 if triage.onset else None
        out.append(ChangeEvent(str(row["id"]), t, str(row["kind"]), str(row["description"]),
                               hours, proximity(t, triage.onset, triage.bucket_seconds,
                                                triage.onset_low, triage.onset_high)))
    return tuple(out)


@dataclass(frozen=True)
class Rollout:
    """A model version that started serving inside the analysed span."""

    version: str
    previous: str | None
    first_seen: datetime
    alignment: float  # 1 when it started at the onset, decaying with distance
    metric_previous: float | None
    metric_version: float | None
    rows: int


def rollouts(store: LogStore, triage: Triage) -> tuple[Rollout, ...]:
    """Versions first seen after the log starts, compared with their predecessor on the metric."""
    if store.roles.model_version is None:
        return ()
    df = store.version_counts(triage.baseline.start, triage.current.end, None)
    df = df.sort_values("first_seen").reset_index(drop=True)
    start = pd.Timestamp(triage.span.first) + pd.Timedelta(seconds=triage.bucket_seconds)
    out = []
    for i, row in df.iterrows():
        if row["first_seen"] < start:
            continue
        prev = df.iloc[i - 1] if i > 0 else None
        first = row["first_seen"].to_pydatetime()
        out.append(Rollout(
            version=str(row["version"]), previous=None if prev is None else str(prev["version"]),
            first_seen=first, alignment=triage.alignment(first),
            metric_previous=None if prev is None else metrics.total(
                prev.to_frame().T, triage.metric.name),
            metric_version=metrics.total(row.to_frame().T, triage.metric.name),
            rows=int(row["n"]),
        ))
    return tuple(out)


@dataclass(frozen=True)
class ServingSignal:
    """A serving signal's change point near the onset."""

    name: str
    before: float
    after: float
    change_time: datetime | None
    alignment: float


def serving_signals(triage: Triage) -> tuple[ServingSignal, ...]:
    """Latency, error-status and null-score rates: did any shift, and when?"""
    counts = triage.counts
    n = counts["n"].astype(float).to_numpy()
    signals = {}
    if "latency_p95" in counts:
        signals["latency_p95_ms"] = (counts["latency_p95"].astype(float).to_numpy(), n)
    if "status_errors" in counts:
        signals["error_status_rate"] = (counts["status_errors"].astype(float).to_numpy() / n, n)
    signals["null_score_rate"] = (1 - counts["n_scored"].astype(float).to_numpy() / n, n)
    if "score_out_of_range" in counts:
        signals["score_out_of_range_rate"] = (
            counts["score_out_of_range"].astype(float).to_numpy() / n, n)
    out = []
    phase = bucket_phase(counts, triage.bucket_seconds)
    for name, (values, weights) in signals.items():
        cp = changepoint.detect(values, weights, min_relative=0.2, phase=phase)
        if cp is None or cp.after <= cp.before:
            continue
        when = counts["bucket"].iloc[cp.index].to_pydatetime()
        out.append(ServingSignal(name, cp.before, cp.after, when, triage.alignment(when)))
    return tuple(out)


@dataclass(frozen=True)
class SegmentShift:
    """The metric in one segment value before and after the onset."""

    column: str
    value: str
    metric_baseline: float | None
    metric_current: float | None
    traffic_share: float
    excess_share: float  # share of all excess bad outcomes in the current window
    specificity: float  # 1 when the rest of the population did not degrade, 0 when it did alike


def segment_shifts(store: LogStore, triage: Triage) -> tuple[SegmentShift, ...]:
    """Per segment value: metric before/after and its share of the excess errors."""
    segments = list(store.roles.segments)
    if not segments:
        return ()
    df = store.segment_counts(segments, [triage.baseline, triage.current])
    name = triage.metric.name
    m = metrics.METRICS[name]
    out = []
    for i, col in enumerate(segments):
        part = df[df[f"s{i}"].notna()]
        base = part[part["w"] == "baseline"].set_index(f"s{i}")
        cur = part[part["w"] == "current"].set_index(f"s{i}")
        rows = []
        for value, crow in cur.iterrows():
            c_metric = metrics.total(crow.to_frame().T, name)
            b_metric = (metrics.total(base.loc[[value]], name) if value in base.index else None)
            weight = float(sum(crow[c] for c in m.denominator if pd.notna(crow[c])))
            sign = -1.0 if m.higher_is_worse is False else 1.0
            excess = 0.0
            if c_metric is not None and b_metric is not None:
                excess = max(sign * (c_metric - b_metric), 0.0) * weight
            rows.append((str(value), b_metric, c_metric, float(crow["n"]), excess))
        total_n = sum(r[3] for r in rows) or 1.0
        total_excess = sum(r[4] for r in rows)
        for value, b_metric, c_metric, n, excess in rows:
            rest = _rest_change(base, cur, value, name)
            own = _relative(b_metric, c_metric)
            spec = 0.0
            if own is not None and own * sign > 0:
                spec = 1.0 if rest is None else min(1.0, max(0.0, 1 - rest / own))
            out.append(SegmentShift(col, value, b_metric, c_metric, n / total_n,
                                    excess / total_excess if total_excess > 0 else 0.0, spec))
    return tuple(sorted(out, key=lambda s: -s.excess_share * s.specificity))


def _relative(before: float | None, after: float | None) -> float | None:
    """Relative change after/before - 1 (None when undefined)."""
    if before is None or after is None or before == 0:
        return None
    return after / before - 1


def _rest_change(base: pd.DataFrame, cur: pd.DataFrame, value: str, name: str) -> float | None:
    """Relative change of the metric over every other value of the segment column."""
    b_rest = base.drop(index=[value], errors="ignore")
    c_rest = cur.drop(index=[value], errors="ignore")
    if b_rest.empty or c_rest.empty:
        return None
    return _relative(metrics.total(b_rest, name), metrics.total(c_rest, name))


def concentration(shift: SegmentShift) -> float:
    """How much more than its traffic share a segment holds of the excess errors (lift)."""
    return shift.excess_share / shift.traffic_share if shift.traffic_share > 0 else 0.0
