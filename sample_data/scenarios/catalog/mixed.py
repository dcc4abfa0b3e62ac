"""Incidents with more than one thing moving: a covariate shift and a changed relation at once,
a category the model never saw, several inputs drifting slowly together."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..domains import churn, delivery, housing
from ..domains.base import effect
from ..faults import OutcomeChange, WorldChange
from ..spec import Change, Release, Scenario


def large_estate_release(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """A developer releases a large-lot estate: a quarter of listings are 260-480 m2 homes,
    bigger than nearly anything the valuation model was trained on."""
    hit = rng.random(len(raw)) < 0.25 * weight
    k = int(hit.sum())
    area = np.round(np.clip(rng.lognormal(np.log(340.0), 0.15, k), 260, 480), 1)
    raw.loc[hit, "living_area_m2"] = area
    raw.loc[hit, "bedrooms"] = np.clip(np.round(area / 60), 4, 6).astype(np.int32)
    raw.loc[hit, "bathrooms"] = np.clip(np.round(area / 110), 2, 4).astype(np.int32)


def market_cooling(raw: pd.DataFrame, price: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Mortgage rates rise: buyers pay about 6 % less for the same home, everywhere."""
    return np.where(active, price * 0.94, price)


MIXED_HOUSING = Scenario(
    name="mixed_housing_estate_and_cooling", domain=housing.DOMAIN,
    title="Valuations too high since early May",
    summary="Two things at once: a large-lot estate came to the market (homes of 260-480 m2, "
            "beyond what the model was trained on, which it undervalues badly) and a rate rise "
            "cooled prices by about 6 % for the same home. The estate's listings explain most "
            "of the error; the cooling is a smaller change of the relation (concept drift).",
    signature="distribution_shift", start="2026-02-02T00:00:00Z", days=120, rows=30_000,
    bucket="1d", seed=601, onset="2026-05-04T00:00:00Z",
    faults=(WorldChange("2026-05-04T00:00:00Z", change=large_estate_release),
            OutcomeChange("2026-05-04T00:00:00Z", change=market_cooling)),
    releases=(Release("2026.01"),),
    changes=(
        Change("2026-03-10T02:00:00Z", "VAL-170", "infra",
               "Valuation API moved to the new database cluster"),
        Change("2026-05-05T08:00:00Z", "VAL-174", "code",
               "Agent portal: valuation PDF shows the comparable sales"),
    ),
    feature="living_area_m2", train_rows=10_000, train_days=90, with_model=False,
)


