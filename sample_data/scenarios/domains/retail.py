"""Grocery demand forecasting: units of an item a store will sell in the coming hour.

The replenishment system asks for a forecast per store and item through the trading day
(Central European summer time, UTC+2); express stores trade around the clock. The log joins each
forecast with the units actually sold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipelines.retail_features import compute_features
from ..traffic import Traffic, hour_index, local_hour, local_weekday
from .base import Columns, Domain, Service, ar_process, choice, effect

UTC_OFFSET = 2
FORMATS = {"hyper": 0.25, "super": 0.5, "express": 0.25}
CATEGORIES = {"dairy": 0.2, "produce": 0.22, "bakery": 0.15, "beverages": 0.18,
              "frozen": 0.1, "snacks": 0.15}
BASE_PRICE = {"dairy": 1.6, "produce": 2.2, "bakery": 1.9, "beverages": 1.4, "frozen": 3.8,
              "snacks": 2.1}
SHOPPING = np.array([0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.15, 0.5, 0.8, 0.95, 1.05, 1.2,
                     1.3, 1.15, 1.0, 1.0, 1.15, 1.45, 1.6, 1.4, 1.0, 0.6, 0.25, 0.1])
WEEKDAY = np.array([0.9, 0.92, 0.95, 1.0, 1.15, 1.3, 0.55])
FEATURES = ("price", "discount_pct", "recent_units", "temperature_c", "hour_local",
            "day_of_week", "store_format", "category")
RAW = ("regular_price", "units_last_7d", "units_last_28d")


def simulate(rng: np.random.Generator, t_us: np.ndarray) -> pd.DataFrame:
    """Forecast requests: the item, its price and promotion, recent sales, weather, time."""
    n = len(t_us)
    category = choice(rng, CATEGORIES, n)
    fmt = choice(rng, FORMATS, n)
    base = (rng.lognormal(np.log(4.0), 0.55, n)
            * (1 + effect(fmt, {"hyper": 0.8, "express": -0.5})))
    regular = np.round(np.array([BASE_PRICE[c] for c in category])
                       * rng.lognormal(0.0, 0.3, n), 2)
    weekday = local_weekday(t_us, UTC_OFFSET)
    promo = rng.random(n) < np.where(weekday >= 4, 0.22, 0.12)
    discount = np.where(promo, rng.choice([0.1, 0.2, 0.25, 0.3, 0.4], n), 0.0)
    hours = hour_index(t_us, int(t_us.min()) if n else 0)
    n_hours = int(hours.max()) + 1 if n else 1
    hour = local_hour(t_us, UTC_OFFSET)
    days = ar_process(rng, n_hours // 24 + 2, 0.8, 1.6)
    temp = 17.0 + days[hours // 24] + 5.0 * np.sin(2 * np.pi * (hour - 9) / 24)
    daily_volume = base * SHOPPING.sum()
    return pd.DataFrame({
        "price": np.round(regular * (1 - discount), 2),
        "regular_price": regular,
        "temperature_c": np.round(temp + rng.normal(0, 0.8, n), 1),
        "hour_local": hour.astype(np.int32),
        "day_of_week": weekday.astype(np.int32),
        "store_format": fmt,
        "category": category,
        "units_last_7d": rng.poisson(daily_volume * 7 * rng.lognormal(0, 0.12, n)
                                     ).astype(np.int32),
        "units_last_28d": rng.poisson(daily_volume * 28).astype(np.int32),
        "_base": base,
    })


def signal(raw: pd.DataFrame) -> np.ndarray:
    """Expected units sold in the hour."""
    category = raw["category"].to_numpy()
    discount = 1.0 - raw["price"].to_numpy() / raw["regular_price"].to_numpy()
    heat = np.clip(raw["temperature_c"].to_numpy() - 20.0, -10, None)
    temp_effect = np.exp(effect(category, {"beverages": 0.05, "frozen": 0.04, "bakery": -0.01})
                         * heat)
    return (raw["_base"].to_numpy()
            * SHOPPING[raw["hour_local"].to_numpy()]
            * WEEKDAY[raw["day_of_week"].to_numpy()]
            * np.exp(2.4 * discount)
            * temp_effect)


def draw(rng: np.random.Generator, mean: np.ndarray, _raw: pd.DataFrame) -> np.ndarray:
    """Units sold: over-dispersed counts around the mean."""
    return rng.poisson(mean * rng.gamma(15.0, 1 / 15.0, len(mean))).astype(np.float64)


def derive(raw: pd.DataFrame) -> pd.DataFrame:
    """Training-way features from the raw columns."""
    return compute_features(raw)


def serving_seven_day_window(raw: pd.DataFrame) -> np.ndarray:
    """The serving feature definition after the migration: sales over the last 7 days."""
    return raw["units_last_7d"].to_numpy().astype(float)


def discounter_opening(raw: pd.DataFrame, mean: np.ndarray, active: np.ndarray) -> np.ndarray:
    """A discount chain opens across town: shoppers buy less here, mostly when not on promotion."""
    discount = 1.0 - raw["price"].to_numpy() / raw["regular_price"].to_numpy()
    return np.where(active, mean * np.where(discount > 0, 0.85, 0.5), mean)


def heat_spell(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """A few hot days: up to 6 degrees warmer (within what training has seen)."""
    raw["temperature_c"] = np.round(raw["temperature_c"].to_numpy() + 6.0 * weight, 1)


DOMAIN = Domain(
    name="retail", task="regression",
    columns=Columns(timestamp="forecast_at", id="request_id", prediction="forecast_units",
                    label="units_sold"),
    features=FEATURES, categorical=("store_format", "category"),
    segments=("store_format", "category"),
    traffic=Traffic(daily=tuple(float(x) for x in SHOPPING), weekly=tuple(float(x) for x in
                                                                          WEEKDAY),
                    utc_offset=UTC_OFFSET, noise=0.08),
    service=Service(latency_ms=65.0, latency_sigma=0.3, status_style="http", timeout_ms=1500.0),
    simulate=simulate, signal=signal, draw=draw, derive=derive, raw_columns=RAW, loss="poisson",
    int_features=("hour_local", "day_of_week"),
)
