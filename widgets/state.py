"""`IncidentState`: the one state object every view of an app observes.

Inputs are traits a person changes: the window (`split`, the baseline/current boundary, and
`segment`, a 'column=value' filter) and the selections (`feature`, `slice`, `record`). Results
are read-only traits the state computes from them with the core (`diagnosis`, `impact`,
`failing`, `attribution`, `feature_drift`, `what_if`). Views never hold copies of results: they
observe the traits they draw and redraw.

Changing the window recomputes every result first and then publishes them together inside
`hold_trait_notifications`, so every view redraws once, with consistent results. While
computing, `busy` says what is being done; a failure lands in `error` (the incident cannot be
analysed) or in `problems` (one result is unavailable, e.g. no model to explain records), as a
readable sentence, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import traitlets

from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.exceptions import WorkbenchError
from workbench.explain.results import (
    AttributionDrift,
    FailingRecords,
    RecordExplanation,
    WhatIf,
)
from workbench.results import Diagnosis, MetricSeries
from workbench.stages import summary
from workbench.timeutil import parse_duration

FAILING_LIMIT = 50
# Results computed only when a view asks for them (`require`); the diagnosis always is.
OPTIONAL_RESULTS = ("impact", "failing", "attribution", "feature_drift")
# The results a segment filter changes (the others depend on the split only).
SEGMENT_RESULTS = ("impact", "failing")


def readable(exc: BaseException) -> str:
    """An exception as one sentence for app users: the message of a workbench error, else the
    type and message of the unexpected one."""
    if isinstance(exc, WorkbenchError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


class IncidentState(traitlets.HasTraits):
    """Incident, window, selections and every result shared by the widgets of one app."""

    incident_path = traitlets.Unicode(help="path of the incident config")
    incident = traitlets.Instance(Incident, allow_none=True, read_only=True,
                                  help="the validated incident config, once opened")
    store = traitlets.Instance(LogStore, allow_none=True, read_only=True,
                               help="the query layer over the incident's sources, once opened")

    # ---- inputs: the window shared by every view ---------------------------------------------
    split = traitlets.Instance(datetime, allow_none=True,
                               help="baseline/current boundary (naive UTC); None: the detected "
                                    "onset")
    segment = traitlets.Unicode("", help="segment filter 'column=value'; empty: everyone")

    # ---- inputs: selections --------------------------------------------------------------------
    feature = traitlets.Unicode("", help="feature selected for histograms and drift over time")
    slice = traitlets.Unicode("", help="slice selected in the slice explorer ('a=1 & b in ...')")
    record = traitlets.Unicode("", help="id of the failing record selected for drill-down")

    # ---- results (read-only) -------------------------------------------------------------------
    diagnosis = traitlets.Instance(Diagnosis, allow_none=True, read_only=True,
                                   help="the diagnosis of the current window")
    impact = traitlets.Instance(summary.Impact, allow_none=True, read_only=True,
                                help="severity and who is affected, for the window and segment")
    failing = traitlets.Instance(FailingRecords, allow_none=True, read_only=True,
                                 help="failing records of the current window and segment")
    attribution = traitlets.Instance(AttributionDrift, allow_none=True, read_only=True,
                                     help="mean |SHAP| per feature, baseline vs current window")
    feature_drift = traitlets.Instance(MetricSeries, allow_none=True, read_only=True,
                                       help="PSI over time of the selected feature")
    what_if = traitlets.Instance(WhatIf, allow_none=True, read_only=True,
                                 help="the last re-scoring of the selected record")
    problems = traitlets.Dict(read_only=True,
                              help="result name -> why it is unavailable (readable sentence)")
    required = traitlets.Set(traitlets.Unicode(), read_only=True,
                             help="optional results some view draws (see `require`)")

    busy = traitlets.Unicode("", help="what is being computed now; empty when idle")
    error = traitlets.Unicode("", help="why the incident cannot be analysed; empty when all is "
                                       "well")

    def __init__(self, incident_path: str | Path, **kwargs: Any) -> None:
        super().__init__(incident_path=str(incident_path), **kwargs)
        self._applying = False  # re-entrancy guard while the state sets its own inputs
        self.observe(self._on_window, names=["split", "segment"])
        self.observe(self._on_feature, names="feature")
        self.observe(self._on_record, names="record")

    # ---- public API ----------------------------------------------------------------------------

    def load(self) -> None:
        """Open the incident and diagnose it; errors land in `error`, never as tracebacks."""
        with self.working("opening the incident"):
            try:
                incident = load_incident(self.incident_path)
                self.set_trait("incident", incident)
                self.set_trait("store", LogStore(incident))
            except Exception as exc:  # noqa: BLE001 - app users must see a message
                self.error = readable(exc)
                return
        self._recompute(full=True)

    def require(self, *names: str) -> None:
        """Ask for optional results (see OPTIONAL_RESULTS); computes them now if possible."""
        unknown = set(names) - set(OPTIONAL_RESULTS)
        if unknown:
            raise ValueError(f"Unknown results {sorted(unknown)}; choose from {OPTIONAL_RESULTS}.")
        missing = set(names) - self.required
        if not missing:
            return
        self.set_trait("required", self.required | missing)
        if self.diagnosis is not None:
            self._recompute(full=False, only=missing)

    def set_window(self, split: datetime | None | str = "keep",
                   segment: str | None = None) -> None:
        """Change the split and/or the segment filter with one recomputation."""
        with self._applying_inputs():
            with self.hold_trait_notifications():
                if split != "keep":
                    self.split = split  # type: ignore[assignment]
                if segment is not None:
                    self.segment = segment
        if split != "keep":
            self._recompute(full=True)
        else:
            self._recompute(full=False, only=set(SEGMENT_RESULTS))

    def rescore(self, feature: str, value: str) -> None:
        """What-if for the selected record: `feature` set to the typed `value`."""
        record = self.selected_record
        if record is None or self.store is None:
            self._problem("what_if", "Select a failing record first.")
            return
        with self.working(f"re-scoring record {record.record_id}"):
            try:
                result = summary.what_if_record(self.store, record, feature, value)
            except Exception as exc:  # noqa: BLE001
                self._problem("what_if", readable(exc))
                return
        with self.hold_trait_notifications():
            self.set_trait("what_if", result)
            self._problem("what_if", None)

    @property
    def selected_record(self) -> RecordExplanation | None:
        """The explanation of `record` among the failing records (None if absent)."""
        failing = self.failing
        if failing is None:
            return None
        return next((r for r in failing.records if r.record_id == self.record), None)

    @property
    def effective_split(self) -> datetime | None:
        """Where the current window starts: the chosen split or the detected onset."""
        d = self.diagnosis
        return d.current_window.get("start") if d is not None else self.split

    @property
    def bucket_seconds(self) -> int:
        """The diagnosis' bucket in seconds."""
        return parse_duration(self.diagnosis.bucket) if self.diagnosis else 3600

    # ---- computing -----------------------------------------------------------------------------

    def _on_window(self, change: dict) -> None:
        if self._applying:
            return
        if change["name"] == "split":
            self._recompute(full=True)
        else:
            self._recompute(full=False, only=set(SEGMENT_RESULTS))

    def _recompute(self, full: bool, only: set[str] | None = None) -> None:
        """Compute the results of the current inputs, then publish them together."""
        store = self.store
        if store is None or self.error:
            return
        results: dict[str, Any] = {}
        problems = dict(self.problems)
        with self.working("diagnosing"):
            d = self.diagnosis
            if full or d is None:
                try:
                    d = diagnose(self.incident, store=store, split=self.split,
                                 progress=self._progress)
                except Exception as exc:  # noqa: BLE001
                    if d is None:  # nothing to show at all
                        self.error = readable(exc)
                        return
                    problems["window"] = readable(exc)
                    self._revert_split(d)
                    self.set_trait("problems", problems)
                    return
                results["diagnosis"] = d
                problems.pop("window", None)
            wanted = self.required if only is None else only & self.required
            feature = self.feature if self.feature in _features(d) else _default_feature(d)
            for name in OPTIONAL_RESULTS:
                if name not in wanted:
                    continue
                self.busy = _WORK[name]
                try:
                    results[name] = self._compute(name, d, feature)
                    problems.pop(name, None)
                except Exception as exc:  # noqa: BLE001
                    results[name] = None
                    problems[name] = readable(exc)
            self.busy = "drawing"
            self._publish(results, problems, feature)

    def _compute(self, name: str, d: Diagnosis, feature: str) -> Any:
        store = self.store
        assert store is not None
        baseline, current = summary.windows_of(d)
        if name == "impact":
            if self.impact is not None and d is self.diagnosis:  # same windows: segment only
                return summary.with_segment(store, d, self.impact, self.segment or None)
            return summary.impact(store, d, self.segment or None)
        if name == "failing":
            from workbench.explain import explain_failing

            return explain_failing(
                store, summary.failing_kind(d.metric.name, store.roles.task),
                start=current.start, end=current.end,
                segment=summary.parse_segment_filter(self.segment), limit=FAILING_LIMIT,
                neighbours=0)
        if name == "attribution":
            from workbench.explain import attribution_drift

            return attribution_drift(store, baseline, current)
        return self._feature_drift(d, feature) if feature else None

    def _feature_drift(self, d: Diagnosis, feature: str) -> MetricSeries:
        from workbench.stages.features import drift_over_time

        assert self.store is not None
        return drift_over_time(self.store, feature, parse_duration(d.bucket),
                               d.window.get("start"), d.window.get("end"))

    def _publish(self, results: dict[str, Any], problems: dict[str, str], feature: str) -> None:
        """Set every result and repair the selections in one batch of notifications."""
        with self._applying_inputs(), self.hold_trait_notifications():
            for name, value in results.items():
                self.set_trait(name, value)
            self.set_trait("problems", problems)
            self.feature = feature
            d = self.diagnosis
            labels = [" & ".join(s.conditions) for s in d.slices] if d else []
            if self.slice not in labels:
                self.slice = labels[0] if labels else ""
            ids = [r.record_id for r in self.failing.records] if self.failing else []
            if self.record not in ids:
                self.record = ids[0] if ids else ""
            if "failing" in results:
                self.set_trait("what_if", None)

    def _on_feature(self, change: dict) -> None:
        if self._applying or "feature_drift" not in self.required or self.diagnosis is None:
            return
        if not change["new"]:
            return
        problems = dict(self.problems)
        with self.working(f"drift of {change['new']} over time"):
            try:
                series = self._feature_drift(self.diagnosis, change["new"])
                problems.pop("feature_drift", None)
            except Exception as exc:  # noqa: BLE001
                series = None
                problems["feature_drift"] = readable(exc)
        with self.hold_trait_notifications():
            self.set_trait("feature_drift", series)
            self.set_trait("problems", problems)

    def _on_record(self, change: dict) -> None:
        if not self._applying:
            self.set_trait("what_if", None)

    def _revert_split(self, d: Diagnosis | None) -> None:
        """After a failed re-diagnosis, put the split back to what the diagnosis used."""
        previous = None
        if d is not None and d.current_window.get("start") != d.onset:
            previous = d.current_window.get("start")
        with self._applying_inputs():
            self.split = previous

    def _problem(self, name: str, message: str | None) -> None:
        problems = dict(self.problems)
        if message:
            problems[name] = message
        else:
            problems.pop(name, None)
        self.set_trait("problems", problems)

    def _progress(self, message: str) -> None:
        self.busy = message

    @contextlib.contextmanager
    def working(self, message: str) -> Iterator[None]:
        """Show `message` in `busy` while the block runs (views call it around their own
        core calls)."""
        previous, self.busy = self.busy, message
        try:
            yield
        finally:
            self.busy = previous

    @contextlib.contextmanager
    def _applying_inputs(self) -> Iterator[None]:
        previous, self._applying = self._applying, True
        try:
            yield
        finally:
            self._applying = previous

    # kept for callers of the first version of this class
    @staticmethod
    def _default_feature(result: Diagnosis) -> str:
        return _default_feature(result)


_WORK = {
    "impact": "who is affected: metric per segment",
    "failing": "selecting and explaining failing records (SHAP)",
    "attribution": "attribution drift (SHAP before vs after the split)",
    "feature_drift": "feature drift over time",
}


def _features(d: Diagnosis) -> list[str]:
    return [x.feature for x in d.drift]


def _default_feature(result: Diagnosis) -> str:
    """The top suspect's feature, else the most drifted one."""
    names = set(_features(result))
    for h in result.hypotheses:
        if h.feature and h.feature in names:
            return h.feature
    ranked = sorted(result.drift, key=lambda d: -d.psi)
    return ranked[0].feature if ranked else ""

