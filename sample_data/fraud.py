"""Seeded generator of the "fraud false positives tripled over the weekend" sample incident.

An upstream warehouse change on Friday evening lowers the served `avg_amount` by 30 %, which
inflates `ratio = amount / avg_amount`, the feature the fraud model relies on most. Real fraud
is unchanged (labels come from the true values), so the false-positive rate roughly triples.
A harmless model rollout and a few unrelated changes act as decoys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.pipeline import Pipeline

from . import fraud_incident as inc
from .fraud_features import (
    COUNTRIES,
    FEATURES,
    INT_FEATURES,
    UTC_OFFSET_HOURS,
    label,
    served_columns,
    simulate,
)
from .fraud_model import load_model, save_model, score, train
from .fraud_traffic import DAY_US, HOUR_US, country_weights, hourly_counts, sample_events

DEFAULT_OUT = Path(__file__).parent / "fraud_weekend"
TRAIN_ROWS = 30_000
LABEL_MISSING_SHARE = 0.04
TIMEOUT_SHARE, ERROR_SHARE = 0.0006, 0.0004
TIMEOUT_MS = 800.0  # client-side budget; far above any successful call
ROW_GROUP_SIZE = 131_072
# Fixed writer settings: the same table always gives the same bytes.
PARQUET_OPTIONS = {"compression": "snappy", "use_dictionary": True, "write_statistics": True}
# Independent random streams, so e.g. the logs do not change when training code draws more.
TRAIN_STREAM, TRAFFIC_STREAM, LOG_STREAM = 0, 1, 2

__all__ = ["DEFAULT_OUT", "generate", "load_model"]

Progress = Callable[[str], None]


def generate(
    out_dir: Path, rows: int = 300_000, seed: int = 7, progress: Progress | None = None
) -> Path:
    """Write the sample incident into out_dir and return the path of its incident.toml."""
    if rows < 1_000:
        raise ValueError("rows must be at least 1000")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    for sub in ("training", "models", "logs"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    models = _training_and_models(out_dir, seed, say)
    _write_logs(out_dir / "logs", rows, seed, models, say)
    say("writing changes.csv, incident.toml, truth.json")
    inc.write_changes(out_dir / "changes.csv")
    inc.write_incident(out_dir / "incident.toml")
    offsets = {c: int(o) for c, o in zip(COUNTRIES, UTC_OFFSET_HOURS, strict=True)}
    inc.write_truth(out_dir / "truth.json", inc.truth(seed, rows, offsets))
    return out_dir / "incident.toml"


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """Random generator for one named stream (and e.g. one day) of one seed."""
    return np.random.default_rng([seed, *stream])


def _training_and_models(out_dir: Path, seed: int, say: Progress) -> dict[str, Pipeline]:
    """Simulate the four pre-incident weeks, save them and train both model versions on them."""
    say(f"simulating {TRAIN_ROWS:,} training rows")
    rng = _rng(seed, TRAIN_STREAM)
    start = inc.utc_us(inc.TRAIN_START)
    weights = country_weights(start, (inc.utc_us(inc.LOG_START) - start) // HOUR_US)
    event_us, country = sample_events(start, hourly_counts(TRAIN_ROWS, weights, rng), weights, rng)
    true = simulate(event_us, country, rng)
    is_fraud = label(true, rng)
    features = served_columns(true)
    train_path = out_dir / "training" / "train.parquet"
    _write_parquet(_table(features, {"is_fraud": pa.array(is_fraud)}), train_path)
    frame = pd.DataFrame(features)
    models = {}
    for k, version in enumerate(inc.VERSIONS):
        say(f"training model {version}")
        models[version] = train(frame, is_fraud, random_state=(seed * 1_000 + 130 + k) % 2**32)
        save_model(models[version], out_dir / "models" / model_filename(version))
    return models


def model_filename(version: str) -> str:
    """models/ file name of a version, e.g. v1.3.1 -> fraud_v1_3_1.skops."""
    return f"fraud_{version.replace('.', '_')}.skops"


def _write_logs(
    log_dir: Path, rows: int, seed: int, models: dict[str, Pipeline], say: Progress
) -> None:
    """One Parquet file per UTC day, each from its own random stream."""
    start = inc.utc_us(inc.LOG_START)
    hours = (inc.utc_us(inc.LOG_END) - start) // HOUR_US
    weights = country_weights(start, hours)
    counts = hourly_counts(rows, weights, _rng(seed, TRAFFIC_STREAM))
    load = counts / counts.mean()
    days = -(-hours // 24)
    for day in range(days):
        span = slice(day * 24, min(day * 24 + 24, hours))
        day_start = start + day * DAY_US
        name = str(np.datetime64(day_start, "us").astype("datetime64[D]"))
        say(f"writing logs {name} ({day + 1}/{days})")
        rng = _rng(seed, LOG_STREAM, day)
        event_us, country = sample_events(day_start, counts[span], weights[span], rng)
        hour_load = load[(event_us - start) // HOUR_US]
        _write_day(log_dir / f"{name}.parquet", event_us, country, hour_load, models, rng)


def _write_day(
    path: Path,
    event_us: np.ndarray,
    country: np.ndarray,
    load: np.ndarray,
    models: dict[str, Pipeline],
    rng: np.random.Generator,
) -> None:
    """Simulate, score and write one day a row group at a time, so memory stays bounded."""
    tag = "T" + path.stem.replace("-", "")
    writer: pq.ParquetWriter | None = None
    try:
        for lo in range(0, len(event_us), ROW_GROUP_SIZE):
            part = slice(lo, lo + ROW_GROUP_SIZE)
            ids = [f"{tag}-{i:07d}" for i in range(lo, lo + len(event_us[part]))]
            table = _log_table(ids, event_us[part], country[part], load[part], models, rng)
            writer = writer or pq.ParquetWriter(path, table.schema, **PARQUET_OPTIONS)
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
    finally:
        if writer is not None:
            writer.close()


def _log_table(
    ids: list[str],
    event_us: np.ndarray,
    country: np.ndarray,
    load: np.ndarray,
    models: dict[str, Pipeline],
    rng: np.random.Generator,
) -> pa.Table:
    """Prediction-log rows: served features, score, decision, service outcome and label."""
    true = simulate(event_us, country, rng)
    is_fraud = label(true, rng)
    corrupted = event_us >= inc.utc_us(inc.ONSET)
    features = served_columns(true, np.where(corrupted, inc.AVG_AMOUNT_MULTIPLIER, 1.0))
    new_model = event_us >= inc.utc_us(inc.ROLLOUT)
    scores = _score_by_version(pd.DataFrame(features), new_model, models)
    latency, status = _service(load, rng)
    unlabelled = (rng.random(len(event_us)) < LABEL_MISSING_SHARE) | (
        event_us >= inc.utc_us(inc.LABELS_UNTIL)
    )
    head = {
        "transaction_id": pa.array(ids, pa.string()),
        "event_time": pa.array(event_us, pa.timestamp("us", tz="UTC")),
    }
    tail = {
        "fraud_score": pa.array(scores, pa.float64()),
        "blocked": pa.array(scores >= 0.5),
        "model_version": pa.array(np.where(new_model, *reversed(inc.VERSIONS)), pa.string()),
        "latency_ms": pa.array(latency, pa.float64()),
        "status": pa.array(status, pa.string()),
        "is_fraud": pa.array(is_fraud, pa.bool_(), mask=unlabelled),
    }
    return _table(features, tail, head)


def _score_by_version(
    frame: pd.DataFrame, new_model: np.ndarray, models: dict[str, Pipeline]
) -> np.ndarray:
    """Score each row with the model version that was live when it arrived."""
    scores = np.empty(len(frame))
    for version, rows in zip(inc.VERSIONS, (~new_model, new_model), strict=True):
        if rows.any():
            scores[rows] = score(models[version], frame[rows])
    return scores


def _service(load: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Latency (right-skewed, a little slower at busy hours) and a rare random failure status.

    Failures are uniformly random: they never correlate with the incident.
    """
    n = len(load)
    latency = rng.lognormal(np.log(38.0), 0.28, n) * (0.9 + 0.1 * load)
    slow = rng.random(n) < 0.015
    latency = np.where(slow, latency * rng.uniform(1.5, 4.0, n), latency)
    u = rng.random(n)
    timeout = u < TIMEOUT_SHARE
    error = (u >= TIMEOUT_SHARE) & (u < TIMEOUT_SHARE + ERROR_SHARE)
    latency = np.where(timeout, TIMEOUT_MS + rng.exponential(3.0, n), latency)
    latency = np.where(error, rng.uniform(2.0, 15.0, n), latency)
    status = np.where(timeout, "timeout", np.where(error, "error", "ok"))
    return np.round(latency, 2), status


def _table(
    features: dict[str, np.ndarray],
    tail: dict[str, pa.Array],
    head: dict[str, pa.Array] | None = None,
) -> pa.Table:
    """Arrow table: head columns, the features (typed) in FEATURES order, then tail columns."""
    columns = dict(head or {})
    for name in FEATURES:
        values = features[name]
        if name in INT_FEATURES:
            columns[name] = pa.array(values, pa.int32())
        elif values.dtype.kind == "U":
            columns[name] = pa.array(values, pa.string())
        else:
            columns[name] = pa.array(values, pa.float64())
    columns.update(tail)
    return pa.table(columns)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write a whole table with the fixed Parquet settings."""
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)
