"""`diagnose` on the bundled sample incident: onset, culprit, decoys and drift verdicts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from workbench.diagnose import diagnose
from workbench.results import LAYERS, SIGNATURES, Diagnosis
from workbench.timeutil import parse_time


@pytest.fixture(scope="module")
def result(sample_incident):
    return diagnose(sample_incident)


@pytest.fixture(scope="module")
def truth(sample_incident) -> dict:
    return json.loads((sample_incident.parent / "truth.json").read_text())


def test_onset_within_one_bucket_of_the_true_change(result, truth):
    assert result.onset is not None
    assert abs(result.onset - parse_time(truth["onset"])) <= timedelta(hours=1)
    assert result.bucket == "1h"


def test_metric_is_false_positive_rate_and_roughly_tripled(result):
    assert result.metric.name == "false_positive_rate"
    assert 2.0 <= result.metric.current / result.metric.baseline <= 5.0


def test_top_hypothesis_is_the_upstream_change_on_ratio(result, truth):
    top = result.top
    assert top.signature == truth["signature"]
    assert top.layer == truth["layer"]
    assert top.feature == truth["feature"]
    assert top.change_id == truth["change_id"]
    assert "ratio" in top.summary and truth["change_id"] in top.summary
    stats = {(e.statistic, e.window) for e in top.evidence}
    assert ("psi", "current vs baseline") in stats


def test_decoys_rank_below_the_culprit_with_low_scores(result, truth):
    top_score = result.top.score
    for h in result.hypotheses[1:]:
        assert h.score < top_score
        if h.change_id in truth["decoy_change_ids"] or h.model_version == truth["rollout"][
                "version"]:
            assert h.score < 0.1, h
    rollout = [h for h in result.hypotheses if h.signature == "model_rollout"]
    assert rollout and rollout[0].model_version == truth["rollout"]["version"]


def test_vocabulary_and_ranks_are_consistent(result):
    assert [h.rank for h in result.hypotheses] == list(range(1, len(result.hypotheses) + 1))
    scores = [h.score for h in result.hypotheses]
    assert scores == sorted(scores, reverse=True)
    for h in result.hypotheses:
        assert h.signature in SIGNATURES and h.layer in LAYERS
        assert 0.0 <= h.score <= 1.0


def test_ratio_drift_flagged_and_untouched_features_not(result, truth):
    drift = {d.feature: d for d in result.drift}
    assert drift["ratio"].psi_onset >= 0.1 and drift["ratio"].severity != "stable"
    assert drift["ratio"].ks > 0.1 and drift["ratio"].ks_pvalue < 1e-6
    assert drift["ratio"].shift_time is not None
    assert abs(drift["ratio"].shift_time - parse_time(truth["onset"])) <= timedelta(hours=1)
    for name in truth["unchanged_features"]:
        assert drift[name].psi < 0.1, name
        assert drift[name].severity == "stable", name
    categorical = [d for d in result.drift if d.kind == "categorical"]
    assert categorical and all(d.chi2 is not None and d.psi < 0.1 for d in categorical)


def test_ratio_histogram_shows_the_shift_to_high_bins(result):
    hist = result.histogram("ratio")
    half = len(hist.labels) // 2
    cur, ref = hist.current, hist.reference
    assert sum(cur[half:]) / sum(cur) > sum(ref[half:]) / sum(ref) + 0.15


def test_window_option_restricts_the_analysis(sample_incident, truth):
    onset = parse_time(truth["onset"])
    before = diagnose(sample_incident, end=onset - timedelta(hours=2))
    assert before.onset is None or before.onset < onset - timedelta(hours=2)
    assert before.window.end <= onset
    assert not [h for h in before.hypotheses if h.score >= 0.3]


def test_result_reads_back_from_its_json_equal(result):
    back = Diagnosis.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    assert back.current_window == result.current_window and back.current_window.name == "current"
    assert back.attribution == result.attribution and back.decomposition == result.decomposition
    assert back.baseline_outcomes == result.baseline_outcomes and back.baseline_outcomes["fp"] > 0


def test_the_diagnosis_carries_what_later_phases_need(result, truth):
    onset = parse_time(truth["onset"])
    assert result.bucket_seconds == 3600 and result.split is None
    assert result.onset_detected == result.current_window.start == result.baseline_window.end
    assert result.onset_low <= result.onset_detected <= result.onset_high
    assert result.metric_definition.name == result.metric.name == "false_positive_rate"
    b, c = result.baseline_outcomes, result.current_outcomes
    assert b["fp"] / (b["fp"] + b["tn"]) == result.metric.baseline
    assert b["n"] + c["n"] == result.rows and 0 < c["n_labeled"] <= c["n"]
    assert abs(result.onset_detected - onset) <= timedelta(hours=1)


def test_result_is_json_serialisable(result):
    text = json.dumps(result.to_dict())
    data = json.loads(text)
    assert data["onset"].endswith("Z")
    assert isinstance(datetime.fromisoformat(data["onset"].replace("Z", "+00:00")), datetime)


# Statistics judged against a cut-off: each must carry the threshold it was judged against.
JUDGED = ("psi", "change_proximity", "rollout_alignment", "max_feature_psi_onset",
          "labelled_share_current", "skew_share_rows")


def test_judged_evidence_carries_its_threshold(result):
    from workbench.stages.isolation import NEAR
    from workbench.stats.drift import PSI_MODERATE

    judged = [(h.signature, e) for h in result.hypotheses for e in h.evidence
              if e.statistic in JUDGED or e.statistic.startswith("share_buckets_")]
    assert judged
    assert [(sig, e.statistic) for sig, e in judged if e.threshold is None] == []
    by_stat = {e.statistic: e.threshold for _, e in judged}
    assert by_stat["psi"] == PSI_MODERATE and by_stat.get("change_proximity", NEAR) == NEAR
