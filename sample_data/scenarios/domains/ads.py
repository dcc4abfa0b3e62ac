"""Display advertising: the probability that an impression is clicked.

Impressions whose predicted click probability clears the threshold are boosted into the premium
slot. Traffic follows UK time (UTC+0) with an evening peak; ad-serving latency budgets are tight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipelines.ads_features import compute_features
from ..traffic import Traffic, local_hour
from .base import Columns, Domain, Service, bernoulli, choice, effect, logit, sigmoid

UTC_OFFSET = 0
PLATFORMS = {"android": 0.45, "ios": 0.35, "web": 0.2}
FORMATS = {"banner": 0.5, "native": 0.35, "video": 0.15}
FEATURES = ("ad_relevance", "slot_position", "user_ctr_30d", "dwell_norm", "hour_local",
            "platform", "ad_format")
RAW = ("dwell_seconds", "clicks_30d", "impressions_30d")


def simulate(rng: np.random.Generator, t_us: np.ndarray) -> pd.DataFrame:
    """Impressions: the ad, its slot, the user's history and the request context."""
    n = len(t_us)
    user_rate = rng.beta(1.5, 45.0, n)
    shown = rng.poisson(rng.lognormal(np.log(60.0), 0.9, n)).astype(np.int32)
    return pd.DataFrame({
        "ad_relevance": np.round(rng.beta(2.0, 3.0, n), 3),
        "slot_position": rng.choice(np.arange(1, 7), n, p=[0.3, 0.22, 0.17, 0.13, 0.1, 0.08]
                                    ).astype(np.int32),
        "hour_local": local_hour(t_us, UTC_OFFSET).astype(np.int32),
        "platform": choice(rng, PLATFORMS, n),
        "ad_format": choice(rng, FORMATS, n),
        "dwell_seconds": np.round(rng.lognormal(np.log(19.0), 1.0, n), 1),
        "clicks_30d": rng.binomial(shown, user_rate).astype(np.int32),
        "impressions_30d": shown,
        "_user_rate": user_rate,
    })


def signal(raw: pd.DataFrame) -> np.ndarray:
    """Log-odds of a click."""
    dwell_z = (np.log1p(raw["dwell_seconds"].to_numpy()) - 3.0) / 1.0
    hour = raw["hour_local"].to_numpy()
    evening = np.exp(-0.5 * ((hour - 20.5) / 2.5) ** 2)
    return (-3.7
            + 2.4 * (raw["ad_relevance"].to_numpy() - 0.4)
            - 0.3 * (raw["slot_position"].to_numpy() - 1)
            + 24.0 * (raw["_user_rate"].to_numpy() - 0.032)
            + 1.1 * dwell_z
            + 0.3 * evening
            + effect(raw["ad_format"].to_numpy(), {"video": 0.35, "native": 0.2})
            + effect(raw["platform"].to_numpy(), {"ios": 0.1, "web": -0.25}))


def derive(raw: pd.DataFrame) -> pd.DataFrame:
    """Training-way features from the raw request columns."""
    return compute_features(raw)


def serving_min_max_dwell(raw: pd.DataFrame) -> np.ndarray:
    """The shared scaler's default: min-max scaling of log dwell over [0 s, 1 h], not a z-score."""
    return np.round(np.log1p(raw["dwell_seconds"].to_numpy()) / np.log1p(3600.0), 4)


def android_accidental_clicks(raw: pd.DataFrame, log_odds: np.ndarray,
                              active: np.ndarray) -> np.ndarray:
    """An Android app release puts the ad next to the close button: 6 % of views get a click."""
    p = sigmoid(log_odds)
    hit = active & (raw["platform"].to_numpy() == "android")
    return np.where(hit, logit(p + (1 - p) * 0.06), log_odds)


DOMAIN = Domain(
    name="ads", task="classification",
    columns=Columns(timestamp="served_at", id="impression_id", prediction="p_click",
                    label="clicked", decision="boosted"),
    features=FEATURES, categorical=("platform", "ad_format"), segments=("platform", "ad_format"),
    traffic=Traffic(daily=(0.45, 0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 0.8, 0.85, 0.85, 0.9,
                           1.0, 0.95, 0.9, 0.9, 0.95, 1.05, 1.2, 1.4, 1.55, 1.5, 1.2, 0.8),
                    weekly=(0.95, 0.95, 0.97, 1.0, 1.05, 1.1, 1.05), utc_offset=UTC_OFFSET,
                    noise=0.06),
    service=Service(latency_ms=22.0, latency_sigma=0.3, error_share=0.0005, status_style="text",
                    timeout_ms=80.0),
    simulate=simulate, signal=signal, draw=bernoulli, derive=derive, raw_columns=RAW,
    threshold=0.045, label_dtype="bool", int_features=("slot_position", "hour_local"),
)
