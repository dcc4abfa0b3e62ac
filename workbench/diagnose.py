"""`diagnose`: the four analysis steps run in order over one incident, returning a `Diagnosis`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.results import Diagnosis
from workbench.stages import context, hypotheses
from workbench.stages.features import analyse_features
from workbench.stages.triage import run_triage

Progress = Callable[[str], None]


def diagnose(incident: Incident | str | Path, *, start: datetime | None = None,
             end: datetime | None = None, bucket: str | None = None, metric: str | None = None,
             store: LogStore | None = None, progress: Progress | None = None) -> Diagnosis:
    """Triage, isolate and rank hypotheses for an incident over [start, end)."""
    began = time.perf_counter()
    say = progress or (lambda _msg: None)
    if not isinstance(incident, Incident):
        incident = load_incident(incident)
    own = store is None
    store = store or LogStore(incident)
    try:
        say("triage: metrics per bucket and onset")
        triage = run_triage(store, bucket=bucket, start=start, end=end, metric=metric)
        say("features: drift against the reference and the pre-onset window")
        report = analyse_features(store, triage.baseline, triage.current, triage.bucket_seconds)
        say("context: change log, model versions, serving, segments")
        changes = context.change_events(store, triage)
        versions = context.rollouts(store, triage)
        serving = context.serving_signals(triage)
        segments = context.segment_shifts(store, triage)
        say("ranking hypotheses")
        ranked = hypotheses.rank(triage, report, changes, versions, serving, segments)
    finally:
        if own:
            store.close()
    return Diagnosis(
        incident=incident.title, bucket=triage.bucket,
        window={"start": triage.baseline.start, "end": triage.current.end},
        onset=triage.onset, metric=triage.metric, trend=triage.trend, hypotheses=ranked,
        baseline_window={"start": triage.baseline.start, "end": triage.baseline.end},
        current_window={"start": triage.current.start, "end": triage.current.end},
        series=triage.series, drift=report.drift, histograms=report.histograms,
        changes=changes, rows=triage.span.rows,
        elapsed_seconds=round(time.perf_counter() - began, 3),
    )
