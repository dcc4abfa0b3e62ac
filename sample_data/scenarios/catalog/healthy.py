"""Healthy controls: busy, seasonal, noisy logs with changes and a harmless rollout, no incident."""

from __future__ import annotations

from ..domains import housing, lending, retail
from ..faults import ServedAs, WorldChange
from ..spec import Change, Release, Scenario
from ..traffic import Burst

HEALTHY_LENDING = Scenario(
    name="healthy_lending_quarter_hour", domain=lending.DOMAIN,
    title="Check after the bureau's employment-history change",
    summary="A normal week of credit decisions: daily rhythm in volume and risk, a routine "
            "retrain, a harmless bureau change (employment years now whole years), labels "
            "still missing for the last hours.",
    signature=None, start="2026-10-07T00:00:00Z", days=6, rows=45_000, bucket="15min",
    seed=401,
    releases=(Release("v3.3.0"), Release("v3.3.1", at="2026-10-09T14:00:00Z",
                                         options={"seed": 1})),
    changes=(
        Change("2026-10-08T03:00:00Z", "CR-2501", "infra", "Scoring service node pool resized"),
        Change("2026-10-09T14:00:00Z", "MOD-340", "model",
               "Deploy default model v3.3.1 (monthly retrain, same features and threshold)"),
        Change("2026-10-10T17:00:00Z", "CR-2507", "config",
               "Manual-review queue: weekend staffing rules"),
        Change("2026-10-11T09:30:00Z", "UP-8840", "upstream",
               "Credit bureau: employment history now reported in whole years"),
    ),
    faults=(ServedAs("2026-10-11T09:40:00Z", column="employment_years",
                     compute=lending.whole_employment_years),),
    labels_until="2026-10-12T14:00:00Z",
    train_rows=10_000,
)

HEALTHY_RETAIL = Scenario(
    name="healthy_retail_hourly", domain=retail.DOMAIN,
    title="Store managers ask whether forecasts got worse in the heat",
    summary="Three ordinary trading weeks: strong daily and weekly rhythm, weekend promotions, "
            "a heat spell, a busy promotion weekend, a few unrelated changes.",
    signature=None, start="2026-11-04T00:00:00Z", days=21, rows=50_000, bucket="1h", seed=402,
    releases=(Release("dfc-47"),),
    faults=(WorldChange("2026-11-10T00:00:00Z", until="2026-11-14T00:00:00Z",
                        change=retail.heat_spell, ramp_days=1.0),),
    bursts=(Burst("2026-11-20T06:00:00Z", "2026-11-22T20:00:00Z", 1.35),),
    changes=(
        Change("2026-11-09T08:00:00Z", "RPL-960", "data",
               "Promotions calendar: November campaign loaded"),
        Change("2026-11-14T02:00:00Z", "RPL-964", "infra",
               "Forecast API pods moved to the new node pool"),
        Change("2026-11-18T10:00:00Z", "RPL-969", "code",
               "Forecast API: request validation messages reworded"),
    ),
    with_model=False,
)

HEALTHY_HOUSING = Scenario(
    name="healthy_housing_daily", domain=housing.DOMAIN,
    title="Agents ask whether family-house valuations are off this spring",
    summary="Four months of valuations: weekly rhythm, the spring market bringing more and "
            "larger family houses (busier too), a few unrelated changes.",
    signature=None, start="2026-08-05T00:00:00Z", days=120, rows=26_000, bucket="1d",
    seed=403,
    releases=(Release("2026.06"),),
    faults=(WorldChange("2026-09-15T00:00:00Z", change=housing.spring_listings,
                        ramp_days=30.0),),
    bursts=(Burst("2026-09-15T00:00:00Z", "2026-12-03T00:00:00Z", 1.3),),
    changes=(
        Change("2026-09-01T04:00:00Z", "VAL-150", "data",
               "Council zoning layer refreshed (quarterly import)"),
        Change("2026-10-06T05:00:00Z", "VAL-156", "infra",
               "Valuation API database minor version upgrade"),
    ),
    train_rows=10_000, train_days=90,
)

SCENARIOS = (HEALTHY_LENDING, HEALTHY_RETAIL, HEALTHY_HOUSING)
