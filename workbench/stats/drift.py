"""Drift statistics computed from binned counts (bins chosen on the reference).

Only scipy.special is imported: scipy.stats takes about half a second to import, which a caller
that fits no model (the lineage diff, a feature's drift over time) need not pay; tests hold
each function to its scipy.stats counterpart.

Probabilities are smoothed with an additive constant of 0.5 per bin (Jeffreys prior) so empty bins
never produce infinities: p_i = (c_i + 0.5) / (N + 0.5 k). With thousands of rows the smoothing
changes PSI by well under 0.001; with tiny windows it keeps the statistic finite and conservative.
"""

from __future__ import annotations

import numpy as np
from scipy import special

SMOOTHING = 0.5
# Conventional PSI reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25


def _probs(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    return (counts + SMOOTHING) / (counts.sum() + SMOOTHING * len(counts))


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of actual against expected (symmetric KL form)."""
    p, q = _probs(expected), _probs(actual)
    return float(np.sum((q - p) * np.log(q / p)))


def kl(expected: np.ndarray, actual: np.ndarray) -> float:
    """Kullback-Leibler divergence KL(actual || expected) in nats."""
    p, q = _probs(expected), _probs(actual)
    return float(np.sum(q * np.log(q / p)))


def js(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between the two binned distributions."""
    p, q = _probs(expected), _probs(actual)
    m = (p + q) / 2
    div = 0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m))
    return float(np.sqrt(max(div, 0.0)))


def ks_binned(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Kolmogorov-Smirnov statistic at the bin edges and its asymptotic p-value.

    Counts must be ordered along the value axis (nulls excluded). The statistic is exact at the
    edges and a lower bound of the exact KS statistic between them.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    n, m = e.sum(), a.sum()
    if n == 0 or m == 0:
        return float("nan"), float("nan")
    d = float(np.max(np.abs(np.cumsum(e) / n - np.cumsum(a) / m)))
    n_eff = n * m / (n + m)
    return d, float(special.kolmogorov(d * np.sqrt(n_eff)))  # = scipy.stats.kstwobign.sf


def chi2(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float, float]:
    """Chi-squared test of homogeneity: statistic, p-value and Cramér's V effect size."""
    table = np.vstack([np.asarray(expected, float), np.asarray(actual, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0.0
    expected_freq = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    stat = float(np.sum((table - expected_freq) ** 2 / expected_freq))
    dof = table.shape[1] - 1  # two rows: (2 - 1) * (k - 1)
    p = float(special.chdtrc(dof, stat))  # = scipy.stats.chi2.sf
    v = np.sqrt(stat / table.sum() / (min(table.shape) - 1))
    return float(stat), float(p), float(v)


def wasserstein_binned(values_e: np.ndarray, counts_e: np.ndarray, values_a: np.ndarray,
                       counts_a: np.ndarray) -> float:
    """1-D Wasserstein distance with each bin's mass placed at its mean value."""
    ok_e, ok_a = counts_e > 0, counts_a > 0
    if not ok_e.any() or not ok_a.any():
        return float("nan")
    return _wasserstein(values_e[ok_e], counts_e[ok_e], values_a[ok_a], counts_a[ok_a])


def _wasserstein(u: np.ndarray, u_weights: np.ndarray, v: np.ndarray,
                 v_weights: np.ndarray) -> float:
    """W1 between two weighted samples: the area between their CDFs (as
    scipy.stats.wasserstein_distance computes it)."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    u_order, v_order = np.argsort(u), np.argsort(v)
    values = np.sort(np.concatenate([u, v]))
    deltas = np.diff(values)
    u_cum = np.concatenate([[0.0], np.cumsum(np.asarray(u_weights, float)[u_order])])
    v_cum = np.concatenate([[0.0], np.cumsum(np.asarray(v_weights, float)[v_order])])
    u_cdf = u_cum[np.searchsorted(u[u_order], values[:-1], side="right")] / u_cum[-1]
    v_cdf = v_cum[np.searchsorted(v[v_order], values[:-1], side="right")] / v_cum[-1]
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))


# A test statistic counts as a moderate shift when its effect size reaches this and its p-value
# is tiny: at tens of thousands of rows p-values alone flag shifts of no practical size, while
# PSI under-reads shifts spread thinly over many bins.
KS_MODERATE = 0.05
CRAMERS_V_MODERATE = 0.05
P_TINY = 1e-3


def severity(psi_value: float, ks: float | None = None, ks_p: float | None = None,
             cramers_v: float | None = None, chi2_p: float | None = None) -> str:
    """Words for a feature's shift: PSI first, then KS / Cramér's V effect sizes."""
    if psi_value >= PSI_MAJOR:
        return "major"
    if psi_value >= PSI_MODERATE:
        return "moderate"
    if ks is not None and ks_p is not None and ks >= KS_MODERATE and ks_p < P_TINY:
        return "moderate"
    if (cramers_v is not None and chi2_p is not None and cramers_v >= CRAMERS_V_MODERATE
            and chi2_p < P_TINY):
        return "moderate"
    return "stable"


def correlation_ratio(counts: np.ndarray, score_sums: np.ndarray, total_n: float,
                      total_sum: float, total_sumsq: float) -> float:
    """Correlation ratio η of the score on the feature's bins, in [0, 1]."""
    counts = np.asarray(counts, float)
    sums = np.asarray(score_sums, float)
    if total_n < 2:
        return 0.0
    mean = total_sum / total_n
    ss_total = total_sumsq - total_n * mean * mean
    if ss_total <= 1e-12:
        return 0.0
    ok = counts > 0
    ss_between = float(np.sum(counts[ok] * (sums[ok] / counts[ok] - mean) ** 2))
    return float(np.sqrt(min(max(ss_between / ss_total, 0.0), 1.0)))
