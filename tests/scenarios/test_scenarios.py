"""Diagnosis accuracy on the scenario set: culprit ranked first, onset found, controls quiet.

Each scenario is a seeded incident with a known answer (truth.json); a failure message shows
what the diagnosis said instead (onset and top three hypotheses with scores).
"""

from __future__ import annotations

import pytest

from sample_data.scenarios import SCENARIOS, load_truth
from sample_data.scenarios.grading import QUIET_SCORE, grade

INCIDENTS = [s.name for s in SCENARIOS if not s.healthy]
HEALTHY = [s.name for s in SCENARIOS if s.healthy]

pytestmark = pytest.mark.slow


def _grade(name, diagnosed, scenario_configs):
    return grade(diagnosed(name), load_truth(scenario_configs[name]))


@pytest.mark.parametrize("name", INCIDENTS)
def test_top_hypothesis_has_the_true_signature(name, diagnosed, scenario_configs):
    g = _grade(name, diagnosed, scenario_configs)
    assert g.top1_signature, f"expected {g.signature} first; {g.describe()}"


@pytest.mark.parametrize("name", INCIDENTS)
def test_top_hypothesis_names_the_culprit(name, diagnosed, scenario_configs):
    truth = load_truth(scenario_configs[name])
    g = _grade(name, diagnosed, scenario_configs)
    wanted = {k: truth[k] for k in ("feature", "segment", "change_id", "model_version")
              if truth[k] is not None}
    assert g.top1_culprit, f"expected {g.signature} {wanted} first; {g.describe()}"


# Onsets the engine does not locate yet, with the reason (strict: a fix makes them fail loudly).
KNOWN_ONSET_MISSES = {
    "concept_retail_discounter": (
        "hourly MAE rises and falls with the weekly sales rhythm (busy Fridays, quiet Sundays); "
        "the change point models the daily cycle only and three weeks are too few for one level "
        "per hour of the week, so the split lands 33 buckets early"),
    "skew_retail_window": (
        "the first hours after the deploy are quiet pre-opening trading, so the error rate only "
        "moves two buckets later; skew has no sharp time of its own to sharpen the onset with"),
}


def _onset_cases():
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_ONSET_MISSES[n]))
            if n in KNOWN_ONSET_MISSES else n for n in INCIDENTS]


@pytest.mark.parametrize("name", _onset_cases())
def test_onset_is_found_within_tolerance(name, diagnosed, scenario_configs):
    truth = load_truth(scenario_configs[name])
    g = _grade(name, diagnosed, scenario_configs)
    assert g.onset_found is not None, f"no onset found; {g.describe()}"
    assert g.onset_ok, (f"onset {g.onset_error_buckets:.1f} buckets of {truth['bucket']} off "
                        f"(tolerance {truth['onset_tolerance_buckets']}); {g.describe()}")


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_control_reports_no_onset_and_no_strong_hypothesis(name, diagnosed,
                                                                   scenario_configs):
    g = _grade(name, diagnosed, scenario_configs)
    assert g.onset_found is None, f"a healthy log got an onset; {g.describe()}"
    assert g.max_score < QUIET_SCORE, f"a healthy log got a strong hypothesis; {g.describe()}"
