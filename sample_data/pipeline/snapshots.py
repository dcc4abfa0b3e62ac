"""Seeded data snapshots of the fraud training table and the fixed evaluation set.

The training table grows: every snapshot keeps the previous rows and appends new ones. From
snapshot MISLABELED_FROM on, a faulty relabeling job marks every chargeback in one segment
(merchant_category = electronics) as legitimate, in old and new rows alike. Labels are drawn
with a higher base rate than the incident sample's (about 8 % fraud) so a few thousand rows
carry enough positives for stable metrics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sample_data.fraud_features import (
    COUNTRIES,
    COUNTRY_SHARE,
    fraud_logit,
    served_columns,
    simulate,
)
from sample_data.lineage_sample import growing_snapshots, write_frame

SNAPSHOTS = 6
FIRST_ROWS = 3_000
ROWS_PER_SNAPSHOT = 700
EVAL_ROWS = 5_000
MISLABELED_FROM = 5  # snapshot number (1-based) where the relabeling bug starts
MISLABELED_SEGMENT = ("merchant_category", "electronics")
LOGIT_OFFSET = 2.3  # raises the fraud rate to ~8 %
START_US = 1_788_000_000_000_000  # late August 2026, UTC microseconds
EVAL_STREAM, TRAIN_STREAM = 0, 1
SNAPSHOT_NAME = "transactions_v{k}.parquet"


def transactions(n: int, seed: int, stream: int, first_id: int) -> pd.DataFrame:
    """n labelled transactions with ids first_id, first_id + 1, ..."""
    rng = np.random.default_rng([seed, stream, first_id])
    event_us = START_US + rng.integers(0, 30 * 86_400_000_000, n)
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARE / COUNTRY_SHARE.sum())
    t = simulate(event_us, country, rng)
    p = 1.0 / (1.0 + np.exp(-(fraud_logit(t) + LOGIT_OFFSET)))
    frame = pd.DataFrame({"transaction_id": [f"t{first_id + i:07d}" for i in range(n)]})
    for name, values in served_columns(t).items():
        frame[name] = values
    frame["is_fraud"] = (rng.random(n) < p).astype(np.int8)
    return frame


def mislabel(frame: pd.DataFrame) -> pd.DataFrame:
    """The relabeling bug: chargebacks in the segment become legitimate."""
    column, level = MISLABELED_SEGMENT
    out = frame.copy()
    out.loc[out[column] == level, "is_fraud"] = np.int8(0)
    return out


def generate(data_dir: Path, seed: int = 11) -> tuple[list[Path], Path]:
    """Write snapshots transactions_v1..vN and eval.parquet; return their paths."""
    data_dir = Path(data_dir)
    evaluation = write_frame(transactions(EVAL_ROWS, seed, EVAL_STREAM, 9_000_000),
                             data_dir / "eval.parquet")
    tables = growing_snapshots(lambda n, first: transactions(n, seed, TRAIN_STREAM, first),
                               FIRST_ROWS, ROWS_PER_SNAPSHOT, SNAPSHOTS, MISLABELED_FROM, mislabel)
    paths = [write_frame(table, data_dir / "snapshots" / SNAPSHOT_NAME.format(k=k))
             for k, table in enumerate(tables, start=1)]
    return paths, evaluation
