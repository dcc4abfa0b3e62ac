"""Phase 1, triage: metric per bucket, the onset (change point), baseline/current windows, trend."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from workbench.data import LogStore, TimeSpan, Window
from workbench.estimate import labels
from workbench.estimate.results import Estimation, LabelArrival
from workbench.exceptions import EmptyDataError, InvalidInputError
from workbench.results import MetricSeries, MetricSummary
from workbench.stages import estimation, metrics
from workbench.stats import changepoint
from workbench.timeutil import default_bucket, format_duration, iso, parse_duration

# A worsening/recovering trend must move the metric by this share of the onset step over the
# current window, with a slope t statistic above TREND_T.
TREND_SHARE = 0.25
TREND_T = 3.0


@dataclass(frozen=True)
class Triage:
    """What changed and when: the inputs every later phase builds on."""

    bucket: str
    bucket_seconds: int
    span: TimeSpan
    counts: pd.DataFrame  # realised outcome counts per bucket
    metric: MetricSummary
    onset: datetime | None
    onset_strength: float
    baseline: Window
    current: Window
    trend: str
    series: tuple[MetricSeries, ...]
    onset_low: datetime | None = None  # earliest and latest plausible onset (change-point
    onset_high: datetime | None = None  # location uncertainty); equal to onset when sharp
    labels: LabelArrival | None = None  # how far the labels have arrived (with a label column)
    estimation: Estimation | None = None  # the metric estimated where labels are missing
    estimate: estimation.Estimate | None = None  # what the estimation rests on

    @property
    def labelled_share_current(self) -> float:
        """Share of the current window's rows labelled, relative to the usual share (0 without
        a label column; 1 when every label is in)."""
        if self.labels is None or not self.labels.usual or self.labels.current is None:
            return 0.0
        return min(1.0, self.labels.current / self.labels.usual)

    @property
    def bucket_delta(self) -> timedelta:
        """One bucket as a timedelta."""
        return timedelta(seconds=self.bucket_seconds)

    def alignment(self, when: datetime | None) -> float:
        """How well a layer's own change time coincides with the onset, in [0, 1].

        1 anywhere within the onset's uncertainty interval widened by one bucket, then decaying
        by e every two buckets; 0 without an onset or a time.
        """
        if when is None or self.onset is None:
            return 0.0
        low = (self.onset_low or self.onset) - self.bucket_delta
        high = (self.onset_high or self.onset) + self.bucket_delta
        gap = max((low - when).total_seconds(), (when - high).total_seconds(), 0.0)
        return math.exp(-gap / (2 * self.bucket_seconds))


def run_triage(store: LogStore, bucket: str | None = None, start: datetime | None = None,
               end: datetime | None = None, metric: str | None = None,
               split: datetime | None = None) -> Triage:
    """Compute per-bucket metrics, find the onset and split the log into baseline and current.

    `split` overrides where the baseline window ends and the current one starts (an engineer
    who knows better than the change point); the detected onset is still reported, and stands
    in for it when none is detected.
    """
    span = store.require_rows(start, end)
    bucket = bucket or store.incident.bucket or default_bucket(
        (span.last - span.first).total_seconds())
    seconds = parse_duration(bucket)
    counts = store.bucket_counts(seconds, start, end)
    roles = store.roles
    if len(counts) < 2:
        raise EmptyDataError(_too_little_data(store, span, seconds))
    cov = labels.coverage(counts)
    est = (estimation.estimate(store, counts, cov, seconds, start, end)
           if estimation.needed(store, cov) else None)
    # Labelled metrics need labels that have arrived (or an estimate standing in for them).
    labelled = (roles.has_labels and float(counts["n_labeled"].fillna(0).sum()) > 0) or (
        est is not None)
    frames = _Frames(counts, est, cov)
    names = [n for n in metrics.METRICS
             if metrics.available(n, roles.task, labelled) and frames.computable(n)]
    metric = metric or store.incident.metric
    if metric is not None and metric not in names:
        raise InvalidInputError(
            f"The metric {metric!r} is not available for this {roles.task} log "
            f"({'with' if labelled else 'without'} labels). Choose one of: "
            f"{', '.join(names)}."
        )
    phase = bucket_phase(counts, seconds)
    name, cp = _locate(frames, roles.task, labelled, metric, phase)
    if est is not None and cp is not None:  # calibrate on the labelled rows after the change
        refit = estimation.refit_after(store, est, counts, cov, cp.index, seconds, start, end)
        if refit is not est:
            est = refit
            frames = _Frames(counts, est, cov)
            name, cp = _locate(frames, roles.task, labelled, metric, phase)
    buckets = counts["bucket"].to_list()
    onset = buckets[cp.index].to_pydatetime() if cp is not None else None
    first, last_end = span.first, span.last + timedelta(microseconds=1)
    if split is not None:
        if not (first < split <= span.last):
            raise InvalidInputError(
                f"The split time {split} must lie inside the analysed span {first} .. "
                f"{span.last}.")
        onset = onset or split
    elif onset is not None:
        split = onset
    else:
        split = buckets[max(1, int(len(buckets) * 0.75))].to_pydatetime() if len(
            buckets) > 1 else first
    baseline = Window("baseline", start or first, split)
    current = Window("current", split, end or last_end)
    values, weights = metrics.series(frames.of(name), name)
    m = metrics.METRICS[name]
    post = counts["bucket"] >= pd.Timestamp(split)
    arrival = cov.arrival(split, seconds) if cov is not None else None
    used = frames.used(name)
    baseline_value, _ = frames.total(name, ~post.to_numpy(), arrival and arrival.baseline)
    current_value, estimated = frames.total(name, post.to_numpy(), arrival and arrival.current)
    summary = MetricSummary(name, baseline_value, current_value, m.higher_is_worse is not False,
                            estimated=estimated,
                            label_coverage=arrival.current if arrival is not None else None,
                            estimated_buckets=int(used.sum()))
    result = (estimation.report(est, name, counts, used, cov, split)
              if est is not None and name in est.values else None)
    trend = _trend(values[post.to_numpy()], weights[post.to_numpy()], cp, m.higher_is_worse)
    series = tuple(_series(frames.realised(n), n) for n in names)
    low = high = onset
    if cp is not None and cp.low >= 0 and split == onset:
        low, high = buckets[cp.low].to_pydatetime(), buckets[cp.high].to_pydatetime()
    return Triage(format_duration(seconds), seconds, span, counts, summary, onset,
                  cp.f_stat / cp.threshold if cp else 0.0, baseline, current, trend, series,
                  low, high, arrival, result, est)


@dataclass(frozen=True)
class _Frames:
    """The counts each metric is read from: realised, or with the estimate standing in for the
    buckets whose labels are missing (for the metrics the estimate covers)."""

    counts: pd.DataFrame
    est: estimation.Estimate | None
    cov: labels.Coverage | None

    def used(self, name: str) -> np.ndarray:
        """Whether each bucket's value of `name` is the estimate."""
        if self.est is None or name not in self.est.values:
            return np.zeros(len(self.counts), bool)
        return ~self.cov.complete if self.cov is not None else np.ones(len(self.counts), bool)

    def computable(self, name: str) -> bool:
        """Whether the log's counts or the estimate give `name`."""
        m = metrics.METRICS[name]
        return all(c in self.counts for c in (*m.numerator, *m.denominator)) or (
            self.est is not None and name in self.est.values)

    def realised(self, name: str) -> pd.DataFrame:
        """The realised counts of `name`, or the estimated ones when the log has no labels."""
        m = metrics.METRICS[name]
        if all(c in self.counts for c in (*m.numerator, *m.denominator)):
            return self.counts
        return self.of(name)

    def of(self, name: str) -> pd.DataFrame:
        """The counts frame `name` is computed from."""
        use = self.used(name)
        if self.est is None or not use.any():
            return self.counts
        return self.est.composite(self.counts, use)

    def total(self, name: str, rows: np.ndarray, share: float | None) -> tuple[float | None, bool]:
        """`name` over the buckets `rows` selects and whether it is the estimate: the realised
        value while the window's labelled `share` suffices, else the estimate standing in."""
        realised = metrics.total(self.realised(name)[rows], name)
        usual = self.cov.usual if self.cov is not None else 0.0
        enough = share is not None and usual > 0 and share >= labels.REALISED_SHARE * usual
        if not self.used(name)[rows].any() or (realised is not None and enough):
            return realised, False
        return metrics.total(self.of(name)[rows], name), True


