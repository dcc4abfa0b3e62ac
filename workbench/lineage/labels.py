"""Label statistics between two data versions: a proportion test for 0/1 labels, Welch's t for
numeric ones (prices, durations), from the counts, sums and sums of squares the summaries hold.

Both statistics are approximately standard normal under "no change" for the row counts a
training table has, so one threshold (`SEGMENT_Z`) flags a segment's label change either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# |statistic| above which a label change is significant: conservative, as every level of every
# categorical column is tested.
SEGMENT_Z = 4.0
MIN_SEGMENT_ROWS = 20
TWO_PROPORTION = "two-proportion z"
WELCH = "Welch t"
# Relative floor of a standard error, so two constant but different samples give a large finite
# statistic instead of a division by zero.
SE_FLOOR = 1e-12


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of a label over some rows."""

    n: int
    total: float
    sumsq: float | None = None

    @property
    def mean(self) -> float | None:
        """Mean of the label (the positive share of a 0/1 label)."""
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n - 1 in the denominator); None without the sum of squares."""
        if self.sumsq is None or self.n < 2:
            return None
        return max(self.sumsq - self.total * self.total / self.n, 0.0) / (self.n - 1)


def statistic_name(kind: str | None) -> str:
    """The statistic used for a label kind."""
    return WELCH if kind == "numeric" else TWO_PROPORTION


def statistic(kind: str | None, good: Moments, bad: Moments) -> float | None:
    """Two-proportion z (binary) or Welch t (numeric) of bad against good; None when unknown."""
    return welch_t(good, bad) if kind == "numeric" else two_proportion_z(good, bad)


def two_proportion_z(good: Moments, bad: Moments) -> float | None:
    """z of the positive share of bad against good, pooled variance; None unless both are rates."""
    if good.n == 0 or bad.n == 0:
        return 0.0
    pooled = (good.total + bad.total) / (good.n + bad.n)
    if not 0.0 <= pooled <= 1.0:
        return None  # not a 0/1 label
    se = math.sqrt(pooled * (1 - pooled) * (1 / good.n + 1 / bad.n))
    if se == 0:
        return 0.0
    return (bad.total / bad.n - good.total / good.n) / se


def welch_t(good: Moments, bad: Moments) -> float | None:
    """Welch's t of the mean of bad against good; None without both variances."""
    if good.n == 0 or bad.n == 0:
        return 0.0
    vg, vb = good.variance, bad.variance
    if vg is None or vb is None or good.mean is None or bad.mean is None:
        return None
    diff = bad.mean - good.mean
    if diff == 0:
        return 0.0
    scale = max(abs(good.mean), abs(bad.mean), 1.0)
    se = max(math.sqrt(vg / good.n + vb / bad.n), SE_FLOOR * scale)
    return diff / se


def significant(value: float | None) -> bool:
    """Whether a statistic flags a change."""
    return value is not None and abs(value) >= SEGMENT_Z
