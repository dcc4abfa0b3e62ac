"""Attribution drift: which features the model leans on more during the incident than before.

Mean |SHAP| per feature on a seeded sample of the baseline window and of the current (incident)
window, both against the same reference background. An input whose values moved into a region
where the model reacts strongly shows up as a jump in its mean |SHAP|, even when its own
distribution shift looks modest.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from workbench.data import LogStore, Window
from workbench.exceptions import EmptyDataError
from workbench.explain.adapters import ModelAdapter, adapter_for
from workbench.explain.results import AttributionDrift, AttributionShift, ExplainerInfo
from workbench.explain.sampling import (
    DEFAULT_BACKGROUND_ROWS,
    reference_background,
    window_sample,
)
from workbench.explain.shap_values import explain_rows
from workbench.results import Evidence

DEFAULT_SAMPLE_ROWS = 500


def attribution_drift(store: LogStore, baseline: Window, current: Window, *,
                      adapter: ModelAdapter | None = None, rows: int = DEFAULT_SAMPLE_ROWS,
                      background_rows: int = DEFAULT_BACKGROUND_ROWS, seed: int = 0,
                      output: str | None = None,
                      max_evals: int | None = None) -> AttributionDrift:
    """Mean |SHAP| per feature in both windows, ranked by increase (largest first)."""
    adapter = adapter or adapter_for(store)
    background = reference_background(store, adapter, background_rows, seed)
    means = []
    sizes = []
    info = None
    for window in (baseline, current):
        sample = window_sample(store, adapter, window.start, window.end, rows, seed)
        if sample.empty:
            raise EmptyDataError(
                f"The {window.name} window {_span(window.start, window.end)} has no rows to "
                f"explain.")
        values = explain_rows(adapter, sample, background, output=output, max_evals=max_evals,
                              seed=seed)
        means.append(np.abs(values.values).mean(axis=0))
        sizes.append(len(sample))
        explainer = adapter.explainer(background, output=output, max_evals=max_evals, seed=seed)
        info = ExplainerInfo(
            model=adapter.name, model_hash=adapter.file_hash[:16],
            model_type=adapter.description, task=adapter.task, kind=explainer.kind,
            output=explainer.output, base_value=values.base_value,
            background_rows=len(background), seed=seed, max_evals=explainer.max_evals)
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
    assert info is not None
    return AttributionDrift(
        baseline_window={"start": baseline.start, "end": baseline.end},
        current_window={"start": current.start, "end": current.end},
        rows_baseline=sizes[0], rows_current=sizes[1], explainer=info, features=shifts)


def attribution_evidence(store: LogStore, baseline: Window, current: Window, *,
                         top: int = 1, rows: int = DEFAULT_SAMPLE_ROWS,
                         seed: int = 0) -> tuple[str | None, tuple[Evidence, ...]]:
    """(feature, evidence) for `diagnose`: the feature whose mean |SHAP| grew most.

    Returns (None, ()) when the incident has no [model] section, so callers can always call it.
    """
    if store.incident.model is None:
        return None, ()
    drift = attribution_drift(store, baseline, current, rows=rows, seed=seed)
    top_shift = drift.top
    return (top_shift.feature if top_shift else None), drift.to_evidence(top)


def _span(start: datetime | None, end: datetime | None) -> str:
    return f"{start or '…'}..{end or '…'}"