def wallet_payments(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """Mobile-wallet top-ups launch: a quarter of subscribers switch to paying by wallet."""
    hit = rng.random(len(raw)) < 0.25 * weight
    raw.loc[hit, "payment_method"] = "wallet"


def wallet_churn(raw: pd.DataFrame, log_odds: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Wallet payers top up month by month and leave as easily as they came."""
    return log_odds + active * effect(raw["payment_method"].to_numpy(), {"wallet": 1.5})


NEW_CATEGORY_CHURN = Scenario(
    name="upstream_churn_wallet_payments", domain=churn.DOMAIN,
    title="Retention offers missing customers who then leave",
    summary="Billing started exporting a new payment method, 'wallet' (mobile-wallet top-ups), "
            "that the churn model never saw in training; a quarter of subscribers use it and "
            "churn far more often than card payers, whom the model treats them like.",
    signature="upstream_data_change", start="2026-07-06T00:00:00Z", days=12, rows=40_000,
    bucket="1h", seed=602, onset="2026-07-13T09:00:00Z",
    faults=(WorldChange("2026-07-13T09:00:00Z", change=wallet_payments),
            OutcomeChange("2026-07-13T09:00:00Z", change=wallet_churn)),
    releases=(Release("v12.6"),),
    changes=(
        Change("2026-07-08T11:00:00Z", "TEL-740", "config",
               "Retention offer catalogue: summer roaming pack"),
        Change("2026-07-13T08:45:00Z", "BIL-160", "schema",
               "Billing export: payment_method gains the value 'wallet' (mobile-wallet launch)"),
        Change("2026-07-14T15:00:00Z", "TEL-744", "infra", "Scoring API pods resized"),
    ),
    feature="payment_method", change_id="BIL-160", with_model=False,
)


def suburban_expansion(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """The service area grows into the suburbs over weeks: rides get up to 80 % longer, kitchens
    of the new partners take up to 25 % longer, baskets grow by up to one item."""
    raw["distance_km"] = np.round(raw["distance_km"].to_numpy() * (1.0 + 0.8 * weight), 2)
    raw["prep_time_min"] = np.round(raw["prep_time_min"].to_numpy() * (1.0 + 0.25 * weight), 1)
    extra = rng.random(len(raw)) < weight
    raw["basket_items"] = (raw["basket_items"].to_numpy() + extra).astype(np.int32)


GRADUAL_DELIVERY = Scenario(
    name="drift_delivery_suburban_expansion", domain=delivery.DOMAIN,
    title="ETAs slipping further every week",
    summary="ETAs fell behind over three weeks as the service area grew into the suburbs: "
            "delivery distances grew by up to 80 % (beyond what training covered), new partner "
            "kitchens took longer and baskets grew; the distances explain most of it.",
    signature="distribution_shift", start="2025-12-20T00:00:00Z", days=75, rows=36_000,
    bucket="1d", seed=603, onset="2026-01-13T00:00:00Z", onset_tolerance_buckets=3,
    faults=(WorldChange("2026-01-13T00:00:00Z", change=suburban_expansion, ramp_days=21),),
    releases=(Release("v7.8.0"),),
    changes=(
        Change("2025-12-27T09:00:00Z", "DEP-7930", "code", "Courier app: dark mode"),
        Change("2026-01-25T03:00:00Z", "DEP-7941", "infra",
               "ETA service moved to the new cluster"),
    ),
    feature="distance_km", train_rows=10_000, with_model=False,
)

def cheaper_plans_nearby(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """A price cut brings subscribers with lighter usage: data volume falls by up to 35 %."""
    raw["data_gb_30d"] = np.round(raw["data_gb_30d"].to_numpy() * (1.0 - 0.35 * weight), 2)


def rival_offer(raw: pd.DataFrame, log_odds: np.ndarray, active: np.ndarray) -> np.ndarray:
    """A rival's handset offer lures customers on monthly and annual contracts away."""
    contract = raw["contract"].to_numpy()
    return log_odds + active * effect(contract, {"monthly": 1.1, "annual": 0.7})


MIXED_CHURN = Scenario(
    name="mixed_churn_rival_offer_and_lighter_usage", domain=churn.DOMAIN,
    title="More customers leaving without a retention offer since Monday",
    summary="Two things at once: a rival's handset offer made customers on monthly and annual "
            "contracts leave far more often at the same risk profile (a change of the relation, "
            "concept drift, which dominates), while our own price cut brought lighter data "
            "users (an input shift that explains little).",
    signature="concept_drift", start="2026-10-05T00:00:00Z", days=14, rows=42_000,
    bucket="1h", seed=604, onset="2026-10-12T08:00:00Z",
    faults=(WorldChange("2026-10-12T08:00:00Z", change=cheaper_plans_nearby, ramp_days=0.5),
            OutcomeChange("2026-10-12T08:00:00Z", change=rival_offer)),
    releases=(Release("v12.7"),),
    changes=(
        Change("2026-10-07T10:00:00Z", "TEL-760", "infra", "Scoring API pods resized"),
        Change("2026-10-12T07:00:00Z", "MKT-97", "config", "Autumn price cut on data plans"),
    ),
    with_model=False,
)

SCENARIOS = (MIXED_HOUSING, NEW_CATEGORY_CHURN, GRADUAL_DELIVERY, MIXED_CHURN)