def _locate(frames: _Frames, task: str, labelled: bool, metric: str | None,
            phase: np.ndarray | None) -> tuple[str, changepoint.ChangePoint | None]:
    """The monitored metric and its change point, walked back to where a ramp began."""
    name, cp = _choose_metric(frames, task, labelled, metric, phase)
    if cp is not None:
        values, weights = metrics.series(frames.of(name), name)
        start_index = changepoint.ramp_start(values, weights, cp, phase)
        if start_index < cp.index:  # a gradual change: it began before the best split
            cp = dataclasses.replace(cp, index=start_index, low=start_index,
                                     high=max(cp.high, start_index))
    return name, cp


def _too_little_data(store: LogStore, span: TimeSpan, bucket_seconds: int) -> str:
    """Why a log inside one bucket cannot be judged, and what to change."""
    ts = store.roles.timestamp
    rows = f"the {span.rows:,} rows" if span.rows != 1 else "the one row"
    when = (f"every {ts!r} is {iso(span.first)}" if span.first == span.last
            else f"{ts!r} runs from {iso(span.first)} to {iso(span.last)}")
    return (f"Too little data to judge: {rows} of "
            f"{store.incident.production.source.describe()!r} {'fit' if span.rows != 1 else 'fits'}"
            f" in one bucket of "
            f"{format_duration(bucket_seconds)} ({when}), and a change needs at least two buckets "
            f"to show. Choose a smaller bucket (--bucket or `bucket` in the config) or a log "
            f"covering more time.")


