"""Consumer lending: the probability that an applicant defaults, used to decline applications.

Applications arrive around the clock in US Eastern time (UTC-5), mostly during the day; night
applicants are slightly riskier in ways the model cannot see, so the error rate has a daily
rhythm of its own. The log joins each decision with its repayment outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..traffic import Traffic, local_hour
from .base import Columns, Domain, Service, bernoulli, choice, effect

UTC_OFFSET = -5
PRODUCTS = {"card": 0.5, "personal": 0.35, "auto": 0.15}
CHANNELS = {"web": 0.45, "mobile": 0.3, "branch": 0.15, "partner": 0.10}
FEATURES = ("annual_income", "debt_to_income", "credit_utilization", "num_open_accounts",
            "months_since_delinquency", "loan_amount", "employment_years", "product", "channel")


def simulate(rng: np.random.Generator, t_us: np.ndarray) -> pd.DataFrame:
    """Applicants: income, indebtedness, bureau utilisation, history, the loan asked for."""
    n = len(t_us)
    hour = local_hour(t_us, UTC_OFFSET)
    night = (hour < 6) | (hour >= 22)
    channel = choice(rng, CHANNELS, n)
    # Branches are closed at night: those applicants come through the app or the web.
    closed = (channel == "branch") & ((hour < 9) | (hour >= 18))
    channel[closed] = np.where(rng.random(closed.sum()) < 0.6, "mobile", "web")
    income = np.round(rng.lognormal(np.log(58_000) - 0.12 * night, 0.5, n), -2)
    delinquent = rng.random(n) < 0.38
    return pd.DataFrame({
        "annual_income": income,
        "debt_to_income": np.round(rng.beta(2.2, 5.0, n), 3),
        "credit_utilization": np.round(rng.beta(1.6, 2.8, n), 3),
        "num_open_accounts": (rng.poisson(5.0, n) + 1).astype(np.int32),
        "months_since_delinquency": np.where(delinquent, rng.integers(1, 121, n), np.nan),
        "loan_amount": np.round(np.clip(rng.lognormal(np.log(12_000), 0.6, n), 1_000, 60_000),
                                -1),
        "employment_years": np.round(np.clip(rng.exponential(6.0, n), 0, 40) * 2) / 2,
        "product": choice(rng, PRODUCTS, n),
        "channel": channel,
        "_night": night,
    })


def signal(raw: pd.DataFrame) -> np.ndarray:
    """Log-odds of default."""
    months = raw["months_since_delinquency"].to_numpy(dtype=float)
    recent = np.where(np.isnan(months), 0.0, 1.1 * np.exp(-np.nan_to_num(months) / 24.0))
    return (-3.0
            + 3.4 * (raw["credit_utilization"].to_numpy() - 0.36)
            + 4.2 * (raw["debt_to_income"].to_numpy() - 0.3)
            - 0.7 * np.log(raw["annual_income"].to_numpy() / 58_000)
            + 0.07 * (raw["num_open_accounts"].to_numpy() - 6)
            + recent
            + 0.3 * np.log(raw["loan_amount"].to_numpy() / 12_000)
            - 0.035 * (raw["employment_years"].to_numpy() - 6)
            + effect(raw["product"].to_numpy(), {"personal": 0.25, "auto": -0.3})
            + effect(raw["channel"].to_numpy(), {"partner": 0.25, "branch": -0.15})
            + 0.35 * raw["_night"].to_numpy())


def rate_reset(raw: pd.DataFrame, logit: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Variable rates reset upwards: large loans and indebted borrowers default far more often."""
    size = np.clip(np.log(raw["loan_amount"].to_numpy() / 12_000), 0.0, None)
    dti = np.clip(raw["debt_to_income"].to_numpy() - 0.3, 0.0, None)
    return logit + active * (0.4 + 1.6 * size + 3.0 * dti)


def whole_employment_years(raw: pd.DataFrame) -> np.ndarray:
    """The bureau's new employment record: whole years only (a harmless definition change)."""
    return np.floor(raw["employment_years"].to_numpy())


DOMAIN = Domain(
    name="lending", task="classification",
    columns=Columns(timestamp="decided_at", id="application_id", prediction="default_prob",
                    label="defaulted", decision="declined"),
    features=FEATURES, categorical=("product", "channel"), segments=("product", "channel"),
    traffic=Traffic(daily=(0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.55, 0.85, 1.1, 1.2, 1.25,
                           1.3, 1.25, 1.2, 1.2, 1.15, 1.1, 1.05, 1.1, 1.05, 0.9, 0.65, 0.4),
                    weekly=(1.05, 1.0, 1.0, 1.0, 0.95, 0.7, 0.6), utc_offset=UTC_OFFSET),
    service=Service(latency_ms=140.0, latency_sigma=0.35, status_style="text",
                    timeout_ms=2000.0),
    family="gbm", simulate=simulate, signal=signal, draw=bernoulli, threshold=0.18,
    label_dtype="bool",
    int_features=("num_open_accounts",),
)
