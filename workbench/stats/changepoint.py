"""Change-point detection on a per-bucket metric series (weighted mean shift, binary search).

Each bucket contributes its metric value with a weight (e.g. the number of labelled negatives
behind a false-positive rate). For every split point the weighted least-squares gain of a step
over a model without one is an F statistic against the residual variance: over-dispersion
inflates that variance, so it does not masquerade as a change point. A known cycle (the daily
rhythm of hourly buckets) is modelled with one level per phase, so it neither hides a step nor
drags the split towards a peak. The best split is
reported when F exceeds a threshold that grows with the number of candidate splits (a search over
n splits inflates the maximum F) and the relative change is material.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChangePoint:
    """A detected mean shift at series index `index` (first bucket of the new regime)."""

    index: int
    before: float
    after: float
    f_stat: float
    threshold: float
    low: int = -1  # first and last index whose split fits almost as well (location
    high: int = -1  # uncertainty: F within LOCATION_DROP of the best); -1 when unknown

    @property
    def relative_change(self) -> float:
        """(after - before) / |before|, infinite when before is 0."""
        if self.before == 0:
            return math.inf if self.after != 0 else 0.0
        return (self.after - self.before) / abs(self.before)

    @property
    def significant(self) -> bool:
        """Whether the shift clears the search-corrected threshold."""
        return self.f_stat >= self.threshold


# F is twice a log-likelihood ratio (for a known variance), so splits within 6 of the best are
# about as plausible as it (a ~95 % profile-likelihood interval for the change's location).
LOCATION_DROP = 6.0


def f_threshold(n: int) -> float:
    """Critical F for the maximum over ~n candidate splits (about a 0.1 % false alarm rate)."""
    return 12.0 + 3.0 * math.log(max(n, 2))


def best_split(values: np.ndarray, weights: np.ndarray, min_size: int = 3,
               start: int = 0, phase: np.ndarray | None = None) -> ChangePoint | None:
    """The single split maximising the weighted mean-shift F statistic, or None if too short.

    With `phase` (each bucket's position in a cycle, e.g. its hour of day) the model has one
    level per phase plus the step, so a daily rhythm neither hides a step nor pulls it towards a
    peak. Phases are ignored when the series holds fewer than three cycles.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & (w > 0)
    idx = np.flatnonzero(ok)
    idx = idx[idx >= start]
    n = len(idx)
    if n < 2 * min_size + 1:
        return None
    phases = _phases(idx, phase)
    n_phases = int(phases.max()) + 1
    v, w = v[idx], w[idx]
    # The F statistic is scale-free: work on values scaled to at most 1, so squares of huge
    # values (a feature logged in the wrong unit) cannot overflow.
    scale_v = float(np.max(np.abs(v)))
    scale_v = scale_v if np.isfinite(scale_v) and scale_v > 0 else 1.0
    v = v / scale_v
    # Residuals from the per-phase weighted means (one mean when there is no cycle).
    wp = np.bincount(phases, weights=w, minlength=n_phases)
    mp = np.bincount(phases, weights=w * v, minlength=n_phases) / np.where(wp > 0, wp, 1)
    r = v - mp[phases]
    rss0 = float(np.sum(w * r * r))
    scale = float(np.sum(w * v * v)) or 1.0
    if rss0 <= 1e-24 * scale:
        return None
    # For a step starting at position k: numerator = tail sum of w*r (phase sums of r are 0);
    # its residualised norm = sum over phases of W_tail * W_head / W.
    tail_wr = np.cumsum((w * r)[::-1])[::-1]
    onehot = np.zeros((n, n_phases))
    onehot[np.arange(n), phases] = w
    tail_w = np.cumsum(onehot[::-1], axis=0)[::-1]  # tail_w[k, p]: weight of phase p at >= k
    ks = np.arange(min_size, n - min_size + 1)
    tw = tail_w[ks]
    den = np.sum(tw * (wp - tw) / np.where(wp > 0, wp, 1), axis=1)
    num = tail_wr[ks]
    gain = np.where(den > 0, num * num / np.where(den > 0, den, 1), 0.0)
    rss1 = np.maximum(rss0 - gain, 1e-12 * rss0)
    dof = max(n - n_phases - 1, 1)
    f = gain / (rss1 / dof)
    best = int(np.argmax(f))
    k = int(ks[best])
    lo = hi = best
    while lo > 0 and f[lo - 1] >= f[best] - LOCATION_DROP:
        lo -= 1
    while hi < len(f) - 1 and f[hi + 1] >= f[best] - LOCATION_DROP:
        hi += 1
    return ChangePoint(
        index=int(idx[k]),
        before=float(np.average(v[:k], weights=w[:k])) * scale_v,
        after=float(np.average(v[k:], weights=w[k:])) * scale_v,
        f_stat=float(f[best]),
        threshold=f_threshold(n),
        low=int(idx[int(ks[lo])]),
        high=int(idx[int(ks[hi])]),
    )


# How far (in standard errors) the metric between a candidate earlier start and the detected
# split must sit above the pre-change level for the onset to move back to that start.
RAMP_Z = 4.0
RAMP_SHARE = 0.15  # ... and by at least this share of the step


def ramp_start(values: np.ndarray, weights: np.ndarray, cp: ChangePoint,
               phase: np.ndarray | None = None) -> int:
    """Where a change really began: a gradual drift puts the best split mid-ramp, so walk back
    to where the cumulative deviation from the pre-change level turns (CUSUM argmin), and keep
    that earlier start only if the metric between it and the split is clearly shifted.

    Returns an index of `values` (cp.index when the change was sharp).
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & (w > 0)
    idx = np.flatnonzero(ok & (np.arange(len(v)) < cp.index))
    if len(idx) < 6:
        return cp.index
    phases = _phases(idx, phase)
    wp = np.bincount(phases, weights=w[idx])
    mp = np.bincount(phases, weights=w[idx] * v[idx]) / np.where(wp > 0, wp, 1)
    r = v[idx] - mp[phases]
    sign = 1.0 if cp.after >= cp.before else -1.0
    cusum = np.cumsum(sign * w[idx] * r)
    k = int(np.argmin(cusum)) + 1  # first position after the lowest point
    if k >= len(idx) - 1:
        return cp.index
    head = slice(0, k)
    tail = slice(k, len(idx))
    var_unit = float(np.sum(w[idx][head] * r[head] ** 2) / max(k - 1, 1))
    tail_w = float(np.sum(w[idx][tail]))
    if var_unit <= 0 or tail_w <= 0:
        return cp.index
    mean_tail = float(np.sum(sign * w[idx][tail] * r[tail]) / tail_w)
    z = mean_tail / np.sqrt(var_unit / tail_w)
    material = mean_tail >= RAMP_SHARE * abs(cp.after - cp.before)
    return int(idx[k]) if z >= RAMP_Z and material and len(idx) - k >= 2 else cp.index


def _phases(idx: np.ndarray, phase: np.ndarray | None) -> np.ndarray:
    """Dense phase labels of the kept buckets; a single phase when cycles are too few."""
    if phase is None:
        return np.zeros(len(idx), dtype=int)
    _, dense = np.unique(np.asarray(phase)[idx], return_inverse=True)
    if len(idx) < 3 * (dense.max() + 1):
        return np.zeros(len(idx), dtype=int)
    return dense.astype(int)


def cycle_phase(bucket_starts_s: np.ndarray, bucket_seconds: int) -> np.ndarray | None:
    """Each bucket's phase in the natural cycle of its size: hour of day for sub-daily buckets,
    day of week for daily ones; None when no cycle applies."""
    starts = np.asarray(bucket_starts_s, dtype=np.int64)
    if bucket_seconds < 86400 and 86400 % bucket_seconds == 0:
        return (starts % 86400) // bucket_seconds
    if bucket_seconds == 86400:
        return (starts // 86400) % 7
    return None


def detect(values: np.ndarray, weights: np.ndarray, min_relative: float = 0.1,
           min_size: int = 3, phase: np.ndarray | None = None) -> ChangePoint | None:
    """The most significant material mean shift, or None when the series is stable."""
    cp = best_split(values, weights, min_size=min_size, phase=phase)
    if cp is None or not cp.significant or abs(cp.relative_change) < min_relative:
        return None
    return cp


def trend(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted linear slope per bucket and its t statistic (0, 0 when too short)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & (w > 0)
    if ok.sum() < 4:
        return 0.0, 0.0
    x = np.flatnonzero(ok).astype(float)
    v, w = v[ok], w[ok]
    xm, vm = np.average(x, weights=w), np.average(v, weights=w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * (v - vm)) / sxx
    resid = v - (vm + slope * (x - xm))
    sigma2 = np.sum(w * resid**2) / (len(v) - 2)
    se = math.sqrt(sigma2 / sxx) if sigma2 > 0 else 0.0
    return float(slope), float(slope / se) if se > 0 else 0.0
