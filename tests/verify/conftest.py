"""Fixtures of the verify tests: the 300k-row fraud sample, its store, diagnosis, triage and
both fixes.

Everything is real: DuckDB over the generated Parquet log, the skops models, the declared
correction in `sample_data.fraud_fixes`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.results import Diagnosis
from workbench.stages.triage import Triage, run_triage
from workbench.verify import Replayer, Verification


@dataclass(frozen=True)
class Sample:
    """The generated sample incident and its ground truth."""

    config: Path
    incident: Incident
    truth: dict


@pytest.fixture(scope="session")
def sample(sample_incident: Path) -> Sample:
    """The default sample (generated once per session by tests/conftest.py)."""
    truth = json.loads((sample_incident.parent / "truth.json").read_text())
    return Sample(sample_incident, load_incident(sample_incident), truth)


@pytest.fixture(scope="session")
def store(sample: Sample) -> Iterator[LogStore]:
    """An open LogStore over the sample."""
    with LogStore(sample.incident) as opened:
        yield opened


@pytest.fixture(scope="session")
def diagnosis(store: LogStore) -> Diagnosis:
    """The diagnosis of the sample: the windows, metric and baseline counts replays take."""
    return diagnose(store.incident, store=store, attribution=False)


@pytest.fixture(scope="session")
def triage(store: LogStore) -> Triage:
    """The triage of the sample, run directly: what the replays' figures are checked against."""
    return run_triage(store)


@pytest.fixture(scope="session")
def replayer(store: LogStore, diagnosis: Diagnosis) -> Replayer:
    """A replayer over the sample's windows."""
    return Replayer(store, diagnosis)


@pytest.fixture(scope="session")
def ratio_fix(replayer: Replayer) -> Verification:
    """The declared ratio correction replayed over the incident window."""
    return replayer.run("recompute-ratio")


@pytest.fixture(scope="session")
def rollback_fix(replayer: Replayer) -> Verification:
    """The declared (decoy) rollback to v1.3.0 replayed over the incident window."""
    return replayer.run("rollback-v1.3.0")
