"""Incidents in the input data: upstream changes, shifts of the world, one segment breaking."""

from __future__ import annotations

from ..domains import ads, churn, delivery, housing, lending
from ..faults import OutcomeChange, ScaleServed, ServedAs, WorldChange
from ..spec import Change, Release, Scenario

UPSTREAM_LENDING = Scenario(
    name="upstream_lending_bureau_percent", domain=lending.DOMAIN,
    title="Credit decline rate spiked on Tuesday morning",
    summary="Declines of good applicants jumped after the credit bureau's API v3 started "
            "reporting revolving utilisation in percent instead of as a fraction.",
    signature="upstream_data_change", start="2026-02-02T00:00:00Z", days=21, rows=42_000,
    bucket="1h", seed=101, onset="2026-02-17T14:20:00Z",
    faults=(ScaleServed("2026-02-17T14:20:00Z", column="credit_utilization", factor=100.0,
                        decimals=1),),
    releases=(Release("v3.1.0"),),
    changes=(
        Change("2026-02-05T16:00:00Z", "CR-2231", "code",
               "Application service: postal address normalisation moved to a shared library"),
        Change("2026-02-11T03:30:00Z", "CR-2240", "infra",
               "Scoring service moved to the Kubernetes 1.31 cluster (same node sizes)"),
        Change("2026-02-16T19:45:00Z", "CR-2246", "config",
               "Decline-reason texts updated for state disclosure rules"),
        Change("2026-02-17T14:08:00Z", "UP-8812", "upstream",
               "Credit bureau switched our account to bureau API v3 (new response schema for "
               "tradeline summaries)"),
        Change("2026-02-18T10:00:00Z", "CR-2251", "schema",
               "Applications table: new optional column referral_code"),
    ),
    feature="credit_utilization", change_id="UP-8812", list_features=True,
    labels_until="2026-02-21T06:00:00Z",
    train_rows=10_000,
)

UPSTREAM_DELIVERY = Scenario(
    name="upstream_delivery_straight_line", domain=delivery.DOMAIN,
    title="Customers complain that deliveries arrive later than the ETA",
    summary="ETAs became too optimistic after the maps provider's routing API v2 began "
            "returning straight-line instead of road distances.",
    signature="upstream_data_change", start="2026-05-09T00:00:00Z", days=8, rows=70_000,
    bucket="15min", seed=102, onset="2026-05-14T10:35:00Z",
    faults=(ServedAs("2026-05-14T10:35:00Z", column="distance_km",
                     compute=delivery.straight_line_distance),),
    releases=(Release("v7.3.1"),),
    changes=(
        Change("2026-05-11T14:00:00Z", "DEP-7702", "code",
               "Courier app: new pickup confirmation screen"),
        Change("2026-05-13T22:10:00Z", "DEP-7711", "infra",
               "ETA service autoscaling: minimum replicas 4 -> 6"),
        Change("2026-05-14T07:00:00Z", "DEP-7714", "config",
               "Rain surcharge threshold raised from 1 to 2 mm/h"),
        Change("2026-05-14T10:30:00Z", "MAP-2207", "upstream",
               "Maps provider migrated our tenant to routing API v2"),
        Change("2026-05-15T12:00:00Z", "DEP-7720", "data",
               "Restaurant catalogue re-synchronised for Porto"),
    ),
    feature="distance_km", change_id="MAP-2207", bucket_in_config=False,
    with_model=False,
)

UPSTREAM_CHURN = Scenario(
    name="upstream_churn_contract_codes", domain=churn.DOMAIN,
    title="Retention offers halved since Wednesday morning",
    summary="Retention offers dried up for month-to-month customers after billing v5 began "
            "exporting contract terms as codes (M2M, 12M, 24M); no churn outcomes are known yet.",
    signature="upstream_data_change", start="2026-12-02T00:00:00Z", days=12, rows=46_000,
    bucket="30min", seed=107, onset="2026-12-09T07:15:00Z",
    faults=(ServedAs("2026-12-09T07:15:00Z", column="contract",
                     compute=churn.billing_contract_codes),),
    releases=(Release("v12.1"),),
    changes=(
        Change("2026-12-03T11:00:00Z", "TEL-601", "config",
               "Retention offer catalogue: winter bundle added"),
        Change("2026-12-07T02:00:00Z", "TEL-604", "infra",
               "Scoring API moved to the new availability zone"),
        Change("2026-12-09T07:05:00Z", "BIL-77", "schema",
               "Billing platform v5 go-live (customer and contract export re-implemented)"),
        Change("2026-12-10T15:00:00Z", "TEL-609", "code",
               "Self-care app: plan comparison page"),
    ),
    feature="contract", change_id="BIL-77", log_labels=False, with_model=False,
)

