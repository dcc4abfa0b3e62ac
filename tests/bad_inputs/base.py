"""A small valid incident that every bad-input case starts from and mutates in one way.

Three days of an hourly fraud log (a few thousand rows) with a 0/1 label, two numeric features, a
segment, a model version and latency, a training reference and a change log. `Builder` holds the
config as a mapping and every file as content (frames, Arrow tables, DuckDB tables, bytes, text
or symlinks) until `write()`, so a case edits one thing and the runner writes the folder.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tests.core.conftest import toml_dumps

LOG_START = pd.Timestamp("2026-03-02 00:00:00")  # a Monday, naive UTC
HOURS = 72
ROWS_PER_HOUR = 30
ROWS = HOURS * ROWS_PER_HOUR
REFERENCE_ROWS = 600
CONFIG = "incident.toml"


@dataclass(frozen=True)
class DuckTable:
    """A table to write into a DuckDB file (`files["x.duckdb"] = DuckTable("log", frame)`)."""

    name: str
    data: pd.DataFrame | pa.Table


@dataclass(frozen=True)
class Link:
    """A symbolic link to write (`files["a.parquet"] = Link("b.parquet")`)."""

    target: str


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@functools.cache
def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The base log, reference and change log (built once, seeded)."""
    rng = np.random.default_rng(7)
    hours = np.repeat(np.arange(HOURS), ROWS_PER_HOUR)
    seconds = hours * 3600 + rng.integers(0, 3600, ROWS)
    order = np.argsort(seconds, kind="stable")
    seconds = seconds[order]
    amount = rng.gamma(2.0, 40.0, ROWS)
    ratio = rng.normal(1.0, 0.2, ROWS)
    score = _sigmoid(0.02 * (amount - 80.0) + 2.0 * (ratio - 1.0) - 2.0)
    log = pd.DataFrame({
        "event_time": (LOG_START + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]"),
        "transaction_id": np.arange(ROWS, dtype=np.int64),
        "amount": amount,
        "ratio": ratio,
        "country": rng.choice(np.array(["DE", "FR", "US"]), ROWS, p=[0.5, 0.3, 0.2]),
        "fraud_score": score,
        "is_fraud": (rng.random(ROWS) < score).astype(np.int64),
        "model_version": "v1",
        "latency_ms": rng.gamma(4.0, 10.0, ROWS),
    })
    ref_amount = rng.gamma(2.0, 40.0, REFERENCE_ROWS)
    ref_ratio = rng.normal(1.0, 0.2, REFERENCE_ROWS)
    ref_score = _sigmoid(0.02 * (ref_amount - 80.0) + 2.0 * (ref_ratio - 1.0) - 2.0)
    reference = pd.DataFrame({
        "amount": ref_amount,
        "ratio": ref_ratio,
        "country": rng.choice(np.array(["DE", "FR", "US"]), REFERENCE_ROWS, p=[0.5, 0.3, 0.2]),
        "is_fraud": (rng.random(REFERENCE_ROWS) < ref_score).astype(np.int64),
    })
    changes = pd.DataFrame({
        "time": ["2026-03-03T10:00:00Z", "2026-03-04T09:30:00Z"],
        "id": ["CHG-1", "CHG-2"],
        "kind": ["config", "data"],
        "description": ["Raised the review queue size", "Backfilled the merchant table"],
    })
    return log, reference, changes


def base_log() -> pd.DataFrame:
    """A copy of the valid production log."""
    return _frames()[0].copy()


def base_reference() -> pd.DataFrame:
    """A copy of the valid training reference."""
    return _frames()[1].copy()


def base_changes() -> pd.DataFrame:
    """A copy of the valid change log."""
    return _frames()[2].copy()


def base_config() -> dict[str, Any]:
    """The valid incident config as a mapping (TOML is written from it)."""
    return {
        "title": "Bad-input corpus base incident",
        "bucket": "1h",
        "production": {
            "source": "logs/*.parquet", "timestamp": "event_time", "prediction": "fraud_score",
            "label": "is_fraud", "model_version": "model_version", "id": "transaction_id",
            "segments": ["country"], "latency": "latency_ms",
        },
        "reference": {"source": "training.parquet", "label": "is_fraud"},
        "changes": {"source": "changes.csv"},
    }


class Builder:
    """A valid incident in memory: edit `config`, `files` or the log, then `write(folder)`."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = copy.deepcopy(base_config())
        self.files: dict[str, Any] = {
            "training.parquet": base_reference(),
            "changes.csv": base_changes(),
        }
        self.set_log(base_log())

    def set_log(self, frame: pd.DataFrame | pa.Table, parts: int = 2,
                ext: str = "parquet") -> None:
        """Replace the production log by `frame`, split into `parts` files logs/part-i.ext."""
        for name in [n for n in self.files if n.startswith("logs/")]:
            del self.files[name]
        n = len(frame)
        bounds = [round(i * n / parts) for i in range(parts + 1)]
        for i in range(parts):
            self.files[f"logs/part-{i}.{ext}"] = frame[bounds[i]:bounds[i + 1]]
        self.config["production"]["source"] = f"logs/*.{ext}"

    def log_parts(self) -> list[str]:
        """Names of the production log files, in order."""
        return sorted(n for n in self.files if n.startswith("logs/"))

    def write(self, folder: Path) -> Path:
        """Write every file and the config (unless `files` holds incident.toml); return it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            write_file(folder / name, content)
        config = folder / CONFIG
        if CONFIG not in self.files:
            config.write_text(toml_dumps(self.config), encoding="utf-8")
        return config


def write_file(path: Path, content: Any) -> None:
    """Write one file from its content, the format chosen by the content and the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Link):
        os.symlink(content.target, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, DuckTable):
        with duckdb.connect(str(path)) as con:
            con.register("frame", content.data)
            con.execute(f'CREATE OR REPLACE TABLE "{content.name}" AS SELECT * FROM frame')
            con.unregister("frame")
    elif path.suffix == ".csv":
        frame = content.to_pandas() if isinstance(content, pa.Table) else content
        frame.to_csv(path, index=False)
    elif isinstance(content, pa.Table):
        pq.write_table(content, path)
    elif isinstance(content, pd.DataFrame):
        pq.write_table(pa.Table.from_pandas(content, preserve_index=False), path)
    else:
        raise TypeError(f"cannot write {type(content).__name__} to {path}")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes of a Parquet file holding `frame`."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


INCIDENT_AT = LOG_START + pd.Timedelta(hours=48)


def with_regression(b: Builder) -> None:
    """Make the log an incident: from INCIDENT_AT on, legitimate rows score 0.35 higher, so the
    false-positive rate steps up there."""
    log = base_log()
    hit = (log["event_time"] >= INCIDENT_AT) & (log["is_fraud"] == 0)
    log.loc[hit, "fraud_score"] = (log.loc[hit, "fraud_score"] + 0.35).clip(upper=1.0)
    b.set_log(log)
