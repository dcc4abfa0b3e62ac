"""Change-point detection on a per-bucket metric series (weighted mean shift, binary search).

Each bucket contributes its metric value with a weight (e.g. the number of labelled negatives
behind a false-positive rate). For every split point the weighted least-squares gain of a two-mean
model over one mean is an F statistic against the residual variance: seasonality and over-
dispersion inflate that variance, so they do not masquerade as change points. The best split is
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


def f_threshold(n: int) -> float:
    """Critical F for the maximum over ~n candidate splits (about a 0.1 % false alarm rate)."""
    return 12.0 + 3.0 * math.log(max(n, 2))


def best_split(values: np.ndarray, weights: np.ndarray, min_size: int = 3,
               start: int = 0) -> ChangePoint | None:
    """The single split maximising the weighted mean-shift F statistic, or None if too short."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = np.isfinite(v) & (w > 0)
    idx = np.flatnonzero(ok)
    idx = idx[idx >= start]
    n = len(idx)
    if n < 2 * min_size + 1:
        return None
    v, w = v[idx], w[idx]
    wv = w * v
    cw, cwv, cwvv = np.cumsum(w), np.cumsum(wv), np.cumsum(wv * v)
    tw, twv, twvv = cw[-1], cwv[-1], cwvv[-1]
    rss0 = twvv - twv * twv / tw
    if rss0 <= 0:
        return None
    ks = np.arange(min_size, n - min_size + 1)  # split before position k
    lw, lwv, lwvv = cw[ks - 1], cwv[ks - 1], cwvv[ks - 1]
    rw, rwv, rwvv = tw - lw, twv - lwv, twvv - lwvv
    rss1 = (lwvv - lwv * lwv / lw) + (rwvv - rwv * rwv / rw)
    rss1 = np.maximum(rss1, 1e-18 * rss0)
    f = (rss0 - rss1) / (rss1 / max(n - 2, 1))
    best = int(np.argmax(f))
    k = int(ks[best])
    return ChangePoint(
        index=int(idx[k]),
        before=float(lwv[best] / lw[best]),
        after=float(rwv[best] / rw[best]),
        f_stat=float(f[best]),
        threshold=f_threshold(n),
    )


def detect(values: np.ndarray, weights: np.ndarray, min_relative: float = 0.1,
           min_size: int = 3) -> ChangePoint | None:
    """The most significant material mean shift, or None when the series is stable."""
    cp = best_split(values, weights, min_size=min_size)
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
