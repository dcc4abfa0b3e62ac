"""Incidents in the model and serving layers: rollouts, concept drift, serving failures."""

from __future__ import annotations

from ..domains import ads, delivery, housing, lending, retail
from ..faults import OutcomeChange, ServingOutage
from ..spec import Change, Release, Scenario

ROLLOUT_LENDING = Scenario(
    name="rollout_lending_recall_weights", domain=lending.DOMAIN,
    title="More good applicants declined since Wednesday afternoon",
    summary="Declines of good applicants rose when default model v3.2.0, retrained with a "
            "recall-weighted objective but the old threshold, went live; v3.1.1 earlier was fine.",
    signature="model_rollout", start="2026-07-06T00:00:00Z", days=24, rows=50_000,
    bucket="1h", seed=301, onset="2026-07-22T16:30:00Z",
    releases=(Release("v3.1.0"),
              Release("v3.1.1", at="2026-07-10T15:00:00Z", options={"seed": 1}),
              Release("v3.2.0", at="2026-07-22T16:30:00Z",
                      options={"seed": 2, "class_weight": {0: 1.0, 1: 2.2}})),
    changes=(
        Change("2026-07-08T20:00:00Z", "CR-2390", "infra",
               "Scoring service nodes patched (kernel update)"),
        Change("2026-07-10T15:00:00Z", "MOD-311", "model",
               "Deploy default model v3.1.1 (monthly retrain, same features and threshold)"),
        Change("2026-07-21T11:00:00Z", "CR-2402", "config",
               "Manual-review queue routing rules updated"),
        Change("2026-07-22T16:30:00Z", "MOD-327", "model",
               "Deploy default model v3.2.0 (retrained with recall-weighted objective)"),
    ),
    model_version="v3.2.0", change_id="MOD-327",
    train_rows=10_000,
)

ROLLOUT_DELIVERY = Scenario(
    name="rollout_delivery_missing_traffic", domain=delivery.DOMAIN,
    title="Late-delivery complaints at rush hour",
    summary="ETAs got worse at rush hours after model v7.5.0 went live; its training query had "
            "lost the traffic index to a column rename.",
    signature="model_rollout", start="2026-11-02T00:00:00Z", days=7, rows=60_000,
    bucket="15min", seed=302, onset="2026-11-05T09:15:00Z",
    releases=(Release("v7.4.2"),
              Release("v7.5.0", at="2026-11-05T09:15:00Z",
                      options={"seed": 1, "blind": ("traffic_index",)})),
    changes=(
        Change("2026-11-03T16:00:00Z", "DEP-7902", "code",
               "Courier app: batching of order notifications"),
        Change("2026-11-04T02:30:00Z", "DEP-7905", "infra",
               "ETA service: Redis cache moved to a managed instance"),
        Change("2026-11-05T09:15:00Z", "DEP-7909", "model",
               "ETA model v7.5.0: retrained on October orders"),
    ),
    model_version="v7.5.0", change_id="DEP-7909",
    with_model=False,
)

CONCEPT_LENDING = Scenario(
    name="concept_lending_rate_reset", domain=lending.DOMAIN,
    title="Defaults among approved loans rising",
    summary="Defaults among highly indebted borrowers rose sharply after variable rates reset; "
            "applicants look exactly as before, so the model under-estimates risk.",
    signature="concept_drift", start="2026-01-05T00:00:00Z", days=100, rows=30_000,
    bucket="1d", seed=303, onset="2026-03-02T00:00:00Z",
    faults=(OutcomeChange("2026-03-02T00:00:00Z", change=lending.rate_reset),),
    releases=(Release("v3.0.4"),),
    changes=(
        Change("2026-01-20T15:00:00Z", "CR-2188", "code",
               "Application service: income verification retries"),
        Change("2026-02-24T03:00:00Z", "CR-2206", "infra", "Scoring database failover drill"),
        Change("2026-03-16T14:00:00Z", "CR-2215", "schema",
               "Applications table: employer_name widened to 200 characters"),
    ),
    train_rows=10_000, train_days=90,
)

CONCEPT_RETAIL = Scenario(
    name="concept_retail_discounter", domain=retail.DOMAIN,
    title="Forecasts overshooting sales, stores report overstock",
    summary="Forecasts overshot sales from the Saturday a discount chain opened across town: "
            "shoppers buy less full-price stock; prices, promotions and weather are as before.",
    signature="concept_drift", start="2026-09-07T00:00:00Z", days=21, rows=55_000,
    bucket="1h", seed=304, onset="2026-09-19T05:00:00Z",
    faults=(OutcomeChange("2026-09-19T05:00:00Z", change=retail.discounter_opening),),
    releases=(Release("dfc-44"),),
    with_model=False,
    roles=("label", "id", "segments", "latency", "status"),
)

SERVING_ADS = Scenario(
    name="serving_ads_spot_timeouts", domain=ads.DOMAIN,
    title="Premium-slot revenue dropped at the evening peak",
    summary="Boosting collapsed at the evening peak after the scoring pods moved to spot nodes "
            "with lower CPU limits: slow responses time out and get the -1 'no score' sentinel.",
    signature="serving_infrastructure", start="2026-03-09T00:00:00Z", days=5, rows=60_000,
    bucket="15min", seed=305, onset="2026-03-12T19:30:00Z",
    faults=(ServingOutage("2026-03-12T19:30:00Z", timeout_share=0.25, latency_factor=2.4,
                          failed_prediction=-1.0, timeout_ms=80.0),),
    releases=(Release("ctr-2026.02.4"),),
    changes=(
        Change("2026-03-10T10:00:00Z", "ADS-4120", "config", "Bid floor for video raised"),
        Change("2026-03-11T15:30:00Z", "ADS-4124", "code",
               "Creative review tool: bulk approval"),
        Change("2026-03-12T19:22:00Z", "OPS-5120", "infra",
               "Ad-scoring pods moved to the spot node pool (CPU limit 2 -> 1)"),
    ),
    change_id="OPS-5120",
    with_model=False,
)

SERVING_HOUSING = Scenario(
    name="serving_housing_fallback", domain=housing.DOMAIN,
    title="Valuation API: agents report odd and missing prices",
    summary="Valuations degraded when the comparable-sales database slowed down: requests time "
            "out (HTTP 504, no price) or fall back to the city-wide median.",
    signature="serving_infrastructure", start="2026-06-03T00:00:00Z", days=14, rows=40_000,
    bucket="1h", seed=306, onset="2026-06-10T23:00:00Z",
    faults=(ServingOutage("2026-06-10T23:00:00Z", timeout_share=0.15, latency_factor=2.8,
                          failed_prediction=None, fallback_share=0.14,
                          fallback_prediction=905_000.0, timeout_ms=3000.0),),
    releases=(Release("2026.04"),),
    changes=(
        Change("2026-06-05T01:00:00Z", "VAL-140", "code",
               "Valuation API: request tracing headers"),
        Change("2026-06-10T22:35:00Z", "VAL-142", "code",
               "Valuation API: PDF report template updated for the new brand"),
        Change("2026-06-12T04:00:00Z", "VAL-143", "config",
               "Valuation cache TTL 12 h -> 6 h"),
    ),
    train_rows=10_000, train_days=90,
)

SCENARIOS = (ROLLOUT_LENDING, ROLLOUT_DELIVERY, CONCEPT_LENDING, CONCEPT_RETAIL, SERVING_ADS,
             SERVING_HOUSING)
