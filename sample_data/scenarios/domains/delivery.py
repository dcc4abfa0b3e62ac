"""Food delivery: the estimated time of arrival (minutes) shown when an order is placed.

Orders peak at lunch and dinner in Iberian cities (modelled on UTC+1). Delivery time is
preparation, waiting for a courier, and the ride, whose speed depends on the vehicle, the
traffic and the rain. The log joins each estimate with the actual delivery time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..traffic import Traffic, hour_index, local_hour
from .base import Columns, Domain, Service, ar_process, choice, effect

UTC_OFFSET = 1
CITIES = {"madrid": 0.32, "barcelona": 0.26, "lisbon": 0.16, "valencia": 0.14, "porto": 0.12}
VEHICLES = {"bike": 0.45, "scooter": 0.4, "car": 0.15}
SPEED_KMH = {"bike": 14.0, "scooter": 22.0, "car": 24.0}
FEATURES = ("distance_km", "prep_time_min", "basket_items", "courier_load", "traffic_index",
            "rain_mm", "city", "vehicle")
MEALS = np.array([0.1, 0.05, 0.03, 0.02, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6,
                  1.0, 1.4, 1.3, 0.8, 0.5, 0.5, 0.7, 1.0, 1.5, 1.7, 1.3, 0.5])


def _rush(hour: np.ndarray) -> np.ndarray:
    return (np.exp(-0.5 * ((hour - 8.5) / 1.2) ** 2)
            + np.exp(-0.5 * ((hour - 18.5) / 1.5) ** 2))


def simulate(rng: np.random.Generator, t_us: np.ndarray) -> pd.DataFrame:
    """Orders: distance, restaurant estimate, basket, the city's courier load, traffic, rain."""
    n = len(t_us)
    hour = local_hour(t_us, UTC_OFFSET)
    city = choice(rng, CITIES, n)
    hours = hour_index(t_us, int(t_us.min()) if n else 0)
    n_hours = int(hours.max()) + 1 if n else 1
    wet = np.zeros(n)
    for k, name in enumerate(CITIES):  # each city's weather: rain episodes lasting hours
        level = ar_process(rng, n_hours, 0.93, 0.45) - 1.3 - 0.3 * k
        series = np.where(level > 0, np.round(level * 3.0, 1), 0.0)
        wet = np.where(city == name, series[hours], wet)
    load = (0.7 + 0.9 * MEALS[hour] / MEALS.max() + 0.04 * wet
            + rng.normal(0.0, 0.12, n))
    return pd.DataFrame({
        "distance_km": np.round(np.clip(rng.gamma(2.2, 1.5, n), 0.3, 15.0), 2),
        "prep_time_min": np.round(np.clip(rng.gamma(4.0, 3.5, n), 3.0, 60.0), 1),
        "basket_items": (rng.poisson(2.5, n) + 1).astype(np.int32),
        "courier_load": np.round(np.clip(load, 0.3, 4.0), 2),
        "traffic_index": np.round(np.clip(0.15 + 0.6 * _rush(hour) + rng.normal(0, 0.07, n),
                                          0.0, 1.0), 3),
        "rain_mm": wet,
        "city": city,
        "vehicle": choice(rng, VEHICLES, n),
        "_prep_factor": rng.lognormal(0.0, 0.18, n),
        "_detour": 1.15 + rng.gamma(2.0, 0.12, n),  # road distance / straight-line distance
    })


def signal(raw: pd.DataFrame) -> np.ndarray:
    """Expected delivery minutes."""
    speed = (np.array([SPEED_KMH[v] for v in raw["vehicle"]])
             * (1 - 0.6 * raw["traffic_index"].to_numpy())
             * (1 - 0.025 * np.minimum(raw["rain_mm"].to_numpy(), 12)))
    ride = raw["distance_km"].to_numpy() / speed * 60.0
    wait = 2.0 + 8.0 * np.clip(raw["courier_load"].to_numpy() - 0.9, 0.0, None) ** 1.3
    return (raw["prep_time_min"].to_numpy() * raw["_prep_factor"].to_numpy() + wait + ride
            + 0.4 * raw["basket_items"].to_numpy()
            + effect(raw["city"].to_numpy(), {"lisbon": 1.5, "porto": 1.0}))


def draw(rng: np.random.Generator, mean: np.ndarray, _raw: pd.DataFrame) -> np.ndarray:
    """Actual minutes: the mean plus right-skewed handover delays."""
    return np.round(mean + rng.gamma(2.0, 1.2, len(mean)) - 2.4 + rng.normal(0, 1.5, len(mean)),
                    1)


def straight_line_distance(raw: pd.DataFrame) -> np.ndarray:
    """What the new routing API returns as distance: the straight line, not the road."""
    return np.round(raw["distance_km"].to_numpy() / raw["_detour"].to_numpy(), 2)


DOMAIN = Domain(
    name="delivery", task="regression",
    columns=Columns(timestamp="placed_at", id="order_id", prediction="eta_minutes",
                    label="actual_minutes"),
    features=FEATURES, categorical=("city", "vehicle"), segments=("city", "vehicle"),
    traffic=Traffic(daily=tuple(float(x) for x in MEALS),
                    weekly=(0.85, 0.85, 0.9, 0.95, 1.15, 1.25, 1.1), utc_offset=UTC_OFFSET,
                    noise=0.07),
    service=Service(latency_ms=45.0, latency_sigma=0.3, status_style="http", timeout_ms=800.0),
    simulate=simulate, signal=signal, draw=draw, loss="squared_error",
    int_features=("basket_items",),
)
