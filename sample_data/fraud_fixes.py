"""Candidate corrections of the sample incident, referenced from its generated incident.toml.

The upstream change served `avg_amount` at 70 % of its true value from the onset on, and the
online pipeline recomputed `ratio = amount / avg_amount` from it. The correction recomputes the
ratio with the average scaled back, for rows served at or after the onset (the first hour the
new warehouse definition reached the scoring service; the deploy itself was 8 minutes earlier,
and rows in between were still served the old values).
"""

from __future__ import annotations

import pandas as pd

from .fraud_incident import AVG_AMOUNT_MULTIPLIER, ONSET

TIMESTAMP = "event_time"


def affected(rows: pd.DataFrame) -> pd.Series:
    """Rows served after the upstream change took effect (time zone of the log respected)."""
    times = pd.to_datetime(rows[TIMESTAMP])
    onset = pd.Timestamp(ONSET)
    if times.dt.tz is None:
        onset = onset.tz_convert(None)
    return times >= onset


def recompute_ratio(rows: pd.DataFrame) -> pd.DataFrame:
    """`ratio = amount / (avg_amount / 0.70)` for affected rows; other rows unchanged."""
    hit = affected(rows)
    out = rows.copy()
    true_avg = rows.loc[hit, "avg_amount"] / AVG_AMOUNT_MULTIPLIER
    out["ratio"] = out["ratio"].astype(float)
    out.loc[hit, "ratio"] = rows.loc[hit, "amount"] / true_avg
    return out
