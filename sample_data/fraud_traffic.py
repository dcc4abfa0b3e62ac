"""Transaction volume over time: daily and weekly seasonality, per country in local time."""

from __future__ import annotations

import numpy as np

from .fraud_features import COUNTRY_SHARE, UTC_OFFSET_HOURS

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US

# Relative volume by local hour: quiet at night, peak in the late afternoon and evening.
DAILY = np.array(
    [0.30, 0.18, 0.12, 0.09, 0.09, 0.13, 0.28, 0.55, 0.80, 0.95, 1.05, 1.15,
     1.25, 1.22, 1.18, 1.22, 1.32, 1.45, 1.55, 1.50, 1.35, 1.10, 0.80, 0.50]
)  # fmt: skip
# Relative volume by local weekday, Monday first: busy Friday/Saturday, quiet Sunday.
WEEKLY = np.array([0.93, 0.95, 0.97, 1.0, 1.08, 1.12, 0.92])
WEEKEND_MORNING = 0.75  # weekend mornings (06-10 local) start slower
HOURLY_NOISE = 0.05  # sigma of the log-normal hour-to-hour volume noise


def country_weights(start_us: int, hours: int) -> np.ndarray:
    """Expected relative volume per (UTC hour, country), shape (hours, countries)."""
    utc_hour = start_us // HOUR_US + np.arange(hours)[:, None]
    local = utc_hour + UTC_OFFSET_HOURS[None, :]
    hour_of_day = local % 24
    weekday = (local // 24 + 3) % 7  # 1970-01-01 was a Thursday
    weight = COUNTRY_SHARE[None, :] * DAILY[hour_of_day] * WEEKLY[weekday]
    weekend_morning = (weekday >= 5) & (hour_of_day >= 6) & (hour_of_day <= 10)
    return np.where(weekend_morning, weight * WEEKEND_MORNING, weight)


def hourly_counts(total: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows per hour: seasonal weight times noise, rounded so they sum exactly to `total`."""
    per_hour = weights.sum(axis=1) * rng.lognormal(0.0, HOURLY_NOISE, len(weights))
    expected = total * per_hour / per_hour.sum()
    counts = np.floor(expected).astype(np.int64)
    remainder_order = np.argsort(-(expected - counts), kind="stable")
    counts[remainder_order[: total - counts.sum()]] += 1
    return counts


def sample_events(
    start_us: int, counts: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Event times (UTC microseconds, sorted) and country codes for consecutive hours.

    The country mix of each hour follows the per-country local-time weights.
    """
    times, countries = [], []
    for h, (count, w) in enumerate(zip(counts, weights, strict=True)):
        per_country = rng.multinomial(count, w / w.sum())
        countries.append(np.repeat(np.arange(len(w), dtype=np.int8), per_country))
        times.append(start_us + h * HOUR_US + rng.integers(0, HOUR_US, count))
    event_us = np.concatenate(times)
    country = np.concatenate(countries)
    order = np.argsort(event_us, kind="stable")
    return event_us[order], country[order]
