"""Runbooks per failure signature: what the signature means and what to do next.

One entry per name in `workbench.results.SIGNATURES`, written for the engineer on call: the
first line says what is probably going on, the steps say what to check and how to mitigate.
Apps and reports show the runbook of the top hypothesis next to its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.results import SIGNATURES


@dataclass(frozen=True)
class Runbook:
    """What a failure signature means and the next steps, in order."""

    signature: str
    meaning: str
    steps: tuple[str, ...]
    mitigation: str


RUNBOOKS = {
    r.signature: r
    for r in (
        Runbook(
            "upstream_data_change",
            "An upstream system changed what a field means; the model now sees values it never "
            "saw in training.",
            ("Open the named change and ask its owner what the field means now.",
             "Compare the raw field before and after the change (Deep diagnosis: histogram and "
             "drift over time).",
             "Correct the feature computation (or revert upstream) and replay the failing "
             "window."),
            "Revert the upstream change, or pin the previous definition of the field.",
        ),
        Runbook(
            "distribution_shift",
            "The inputs moved away from training without a change on our side: the world "
            "changed.",
            ("Find the source that feeds the drifted feature and confirm the shift is real.",
             "Check which segments moved (Who is affected, slice explorer).",
             "Plan a retrain on recent data; add a drift alert on the feature."),
            "Tighten the decision threshold for the affected segment until the retrain.",
        ),
        Runbook(
            "training_serving_skew",
            "The serving pipeline computes a feature differently from the training pipeline.",
            ("Recompute the feature with the training code for logged rows and compare.",
             "Look for aggregation windows, units, defaults for missing values.",
             "Share one implementation between training and serving; add a consistency test."),
            "Serve the training computation of the feature.",
        ),
        Runbook(
            "silent_pipeline_failure",
            "A feature job stopped producing fresh values: features are null, constant or zero.",
            ("Check the feature job's last successful run and its inputs' freshness.",
             "Confirm in the layer isolation which feature went null, constant or zero.",
             "Backfill, then add a freshness check before serving."),
            "Fall back to the previous model inputs or a rules-based decision.",
        ),
        Runbook(
            "model_rollout",
            "A new model version started serving at the onset and performs worse.",
            ("Compare the metric per model version (Isolate the layer: model).",
             "Roll back to the previous version to confirm."),
            "Roll back to the previous model version.",
        ),
        Runbook(
            "segment_regression",
            "One segment degraded while the rest did not.",
            ("Filter the app on that segment and read its metric over time.",
             "Ask what changed for that segment upstream (partner, country, channel)."),
            "Route the segment to a fallback or review queue.",
        ),
        Runbook(
            "concept_drift",
            "The relation between inputs and outcome changed: same inputs, different truth.",
            ("Check recent labels for delays or policy changes.",
             "Retrain on fresh labelled data; monitor the metric per week."),
            "Adjust the threshold on recent data until the retrain.",
        ),
        Runbook(
            "serving_infrastructure",
            "Serving misbehaves: timeouts, errors or missing scores look like model errors.",
            ("Check serving hosts, dependencies and timeouts at the onset.",
             "Compare latency and error rate over time (Isolate the layer: serving)."),
            "Scale or roll back the serving change.",
        ),
    )
}

assert set(RUNBOOKS) == set(SIGNATURES), "every signature needs a runbook"


def runbook(signature: str) -> Runbook | None:
    """The runbook of a signature (None for an unknown one)."""
    return RUNBOOKS.get(signature)