def _series(counts: pd.DataFrame, name: str) -> MetricSeries:
    values, weights = metrics.series(counts, name)
    return MetricSeries(name, tuple(b.to_pydatetime() for b in counts["bucket"]),
                        tuple(float(v) for v in values), tuple(float(w) for w in weights))


def bucket_phase(counts: pd.DataFrame, bucket_seconds: int) -> np.ndarray | None:
    """Cycle phase (hour of day, day of week) of each bucket row, for seasonal change points."""
    # Seconds since the epoch whatever the frame's datetime unit (pandas 3 keeps microseconds).
    starts = counts["bucket"].to_numpy().astype("datetime64[s]").astype("int64")
    return changepoint.cycle_phase(starts, bucket_seconds)


def _choose_metric(frames: _Frames, task: str, has_labels: bool, forced: str | None,
                   phase: np.ndarray | None) -> tuple[str, changepoint.ChangePoint | None]:
    """The metric with the strongest harmful change point (labelled metrics first)."""
    if forced is not None:
        return forced, _harmful_change(frames.of(forced), forced, phase)
    groups = []
    if has_labels:
        groups.append(metrics.LABELLED_CANDIDATES[task])
    groups.append(tuple(n for n in metrics.UNLABELLED_CANDIDATES
                        if metrics.available(n, task, has_labels)))
    for group in groups:
        found = [(n, cp) for n in group
                 if (cp := _harmful_change(frames.of(n), n, phase)) is not None]
        if found:
            return max(found, key=lambda item: item[1].f_stat / item[1].threshold)
    return groups[0][0], None


def _harmful_change(counts: pd.DataFrame, name: str,
                    phase: np.ndarray | None) -> changepoint.ChangePoint | None:
    """A significant change point of the metric in its harmful direction, if any."""
    values, weights = metrics.series(counts, name)
    cp = changepoint.detect(values, weights, phase=phase)
    if cp is None:
        return None
    worse = metrics.METRICS[name].higher_is_worse
    if worse is True and cp.after < cp.before:
        return None
    if worse is False and cp.after > cp.before:
        return None
    if not _beats_last_week(counts, name, cp):
        return None
    return cp


WEEK = pd.Timedelta(days=7)


def _beats_last_week(counts: pd.DataFrame, name: str, cp: changepoint.ChangePoint) -> bool:
    """Whether the change also holds against the same hours one week earlier.

    A weekly rhythm (weekend promotions, Monday peaks) looks like a step to a split of sub-daily
    buckets; comparing the current window with the same hours of the week before removes it.
    Without a full week of history before the onset there is nothing to compare: kept.
    """
    buckets = counts["bucket"]
    onset = buckets.iloc[cp.index]
    if len(buckets) < 2 or (buckets.iloc[1] - buckets.iloc[0]) >= pd.Timedelta(days=1):
        return True
    if onset - WEEK < buckets.iloc[0]:
        return True
    after = counts[(buckets >= onset) & (buckets < onset + WEEK)]
    shifted = counts[(buckets >= onset - WEEK) & (buckets < min(onset, buckets.iloc[-1] - WEEK
                                                                + pd.Timedelta(seconds=1)))]
    now, before = metrics.total(after, name), metrics.total(shifted, name)
    if now is None or before is None or before == 0:
        return True
    rel = now / before - 1
    step = cp.relative_change
    return np.sign(rel) == np.sign(step) and abs(rel) >= max(0.1, 0.5 * abs(step))


def _trend(values: np.ndarray, weights: np.ndarray, cp: changepoint.ChangePoint | None,
           higher_is_worse: bool | None) -> str:
    """'worsening', 'recovering' or 'stable' over the current window."""
    slope, t = changepoint.trend(values, weights)
    n = int(np.isfinite(values).sum())
    if n < 4 or abs(t) < TREND_T:
        return "stable"
    step = abs(cp.after - cp.before) if cp else float(np.nanstd(values))
    if step == 0 or abs(slope) * n < TREND_SHARE * step:
        return "stable"
    direction = np.sign(slope)
    if higher_is_worse is None:
        bad = np.sign(cp.after - cp.before) if cp else 1.0
    else:
        bad = 1.0 if higher_is_worse else -1.0
    return "worsening" if direction == bad else "recovering"
