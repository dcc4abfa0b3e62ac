"""Change-point detection and trend on per-bucket series with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from workbench.stats import changepoint

HOURS = 10 * 24


def bernoulli_rates(seed: int, step_at: int | None = None, factor: float = 2.0,
                    base: float = 0.05, amplitude: float = 0.35,
                    volume: float = 2000.0) -> tuple[np.ndarray, np.ndarray]:
    """Hourly observed rates: daily seasonality in the rate and in the volume, optional step."""
    rng = np.random.default_rng(seed)
    hours = np.arange(HOURS)
    daily = np.sin(2 * np.pi * (hours % 24 - 6) / 24)
    volume = rng.poisson(volume * (1 + 0.6 * daily)).clip(min=1)
    rate = base * (1 + amplitude * daily)
    if step_at is not None:
        rate = np.where(hours >= step_at, rate * factor, rate)
    events = rng.binomial(volume, rate)
    return events / volume, volume.astype(float)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("step_at", [62, 117, 139, 185])
def test_step_in_a_seasonal_bernoulli_rate_is_found_within_one_bucket(seed, step_at):
    # ~100 events per hour on average, a daily cycle of +-35 % in the rate, the rate doubles.
    values, weights = bernoulli_rates(seed, step_at=step_at)
    cp = changepoint.detect(values, weights, phase=np.arange(len(values)) % 24)
    assert cp is not None
    assert abs(cp.index - step_at) <= 1
    assert cp.significant
    assert cp.before == pytest.approx(0.05, rel=0.15)
    assert cp.after == pytest.approx(0.10, rel=0.15)
    assert cp.relative_change == pytest.approx(1.0, abs=0.3)


@pytest.mark.parametrize("step_at", [62, 139])
def test_step_without_seasonality_is_found_within_one_bucket(step_at):
    values, weights = bernoulli_rates(5, step_at=step_at, amplitude=0.0, volume=300.0)
    cp = changepoint.detect(values, weights)
    assert cp is not None
    assert abs(cp.index - step_at) <= 1


@pytest.mark.parametrize("volume", [300.0, 2000.0])
@pytest.mark.parametrize("seed", range(5))
def test_seasonal_series_without_a_step_gives_none(seed, volume):
    values, weights = bernoulli_rates(seed, step_at=None, volume=volume)
    assert changepoint.detect(values, weights) is None
    assert changepoint.detect(values, weights, phase=np.arange(len(values)) % 24) is None


def test_strong_seasonality_alone_is_not_a_change_point():
    hours = np.arange(HOURS)
    values = 0.05 * (1 + 0.8 * np.sin(2 * np.pi * hours / 24))
    weights = np.full(HOURS, 1e6)  # no sampling noise at all: the seasonality is the variance
    assert changepoint.detect(values, weights) is None
    assert changepoint.detect(values, weights, phase=hours % 24) is None


def test_tiny_relative_change_is_ignored_even_when_significant():
    weights = np.full(HOURS, 1e6)  # enormous volume: the 5 % step is statistically certain
    rng = np.random.default_rng(4)
    values = np.where(np.arange(HOURS) >= 120, 0.0525, 0.05) + rng.normal(0, 1e-5, HOURS)
    cp = changepoint.best_split(values, weights)
    assert cp is not None and cp.significant
    assert abs(cp.index - 120) <= 1
    assert cp.relative_change == pytest.approx(0.05, abs=0.005)
    assert changepoint.detect(values, weights) is None  # below the default 10 %
    assert changepoint.detect(values, weights, min_relative=0.04) is not None


def test_skipped_buckets_keep_the_original_index():
    values, weights = bernoulli_rates(7, step_at=150)
    values[[10, 11, 149, 200]] = np.nan
    weights[[30, 31]] = 0.0
    cp = changepoint.detect(values, weights)
    assert cp is not None
    assert abs(cp.index - 150) <= 1


def test_too_short_or_flat_series_give_none():
    assert changepoint.best_split(np.array([1.0, 2.0, 3.0]), np.ones(3)) is None
    assert changepoint.detect(np.full(20, 0.3), np.ones(20)) is None
    assert changepoint.detect(np.full(20, np.nan), np.ones(20)) is None


def test_relative_change_from_zero():
    cp = changepoint.ChangePoint(index=3, before=0.0, after=0.2, f_stat=50.0, threshold=20.0)
    assert cp.relative_change == math.inf
    flat = changepoint.ChangePoint(index=3, before=0.0, after=0.0, f_stat=0.0, threshold=20.0)
    assert flat.relative_change == 0.0
    assert not flat.significant


def test_threshold_grows_with_the_number_of_candidate_splits():
    assert changepoint.f_threshold(10) < changepoint.f_threshold(100) < changepoint.f_threshold(
        1000)
    assert changepoint.f_threshold(0) == changepoint.f_threshold(2)


# ---- trend --------------------------------------------------------------------------------------


@pytest.mark.parametrize("slope", [0.5, -0.02])
def test_trend_slope_and_t_on_a_linear_series(slope):
    rng = np.random.default_rng(3)
    x = np.arange(48, dtype=float)
    values = 2.0 + slope * x + rng.normal(0, 0.05, 48)
    got_slope, got_t = changepoint.trend(values, np.full(48, 40.0))
    fit = stats.linregress(x, values)
    assert got_slope == pytest.approx(fit.slope, rel=1e-9)
    assert got_t == pytest.approx(fit.slope / fit.stderr, rel=1e-9)  # constant weights: OLS
    assert np.sign(got_slope) == np.sign(slope) == np.sign(got_t)
    assert abs(got_t) > 3


def test_trend_weights_match_weighted_least_squares():
    rng = np.random.default_rng(6)
    x = np.arange(30, dtype=float)
    values = 1.0 + 0.1 * x + rng.normal(0, 0.2, 30)
    weights = rng.integers(5, 500, 30).astype(float)
    slope, _ = changepoint.trend(values, weights)
    expected = np.polyfit(x, values, 1, w=np.sqrt(weights))[0]
    assert slope == pytest.approx(expected, rel=1e-9)


def test_trend_of_a_flat_noisy_series_is_not_significant():
    rng = np.random.default_rng(10)
    slope, t = changepoint.trend(rng.normal(5.0, 0.1, 60), np.ones(60))
    assert abs(t) < 3
    assert abs(slope) < 0.01


def test_trend_skips_missing_buckets_and_needs_four_points():
    values = np.array([1.0, np.nan, 3.0, 4.0, 5.0])
    slope, t = changepoint.trend(values, np.array([1.0, 1.0, 1.0, 0.0, 1.0]))
    assert (slope, t) == (0.0, 0.0)  # only 3 usable points
    values = np.array([1.0, np.nan, 3.0, 4.0, 5.0, 6.0])
    slope, t = changepoint.trend(values, np.ones(6))
    assert slope == pytest.approx(1.0)  # x keeps the bucket positions
    assert t == 0.0  # a perfect line: no residual variance