DRIFT_CHURN = Scenario(
    name="drift_churn_network_fault", domain=churn.DOMAIN,
    title="Retention offers going to the wrong customers since Friday",
    summary="Retention offers went astray after a radio-network fault made calls drop far more "
            "often than anything seen in training; churn rose and nothing was deployed.",
    signature="distribution_shift", start="2026-09-07T00:00:00Z", days=16, rows=48_000,
    bucket="1h", seed=103, onset="2026-09-18T05:40:00Z",
    faults=(WorldChange("2026-09-18T05:40:00Z", change=churn.network_fault),),
    releases=(Release("v12"),),
    feature="dropped_call_rate",
    roles=("decision", "label", "model_version", "id", "segments"),
    with_model=False,
)

DRIFT_HOUSING = Scenario(
    name="drift_housing_new_builds", domain=housing.DOMAIN,
    title="Valuation errors creeping up this quarter",
    summary="Valuation errors grew over weeks as large new-build homes, bigger than anything in "
            "the training data, came to the market in growing numbers.",
    signature="distribution_shift", start="2026-01-07T00:00:00Z", days=150, rows=36_000,
    bucket="1d", seed=104, onset="2026-03-23T00:00:00Z", onset_tolerance_buckets=3,
    faults=(WorldChange("2026-03-23T00:00:00Z", change=housing.new_build_boom, ramp_days=28),),
    releases=(Release("2025.12"),),
    changes=(
        Change("2026-02-03T01:00:00Z", "VAL-118", "data",
               "Listings feed: photos moved to the new CDN bucket"),
        Change("2026-03-04T05:30:00Z", "VAL-124", "code",
               "Valuation API: response now includes a confidence band"),
        Change("2026-04-20T02:00:00Z", "VAL-131", "infra",
               "Valuation API database upgraded to PostgreSQL 17"),
    ),
    feature="living_area_m2", train_rows=10_000, train_days=90,
)

SEGMENT_ADS = Scenario(
    name="segment_ads_android_clicks", domain=ads.DOMAIN,
    title="Click model missing clicks since Thursday evening",
    summary="On Android only, clicks stopped matching the click model after an app release put "
            "the ad next to the close button (accidental clicks).",
    signature="segment_regression", start="2026-08-03T00:00:00Z", days=7, rows=75_000,
    bucket="15min", seed=105, onset="2026-08-06T17:00:00Z",
    faults=(OutcomeChange("2026-08-06T17:00:00Z", change=ads.android_accidental_clicks),),
    releases=(Release("ctr-2026.07.3"),),
    changes=(
        Change("2026-08-04T09:00:00Z", "ADS-4390", "config",
               "Frequency cap raised from 6 to 8 impressions per user and day"),
        Change("2026-08-05T23:30:00Z", "ADS-4398", "infra",
               "Ad-server edge proxies upgraded to envoy 1.31"),
        Change("2026-08-07T11:00:00Z", "ADS-4403", "code",
               "Reporting: click events deduplicated by impression id"),
    ),
    segment="platform=android",
    with_model=False,
)

SEGMENT_HOUSING = Scenario(
    name="segment_housing_flood_maps", domain=housing.DOMAIN,
    title="Agents report valuations that are far off",
    summary="Riverside valuations became far too high once new flood-risk maps were published; "
            "other neighbourhoods were unaffected.",
    signature="segment_regression", start="2026-02-04T00:00:00Z", days=120, rows=32_000,
    bucket="1d", seed=106, onset="2026-04-15T00:00:00Z",
    faults=(OutcomeChange("2026-04-15T00:00:00Z", change=housing.flood_map_repricing),),
    releases=(Release("2026.01"),),
    changes=(
        Change("2026-03-02T04:00:00Z", "VAL-121", "data",
               "Council zoning layer refreshed (quarterly import)"),
        Change("2026-04-09T06:00:00Z", "VAL-128", "code",
               "Valuation API: stricter validation of lot sizes"),
        Change("2026-05-12T03:00:00Z", "VAL-135", "config",
               "Valuation cache TTL 24 h -> 12 h"),
    ),
    segment="neighbourhood=riverside", train_rows=10_000, train_days=90,
    roles=("label", "model_version", "id", "segments", "latency", "status"),
)

SCENARIOS = (UPSTREAM_LENDING, UPSTREAM_DELIVERY, UPSTREAM_CHURN, DRIFT_CHURN, DRIFT_HOUSING,
             SEGMENT_ADS, SEGMENT_HOUSING)
