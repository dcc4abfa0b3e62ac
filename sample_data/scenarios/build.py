"""Generate one scenario folder: training data and model(s), the prediction log, the context.

Randomness comes from separate seeded streams (training data, log traffic, log content,
serving), so every file is reproducible from the scenario's seed.
"""

from __future__ import annotations

import shutil
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from . import modeling, writer
from .domains.base import Domain
from .spec import Scenario
from .traffic import DAY_US, HOUR_US, event_times
from .util import stream, utc_us

TRAIN_STREAM, TRAFFIC_STREAM, LOG_STREAM, SERVICE_STREAM = 0, 1, 2, 3
# What a scenario folder holds; removed first so a regenerated folder has nothing stale.
OUTPUTS = ("logs", "models", "training", "changes.csv", "pipeline.py", "truth.json",
           "incident.toml")


def generate(scenario: Scenario, out_dir: Path) -> Path:
    """Write the scenario into out_dir and return the path of its incident.toml."""
    out_dir = Path(out_dir)
    _clear(out_dir)
    domain = scenario.domain
    with threadpool_limits(limits=1):  # fast and reproducible on a shared machine
        reference, labels = _training_data(scenario)
        models = {r.version: modeling.train(domain, reference, labels, scenario.seed, r.options)
                  for r in scenario.releases}
        t_us, table = _log(scenario, models)
    writer.write_parquet(_reference_table(domain, reference, labels),
                         out_dir / "training" / "train.parquet")
    writer.write_log(table, t_us, out_dir / "logs", by_month=scenario.days > 31)
    if scenario.with_model:
        for version, model in models.items():
            modeling.save(model, out_dir / "models" / model_filename(domain, version))
    if scenario.changes:
        writer.write_changes(scenario.changes, out_dir / "changes.csv")
    if scenario.pipeline:
        writer.copy_pipeline(scenario.pipeline, out_dir / "pipeline.py")
    writer.write_json(scenario.truth(), out_dir / "truth.json")
    config = out_dir / "incident.toml"
    config.write_text(writer.toml_text(incident_config(scenario)), encoding="utf-8")
    return config


def _clear(out_dir: Path) -> None:
    """Create out_dir, removing what an earlier generation wrote there (and nothing else)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def model_filename(domain: Domain, version: str) -> str:
    """models/ file of a release, e.g. lending v3.2.0 -> lending_v3_2_0.skops."""
    return f"{domain.name}_{version.replace('.', '_')}.skops"


def _training_data(scenario: Scenario) -> tuple[pd.DataFrame, np.ndarray]:
    """Reference rows from the weeks before the log: features (training way) and labels."""
    domain = scenario.domain
    rng = stream(scenario.seed, TRAIN_STREAM)
    end = utc_us(scenario.start)
    start = end - int(scenario.train_days * DAY_US)
    t_us = event_times(rng, start, end, scenario.train_rows, scenario.traffic or domain.traffic)
    raw = domain.simulate(rng, t_us)
    labels = domain.draw(rng, domain.signal(raw), raw)
    return domain.model_features(raw), labels


def _reference_table(domain: Domain, features: pd.DataFrame, labels: np.ndarray) -> pa.Table:
    columns = _typed(domain, features)
    columns[domain.columns.label] = _label_array(domain, labels, None)
    return pa.table(columns)


def _log(scenario: Scenario, models: dict[str, Pipeline]) -> tuple[np.ndarray, pa.Table]:
    """Simulate the log period, apply the faults, score, serve; return times and the table."""
    domain = scenario.domain
    traffic = scenario.traffic or domain.traffic
    start = utc_us(scenario.start)
    end = start + int(scenario.days * DAY_US)
    t_us = event_times(stream(scenario.seed, TRAFFIC_STREAM), start, end, scenario.rows, traffic,
                       scenario.bursts)
    rng = stream(scenario.seed, LOG_STREAM)
    raw = domain.simulate(rng, t_us)
    for fault in scenario.faults:
        fault.world(raw, t_us, rng)
    signal = domain.signal(raw)
    for fault in scenario.faults:
        signal = fault.outcome(raw, signal, t_us)
    labels = domain.draw(rng, signal, raw)
    served = domain.model_features(raw)
    for fault in scenario.faults:
        fault.served(served, raw, t_us)
    version = _versions(scenario, t_us)
    prediction = np.empty(len(t_us))
    for name, model in models.items():
        rows = version == name
        if rows.any():
            prediction[rows] = modeling.predict(domain, model, served[rows])
    service_rng = stream(scenario.seed, SERVICE_STREAM)
    log = _service(domain, t_us, start, prediction, service_rng)
    for fault in scenario.faults:
        fault.serving(log, t_us, service_rng)
    missing = rng.random(len(t_us)) < scenario.label_missing
    if scenario.labels_until is not None:
        missing |= t_us >= utc_us(scenario.labels_until)
    return t_us, _log_table(domain, t_us, raw, served, version, log, labels, missing,
                            scenario.log_labels)


def _versions(scenario: Scenario, t_us: np.ndarray) -> np.ndarray:
    """The model version live at each request."""
    version = np.full(len(t_us), scenario.releases[0].version, dtype=object)
    for release in scenario.releases[1:]:
        assert release.at is not None, "only the first release may predate the log"
        version[t_us >= utc_us(release.at)] = release.version
    return version


def _service(domain: Domain, t_us: np.ndarray, start: int, prediction: np.ndarray,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Healthy serving: latency rising a little with load; rare errors and timeouts (no score)."""
    service = domain.service
    hours = (t_us - start) // HOUR_US
    per_hour = np.bincount(hours)
    load = per_hour[hours] / max(per_hour[per_hour > 0].mean(), 1.0)
    latency = rng.lognormal(np.log(service.latency_ms), service.latency_sigma, len(t_us))
    latency *= 0.9 + 0.1 * load
    u = rng.random(len(t_us))
    kind = np.where(u < service.error_share / 2, "error",
                    np.where(u < service.error_share, "timeout", "ok")).astype(object)
    latency = np.where(kind == "timeout", service.timeout_ms + rng.exponential(5.0, len(t_us)),
                       latency)
    latency = np.where(kind == "error", rng.uniform(2.0, 12.0, len(t_us)), latency)
    prediction = np.where(kind == "ok", prediction, np.nan)
    return {"prediction": prediction, "latency": latency, "kind": kind}


