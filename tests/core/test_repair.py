"""The repair test on the sample incident: mapping the culprit back onto the baseline removes
the change; mapping a feature that did not cause it back does little."""

from __future__ import annotations

import pytest

from workbench.config import load_incident
from workbench.data import LogStore
from workbench.stages.features import analyse_features
from workbench.stages.repair import repair_shares
from workbench.stages.triage import run_triage


@pytest.fixture(scope="module")
def shares(sample_incident) -> dict[str, float]:
    with LogStore(load_incident(sample_incident)) as store:
        triage = run_triage(store)
        report = analyse_features(store, triage.baseline, triage.current,
                                  triage.bucket_seconds)
        return repair_shares(store, triage, report.drift)


def test_repairing_the_culprit_recovers_the_change(shares):
    assert shares["ratio"] == pytest.approx(1.0, abs=0.25)


def test_repairing_a_bystander_recovers_little(shares):
    others = [v for k, v in shares.items() if k != "ratio" and "=" not in k]  # features
    assert others and max(abs(v) for v in others) < 0.35


def test_the_top_hypothesis_carries_the_repair_share(sample_incident):
    from workbench.diagnose import diagnose

    top = diagnose(sample_incident).top
    assert top.feature == "ratio" and top.explained.method == "repair"
    assert any(e.statistic == "repair_recovered_share" for e in top.evidence)
    assert any(e.statistic == "explained_share" for e in top.evidence)
