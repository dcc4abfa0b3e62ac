"""Incidents the metric decomposition and the data-quality checks must name: a unit change on a
feature the model leans on, a feed that fills a feature less often, and a harmless shift."""

from __future__ import annotations

from ..domains import churn, lending
from ..faults import PartlyMissing, ScaleServed, WorldChange
from ..spec import Change, Release, Scenario

UNIT_CHURN = Scenario(
    name="upstream_churn_charge_in_cents", domain=churn.DOMAIN,
    title="Retention offers to everyone since Thursday afternoon",
    summary="Retention offers went to loyal customers after the billing feed v4 began "
            "reporting the monthly charge in cents instead of euros (values 100 times larger).",
    signature="upstream_data_change", start="2026-04-06T00:00:00Z", days=14, rows=46_000,
    bucket="1h", seed=501, onset="2026-04-16T14:00:00Z",
    faults=(ScaleServed("2026-04-16T14:00:00Z", column="monthly_charge", factor=100.0,
                        decimals=0),),
    releases=(Release("v12.4"),),
    changes=(
        Change("2026-04-08T10:00:00Z", "TEL-701", "config",
               "Retention offer catalogue: spring bundle added"),
        Change("2026-04-14T02:00:00Z", "TEL-705", "infra", "Scoring API pods resized"),
        Change("2026-04-16T13:40:00Z", "BIL-140", "upstream",
               "Billing warehouse feed v4 go-live (new export of account charges)"),
    ),
    feature="monthly_charge", change_id="BIL-140", with_model=False,
)

MISSING_LENDING = Scenario(
    name="silent_lending_utilisation_gaps", domain=lending.DOMAIN,
    title="More defaults among approved loans since Tuesday",
    summary="The bureau connector began to time out for part of the requests: "
            "credit_utilization, always missing for about 10 % of applicants, is now missing "
            "for 60 %, and the model imputes the median for them.",
    signature="silent_pipeline_failure", start="2026-06-01T00:00:00Z", days=21, rows=60_000,
    bucket="1h", seed=502, onset="2026-06-16T09:00:00Z",
    faults=(PartlyMissing("2026-06-16T09:00:00Z", column="credit_utilization", before=0.10,
                          after=0.60),),
    releases=(Release("v3.4.0"),),
    changes=(
        Change("2026-06-05T13:00:00Z", "CR-2601", "config",
               "Manual-review queue: new routing for small loans"),
        Change("2026-06-18T10:00:00Z", "CR-2611", "infra",
               "Scoring service nodes patched (kernel update)"),
    ),
    feature="credit_utilization", with_model=False, train_rows=10_000,
)


def _more_streaming(raw, weight, rng) -> None:
    """Subscribers stream more: data volume grows by up to 60 %, nothing else changes."""
    raw["data_gb_30d"] = raw["data_gb_30d"].to_numpy() * (1.0 + 0.6 * weight)


HEALTHY_SHIFT = Scenario(
    name="healthy_churn_streaming_growth", domain=churn.DOMAIN,
    title="Check after the unlimited-video promotion",
    summary="Data usage grew by 60 % during a video promotion; the model sees the real usage, "
            "churn and its predictions move together: an input shift that is not an incident.",
    signature=None, start="2026-05-04T00:00:00Z", days=12, rows=46_000, bucket="1h",
    seed=503,
    faults=(WorldChange("2026-05-09T00:00:00Z", change=_more_streaming, ramp_days=1.0),),
    releases=(Release("v12.5"),),
    changes=(Change("2026-05-06T10:00:00Z", "TEL-720", "infra", "Scoring API pods resized"),
             Change("2026-05-08T23:00:00Z", "MKT-88", "config",
                    "Unlimited-video promotion starts"),),
    with_model=False,
)

SCENARIOS = (UNIT_CHURN, MISSING_LENDING, HEALTHY_SHIFT)
