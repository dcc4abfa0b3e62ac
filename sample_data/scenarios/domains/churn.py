"""Mobile telecom churn: the probability that a subscriber leaves within 30 days.

Scores above the threshold trigger a retention offer. Subscribers are scored when they open the
self-care app or call the care line (Central European time, UTC+1), or in a nightly batch. The
network's dropped-call rate is part of each subscriber's experience, and of the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..traffic import Traffic
from .base import Columns, Domain, Service, bernoulli, choice, effect

UTC_OFFSET = 1
PLANS = {"basic": 0.3, "standard": 0.4, "premium": 0.2, "unlimited": 0.1}
PLAN_PRICE = {"basic": 22.0, "standard": 38.0, "premium": 59.0, "unlimited": 79.0}
REGIONS = {"capital": 0.3, "north": 0.2, "south": 0.2, "east": 0.15, "west": 0.15}
CONTRACTS = {"monthly": 0.5, "annual": 0.35, "two_year": 0.15}
FEATURES = ("tenure_months", "monthly_charge", "data_gb_30d", "support_calls_30d",
            "dropped_call_rate", "contract", "payment_method", "plan", "region")

APP_TRAFFIC = Traffic(
    daily=(0.2, 0.1, 0.06, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.1, 1.15, 1.2, 1.25, 1.2, 1.15,
           1.15, 1.2, 1.3, 1.4, 1.45, 1.35, 1.1, 0.7, 0.4),
    weekly=(1.1, 1.0, 1.0, 1.0, 0.95, 0.85, 0.8), utc_offset=UTC_OFFSET, noise=0.1)
# The nightly batch scores the subscriber base between 01:00 and 04:00 local time.
BATCH_TRAFFIC = Traffic(
    daily=(0.0, 1.0, 1.3, 1.2, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
           0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    weekly=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), utc_offset=UTC_OFFSET, noise=0.15)


def simulate(rng: np.random.Generator, t_us: np.ndarray) -> pd.DataFrame:
    """Subscribers: plan, contract, usage, care contacts and network quality."""
    n = len(t_us)
    plan = choice(rng, PLANS, n)
    contract = choice(rng, CONTRACTS, n)
    region = choice(rng, REGIONS, n)
    charge = np.array([PLAN_PRICE[p] for p in plan]) * rng.lognormal(0.0, 0.12, n)
    monthly = contract == "monthly"
    drop_scale = 1.0 + effect(region, {"north": 0.25, "east": 0.15, "capital": -0.15})
    return pd.DataFrame({
        "tenure_months": np.clip(rng.exponential(26.0, n) + 1, 1, 180).astype(np.int32),
        "monthly_charge": np.round(charge, 2),
        "data_gb_30d": np.round(rng.lognormal(np.log(9.0), 0.8, n), 2),
        "support_calls_30d": rng.poisson(np.where(monthly, 1.0, 0.6), n).astype(np.int32),
        "dropped_call_rate": np.round(rng.beta(1.6, 160.0, n) * drop_scale, 4),
        "contract": contract,
        "payment_method": choice(rng, {"card": 0.45, "direct_debit": 0.4, "invoice": 0.15}, n),
        "plan": plan,
        "region": region,
    })


def signal(raw: pd.DataFrame) -> np.ndarray:
    """Log-odds of churning within 30 days."""
    plan_price = np.array([PLAN_PRICE[p] for p in raw["plan"]])
    return (-2.1
            + 0.6 * raw["support_calls_30d"].to_numpy()
            - 0.022 * raw["tenure_months"].to_numpy()
            + 1.6 * np.log(raw["monthly_charge"].to_numpy() / plan_price)
            + 0.008 * (raw["monthly_charge"].to_numpy() - 40)
            - 0.25 * np.log1p(raw["data_gb_30d"].to_numpy())
            + 60.0 * (raw["dropped_call_rate"].to_numpy() - 0.01)
            + effect(raw["contract"].to_numpy(), {"monthly": 0.9, "two_year": -1.0})
            + effect(raw["payment_method"].to_numpy(), {"invoice": 0.35, "direct_debit": -0.2}))


def network_fault(raw: pd.DataFrame, weight: np.ndarray, rng: np.random.Generator) -> None:
    """A radio-network software fault: for a third of subscribers, calls drop 5-8 times as often."""
    hit = (rng.random(len(raw)) < 0.35 * weight)
    worse = rng.uniform(5.0, 8.0, hit.sum())
    raw.loc[hit, "dropped_call_rate"] = np.round(
        np.clip(raw.loc[hit, "dropped_call_rate"].to_numpy() * worse + 0.01, 0, 0.4), 4)


def billing_contract_codes(raw: pd.DataFrame) -> np.ndarray:
    """Billing v5 exports contract terms as codes the model has never seen."""
    codes = {"monthly": "M2M", "annual": "12M", "two_year": "24M"}
    return np.array([codes[c] for c in raw["contract"]], dtype=object)


DOMAIN = Domain(
    name="churn", task="classification",
    columns=Columns(timestamp="scored_at", id="subscriber_id", prediction="churn_score",
                    label="churned_30d", decision="retention_offer"),
    features=FEATURES, categorical=("contract", "payment_method", "plan", "region"),
    segments=("plan", "region"), traffic=APP_TRAFFIC,
    service=Service(latency_ms=18.0, latency_sigma=0.25, status_style="text", timeout_ms=500.0),
    simulate=simulate, signal=signal, draw=bernoulli, threshold=0.4, label_dtype="int8",
    int_features=("tenure_months", "support_calls_30d"),
)
