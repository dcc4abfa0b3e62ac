"""Attribution drift: which features the model leans on more during the incident than before.

Mean |SHAP| per feature on a seeded sample of the baseline window and of the current (incident)
window, both against the same reference background. An input whose values moved into a region
where the model reacts strongly shows up as a jump in its mean |SHAP|, even when its own
distribution shift looks modest.

Inside `diagnose` the step runs under a time budget (`budget`) and never fails the diagnosis:
`budgeted_attribution` reports what it did as an `AttributionStatus` (done, skipped, failed or
not configured) next to the evidence it found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from workbench.data import LogStore, Window
from workbench.exceptions import EmptyDataError, WorkbenchError
from workbench.explain.adapters import ModelAdapter, adapter_for
from workbench.explain.budget import Clock, check_budget, explain_within
from workbench.explain.results import AttributionDrift, AttributionShift, AttributionStatus
from workbench.explain.sampling import (
    DEFAULT_BACKGROUND_ROWS,
    reference_background,
    window_sample,
)
from workbench.explain.shap_values import FeatureExplainer, explain_rows, explainer_info
from workbench.results import Evidence

DEFAULT_SAMPLE_ROWS = 500


@dataclass(frozen=True)
class BudgetedAttribution:
    """The outcome of the attribution step of `diagnose`.

    feature: the feature whose mean |SHAP| grew most (None when not done); evidence: for the
    hypotheses naming it; status: what was done and what it cost; drift: the full result.
    """

    feature: str | None
    evidence: tuple[Evidence, ...]
    status: AttributionStatus
    drift: AttributionDrift | None = None


def attribution_drift(store: LogStore, baseline: Window, current: Window, *,
                      adapter: ModelAdapter | None = None, rows: int = DEFAULT_SAMPLE_ROWS,
                      background_rows: int = DEFAULT_BACKGROUND_ROWS, seed: int = 0,
                      output: str | None = None,
                      max_evals: int | None = None) -> AttributionDrift:
    """Mean |SHAP| per feature in both windows, ranked by increase (largest first)."""
    adapter = adapter or adapter_for(store)
    background = reference_background(store, adapter, background_rows, seed)
    samples = _window_samples(store, adapter, (baseline, current), rows, seed)
    return _drift(adapter, background, samples, baseline, current, seed, output, max_evals)


def budgeted_attribution(store: LogStore, baseline: Window, current: Window, *,
                         budget: float | None = None, top: int = 1,
                         rows: int = DEFAULT_SAMPLE_ROWS, seed: int = 0) -> BudgetedAttribution:
    """Attribution drift within `budget` seconds (default DEFAULT_BUDGET_SECONDS), for diagnose.

    Never raises for the explanation itself: a model that cannot be loaded or explained gives
    status "failed" with the reason; one too slow to explain the minimum rows in the budget,
    "skipped". Rows per window are sampled down to what the budget allows.
    """
    seconds = check_budget(budget)
    if store.incident.model is None:
        return BudgetedAttribution(None, (), AttributionStatus(
            "not_configured", "no [model] section in the incident config", budget=seconds))
    clock = Clock(seconds)
    try:
        return _attribute(store, baseline, current, clock, top, rows, seed)
    except EmptyDataError as exc:
        status = AttributionStatus("skipped", str(exc), seconds=_round(clock.elapsed),
                                   budget=seconds)
    except WorkbenchError as exc:
        status = AttributionStatus("failed", str(exc), seconds=_round(clock.elapsed),
                                   budget=seconds)
    except Exception as exc:  # an explanation problem must not cost the whole diagnosis
        status = AttributionStatus("failed", f"{type(exc).__name__}: {exc}",
                                   seconds=_round(clock.elapsed), budget=seconds)
    return BudgetedAttribution(None, (), status)


def attribution_evidence(store: LogStore, baseline: Window, current: Window, *,
                         top: int = 1, rows: int = DEFAULT_SAMPLE_ROWS, seed: int = 0,
                         budget: float | None = None) -> tuple[str | None, tuple[Evidence, ...]]:
    """(feature, evidence): the feature whose mean |SHAP| grew most, within the time budget.

    Returns (None, ()) when the incident has no [model] section or the step was skipped or
    failed (see `budgeted_attribution` for the status), so callers can always call it.
    """
    outcome = budgeted_attribution(store, baseline, current, budget=budget, top=top, rows=rows,
                                   seed=seed)
    return outcome.feature, outcome.evidence


def _attribute(store: LogStore, baseline: Window, current: Window, clock: Clock, top: int,
               rows: int, seed: int) -> BudgetedAttribution:
    adapter = adapter_for(store)
    background = reference_background(store, adapter, DEFAULT_BACKGROUND_ROWS, seed)
    samples = _window_samples(store, adapter, (baseline, current), rows, seed)
    explainer = adapter.explainer(background, seed=seed)
    run = explain_within(explainer, adapter.predict_score, samples, background, clock)
    if run.reason is not None:
        return BudgetedAttribution(None, (), AttributionStatus(
            "skipped", run.reason, seconds=_round(clock.elapsed), budget=clock.budget,
            explainer=explainer.kind, output=explainer.output))
    drift = _drift_of(adapter, explainer, background, run.means, run.rows, run.gap,
                      baseline, current, seed)
    reason = None
    available = max(len(s) for s in samples)
    if max(run.rows) < available:
        reason = (f"explained {max(run.rows)} of {available} sampled rows per window to fit "
                  f"the {clock.budget:g} s budget ({run.seconds_per_row * 1000:.1f} ms per row)")
    status = AttributionStatus(
        "done", reason, rows=sum(run.rows), seconds=_round(clock.elapsed), budget=clock.budget,
        explainer=explainer.kind, output=explainer.output, additivity_gap=run.gap)
    top_shift = drift.top
    return BudgetedAttribution(top_shift.feature if top_shift else None, drift.to_evidence(top),
                               status, drift)


def _window_samples(store: LogStore, adapter: ModelAdapter, windows: Sequence[Window],
                    rows: int, seed: int) -> list[pd.DataFrame]:
    """A seeded sample of each window (raises EmptyDataError naming an empty one)."""
    samples = []
    for window in windows:
        sample = window_sample(store, adapter, window.start, window.end, rows, seed)
        if sample.empty:
            raise EmptyDataError(
                f"The {window.name} window {_span(window.start, window.end)} has no rows to "
                f"explain.")
        samples.append(sample)
    return samples


def _drift(adapter: ModelAdapter, background: pd.DataFrame, samples: Sequence[pd.DataFrame],
           baseline: Window, current: Window, seed: int, output: str | None = None,
           max_evals: int | None = None) -> AttributionDrift:
    """Mean |SHAP| per feature of each window's whole sample, ranked by increase."""
    explainer = adapter.explainer(background, output=output, max_evals=max_evals, seed=seed)
    means, gaps = [], []
    for sample in samples:
        values = explain_rows(adapter, sample, background, output=output, max_evals=max_evals,
                              seed=seed)
        means.append(np.abs(values.values).mean(axis=0))
        gaps.append(values.additivity_error)
    return _drift_of(adapter, explainer, background, means, [len(s) for s in samples],
                     max(gaps), baseline, current, seed)


