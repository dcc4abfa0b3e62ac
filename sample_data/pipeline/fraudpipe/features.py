"""Model features computed from a transactions snapshot."""

from __future__ import annotations

import pandas as pd

LABEL = "is_fraud"
LEVELS = {
    "merchant_category": ["grocery", "restaurant", "fuel", "fashion", "electronics", "travel",
                          "digital_goods", "cash_withdrawal"],
    "country": ["DE", "FR", "GB", "NL", "ES", "IT", "PL", "SE", "US", "BR"],
    "channel": ["pos", "online", "atm"],
    "device_type": ["terminal", "mobile", "desktop", "tablet"],
}
NUMERIC = ["ratio", "amount", "account_age_days", "hour", "txn_count_1h", "txn_count_24h",
           "distance_from_home_km"]
FEATURES = NUMERIC + list(LEVELS)


def make_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in FEATURES order."""
    out = pd.DataFrame(index=frame.index)
    out["ratio"] = frame["amount"] / frame["avg_amount"]
    for name in NUMERIC[1:]:
        out[name] = frame[name].astype(float)
    for name, levels in LEVELS.items():
        out[name] = pd.Categorical(frame[name], categories=levels)
    return out[FEATURES]
