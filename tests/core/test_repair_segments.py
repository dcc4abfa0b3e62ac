"""The repair test for segments: leaving the suspect segment out of both windows removes the
change it caused, leaving out a bystander removes little."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from tests.core.conftest import LOG_START, generate, write_table
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.stages.repair import segment_shares
from workbench.stages.triage import run_triage

SHIFT_AT = LOG_START + timedelta(days=5, hours=14)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    """A regression log without a [model] whose apac rows go wrong from SHIFT_AT."""
    out = tmp_path_factory.mktemp("segments")
    base = generate(out, task="regression", rows=16_000, days=8, shift_at=None)
    prod = base.production.copy()
    broken = ((prod["ts"] >= SHIFT_AT) & (prod["region"] == "apac")).to_numpy()
    prod.loc[broken, "outcome"] += np.random.default_rng(4).normal(6.0, 1.0, broken.sum())
    for path in (out / "logs").glob("*.parquet"):
        path.unlink()
    write_table(out / "logs" / "part-0.parquet", prod)
    text = base.config.read_text().replace(
        'source = "training.parquet"', f'source = {json.dumps(str(out / "training.parquet"))}')
    base.config.write_text(text)
    return base.config


@pytest.fixture(scope="module")
def shares(config) -> dict[str, float]:
    with LogStore(load_incident(config)) as store:
        triage = run_triage(store)
        assert triage.onset is not None
        return segment_shares(store, triage)


def test_leaving_the_broken_segment_out_recovers_the_change(shares):
    assert shares["region=apac"] == pytest.approx(1.0, abs=0.15)


def test_leaving_a_bystander_out_recovers_little(shares):
    assert abs(shares["region=eu"]) < 0.35
    assert abs(shares["region=us"]) < 0.35


def test_without_a_model_the_segment_hypothesis_is_explained_by_its_repair(config):
    from workbench.diagnose import diagnose

    incident = load_incident(config)
    assert incident.model is None
    d = diagnose(incident, attribution=False)
    seg = next(h for h in d.hypotheses if h.segment == "region=apac")
    assert seg.explained is not None and seg.explained.method == "repair"
    assert seg.explained.share == pytest.approx(1.0, abs=0.15)
