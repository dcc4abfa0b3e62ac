"""What `workbench explain` does: pick the window, explain the failing records, render them.

The window defaults to the incident window of the incident's diagnosis (onset to the end of the
log, from the diagnosis cache), so `workbench explain incident.toml` shows the records that went
wrong during the incident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from workbench.cache import cached_diagnose
from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.exceptions import InvalidInputError
from workbench.explain.records import explain_failing, parse_segment
from workbench.explain.results import FailingRecords, FeatureContribution
from workbench.results import Diagnosis
from workbench.timeutil import iso

Progress = Callable[[str], None]


def explain_incident(config: str | Path | Incident, kind: str = "fp", *, limit: int = 50,
                     start: datetime | None = None, end: datetime | None = None,
                     window_given: bool = False, segment: str | None = None,
                     background_rows: int = 100, seed: int = 0,
                     diagnosis: Diagnosis | None = None,
                     progress: Progress | None = None) -> FailingRecords:
    """Explain the failing records of an incident (by default those of the current window of
    `diagnosis`, else of the cached diagnosis, computed once when missing)."""
    say = progress or (lambda _msg: None)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"The record limit must be a positive integer. Got {limit!r}.")
    incident = config if isinstance(config, Incident) else load_incident(config)
    seg = parse_segment(segment) if segment is not None else None
    with LogStore(incident) as store:
        if not window_given:
            if diagnosis is None:
                diagnosis = cached_diagnose(incident, store=store, progress=say).diagnosis
            start, end = diagnosis.current_window.start, diagnosis.current_window.end
        say("selecting failing records and computing SHAP values")
        return explain_failing(store, kind, start=start, end=end, segment=seg, limit=limit,
                               background_rows=background_rows, seed=seed)


def render_failing(result: FailingRecords, top: int = 3) -> str:
    """A readable table: record id, score, label and the top features with SHAP and percentile."""
    info = result.explainer
    seg = f", segment {result.segment['column']}={result.segment['value']}" if (
        result.segment) else ""
    lines = [
        f"Incident: {result.incident}",
        f"Window:   {iso(result.window['start']) or '…'} .. {iso(result.window['end']) or '…'}"
        f"{seg}",
        f"Records:  {len(result.records)} of {result.total} {result.description}",
        f"Model:    {info.model} ({info.model_type}); SHAP {info.kind}, output {info.output}, "
        f"base value {info.base_value:.4g}, {info.background_rows} background rows "
        f"(seed {info.seed})",
    ]
    if info.note:
        lines.append(f"Note:     {info.note}")
    if result.rescore_max_abs_diff is not None and result.rescore_max_abs_diff > 1e-6:
        lines.append(f"Note:     the model's scores differ from the logged ones by up to "
                     f"{result.rescore_max_abs_diff:.3g}: these records may have been scored "
                     f"by another model version.")
    if not result.records:
        lines.append("No failing records in this window.")
        return "\n".join(lines)
    width = max(9, *(len(r.record_id) for r in result.records))
    lines += ["", f"{'record id':<{width}}  {'score':>6}  {'label':>5}  top features "
                  f"(SHAP, value percentile in training)"]
    for r in result.records:
        score = "n/a" if r.score is None else f"{r.score:.3f}"
        label = "n/a" if r.label is None else f"{r.label:g}"
        feats = ", ".join(_contribution(c) for c in r.top(top))
        lines.append(f"{r.record_id:<{width}}  {score:>6}  {label:>5}  {feats}")
    counts = result.top_feature_counts()
    if counts:
        lines += ["", "Top contributor: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    return "\n".join(lines)


def _contribution(c: FeatureContribution) -> str:
    if c.percentile is not None:
        where = f"p{c.percentile:.0f}"
        if c.outside_range:
            where = "below min" if c.percentile <= 0 else "above max"
    elif c.reference_share is not None:
        where = "unseen" if c.outside_range else f"{100 * c.reference_share:.0f}% of ref"
    else:
        where = "n/a"
    return f"{c.feature} {c.shap:+.3f} ({where})"
