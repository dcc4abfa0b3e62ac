"""`diagnose`: the four analysis steps run in order over one incident, returning a `Diagnosis`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.explain.budget import check_budget
from workbench.results import Diagnosis, Evidence, Hypothesis
from workbench.stages import context, estimation, hypotheses, metrics, multivariate
from workbench.stages.decomposition import decompose_metric
from workbench.stages.features import analyse_features
from workbench.stages.isolation import isolate
from workbench.stages.multivariate import multivariate_drift
from workbench.stages.quality import find_faults
from workbench.stages.repair import repair_shares
from workbench.stages.skew import check_skew
from workbench.stages.slices import discover_slices
from workbench.stages.triage import Triage, bucket_phase, run_triage
from workbench.stats import changepoint
from workbench.windows import Window

if TYPE_CHECKING:
    from workbench.explain.results import AttributionStatus

Progress = Callable[[str], None]

# The stages `diagnose` reports, in order: each progress message starts with one of them.
STAGES = ("triage", "features", "decomposition", "quality", "multivariate", "repair", "context",
          "pipeline", "slices", "model", "ranking")


def diagnose(incident: Incident | str | Path, *, start: datetime | None = None,
             end: datetime | None = None, bucket: str | None = None, metric: str | None = None,
             store: LogStore | None = None, progress: Progress | None = None,
             attribution: bool = True, split: datetime | None = None,
             attribution_budget: float | None = None) -> Diagnosis:
    """Triage, isolate and rank hypotheses for an incident over [start, end).

    With a [model] in the config and `attribution`, the feature whose mean |SHAP| grew most
    between the windows strengthens the hypotheses naming it (SHAP on up to 1000 sampled rows,
    fewer when `attribution_budget` seconds do not allow them; default
    `workbench.explain.DEFAULT_BUDGET_SECONDS`). Attribution never fails the diagnosis: what it
    did is in `Diagnosis.attribution`.
    """
    began = time.perf_counter()
    say = progress or (lambda _msg: None)
    if not isinstance(incident, Incident):
        incident = load_incident(incident)
    if attribution_budget is None and incident.model is not None:
        attribution_budget = incident.model.explain_budget
    attribution_budget = check_budget(attribution_budget)
    own = store is None
    store = store or LogStore(incident)
    if store.roles.features:
        multivariate.preload()
    try:
        say("triage: metrics per bucket and onset")
        triage = run_triage(store, bucket=bucket, start=start, end=end, metric=metric,
                            split=split)
        say(f"features: drift against the reference and the pre-onset window "
            f"({triage.span.rows:,} rows)")
        report = analyse_features(store, triage.baseline, triage.current, triage.bucket_seconds)
        say("decomposition: how much of the change the input shifts explain")
        decomposition = decompose_metric(store, triage, report.drift, report.counts)
        say("quality: missing values, unseen categories, numbers as text, repeated ids")
        faults = find_faults(store, triage, report.drift, report.null_shift_times)
        say("multivariate: a domain classifier between the windows' inputs")
        joint_shift = multivariate_drift(store, triage, report.drift)
        estimated = estimation.checked(triage, report.drift, joint_shift, store.notes)
        repairs = _repairs(store, triage, report.drift, say)
        say("context: change log, model versions, serving, segments")
        changes = context.change_events(store, triage)
        versions = context.rollouts(store, triage)
        serving = context.serving_signals(triage)
        segments = context.segment_shifts(store, triage)
        skew = None
        if incident.pipeline is not None:
            say("pipeline: recomputing features for sampled rows (training-serving skew)")
            skew = check_skew(store, triage.baseline, triage.current)
        roles = store.roles
        layers = isolate(triage, report, changes, versions, serving,
                         has_versions=roles.model_version is not None,
                         has_serving_columns=roles.latency is not None or roles.status is not None,
                         has_changes=incident.changes is not None, skew=skew,
                         missing_columns=store.missing_in_production(), quality=faults,
                         multivariate=joint_shift)
        say("slices: segments whose errors rose most")
        slices = discover_slices(store, triage, report.drift) if triage.onset else ()
        attributed, attribution_status = _attribution(store, triage, attribution,
                                                      attribution_budget, say)
        say("ranking hypotheses")
        ranked = hypotheses.rank(triage, report, changes, versions, serving, segments, skew,
                                 attributed, decomposition, faults, repairs)
        if ranked and ranked[0].signature == "segment_regression" and ranked[0].segment:
            ranked = (replace(ranked[0], time=segment_change_time(store, triage,
                                                                  ranked[0].segment)),
                      *ranked[1:])
    finally:
        if own:
            store.close()
    return Diagnosis(
        incident=incident.title, bucket=triage.bucket,
        window=Window("analysed", triage.baseline.start, triage.current.end),
        onset=refine_onset(triage, ranked), metric=triage.metric, trend=triage.trend,
        hypotheses=ranked, baseline_window=triage.baseline, current_window=triage.current,
        series=triage.series, drift=report.drift, histograms=report.histograms,
        changes=changes, layers=layers, slices=slices, rows=triage.span.rows,
        elapsed_seconds=round(time.perf_counter() - began, 3), notes=tuple(store.notes),
        attribution=attribution_status, decomposition=decomposition, quality=faults,
        multivariate=joint_shift, labels=triage.labels, estimation=estimated,
        **carried(triage, split),
    )


def carried(triage: Triage, split: datetime | None) -> dict[str, Any]:
    """The triage's findings a `Diagnosis` carries for the later phases, by field name."""
    before = triage.counts[triage.counts["bucket"] < pd.Timestamp(triage.baseline.end)]
    after = triage.counts[triage.counts["bucket"] >= pd.Timestamp(triage.current.start)]
    return {"bucket_seconds": triage.bucket_seconds,
            "metric_definition": metrics.METRICS[triage.metric.name],
            "onset_detected": triage.onset, "onset_low": triage.onset_low,
            "onset_high": triage.onset_high, "onset_strength": float(triage.onset_strength),
            "split": split, "baseline_outcomes": metrics.outcome_totals(before),
            "current_outcomes": metrics.outcome_totals(after)}


