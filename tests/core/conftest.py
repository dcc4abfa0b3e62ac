"""Fixtures of the core tests: TOML and data-file writers, and a seeded synthetic incident.

The synthetic incident is a prediction log whose answer is known by construction: one numeric
feature (`basket_value`) is served scaled by a constant from a given hour on, the prediction is a
fixed formula of the served features while the label (or the true outcome) uses the true value,
so the error metric steps up exactly at that hour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML text of a mapping of scalars/lists with one level of tables."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, Mapping)]
    for name, table in data.items():
        if isinstance(table, Mapping):
            lines.append(f"\n[{_toml_key(name)}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_table(path: Path, data: pd.DataFrame | pa.Table, table: str | None = None) -> None:
    """Write data as Parquet, CSV or a table of a DuckDB file, chosen by the path's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".duckdb", ".db"):
        assert table is not None, "a DuckDB file needs a table name"
        with duckdb.connect(str(path)) as con:
            con.register("frame", data)
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM frame')
            con.unregister("frame")
    elif path.suffix == ".csv":
        frame = data.to_pandas() if isinstance(data, pa.Table) else data
        frame.to_csv(path, index=False)
    else:
        arrow = data if isinstance(data, pa.Table) else pa.Table.from_pandas(
            data, preserve_index=False)
        pq.write_table(arrow, path)


