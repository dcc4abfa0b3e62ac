"""Residential property valuation: the predicted sale price of a listed home.

Valuation requests come from agents and lenders during Australian Eastern business hours
(UTC+10), fewer at weekends. The log joins each valuation with the eventual sale price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..traffic import Traffic
from .base import Columns, Domain, Service, choice, effect

UTC_OFFSET = 10
NEIGHBOURHOODS = {  # share of listings, price level (AUD per m2), distance to the centre (km)
    "old_town": (0.12, 11_500, 1.5), "riverside": (0.14, 10_200, 4.0),
    "harbourside": (0.08, 14_000, 3.0), "university": (0.13, 8_800, 6.0),
    "hillcrest": (0.12, 9_600, 9.0), "northgate": (0.15, 6_900, 14.0),
    "westfield": (0.14, 6_200, 18.0), "lakeside": (0.12, 7_600, 22.0),
}
TYPES = {"apartment": 0.5, "house": 0.35, "townhouse": 0.15}
RATINGS = {"A": 0.08, "B": 0.17, "C": 0.3, "D": 0.25, "E": 0.12, "F": 0.05, "G": 0.03}
FEATURES = ("living_area_m2", "bedrooms", "bathrooms", "lot_m2", "year_built", "dist_center_km",
            "energy_rating", "neighbourhood", "property_type")


def _rooms(rng: np.random.Generator, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(area)
    bedrooms = np.clip(np.round(area / 34 + rng.normal(0, 0.6, n)), 1, 6).astype(np.int32)
    bathrooms = np.clip(np.round(area / 80 + rng.normal(0, 0.4, n)), 1, 4).astype(np.int32)
    return bedrooms, bathrooms


def simulate(rng: np.random.Generator, t_us: np.ndarray) -> pd.DataFrame:
    """Listings: size, rooms, land, age, location, energy rating."""
    n = len(t_us)
    hood = choice(rng, {k: v[0] for k, v in NEIGHBOURHOODS.items()}, n)
    kind = choice(rng, TYPES, n)
    base_area = np.where(kind == "apartment", 72.0, np.where(kind == "house", 150.0, 110.0))
    area = np.round(np.clip(base_area * rng.lognormal(0.0, 0.25, n), 25, 400), 1)
    bedrooms, bathrooms = _rooms(rng, area)
    lot = np.where(kind == "apartment", 0.0,
                   np.round(rng.lognormal(np.log(np.where(kind == "house", 520, 240)), 0.45), 0))
    dist = np.array([NEIGHBOURHOODS[h][2] for h in hood]) * rng.lognormal(0.0, 0.2, n)
    return pd.DataFrame({
        "living_area_m2": area,
        "bedrooms": bedrooms,
        "bathrooms": bathrooms,
        "lot_m2": lot,
        "year_built": np.clip(2025 - np.round(rng.gamma(1.6, 25.0, n)), 1880, 2025
                              ).astype(np.int32),
        "dist_center_km": np.round(dist, 2),
        "energy_rating": choice(rng, RATINGS, n),
        "neighbourhood": hood,
        "property_type": kind,
    })


def signal(raw: pd.DataFrame) -> np.ndarray:
    """Expected sale price (AUD)."""
    level = np.array([NEIGHBOURHOODS[h][1] for h in raw["neighbourhood"]])
    age = 2025 - raw["year_built"].to_numpy()
    log_price = (np.log(level) + 0.93 * np.log(raw["living_area_m2"].to_numpy())
                 + 0.05 * raw["bathrooms"].to_numpy()
                 + 0.08 * np.log1p(raw["lot_m2"].to_numpy() / 100)
                 - 0.0025 * age + 0.15 * np.exp(-age / 8.0)
                 - 0.012 * raw["dist_center_km"].to_numpy()
                 + effect(raw["energy_rating"].to_numpy(),
                          {"A": 0.06, "B": 0.04, "E": -0.03, "F": -0.06, "G": -0.09}))
    return np.exp(log_price)


def draw(rng: np.random.Generator, price: np.ndarray, _raw: pd.DataFrame) -> np.ndarray:
    """Sale price: the expected price times negotiation noise, rounded to 1000 AUD."""
    return np.round(price * rng.lognormal(0.0, 0.09, len(price)), -3)


def new_build_boom(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """Large new-build homes come to the market in growing numbers (up to 30 % of listings)."""
    hit = rng.random(len(raw)) < 0.3 * weight
    k = int(hit.sum())
    area = np.round(np.clip(rng.lognormal(np.log(300.0), 0.16, k), 180, 600), 1)
    bedrooms, bathrooms = _rooms(rng, area)
    raw.loc[hit, "living_area_m2"] = area
    raw.loc[hit, "bedrooms"] = bedrooms
    raw.loc[hit, "bathrooms"] = bathrooms
    raw.loc[hit, "year_built"] = 2025
    raw.loc[hit, "property_type"] = "house"
    raw.loc[hit, "energy_rating"] = np.where(rng.random(k) < 0.7, "A", "B")


def spring_listings(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """Spring brings family houses to the market: a tenth of listings switch from apartments."""
    hit = (raw["property_type"].to_numpy() == "apartment") & (rng.random(len(raw)) < 0.2 * weight)
    k = int(hit.sum())
    area = np.round(np.clip(150.0 * rng.lognormal(0.0, 0.25, k), 25, 400), 1)
    bedrooms, bathrooms = _rooms(rng, area)
    raw.loc[hit, "property_type"] = "house"
    raw.loc[hit, "living_area_m2"] = area
    raw.loc[hit, "bedrooms"] = bedrooms
    raw.loc[hit, "bathrooms"] = bathrooms
    raw.loc[hit, "lot_m2"] = np.round(rng.lognormal(np.log(520), 0.45, k), 0)


def flood_map_repricing(raw: pd.DataFrame, price: np.ndarray, active: np.ndarray) -> np.ndarray:
    """New flood-risk maps classify riverside as high risk: buyers pay about 20 % less there."""
    hit = active & (raw["neighbourhood"].to_numpy() == "riverside")
    return np.where(hit, price * 0.8, price)


DOMAIN = Domain(
    name="housing", task="regression",
    columns=Columns(timestamp="valued_at", id="listing_id", prediction="predicted_price",
                    label="sale_price"),
    features=FEATURES, categorical=("energy_rating", "neighbourhood", "property_type"),
    segments=("neighbourhood", "property_type"),
    traffic=Traffic(daily=(0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.1, 0.4, 0.9, 1.3, 1.4, 1.35,
                           1.2, 1.3, 1.35, 1.3, 1.2, 0.9, 0.5, 0.3, 0.2, 0.12, 0.06, 0.03),
                    weekly=(1.1, 1.1, 1.05, 1.05, 1.0, 0.45, 0.25), utc_offset=UTC_OFFSET,
                    noise=0.12),
    service=Service(latency_ms=230.0, latency_sigma=0.35, status_style="http",
                    timeout_ms=3000.0),
    family="gbm", simulate=simulate, signal=signal, draw=draw, loss="gamma",
    int_features=("bedrooms", "bathrooms", "year_built"),
)