def _drift_of(adapter: ModelAdapter, explainer: FeatureExplainer, background: pd.DataFrame,
              means: Sequence[np.ndarray], rows: Sequence[int], gap: float | None,
              baseline: Window, current: Window, seed: int) -> AttributionDrift:
    """The drift result from each window's mean |SHAP| per feature, ranked by increase."""
    info = explainer_info(adapter, explainer, base_value=explainer.expected_value(),
                          background_rows=len(background), seed=seed, additivity_gap=gap)
    before, after = means
    order = sorted(range(len(adapter.feature_names)),
                   key=lambda j: (-(after[j] - before[j]), adapter.feature_names[j]))
    shifts = tuple(
        AttributionShift(
            feature=adapter.feature_names[j], mean_abs_baseline=float(before[j]),
            mean_abs_current=float(after[j]), increase=float(after[j] - before[j]),
            ratio=float(after[j] / before[j]) if before[j] > 0 else None, rank=rank)
        for rank, j in enumerate(order, start=1)
    )
    return AttributionDrift(
        baseline_window={"start": baseline.start, "end": baseline.end},
        current_window={"start": current.start, "end": current.end},
        rows_baseline=rows[0], rows_current=rows[1], explainer=info, features=shifts)


def _round(seconds: float) -> float:
    return round(seconds, 3)


def _span(start: datetime | None, end: datetime | None) -> str:
    return f"{start or '…'}..{end or '…'}"