def _repairs(store: LogStore, triage: Triage, drift: tuple, say: Progress) -> dict[str, float]:
    """The repair test's recovered shares; an explanation problem never fails the diagnosis."""
    if triage.onset is None:
        return {}
    say("repair: re-scoring the suspects mapped back onto the baseline" if store.incident.model
        else "repair: the suspect segments given back their baseline rate")
    try:
        return repair_shares(store, triage, drift)
    except Exception as exc:  # noqa: BLE001 - the model's trouble is a note, not a failure
        store.notes.append(f"The repair test was skipped: {str(exc).splitlines()[0][:200]}")
        return {}


def _attribution(store: LogStore, triage: Triage, wanted: bool, budget: float,
                 say: Progress) -> tuple[tuple[str | None, tuple[Evidence, ...]] | None,
                                         AttributionStatus]:
    """(feature and evidence for the ranking, or None; what the attribution step did)."""
    from workbench.explain.results import AttributionStatus

    if store.incident.model is None:
        return None, AttributionStatus("not_configured",
                                       "no [model] section in the incident config")
    if not wanted:
        return None, AttributionStatus("skipped", "attribution was turned off")
    if triage.onset is None:
        return None, AttributionStatus("skipped", "no onset: there are no windows to compare")
    from workbench.explain.attribution import budgeted_attribution

    say("model: SHAP attribution drift between the windows")
    outcome = budgeted_attribution(store, triage.baseline, triage.current, budget=budget)
    if outcome.status.status != "done":
        say(f"model: attribution {outcome.status.status}: {outcome.status.reason}")
    return (outcome.feature, outcome.evidence), outcome.status


def segment_change_time(store: LogStore, triage: Triage, segment: str) -> datetime | None:
    """When the metric changed within one segment ("column=value"): a segment's own series
    locates its change more sharply than the diluted overall metric."""
    column, _, value = segment.partition("=")
    counts = store.bucket_counts(triage.bucket_seconds, triage.baseline.start, triage.current.end,
                                 segment=(column, value))
    values, weights = metrics.series(counts, triage.metric.name)
    cp = changepoint.detect(values, weights, phase=bucket_phase(counts, triage.bucket_seconds))
    return None if cp is None else counts["bucket"].iloc[cp.index].to_pydatetime()


def refine_onset(triage: Triage, ranked: tuple[Hypothesis, ...]) -> datetime | None:
    """The metric's onset, sharpened by the leading suspect's own change time when that falls
    inside the onset's uncertainty interval (a noisy error rate locates a change less precisely
    than the latency, feature or rollout that caused it)."""
    onset = triage.onset
    if onset is None or not ranked or ranked[0].time is None or ranked[0].score < 0.3:
        return onset
    when = ranked[0].time
    slack = 2 * triage.bucket_delta  # a change late in a bucket shows in the next one
    low = (triage.onset_low or onset) - slack
    high = (triage.onset_high or onset) + slack
    if not low <= when <= high:
        return onset
    seconds = triage.bucket_seconds
    start = datetime(1970, 1, 1)
    return start + timedelta(seconds=(when - start).total_seconds() // seconds * seconds)
