"""Incidents in the feature pipeline: training-serving skew and silent failures."""

from __future__ import annotations

from ..domains import ads, churn, delivery, retail
from ..faults import ServedAs, Stuck
from ..spec import Change, Release, Scenario
from ..traffic import Burst

SKEW_ADS = Scenario(
    name="skew_ads_dwell_normalisation", domain=ads.DOMAIN,
    title="Premium-slot boosting performing worse since Thursday",
    summary="Boosting missed clickers after the feature server's normalisation moved to a shared "
            "scaler that min-max scales log dwell time where training used a z-score.",
    signature="training_serving_skew", start="2026-06-01T00:00:00Z", days=6, rows=72_000,
    bucket="15min", seed=201, onset="2026-06-04T13:05:00Z",
    faults=(ServedAs("2026-06-04T13:05:00Z", column="dwell_norm",
                     compute=ads.serving_min_max_dwell),),
    releases=(Release("ctr-2026.05.2"),),
    changes=(
        Change("2026-06-02T10:00:00Z", "ADS-4301", "infra",
               "CDN edge configuration for creative assets updated"),
        Change("2026-06-03T09:00:00Z", "ADS-4305", "config",
               "Frequency cap raised from 6 to 8 impressions per user and day"),
        Change("2026-06-04T13:00:00Z", "ADS-4311", "code",
               "feature-server 2.8: feature normalisation moved to the shared scaler library"),
        Change("2026-06-05T15:00:00Z", "ADS-4316", "schema",
               "Impression events: new optional field consent_string"),
    ),
    feature="dwell_norm", change_id="ADS-4311", pipeline="ads_features",
    with_model=False,
)

SKEW_RETAIL = Scenario(
    name="skew_retail_window", domain=retail.DOMAIN,
    title="Store replenishment forecasts far too low",
    summary="Forecasts collapsed after the recent-sales feature moved to the streaming feature "
            "job, which aggregates over 7 days where training used 28.",
    signature="training_serving_skew", start="2026-04-06T00:00:00Z", days=24, rows=60_000,
    bucket="1h", seed=202, onset="2026-04-22T04:00:00Z",
    faults=(ServedAs("2026-04-22T04:00:00Z", column="recent_units",
                     compute=retail.serving_seven_day_window),),
    releases=(Release("dfc-41"),),
    changes=(
        Change("2026-04-15T08:00:00Z", "RPL-902", "data",
               "Promotions calendar now imported daily instead of weekly"),
        Change("2026-04-20T01:00:00Z", "RPL-908", "infra",
               "Forecast API moved behind the new internal load balancer"),
        Change("2026-04-22T03:40:00Z", "RPL-913", "config",
               "Feature store: recent_units source switched to the streaming aggregation job"),
        Change("2026-04-24T09:30:00Z", "RPL-917", "config",
               "Replenishment safety stock for bakery raised by 10 %"),
    ),
    feature="recent_units", change_id="RPL-913", pipeline="retail_features",
    with_model=False,
)

SILENT_CHURN = Scenario(
    name="silent_churn_support_calls_zero", domain=churn.DOMAIN,
    title="Nightly churn scoring stopped producing retention offers",
    summary="The nightly churn scores stopped flagging unhappy customers: the CRM export that "
            "feeds support_calls_30d failed silently and the feature store served zeros.",
    signature="silent_pipeline_failure", start="2026-01-14T00:00:00Z", days=112, rows=40_000,
    bucket="1d", seed=203, onset="2026-03-26T00:00:00Z",
    faults=(Stuck("2026-03-26T00:00:00Z", column="support_calls_30d", mode="zero"),),
    releases=(Release("v11"),),
    traffic=churn.BATCH_TRAFFIC, labels_until="2026-04-20T00:00:00Z", label_missing=0.0,
    changes=(
        Change("2026-02-20T13:00:00Z", "TEL-552", "code",
               "Billing adapter refactored (no change to exported fields)"),
        Change("2026-03-10T02:00:00Z", "TEL-561", "infra",
               "Batch cluster operating-system patching"),
        Change("2026-03-27T09:00:00Z", "TEL-566", "config",
               "Retention offer budget raised for the spring campaign"),
    ),
    feature="support_calls_30d", train_rows=14_000, train_days=60,
    roles=("decision", "label", "model_version", "id", "segments", "latency", "status"),
    with_model=False,
)

SILENT_DELIVERY = Scenario(
    name="silent_delivery_courier_load_stale", domain=delivery.DOMAIN,
    title="ETAs missing at dinner time",
    summary="ETAs missed the dinner peaks after the streaming job computing courier load "
            "stalled; the online store kept serving each city's last value.",
    signature="silent_pipeline_failure", start="2026-10-05T00:00:00Z", days=14, rows=50_000,
    bucket="1h", seed=204, onset="2026-10-14T14:10:00Z",
    faults=(Stuck("2026-10-14T14:10:00Z", column="courier_load", mode="stale", by="city"),),
    releases=(Release("v7.6.0"),),
    changes=(
        Change("2026-10-09T10:00:00Z", "DEP-7851", "code", "ETA service: structured logging"),
        Change("2026-10-13T02:00:00Z", "DEP-7856", "infra",
               "Kafka brokers upgraded to 3.9 (rolling)"),
        Change("2026-10-15T16:00:00Z", "DEP-7860", "config",
               "Surge pricing thresholds adjusted for Madrid"),
    ),
    feature="courier_load", list_features=True,
    bursts=(Burst("2026-10-10T18:00:00Z", "2026-10-10T22:00:00Z", 1.6),),  # a cup final
    with_model=False,
)

SILENT_ADS = Scenario(
    name="silent_ads_user_history_null", domain=ads.DOMAIN,
    title="Boosted impressions missing the clickers",
    summary="Boosting went to the wrong impressions after the user-history store's nightly "
            "load started writing empty partitions: user_ctr_30d is served as null.",
    signature="silent_pipeline_failure", start="2026-09-21T00:00:00Z", days=6, rows=66_000,
    bucket="15min", seed=205, onset="2026-09-24T02:30:00Z",
    faults=(Stuck("2026-09-24T02:30:00Z", column="user_ctr_30d", mode="null"),),
    releases=(Release("ctr-2026.09.1"),),
    changes=(
        Change("2026-09-22T13:00:00Z", "ADS-4502", "config",
               "Bid shading factor for native ads lowered"),
        Change("2026-09-23T16:45:00Z", "ADS-4507", "code",
               "Ad server: creative cache warm-up on start"),
        Change("2026-09-25T10:00:00Z", "ADS-4511", "infra",
               "Ad-server pods: JVM heap raised to 6 GiB"),
    ),
    feature="user_ctr_30d", with_model=False,
)

SCENARIOS = (SKEW_ADS, SKEW_RETAIL, SILENT_CHURN, SILENT_DELIVERY, SILENT_ADS)
