"""Seeded samples read through the query layer: SHAP backgrounds and window samples.

Samples are drawn in SQL (`LogStore.seeded_sample`: ordered by a seeded row hash, then limited),
so only the sampled rows come into memory and the same seed gives the same rows.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from workbench.data import LogStore
from workbench.exceptions import EmptyDataError, InvalidInputError
from workbench.explain.adapters import ModelAdapter

DEFAULT_BACKGROUND_ROWS = 100


def _check_rows(rows: int, what: str) -> int:
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise InvalidInputError(f"The {what} size must be a positive integer. Got {rows!r}.")
    return rows


def reference_background(store: LogStore, adapter: ModelAdapter,
                         rows: int = DEFAULT_BACKGROUND_ROWS, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of the reference (training) data in the model's columns."""
    rows = _check_rows(rows, "background sample")
    adapter.check_columns(store.reference_schema, "the reference data",
                          expected=[f.name for f in store.roles.features if f.in_reference])
    sample = store.seeded_sample(list(adapter.feature_names), rows, seed, reference=True)
    if sample.empty:
        raise EmptyDataError("The reference data has no rows to draw a SHAP background from.")
    return sample


def window_sample(store: LogStore, adapter: ModelAdapter, start: datetime | None,
                  end: datetime | None, rows: int, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of the production log in [start, end), in the model's columns."""
    rows = _check_rows(rows, "window sample")
    return store.seeded_sample(list(adapter.feature_names), rows, seed, start=start, end=end)
