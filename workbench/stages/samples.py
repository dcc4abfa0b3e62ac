"""Seeded samples of a window's rows, drawn once and shared by the stages that model them."""

from __future__ import annotations

import pandas as pd

from workbench.data import LogStore, Window

SAMPLE_ROWS = 5_000  # rows per window


def window_sample(store: LogStore, window: Window, seed: int = 0) -> pd.DataFrame:
    """Up to SAMPLE_ROWS rows of the window with every feature and the label (one scan, kept
    by the store, so the domain classifier and the repair test read the same rows)."""
    columns = [f.name for f in store.roles.features]
    if store.roles.label is not None and store.roles.label not in columns:
        columns.append(store.roles.label)
    return store.seeded_sample(columns, SAMPLE_ROWS, seed, start=window.start, end=window.end)
