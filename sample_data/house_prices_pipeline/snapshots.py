"""Seeded CSV snapshots of the house sales table and the fixed evaluation set.

The sales table grows: every snapshot keeps the previous rows and appends new sales. From
snapshot IN_THOUSANDS_FROM on, a changed export writes one neighbourhood's prices in thousands
(412300 becomes 412.3), in old and new rows alike. Prices follow the living area, the
neighbourhood's price level, quality and age, with 8 % log-normal noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sample_data.lineage_sample import growing_snapshots, write_frame

SNAPSHOTS = 4
FIRST_ROWS = 1_200
ROWS_PER_SNAPSHOT = 300
EVAL_ROWS = 1_500
IN_THOUSANDS_FROM = 3  # snapshot number (1-based) where the export bug starts
IN_THOUSANDS = ("neighbourhood", "Riverside")
# Price per m2 of each neighbourhood, before quality and age.
PRICE_LEVEL = {"Riverside": 4200, "Old Town": 3600, "Hillcrest": 3900, "Northgate": 2600,
               "Lakeview": 4600, "Westend": 3000, "Meadowbrook": 2800, "Harbour": 3300}
EVAL_STREAM, TRAIN_STREAM = 0, 1
SNAPSHOT_NAME = "house_sales_v{k}.csv"


def houses(n: int, seed: int, stream: int, first_id: int) -> pd.DataFrame:
    """n sold houses with ids first_id, first_id + 1, ..."""
    rng = np.random.default_rng([seed, stream, first_id])
    names = list(PRICE_LEVEL)
    where = rng.choice(len(names), size=n)
    area = np.round(rng.gamma(6.0, 18.0, n) + 35.0, 1)
    quality = rng.integers(3, 11, n)
    built = rng.integers(1950, 2024, n)
    price = (np.array([PRICE_LEVEL[names[i]] for i in where]) * area
             * (0.75 + 0.06 * quality) * (1 - 0.002 * (2025 - built))
             * np.exp(rng.normal(0.0, 0.08, n)))
    return pd.DataFrame({
        "house_id": [f"h{first_id + i:06d}" for i in range(n)],
        "neighbourhood": [names[i] for i in where],
        "living_area_m2": area,
        "lot_area_m2": np.round(area * rng.uniform(1.5, 5.0, n), 0),
        "bedrooms": np.clip(np.round(area / 30 + rng.normal(0, 0.7, n)), 1, 7).astype(int),
        "bathrooms": np.clip(np.round(area / 60 + rng.normal(0, 0.5, n)), 1, 4).astype(int),
        "overall_quality": quality,
        "year_built": built,
        "sale_price": np.round(price, -2),
    })


def in_thousands(frame: pd.DataFrame) -> pd.DataFrame:
    """The export bug: one neighbourhood's prices written in thousands."""
    column, level = IN_THOUSANDS
    out = frame.copy()
    rows = out[column] == level
    out.loc[rows, "sale_price"] = out.loc[rows, "sale_price"] / 1000
    return out


def generate(data_dir: Path, seed: int = 5) -> tuple[list[Path], Path]:
    """Write snapshots house_sales_v1..vN.csv and eval.csv; return their paths."""
    data_dir = Path(data_dir)
    evaluation = write_frame(houses(EVAL_ROWS, seed, EVAL_STREAM, 900_000), data_dir / "eval.csv")
    tables = growing_snapshots(lambda n, first: houses(n, seed, TRAIN_STREAM, first), FIRST_ROWS,
                               ROWS_PER_SNAPSHOT, SNAPSHOTS, IN_THOUSANDS_FROM, in_thousands)
    paths = [write_frame(table, data_dir / "snapshots" / SNAPSHOT_NAME.format(k=k))
             for k, table in enumerate(tables, start=1)]
    return paths, evaluation
