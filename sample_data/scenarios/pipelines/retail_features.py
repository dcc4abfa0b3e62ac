"""Training-time feature code of the demand-forecasting model: raw columns -> features.

`recent_units` is the item's sales in the store over the last 28 days; `discount_pct` the
markdown against the regular shelf price, in percent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["units_last_28d", "price", "regular_price"]


def compute_features(raw: pd.DataFrame) -> pd.DataFrame:
    """recent_units and discount_pct for each row of raw columns, as in training."""
    price = raw["price"].astype(float).to_numpy()
    regular = raw["regular_price"].astype(float).to_numpy()
    return pd.DataFrame({
        "recent_units": raw["units_last_28d"].astype(float).to_numpy(),
        "discount_pct": np.round(100.0 * (1.0 - price / regular), 1),
    }, index=raw.index)
