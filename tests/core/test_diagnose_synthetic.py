"""End to end on synthetic incidents built from scratch, where the right answer is known."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from workbench.diagnose import diagnose
from workbench.results import LAYERS, SIGNATURES, Diagnosis
from workbench.stages import metrics

BUCKET = timedelta(hours=1)
DRIFTED = "basket_value"


@pytest.fixture(scope="module")
def incident(synthetic):
    return synthetic()


@pytest.fixture(scope="module")
def result(incident) -> Diagnosis:
    return diagnose(incident.config)


@pytest.fixture(scope="module")
def healthy(synthetic) -> Diagnosis:
    return diagnose(synthetic(shift_at=None).config)


@pytest.fixture(scope="module")
def unlabelled(synthetic):
    return synthetic(task="classification", labels=False)


def test_the_generator_injected_what_the_tests_assume(incident):
    # Guard against a silent generator change: the served feature is scaled after the shift,
    # the prediction follows the served value and the outcome does not.
    prod = incident.production
    after = prod["ts"] >= pd.Timestamp(incident.shift_at)
    assert 20_000 <= len(prod) <= 50_000
    assert 0.2 < after.mean() < 0.4
    ratio = prod.loc[after, DRIFTED].mean() / prod.loc[~after, DRIFTED].mean()
    assert ratio == pytest.approx(1.3, abs=0.05)
    err = (prod["score"] - prod["outcome"]).abs()
    assert err[after].mean() > 4 * err[~after].mean()


def test_onset_is_found_within_one_bucket(result, incident):
    assert result.onset is not None
    assert abs(result.onset - incident.shift_at) <= BUCKET
    assert result.bucket == "1h"
    assert result.metric.name == "mae"
    assert result.metric.current > 4 * result.metric.baseline
    assert result.rows == len(incident.production)
    assert result.window.start == incident.production["ts"].min().to_pydatetime()


def test_top_hypothesis_is_the_upstream_change_of_the_shifted_feature(result, incident):
    top = result.top
    assert top is not None
    assert top.rank == 1
    assert top.signature == "upstream_data_change"
    assert top.layer == "input_data"
    assert top.feature == DRIFTED
    assert top.change_id == incident.culprit
    assert top.score > 0.5
    assert DRIFTED in top.summary and incident.culprit in top.summary
    statistics = {e.statistic for e in top.evidence}
    assert {"psi", "change_proximity", "score_dependence_eta"} <= statistics


def test_decoy_change_ranks_below_the_culprit(result, incident):
    ranked = [h for h in result.hypotheses if h.change_id == incident.decoy]
    assert ranked, "the decoy change is weighed and listed"
    decoy = ranked[0]
    assert decoy.rank > result.top.rank
    assert decoy.score < 0.1 * result.top.score
    assert decoy.signature == "serving_infrastructure"
    # a change after the onset cannot explain it
    assert all(h.change_id != incident.late for h in result.hypotheses)
    change_rows = {c.id: c for c in result.changes}
    assert change_rows[incident.late].proximity == 0.0
    assert change_rows[incident.culprit].proximity > change_rows[incident.decoy].proximity


def test_hypotheses_are_ranked_and_use_the_vocabulary(result):
    assert [h.rank for h in result.hypotheses] == list(range(1, len(result.hypotheses) + 1))
    scores = [h.score for h in result.hypotheses]
    assert scores == sorted(scores, reverse=True)
    for h in result.hypotheses:
        assert h.signature in SIGNATURES
        assert h.layer in LAYERS
    # no other feature is blamed for a shift
    assert {h.feature for h in result.hypotheses if h.feature} == {DRIFTED}


def test_drift_singles_out_the_shifted_feature(result):
    by_name = {d.feature: d for d in result.drift}
    assert set(by_name) == {DRIFTED, "tenure", "noise", "region"}
    assert by_name[DRIFTED].psi_onset > 0.25
    assert by_name[DRIFTED].severity == "major"
    assert by_name[DRIFTED].mean_current == pytest.approx(1.3 * by_name[DRIFTED].mean_baseline,
                                                          rel=0.03)
    assert abs(by_name[DRIFTED].shift_time - result.onset) <= BUCKET
    for name in ("tenure", "noise", "region"):
        assert by_name[name].psi_onset < 0.05, name


def test_healthy_control_has_no_onset_and_no_hypotheses(healthy):
    assert healthy.onset is None
    assert healthy.hypotheses == ()
    assert healthy.top is None
    assert healthy.metric.name == "mae"
    assert healthy.metric.current == pytest.approx(healthy.metric.baseline, rel=0.1)
    assert healthy.trend == "stable"


def test_unlabelled_log_diagnoses_with_label_free_metrics(unlabelled):
    result = diagnose(unlabelled.config)
    assert result.metric.name in ("positive_rate", "score_mean")
    assert not metrics.METRICS[result.metric.name].needs_labels
    assert {s.name for s in result.series} == {"positive_rate", "score_mean"}
    assert result.onset is not None
    assert abs(result.onset - unlabelled.shift_at) <= BUCKET
    assert result.metric.current > result.metric.baseline
    assert result.top.feature == DRIFTED
    assert result.top.change_id == unlabelled.culprit
    assert all(h.signature != "concept_drift" for h in result.hypotheses)  # needs labels


def test_unlabelled_healthy_control(synthetic):
    result = diagnose(synthetic(task="classification", labels=False, shift_at=None).config)
    assert result.onset is None
    assert result.hypotheses == ()


def test_series_weights_are_the_metric_denominators(result, incident):
    mae = next(s for s in result.series if s.name == "mae")
    hourly = incident.production.groupby(incident.production["ts"].dt.floor("h"))
    assert list(mae.weights) == [float(n) for n in hourly.size()]
    expected = hourly.apply(lambda g: (g["score"] - g["outcome"]).abs().mean()).to_numpy()
    np.testing.assert_allclose(mae.values, expected, rtol=1e-9)
