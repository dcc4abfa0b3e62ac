"""Confidence intervals of the metrics a fix is judged on, from outcome counts.

Rates (FPR, FNR, precision, recall, error rate, positive rate) use the **Wilson score
interval**: it stays inside [0, 1], behaves well for rates near 0 (an FPR of 1 % on a few
thousand negatives) and needs only the two counts, so it is exact to recompute from the report.
Means (MAE, bias, mean score) use the normal approximation mean ± z·sd/√n with the standard
deviation from the summed squares. Both treat rows as independent; traffic bursts of one
customer make the true uncertainty somewhat larger, which is why a verdict compares intervals
rather than single values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from workbench.stages.metrics import COUNT_COLUMNS, METRICS
from workbench.verify.results import MetricEstimate

CONFIDENCE = 0.95
Z95 = 1.959963984540054
# Count columns (named as in `queries.outcome_aggregates`) every estimate is derived from.
COUNT_KEYS = COUNT_COLUMNS
# Mean metrics: (sum column, sum-of-squares column, count column).
MEANS = {
    "mae": ("abs_err_sum", "sq_err_sum", "n_labeled"),
    "bias": ("err_sum", "sq_err_sum", "n_labeled"),
    "score_mean": ("score_sum", "score_sumsq", "n_scored"),
}
WILSON = "wilson"
NORMAL = "normal"


def wilson(successes: float, trials: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (0, 1 when there are no trials)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denom
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(total: float, total_sq: float, n: float,
                  z: float = Z95) -> tuple[float, float]:
    """Normal-approximation interval of a mean from its sum and sum of squares."""
    if n <= 0:
        return -math.inf, math.inf
    mean = total / n
    var = max(total_sq / n - mean * mean, 0.0) * (n / (n - 1) if n > 1 else 1.0)
    half = z * math.sqrt(var / n)
    return mean - half, mean + half


def estimate(counts: Mapping[str, float], metric: str) -> MetricEstimate:
    """The metric with its 95 % interval from a mapping of count columns (missing = 0)."""
    def get(key: str) -> float:
        value = counts.get(key, 0.0)
        return 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else \
            float(value)

    if metric in MEANS:
        s, sq, k = MEANS[metric]
        n = get(k)
        value = get(s) / n if n > 0 else None
        lo, hi = mean_interval(get(s), get(sq), n) if n > 0 else (None, None)
        return MetricEstimate(metric, value, lo, hi, get(s), n, NORMAL)
    m = METRICS[metric]
    num = sum(get(c) for c in m.numerator)
    den = sum(get(c) for c in m.denominator)
    if den <= 0:
        return MetricEstimate(metric, None, None, None, num, den, WILSON)
    lo, hi = wilson(num, den)
    return MetricEstimate(metric, num / den, lo, hi, num, den, WILSON)
