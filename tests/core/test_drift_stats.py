"""Drift statistics on binned counts, cross-checked against scipy/numpy on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from workbench.stats import drift


def smoothed(counts: np.ndarray) -> np.ndarray:
    """The documented smoothing: p_i = (c_i + 0.5) / (N + 0.5 k)."""
    counts = np.asarray(counts, dtype=float)
    return (counts + 0.5) / (counts.sum() + 0.5 * len(counts))


def binned(sample: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """Counts in (-inf, e0), [e0, e1), ..., [e_last, inf): ordered along the value axis."""
    return np.histogram(sample, bins=np.concatenate([[-np.inf], inner_edges, [np.inf]]))[0]


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(0.0, 1.0, 6000), rng.normal(0.25, 1.2, 4000)


COUNTS_E = np.array([120, 340, 0, 510, 260, 70, 3])
COUNTS_A = np.array([90, 200, 45, 600, 310, 0, 40])


# ---- KS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [0.0, 0.25])
def test_ks_binned_is_a_close_lower_bound_of_scipy_ks(shift):
    rng = np.random.default_rng(17)
    ref, cur = rng.normal(0.0, 1.0, 6000), rng.normal(shift, 1.2, 4000)
    edges = np.quantile(ref, np.linspace(0, 1, 101))  # 100 equal-mass bins on the reference
    d_binned, p_binned = drift.ks_binned(binned(ref, edges), binned(cur, edges))
    exact = stats.ks_2samp(ref, cur)
    assert d_binned <= exact.statistic + 1e-12
    assert exact.statistic - d_binned < 0.02
    assert 0.0 <= p_binned <= 1.0
    # the statistic is exact at the bin edges: it equals the ECDF gap maximised over the edges
    ecdf_gap = np.abs(np.searchsorted(np.sort(ref), edges, side="left") / len(ref)
                      - np.searchsorted(np.sort(cur), edges, side="left") / len(cur))
    assert d_binned == pytest.approx(ecdf_gap.max(), abs=1e-12)


def test_ks_binned_pvalue_separates_shifted_from_same(samples):
    ref, cur = samples
    rng = np.random.default_rng(8)
    same = rng.normal(0.0, 1.0, 4000)
    edges = np.quantile(ref, np.linspace(0, 1, 21))
    _, p_shifted = drift.ks_binned(binned(ref, edges), binned(cur, edges))
    d_same, p_same = drift.ks_binned(binned(ref, edges), binned(same, edges))
    assert p_shifted < 1e-10
    assert p_same > 0.01
    n_eff = 6000 * 4000 / 10000
    assert p_same == pytest.approx(stats.kstwobign.sf(d_same * math.sqrt(n_eff)))


def test_ks_binned_of_an_empty_side_is_nan():
    d, p = drift.ks_binned(np.array([1, 2, 3]), np.zeros(3))
    assert math.isnan(d) and math.isnan(p)


# ---- PSI, KL, JS --------------------------------------------------------------------------------


def test_psi_matches_the_hand_formula():
    p, q = smoothed(COUNTS_E), smoothed(COUNTS_A)
    expected = float(np.sum((q - p) * np.log(q / p)))
    assert drift.psi(COUNTS_E, COUNTS_A) == pytest.approx(expected, rel=1e-12)
    # PSI is the symmetric KL: KL(q||p) + KL(p||q)
    assert expected == pytest.approx(stats.entropy(q, p) + stats.entropy(p, q), rel=1e-12)


def test_psi_with_real_data_against_an_unsmoothed_computation(samples):
    ref, cur = samples
    edges = np.quantile(ref, np.linspace(0, 1, 11))[1:-1]
    e, a = binned(ref, edges), binned(cur, edges)
    assert (e > 0).all() and (a > 0).all()
    pe, pa = e / e.sum(), a / a.sum()
    raw = float(np.sum((pa - pe) * np.log(pa / pe)))
    assert drift.psi(e, a) == pytest.approx(raw, abs=1e-3)  # smoothing barely matters here


def test_kl_matches_the_hand_formula_and_scipy_entropy():
    p, q = smoothed(COUNTS_E), smoothed(COUNTS_A)
    expected = float(np.sum(q * np.log(q / p)))
    assert drift.kl(COUNTS_E, COUNTS_A) == pytest.approx(expected, rel=1e-12)
    assert drift.kl(COUNTS_E, COUNTS_A) == pytest.approx(stats.entropy(q, p), rel=1e-12)
    assert drift.kl(COUNTS_E, COUNTS_A) != pytest.approx(drift.kl(COUNTS_A, COUNTS_E))


def test_js_matches_scipy_jensenshannon_base_2():
    p, q = smoothed(COUNTS_E), smoothed(COUNTS_A)
    m = (p + q) / 2
    by_hand = math.sqrt(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m)))
    value = drift.js(COUNTS_E, COUNTS_A)
    assert value == pytest.approx(jensenshannon(p, q, base=2), rel=1e-9)
    assert value == pytest.approx(by_hand, rel=1e-12)
    assert value == pytest.approx(drift.js(COUNTS_A, COUNTS_E), rel=1e-12)  # symmetric
    assert 0.0 < value < 1.0


def test_disjoint_distributions_push_js_towards_one():
    value = drift.js(np.array([10_000, 0]), np.array([0, 10_000]))
    assert 0.99 < value <= 1.0


@pytest.mark.parametrize(("expected", "actual"), [
    (np.array([0, 0, 100, 0]), np.array([50, 50, 0, 0])),
    (np.array([10, 0, 0]), np.array([0, 0, 7])),
    (np.array([0, 0, 0]), np.array([1, 2, 3])),
    (np.array([0, 0]), np.array([0, 0])),
])
def test_empty_bins_never_give_inf_or_nan(expected, actual):
    for fn in (drift.psi, drift.kl, drift.js):
        value = fn(expected, actual)
        assert math.isfinite(value), (fn.__name__, value)
        assert value >= 0.0
    stat, p, v = drift.chi2(expected, actual)
    assert all(math.isfinite(x) for x in (stat, p, v))


def test_identical_distributions_have_no_drift():
    counts = np.array([812, 1430, 966, 2201, 57, 0, 389])
    assert drift.psi(counts, counts) == pytest.approx(0.0, abs=1e-15)
    assert drift.kl(counts, counts) == pytest.approx(0.0, abs=1e-15)
    assert drift.js(counts, counts) == pytest.approx(0.0, abs=1e-7)
    # same shape at another volume: only the smoothing separates them, by well under 0.001
    assert drift.psi(counts, 3 * counts) < 1e-3
    assert drift.severity(drift.psi(counts, 3 * counts)) == "stable"


def test_psi_grows_with_the_shift(samples):
    ref, _ = samples
    edges = np.quantile(ref, np.linspace(0, 1, 21))
    rng = np.random.default_rng(2)
    values = [drift.psi(binned(ref, edges), binned(rng.normal(s, 1.0, 5000), edges))
              for s in (0.0, 0.2, 0.5, 1.0)]
    assert values == sorted(values)
    assert drift.severity(values[0]) == "stable"
    assert drift.severity(values[-1]) == "major"


@pytest.mark.parametrize(("value", "word"), [(0.0, "stable"), (0.099, "stable"),
                                             (0.1, "moderate"), (0.249, "moderate"),
                                             (0.25, "major"), (3.0, "major")])
def test_severity_words(value, word):
    assert drift.severity(value) == word


# ---- chi-squared --------------------------------------------------------------------------------


def test_chi2_matches_scipy_chi2_contingency():
    e = np.array([400, 250, 120, 30])
    a = np.array([380, 200, 190, 55])
    stat, p, v = drift.chi2(e, a)
    ref = stats.chi2_contingency(np.vstack([e, a]), correction=False)
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    cramer = stats.contingency.association(np.vstack([e, a]), method="cramer")
    assert v == pytest.approx(cramer, rel=1e-9)


def test_chi2_drops_bins_empty_on_both_sides():
    e = np.array([400, 0, 250, 120])
    a = np.array([380, 0, 200, 190])
    stat, p, v = drift.chi2(e, a)
    ref = stats.chi2_contingency(np.vstack([e[[0, 2, 3]], a[[0, 2, 3]]]), correction=False)
    assert (stat, p) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    assert v > 0


def test_chi2_without_a_comparison_is_neutral():
    assert drift.chi2(np.array([10, 20]), np.array([0, 0])) == (0.0, 1.0, 0.0)
    assert drift.chi2(np.array([10, 0]), np.array([5, 0])) == (0.0, 1.0, 0.0)


# ---- correlation ratio --------------------------------------------------------------------------


def test_correlation_ratio_matches_a_direct_computation():
    rng = np.random.default_rng(12)
    bins = rng.integers(0, 6, 3000)
    score = 0.1 * bins + rng.normal(0.0, 0.3, 3000)
    frame = pd.DataFrame({"bin": bins, "score": score})
    grand = score.mean()
    groups = frame.groupby("bin")["score"]
    ss_between = float((groups.count() * (groups.mean() - grand) ** 2).sum())
    ss_total = float(((score - grand) ** 2).sum())
    direct = math.sqrt(ss_between / ss_total)

    counts = np.zeros(8)
    sums = np.zeros(8)
    np.add.at(counts, bins + 1, 1)  # bins 0 and 7 stay empty
    np.add.at(sums, bins + 1, score)
    eta = drift.correlation_ratio(counts, sums, len(score), score.sum(), (score**2).sum())
    assert eta == pytest.approx(direct, rel=1e-9)
    assert 0.3 < eta < 1.0


def test_correlation_ratio_edge_cases():
    counts = np.array([5.0, 5.0])
    # score fully determined by the bin
    assert drift.correlation_ratio(counts, np.array([0.0, 5.0]), 10, 5.0, 5.0) == pytest.approx(1)
    # same mean in every bin
    assert drift.correlation_ratio(counts, np.array([2.5, 2.5]), 10, 5.0, 5.0) == 0.0
    # constant score / too few rows
    assert drift.correlation_ratio(counts, np.array([3.0, 3.0]), 10, 6.0, 3.6) == 0.0
    assert drift.correlation_ratio(np.array([1.0]), np.array([0.7]), 1, 0.7, 0.49) == 0.0


# ---- Wasserstein --------------------------------------------------------------------------------


def test_wasserstein_binned_equals_the_distance_between_point_masses():
    values_e = np.array([-1.5, -0.2, 0.4, 1.1, 3.0])
    counts_e = np.array([30, 120, 200, 80, 10])
    values_a = np.array([-1.0, 0.0, 0.9, 1.7, 4.2])
    counts_a = np.array([5, 60, 150, 140, 45])
    got = drift.wasserstein_binned(values_e, counts_e, values_a, counts_a)
    expanded = stats.wasserstein_distance(np.repeat(values_e, counts_e),
                                          np.repeat(values_a, counts_a))
    assert got == pytest.approx(expanded, rel=1e-9)
    # and by hand: the area between the two CDFs
    grid = np.sort(np.concatenate([values_e, values_a]))
    cdf_e = np.array([counts_e[values_e <= g].sum() for g in grid]) / counts_e.sum()
    cdf_a = np.array([counts_a[values_a <= g].sum() for g in grid]) / counts_a.sum()
    assert got == pytest.approx(float(np.sum(np.abs(cdf_e - cdf_a)[:-1] * np.diff(grid))))


def test_wasserstein_binned_ignores_empty_bins_and_their_values():
    values = np.array([0.0, 1.0, np.nan, 2.0])
    got = drift.wasserstein_binned(values, np.array([10, 10, 0, 0]),
                                   values, np.array([0, 10, 0, 10]))
    assert got == pytest.approx(1.0)
    assert math.isnan(drift.wasserstein_binned(values, np.zeros(4), values, np.ones(4)))


@pytest.mark.parametrize("seed", range(20))
def test_scipy_special_forms_equal_scipy_stats_on_random_inputs(seed):
    """The statistics computed without scipy.stats (which is slow to import) equal it."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 30))
    e, a = rng.integers(0, 500, k), rng.integers(0, 500, k)
    e[rng.integers(0, k)] = 0  # empty bins and ties among the values
    values_e = np.round(rng.normal(0, 2, k), 1)
    values_a = np.round(rng.normal(0.5, 2, k), 1)
    got = drift.wasserstein_binned(values_e, e, values_a, a)
    ok_e, ok_a = e > 0, a > 0
    want = stats.wasserstein_distance(values_e[ok_e], values_a[ok_a], e[ok_e], a[ok_a])
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    d, p = drift.ks_binned(e, a)
    n_eff = e.sum() * a.sum() / (e.sum() + a.sum())
    assert p == pytest.approx(stats.kstwobign.sf(d * np.sqrt(n_eff)), rel=1e-12, abs=1e-300)
    table = np.vstack([e, a])[:, (e + a) > 0]
    ref = stats.chi2_contingency(table, correction=False)
    stat, p_chi, _ = drift.chi2(e, a)
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert p_chi == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