def _typed(domain: Domain, frame: pd.DataFrame) -> dict[str, pa.Array]:
    """Arrow columns of the features (and raw columns) with stable types."""
    out = {}
    for name in frame.columns:
        values = frame[name]
        if name in domain.categorical or values.dtype == object:
            out[name] = pa.array(values.to_numpy(dtype=object), pa.string())
        elif name in domain.int_features and not values.isna().any():
            out[name] = pa.array(values.to_numpy().astype(np.int32), pa.int32())
        else:
            out[name] = pa.array(values.to_numpy(dtype=float), pa.float64(),
                                 from_pandas=True)
    return out


def _label_array(domain: Domain, labels: np.ndarray, missing: np.ndarray | None) -> pa.Array:
    if domain.label_dtype == "bool":
        return pa.array(labels.astype(bool), pa.bool_(), mask=missing)
    if domain.label_dtype == "int8":
        return pa.array(labels.astype(np.int8), pa.int8(), mask=missing)
    return pa.array(labels.astype(float), pa.float64(), mask=missing)


def _log_table(domain: Domain, t_us: np.ndarray, raw: pd.DataFrame, served: pd.DataFrame,
               version: np.ndarray, log: dict[str, Any], labels: np.ndarray,
               missing: np.ndarray, log_labels: bool) -> pa.Table:
    """Prediction-log columns: id, time, served features, raw columns, outputs, label."""
    cols = domain.columns
    prefix = domain.name[:3].upper()
    columns: dict[str, pa.Array] = {
        cols.id: pa.array([f"{prefix}-{i:07d}" for i in range(len(t_us))], pa.string()),
        cols.timestamp: pa.array(t_us, pa.timestamp("us", tz="UTC")),
    }
    columns.update(_typed(domain, served))
    columns.update(_typed(domain, raw[list(domain.raw_columns)]))
    prediction = log["prediction"]
    decimals = 5 if domain.task == "classification" else 2
    columns[cols.prediction] = pa.array(np.round(prediction, decimals), pa.float64(),
                                        from_pandas=True)
    if cols.decision is not None and domain.threshold is not None:
        columns[cols.decision] = pa.array(np.nan_to_num(prediction, nan=-1.0) >= domain.threshold)
    columns[cols.version] = pa.array(version.astype(str), pa.string())
    columns[cols.latency] = pa.array(np.round(log["latency"], 2), pa.float64())
    status = domain.service.status(np.asarray(log["kind"]))
    columns[cols.status] = (pa.array(status, pa.int32()) if status.dtype.kind == "i"
                            else pa.array(status, pa.string()))
    if log_labels:
        columns[cols.label] = _label_array(domain, labels, missing)
    return pa.table(columns)


def incident_config(scenario: Scenario) -> dict[str, Any]:
    """The incident.toml content in the documented format."""
    domain, cols = scenario.domain, scenario.domain.columns
    roles = set(scenario.roles)
    production: dict[str, Any] = {"source": "logs/*.parquet", "timestamp": cols.timestamp,
                                  "prediction": cols.prediction}
    optional = {"decision": cols.decision, "label": cols.label, "model_version": cols.version,
                "id": cols.id, "latency": cols.latency, "status": cols.status}
    if not scenario.log_labels:
        roles.discard("label")
    for role, column in optional.items():
        if role in roles and column is not None:
            production[role] = column
    if "segments" in roles:
        production["segments"] = list(domain.segments)
    if scenario.list_features:
        production["features"] = list(domain.features)
    config: dict[str, Any] = {"title": scenario.title or f"{domain.name} model incident"}
    if scenario.bucket_in_config:
        config["bucket"] = scenario.bucket
    config["production"] = production
    config["reference"] = {"source": "training/train.parquet", "label": cols.label}
    if scenario.with_model:
        live = scenario.releases[-1].version
        model: dict[str, Any] = {"path": f"models/{model_filename(domain, live)}",
                                 "task": domain.task}
        if domain.threshold is not None:
            model["threshold"] = domain.threshold
        config["model"] = model
    if scenario.changes:
        config["changes"] = {"source": "changes.csv"}
    if scenario.pipeline:
        module = import_module(f"{__package__}.pipelines.{scenario.pipeline}")
        config["pipeline"] = {"callable": "pipeline.py:compute_features",
                              "columns": list(module.COLUMNS)}
    return config
