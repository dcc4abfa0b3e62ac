"""The scenario generator: coverage of the set, file formats, injected faults, determinism."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sample_data.scenarios import LAYER_OF, SCENARIOS, by_name, generate_all, load_truth
from workbench.config import CHANGE_KINDS, load_incident
from workbench.plugins import load_callable
from workbench.results import LAYERS, SIGNATURES

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TRUTH_KEYS = {"signature", "layer", "feature", "segment", "change_id", "model_version", "onset"}


def _log(config: Path) -> pd.DataFrame:
    files = sorted((config.parent / "logs").glob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _worst_relative_change(config: Path, split: pd.Timestamp) -> float:
    """Largest relative worsening after `split` of MAE (regression) or FPR/FNR/error rate;
    without labels, the relative change of the positive-decision rate."""
    incident = load_incident(config)
    prod = incident.production
    df = _log(config)
    after = df[prod.timestamp] >= split
    if prod.label is None:
        rate = df[prod.decision].astype(bool)
        return float(abs(rate[after].mean() / rate[~after].mean() - 1))
    label = df[prod.label]
    known = label.notna()
    if load_truth(config)["task"] == "regression":
        err = (df[prod.prediction] - label).abs()
        return float(err[after & known].mean() / err[~after & known].mean() - 1)
    decided = df[prod.decision].astype(bool)
    y = label.astype("boolean")

    def rates(rows: pd.Series) -> np.ndarray:
        d, t = decided[rows & known], y[rows & known].astype(bool)
        return np.array([(d & ~t).sum() / (~t).sum(), (~d & t).sum() / t.sum(), (d != t).mean()])

    return float(np.max(rates(after) / rates(~after) - 1))


def test_every_signature_has_two_variants_differing_in_domain_task_and_bucket():
    by_signature = defaultdict(list)
    for s in SCENARIOS:
        by_signature[s.signature].append(s)
    assert set(by_signature) - {None} == set(SIGNATURES)
    assert len(by_signature[None]) >= 2
    for signature in SIGNATURES:
        variants = by_signature[signature]
        assert len(variants) >= 2, signature
        assert len({v.domain.name for v in variants}) >= 2, signature
        assert {v.domain.task for v in variants} == {"classification", "regression"}, signature
        assert len({v.bucket for v in variants}) >= 2, signature
    buckets = Counter(s.bucket for s in SCENARIOS)
    assert {"15min", "1h", "1d"} <= set(buckets)
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert len({s.seed for s in SCENARIOS}) == len(SCENARIOS)


def test_truth_files_use_the_signature_and_layer_vocabulary(scenario_configs):
    for name, config in scenario_configs.items():
        truth = load_truth(config)
        assert TRUTH_KEYS <= set(truth), name
        assert truth["scenario"] == name
        if truth["signature"] is None:
            assert truth["layer"] is None and truth["onset"] is None, name
            continue
        assert truth["signature"] in SIGNATURES and truth["layer"] in LAYERS, name
        assert truth["layer"] == LAYER_OF[truth["signature"]], name
        assert ISO_Z.match(truth["onset"]), name
        if truth["signature"] in ("upstream_data_change", "distribution_shift",
                                  "training_serving_skew", "silent_pipeline_failure"):
            reference = pq.read_schema(config.parent / "training" / "train.parquet").names
            assert truth["feature"] in reference, name
            assert truth["feature"] in _log(config).columns, name
        if truth["signature"] == "segment_regression":
            column, _, value = truth["segment"].partition("=")
            assert column in load_incident(config).production.segments, name
            assert value in set(_log(config)[column]), name
        if truth["signature"] == "model_rollout":
            log = _log(config)
            prod = load_incident(config).production
            first = log.loc[log[prod.model_version] == truth["model_version"], prod.timestamp]
            assert first.min() >= pd.Timestamp(truth["onset"]), name
            assert first.min() - pd.Timestamp(truth["onset"]) < pd.Timedelta(minutes=15), name


def test_configs_load_and_logs_carry_utc_microsecond_timestamps(scenario_configs):
    for name, config in scenario_configs.items():
        incident = load_incident(config)
        files = sorted((config.parent / "logs").glob("*.parquet"))
        assert len(files) >= 4, name
        schema = pq.read_schema(files[0])
        assert schema.field(incident.production.timestamp).type == pa.timestamp("us", tz="UTC")
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        assert 20_000 <= rows <= 80_000, name
        assert rows == load_truth(config)["rows"], name
        reference = pq.read_schema(config.parent / "training" / "train.parquet")
        assert incident.reference.label in reference.names, name
        if incident.model is not None:
            assert incident.model.path.is_file(), name


def test_change_logs_hold_the_culprit_and_decoys_of_other_kinds(scenario_configs):
    for name, config in scenario_configs.items():
        truth = load_truth(config)
        path = config.parent / "changes.csv"
        if not path.exists():
            assert truth["change_id"] is None, name
            continue
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == ["time", "id", "kind", "description"], name
        assert all(r["kind"] in CHANGE_KINDS and ISO_Z.match(r["time"]) for r in rows), name
        ids = {r["id"]: r for r in rows}
        decoys = [r for r in rows if r["id"] != truth["change_id"]]
        assert len(decoys) >= 2, name
        if truth["change_id"] is not None:
            culprit = ids[truth["change_id"]]
            assert culprit["time"] <= truth["onset"], name
            assert any(d["kind"] != culprit["kind"] for d in decoys), name


def test_incidents_worsen_the_metric_and_healthy_controls_do_not(scenario_configs):
    for name, config in scenario_configs.items():
        truth = load_truth(config)
        if truth["onset"] is not None:
            change = _worst_relative_change(config, pd.Timestamp(truth["onset"]))
            assert change >= 0.15, (name, change)
        else:
            times = _log(config)[load_incident(config).production.timestamp]
            change = _worst_relative_change(config, times.quantile(0.75))
            assert change <= 0.1, (name, change)


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS if s.pipeline])
def test_pipeline_callable_recomputes_the_training_features(name, scenario_configs):
    config = scenario_configs[name]
    incident = load_incident(config)
    truth = load_truth(config)
    compute = load_callable(incident.pipeline.callable, config.parent)
    log = _log(config)
    recomputed = compute(log[list(incident.pipeline.columns)].copy())
    after = log[incident.production.timestamp] >= pd.Timestamp(truth["onset"])
    for feature in recomputed.columns:
        same = np.isclose(recomputed[feature], log[feature], rtol=1e-6, atol=1e-6)
        if feature == truth["feature"]:
            assert same[~after].all()
            assert (~same[after]).mean() > 0.9
        else:
            assert same.all(), feature
    reference = pd.read_parquet(config.parent / "training" / "train.parquet")
    assert set(recomputed.columns) <= set(reference.columns)


def test_generator_is_deterministic(tmp_path, scenario_configs):
    names = ["skew_retail_window", "healthy_lending_quarter_hour"]
    again = generate_all(tmp_path, names)
    suffixes = set()
    for name in names:
        first, second = scenario_configs[name].parent, again[name].parent
        files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
        suffixes |= {f.suffix for f in files}
        for rel in files:
            assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    assert {".parquet", ".skops", ".py", ".csv", ".json", ".toml"} <= suffixes


def test_other_seeds_of_a_scenario_differ_but_keep_the_truth(tmp_path):
    from dataclasses import replace

    from sample_data.scenarios import generate

    base = by_name("upstream_delivery_straight_line")
    one = generate(replace(base, seed=base.seed + 1000, with_model=False), tmp_path / "a")
    truth = json.loads((one.parent / "truth.json").read_text())
    assert truth["onset"] == base.onset and truth["feature"] == base.feature
    original = generate(replace(base, with_model=False), tmp_path / "b")
    assert _log(one)["eta_minutes"].sum() != _log(original)["eta_minutes"].sum()
