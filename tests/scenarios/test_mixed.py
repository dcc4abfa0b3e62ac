"""Incidents where more than one thing moved: the decomposition splits the metric's change and
the ranking names each part, the larger first."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_covariate_shift_and_a_concept_change_at_once_are_both_named(diagnosed):
    d = diagnosed("mixed_housing_estate_and_cooling")
    split = d["decomposition"]
    assert split["covariate"] > split["residual"] > 0.15  # both parts are there, shift larger
    signatures = [h["signature"] for h in d["hypotheses"]]
    assert signatures[0] == "distribution_shift"
    assert "concept_drift" in signatures


def test_a_gradual_drift_of_several_features_names_each_with_its_share(diagnosed):
    d = diagnosed("drift_delivery_suburban_expansion")
    shares = d["decomposition"]["by_feature"]
    assert shares["distance_km"] > shares["prep_time_min"] > 0.1
    named = [h["feature"] for h in d["hypotheses"] if h["signature"] == "distribution_shift"]
    assert list(dict.fromkeys(named))[:2] == ["distance_km", "prep_time_min"]


def test_a_category_training_never_saw_is_named_with_its_share(diagnosed):
    d = diagnosed("upstream_churn_wallet_payments")
    fault = next(f for f in d["quality"] if f["kind"] == "unseen_categories")
    assert fault["feature"] == "payment_method"
    assert "'wallet'" in fault["detail"]
    assert fault["current"] == pytest.approx(0.25, abs=0.03)


def test_when_the_concept_change_dominates_it_leads_and_the_shift_is_named(diagnosed):
    d = diagnosed("mixed_churn_rival_offer_and_lighter_usage")
    split = d["decomposition"]
    assert split["residual"] > split["covariate"] > 0.03
    assert d["hypotheses"][0]["signature"] == "concept_drift"
    assert any(h["signature"] == "distribution_shift" and h["feature"] == "data_gb_30d"
               for h in d["hypotheses"])
