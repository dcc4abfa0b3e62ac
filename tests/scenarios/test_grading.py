"""Grading a diagnosis document against a truth document."""

from __future__ import annotations

import pytest

from sample_data.scenarios.grading import QUIET_SCORE, bucket_seconds, grade, names_culprit

TRUTH = {"signature": "upstream_data_change", "layer": "input_data", "feature": "ratio",
         "segment": None, "change_id": "CHG-1", "model_version": None,
         "onset": "2026-10-16T18:00:00Z", "onset_tolerance_buckets": 1, "bucket": "1h",
         "scenario": "s"}
HEALTHY = {**TRUTH, "signature": None, "layer": None, "feature": None, "change_id": None,
           "onset": None}


def hyp(rank, signature, score, **fields):
    return {"rank": rank, "signature": signature, "score": score, "feature": None,
            "segment": None, "change_id": None, "model_version": None, **fields}


def test_right_signature_and_culprit_first_passes():
    doc = {"onset": "2026-10-16T19:00:00Z", "hypotheses": [
        hyp(1, "upstream_data_change", 0.7, feature="ratio", change_id="CHG-1"),
        hyp(2, "distribution_shift", 0.2, feature="amount")]}
    g = grade(doc, TRUTH)
    assert g.top1_signature and g.top1_culprit and g.top3 and g.onset_ok and g.passed
    assert g.onset_error_buckets == pytest.approx(1.0)
    assert "#1 upstream_data_change (feature=ratio, change_id=CHG-1) score 0.700" in g.describe()


def test_missing_culprit_field_or_late_onset_fails():
    doc = {"onset": "2026-10-16T20:00:00Z", "hypotheses": [
        hyp(1, "upstream_data_change", 0.7, feature="ratio"),
        hyp(2, "distribution_shift", 0.5, feature="ratio"),
        hyp(3, "upstream_data_change", 0.4, feature="ratio", change_id="CHG-1")]}
    g = grade(doc, TRUTH)
    assert g.top1_signature and not g.top1_culprit
    assert g.top3
    assert g.onset_error_buckets == pytest.approx(2.0) and not g.onset_ok
    assert not g.passed


def test_ranks_not_list_order_decide_the_top():
    doc = {"onset": TRUTH["onset"], "hypotheses": [
        hyp(2, "upstream_data_change", 0.3, feature="ratio", change_id="CHG-1"),
        hyp(1, "concept_drift", 0.6)]}
    g = grade(doc, TRUTH)
    assert not g.top1_signature and g.top3


def test_a_wrong_signature_never_names_the_culprit():
    assert not names_culprit(hyp(1, "distribution_shift", 0.9, feature="ratio",
                                 change_id="CHG-1"), TRUTH)
    concept = {**HEALTHY, "signature": "concept_drift", "layer": "model"}
    assert names_culprit(hyp(1, "concept_drift", 0.5), concept)


def test_healthy_control_is_quiet_only_without_onset_and_strong_hypotheses():
    assert grade({"onset": None, "hypotheses": []}, HEALTHY).passed
    weak = grade({"onset": None, "hypotheses": [hyp(1, "concept_drift", QUIET_SCORE - 0.01)]},
                 HEALTHY)
    assert weak.passed
    strong = grade({"onset": None, "hypotheses": [hyp(1, "concept_drift", QUIET_SCORE)]},
                   HEALTHY)
    assert not strong.passed and strong.max_score == QUIET_SCORE
    assert not grade({"onset": "2026-10-16T18:00:00Z", "hypotheses": []}, HEALTHY).passed


def test_bucket_sizes():
    assert bucket_seconds("15min") == 900
    assert bucket_seconds("1h") == 3600
    assert bucket_seconds("1d") == 86400
    with pytest.raises(ValueError):
        bucket_seconds("1 hour")