@pytest.fixture
def write_toml(tmp_path: Path) -> Callable[..., Path]:
    """`write_toml(data, name="incident.toml", directory=tmp_path)` writes a config file."""

    def write(data: Mapping[str, Any], name: str = "incident.toml",
              directory: Path | None = None) -> Path:
        path = (directory or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(toml_dumps(data), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_incident(tmp_path: Path) -> Callable[..., Path]:
    """Write a production log, a reference and optionally a change log plus their config.

    `write_incident(production, reference, changes=None, production_cfg={...},
    reference_cfg={...}, top={...}, model={...}, prod_file=..., ref_file=...)` returns the
    config path. `prod_file`/`ref_file` choose the format ('x.parquet', 'x.csv' or
    'x.duckdb:table'); the production config defaults to timestamp 'ts', prediction 'score'.
    """

    def write(production: pd.DataFrame | pa.Table | None,
              reference: pd.DataFrame | pa.Table | None, *,
              changes: pd.DataFrame | None = None,
              production_cfg: Mapping[str, Any] | None = None,
              reference_cfg: Mapping[str, Any] | None = None,
              top: Mapping[str, Any] | None = None,
              model: Mapping[str, Any] | None = None,
              prod_file: str = "production.parquet", ref_file: str = "reference.parquet",
              directory: Path | None = None) -> Path:
        base = directory or tmp_path
        for data, source in ((production, prod_file), (reference, ref_file)):
            if data is not None:
                file, _, table = source.partition(":")
                write_table(base / file, data, table or None)
        config: dict[str, Any] = dict(top or {})
        config["production"] = {"source": prod_file, "timestamp": "ts", "prediction": "score",
                                **(production_cfg or {})}
        config["reference"] = {"source": ref_file, **(reference_cfg or {})}
        if model is not None:
            config["model"] = dict(model)
        if changes is not None:
            write_table(base / "changes.csv", changes)
            config["changes"] = {"source": "changes.csv"}
        path = base / "incident.toml"
        path.write_text(toml_dumps(config), encoding="utf-8")
        return path

    return write


# ---- the synthetic incident ---------------------------------------------------------------------

LOG_START = datetime(2026, 3, 2)  # a Monday, naive UTC
SHIFT_FACTOR = 1.3
DRIFTED = "basket_value"


@dataclass(frozen=True)
class Synthetic:
    """A generated incident on disk and what is true about it."""

    config: Path
    production: pd.DataFrame
    reference: pd.DataFrame
    shift_at: datetime | None
    culprit: str | None
    decoy: str | None
    late: str | None


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _features(rng: np.random.Generator, n: int, hour_of_day: np.ndarray) -> pd.DataFrame:
    season = np.sin(2 * np.pi * (hour_of_day - 9) / 24)
    return pd.DataFrame({
        DRIFTED: rng.normal(10.0 + 0.5 * season, 2.0, n),
        "tenure": rng.normal(0.0, 1.0, n),
        "noise": rng.normal(5.0, 1.0, n),
        "region": rng.choice(np.array(["eu", "us", "apac"]), n, p=[0.5, 0.3, 0.2]),
    })


def _score(task: str, basket: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    if task == "regression":
        return 2.0 * basket + 3.0 * tenure
    return _sigmoid(0.9 * (basket - 10.0) + 1.0 * tenure - 1.5)


def _outcome(task: str, rng: np.random.Generator, basket: np.ndarray,
             tenure: np.ndarray) -> np.ndarray:
    true = _score(task, basket, tenure)
    if task == "regression":
        return true + rng.normal(0.0, 1.0, len(true))
    return (rng.random(len(true)) < true).astype(np.int8)


def generate(out: Path, *, seed: int = 11, days: int = 10, rows: int = 30_000,
             shift_at: datetime | None = LOG_START + timedelta(days=7, hours=14),
             task: str = "regression", labels: bool = True) -> Synthetic:
    """Write a synthetic incident (production log, reference, change log, config) into out."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    hod = np.arange(hours) % 24
    volume = 1.0 + 0.6 * np.sin(2 * np.pi * (hod - 8) / 24)
    per_hour = rng.multinomial(rows, volume / volume.sum())
    hour_index = np.repeat(np.arange(hours), per_hour)
    seconds = np.sort(hour_index * 3600 + rng.integers(0, 3600, rows))
    ts = pd.Timestamp(LOG_START) + pd.to_timedelta(seconds, unit="s")
    feats = _features(rng, rows, (seconds // 3600) % 24)
    truth = _outcome(task, rng, feats[DRIFTED].to_numpy(), feats["tenure"].to_numpy())
    served = feats[DRIFTED].to_numpy().copy()
    if shift_at is not None:
        served[ts >= pd.Timestamp(shift_at)] *= SHIFT_FACTOR
    prod = pd.DataFrame({"ts": ts.astype("datetime64[us]"), "request_id": np.arange(rows)})
    prod = pd.concat([prod, feats.assign(**{DRIFTED: served})], axis=1)
    prod["score"] = _score(task, served, feats["tenure"].to_numpy())
    if labels:
        prod["outcome"] = truth
    prod["model_version"] = "v1"
    prod["latency_ms"] = rng.gamma(4.0, 10.0, rows)

    ref_n = 20_000
    ref = _features(rng, ref_n, rng.integers(0, 24, ref_n))
    if labels:
        ref["outcome"] = _outcome(task, rng, ref[DRIFTED].to_numpy(), ref["tenure"].to_numpy())

    changes = None
    culprit = decoy = late = None
    if shift_at is not None:
        culprit, decoy, late = "CHG-7", "CHG-5", "CHG-9"
        changes = pd.DataFrame({
            "time": [shift_at - timedelta(days=2), shift_at - timedelta(minutes=10),
                     shift_at + timedelta(days=1)],
            "id": [decoy, culprit, late],
            "kind": ["infra", "data", "config"],
            "description": ["Load balancer pool resized", "Basket warehouse table redefined",
                            "Feature flag cleanup"],
        })
    production_cfg: dict[str, Any] = {
        "id": "request_id", "model_version": "model_version", "latency": "latency_ms",
        "segments": ["region"],
    }
    reference_cfg: dict[str, Any] = {}
    if labels:
        production_cfg["label"] = "outcome"
        reference_cfg["label"] = "outcome"
    config_top = {"title": f"synthetic {task}", "bucket": "1h"}
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "logs" / "part-0.parquet", prod.iloc[: rows // 2])
    write_table(out / "logs" / "part-1.parquet", prod.iloc[rows // 2:])
    write_table(out / "training.parquet", ref)
    config: dict[str, Any] = dict(config_top)
    config["production"] = {"source": "logs/*.parquet", "timestamp": "ts", "prediction": "score",
                            **production_cfg}
    config["reference"] = {"source": "training.parquet", **reference_cfg}
    if changes is not None:
        write_table(out / "changes.csv", changes)
        config["changes"] = {"source": "changes.csv"}
    path = out / "incident.toml"
    path.write_text(toml_dumps(config), encoding="utf-8")
    return Synthetic(path, prod, ref, shift_at, culprit, decoy, late)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Synthetic]:
    """Factory of synthetic incidents, cached per set of arguments for the whole session."""
    cache: dict[tuple, Synthetic] = {}

    def make(**kwargs: Any) -> Synthetic:
        key = tuple(sorted(kwargs.items()))
        if key not in cache:
            cache[key] = generate(tmp_path_factory.mktemp("synthetic"), **kwargs)
        return cache[key]

    return make
