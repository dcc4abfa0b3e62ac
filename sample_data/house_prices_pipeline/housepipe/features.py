"""Model features computed from a house sales snapshot."""

from __future__ import annotations

import pandas as pd

LABEL = "sale_price"
NEIGHBOURHOODS = ["Riverside", "Old Town", "Hillcrest", "Northgate", "Lakeview", "Westend",
                  "Meadowbrook", "Harbour"]
NUMERIC = ["living_area_m2", "lot_area_m2", "bedrooms", "bathrooms", "overall_quality",
           "year_built"]
FEATURES = NUMERIC + ["neighbourhood"]


def make_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in FEATURES order."""
    out = pd.DataFrame(index=frame.index)
    for name in NUMERIC:
        out[name] = frame[name].astype(float)
    out["neighbourhood"] = pd.Categorical(frame["neighbourhood"], categories=NEIGHBOURHOODS)
    return out[FEATURES]
