"""Training-time feature code of the click-through model: raw request columns -> features.

`dwell_norm` is the standardised log of the user's average dwell time; `user_ctr_30d` the user's
smoothed click-through rate over 30 days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DWELL_LOG_MEAN = 3.0  # mean of log1p(dwell_seconds) in the training window
DWELL_LOG_STD = 1.0
CTR_PRIOR_CLICKS, CTR_PRIOR_IMPRESSIONS = 1.0, 30.0  # smoothing towards a 3.3 % prior

COLUMNS = ["dwell_seconds", "clicks_30d", "impressions_30d"]


def compute_features(raw: pd.DataFrame) -> pd.DataFrame:
    """dwell_norm and user_ctr_30d for each row of raw columns, as in training."""
    dwell = raw["dwell_seconds"].astype(float).to_numpy()
    clicks = raw["clicks_30d"].astype(float).to_numpy()
    shown = raw["impressions_30d"].astype(float).to_numpy()
    return pd.DataFrame({
        "dwell_norm": np.round((np.log1p(dwell) - DWELL_LOG_MEAN) / DWELL_LOG_STD, 4),
        "user_ctr_30d": np.round((clicks + CTR_PRIOR_CLICKS)
                                 / (shown + CTR_PRIOR_IMPRESSIONS), 5),
    }, index=raw.index)
