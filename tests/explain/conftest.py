"""Fixtures of the explain tests: the real fraud sample (generated once), its store and model.

The sample is small (60,000 log rows) to keep the suite fast; everything else is real: the skops
model, DuckDB queries, SHAP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sample_data.fraud import generate
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.explain import ModelAdapter, adapter_for
from workbench.stages.triage import Triage, run_triage

SAMPLE_ROWS = 60_000


@dataclass(frozen=True)
class FraudSample:
    """The generated sample on disk and what is true about it."""

    config: Path
    root: Path
    truth: dict


@pytest.fixture(scope="session")
def fraud_sample(tmp_path_factory: pytest.TempPathFactory) -> FraudSample:
    """The seeded fraud incident, written once per test session."""
    root = tmp_path_factory.mktemp("fraud_sample")
    config = generate(root, rows=SAMPLE_ROWS, seed=7)
    return FraudSample(config, root, json.loads((root / "truth.json").read_text()))


@pytest.fixture(scope="session")
def fraud_store(fraud_sample: FraudSample) -> Iterator[LogStore]:
    """An open LogStore over the sample."""
    with LogStore(load_incident(fraud_sample.config)) as store:
        yield store


@pytest.fixture(scope="session")
def fraud_triage(fraud_store: LogStore) -> Triage:
    """Triage of the sample: the baseline and incident (current) windows."""
    return run_triage(fraud_store)


@pytest.fixture(scope="session")
def fraud_adapter(fraud_store: LogStore) -> ModelAdapter:
    """The incident's skops model behind its adapter."""
    return adapter_for(fraud_store)
