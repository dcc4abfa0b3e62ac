"""`IncidentState`: the one state object every view of an app observes.

Inputs are traits a person changes: the window (`split`, the baseline/current boundary, and
`segment`, a 'column=value' filter) and the selections (`feature`, `slice`, `record`). Results
are read-only traits the state computes from them with the core (`diagnosis`, `impact`,
`failing`, `attribution`, `feature_drift`, `what_if`). Views never hold copies of results: they
observe the traits they draw and redraw. The data is the core's business: the state holds an
`Investigation`, whose diagnoses come from the diagnosis cache, so a second viewer, a
`?incident=` link or going back to an earlier split loads the finished diagnosis.

Changing the window recomputes every result first and then publishes them together inside
`hold_trait_notifications`, so every view redraws once, with consistent results. While
computing, `busy` says what is being done; a failure lands in `error` (the incident cannot be
analysed) or in `problems` (one result is unavailable, e.g. no model to explain records), as a
readable sentence, never a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import traitlets

from workbench.config import Incident
from workbench.exceptions import WorkbenchError
from workbench.explain import drilldown
from workbench.explain.results import (
    AttributionDrift,
    FailingRecords,
    RecordExplanation,
    WhatIf,
)
from workbench.investigation import Investigation
from workbench.results import Diagnosis, MetricSeries
from workbench.stages import summary

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
    investigation = traitlets.Instance(Investigation, allow_none=True, read_only=True,
                                       help="the open incident: its query layer and cached "
                                            "diagnoses")

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
    cache = traitlets.Dict(read_only=True,
                           help="whether the diagnosis was loaded from the diagnosis cache "
                                "('hit') and its key")
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
        # Held while results are published and while a view is built (`Workbench`), so a view
        # built during a background load sees the results either drawn or arriving.
        self.lock = threading.RLock()
        # The kernel's event loop when diagnosing in the background: widgets are created and
        # changed only on it, never while it answers a page's request for every widget's
        # state (ipywidgets walks its registry of widgets then, and a widget created meanwhile
        # in another thread breaks that walk, leaving the page with empty phases).
        self._loop: asyncio.AbstractEventLoop | None = None
        self.observe(self._on_window, names=["split", "segment"])
        self.observe(self._on_feature, names="feature")
        self.observe(self._on_record, names="record")

    # ---- public API ----------------------------------------------------------------------------

    def load(self, background: bool = False,
             then: Callable[[], None] | None = None) -> threading.Thread | None:
        """Open the incident and diagnose it; errors land in `error`, never as tracebacks.

        background: open the incident now, diagnose in a thread (returned) and publish the
        results when they are ready, then call `then` in that thread. A page then shows at
        once, with `busy` naming the stage being computed, instead of after the whole
        diagnosis (a cold visit of an app)."""
        with self.working("opening the incident"):
            try:
                investigation = Investigation.open(self.incident_path)
                self.set_trait("incident", investigation.incident)
                self.set_trait("investigation", investigation)
            except Exception as exc:  # noqa: BLE001 - app users must see a message
                self.error = readable(exc)
                return None
        if not background:
            self._recompute(full=True)
            return None
        self.busy = "diagnosing"  # shown until the thread reports its first stage
        self._loop = _kernel_loop()
        thread = threading.Thread(target=self._load_results, args=(then,), name="diagnosis",
                                  daemon=True)
        thread.start()
        return thread

    def _load_results(self, then: Callable[[], None] | None) -> None:
        """The diagnosis and the results views asked for, including while it was computed;
        then `then()`."""
        try:
            self._recompute(full=True)
            with self.lock:
                late = {n for n in self.required
                        if getattr(self, n) is None and n not in self.problems}
            if late and self.diagnosis is not None:
                self._recompute(full=False, only=late)
            if then is not None:
                with self.working("drawing"):
                    self.on_main(then)
        except Exception as exc:  # noqa: BLE001 - a thread has no one else to tell
            self.error = readable(exc)
        finally:
            self.busy = ""

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
                result = drilldown.what_if_record(self.store, record, feature, value)
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
    def store(self) -> Any:
        """The query layer over the incident's sources (a `LogStore`), once opened."""
        return self.investigation.store if self.investigation is not None else None

    @property
    def effective_split(self) -> datetime | None:
        """Where the current window starts: the chosen split or the detected onset."""
        d = self.diagnosis
        return d.current_window.start if d is not None else self.split

    @property
    def bucket_seconds(self) -> int:
        """The diagnosis' bucket in seconds."""
        return self.diagnosis.bucket_seconds if self.diagnosis else 3600

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
        investigation = self.investigation
        if investigation is None or self.error:
            return
        results: dict[str, Any] = {}
        problems = dict(self.problems)
        with self.working("diagnosing"):
            d, key = self.diagnosis, self.cache.get("key", "")
            if full or d is None:
                try:
                    found = investigation.diagnose(split=self.split, progress=self._progress)
                except Exception as exc:  # noqa: BLE001
                    if d is None:  # nothing to show at all
                        self.error = readable(exc)
                        return
                    problems["window"] = readable(exc)
                    self._revert_split(d)
                    self.set_trait("problems", problems)
                    return
                d, key = found.diagnosis, found.key
                results["diagnosis"], results["cache"] = d, found.to_dict()
                problems.pop("window", None)
            wanted = self.required if only is None else only & self.required
            feature = self.feature if self.feature in _features(d) else _default_feature(d)
            for name in OPTIONAL_RESULTS:
                if name not in wanted:
                    continue
                self.busy = _WORK[name]
                try:
                    results[name] = self._compute(name, d, feature, key)
                    problems.pop(name, None)
                except Exception as exc:  # noqa: BLE001
                    results[name] = None
                    problems[name] = readable(exc)
            self.busy = "drawing"
            self._publish(results, problems, feature)

    def _compute(self, name: str, d: Diagnosis, feature: str, key: str) -> Any:
        """One optional result of diagnosis `d` (cache key `key`), loaded when computed before."""
        store, investigation = self.store, self.investigation
        assert store is not None and investigation is not None
        baseline, current = d.baseline_window, d.current_window
        segment = self.segment or None
        if name == "impact":
            previous = self.impact if d is self.diagnosis else None  # same windows: segment only

            def impact() -> summary.Impact:
                if previous is not None:
                    return summary.with_segment(store, d, previous, segment)
                return summary.impact(store, d, segment)

            return investigation.derived(key, name, summary.Impact, impact, segment=segment)
        if name == "failing":
            from workbench.explain import explain_failing

            kind = summary.failing_kind(d.metric.name, store.roles.task)

            def failing() -> FailingRecords:
                return explain_failing(store, kind, start=current.start, end=current.end,
                                       segment=summary.parse_segment_filter(segment),
                                       limit=FAILING_LIMIT, neighbours=0)

            return investigation.derived(key, name, FailingRecords, failing, segment=segment,
                                         kind=kind, limit=FAILING_LIMIT)
        if name == "attribution":
            from workbench.explain import attribution_drift

            return investigation.derived(key, name, AttributionDrift,
                                         lambda: attribution_drift(store, baseline, current))
        return self._feature_drift(d, feature, key) if feature else None

    def _feature_drift(self, d: Diagnosis, feature: str, key: str) -> MetricSeries:
        from workbench.stages.features import drift_over_time

        store, investigation = self.store, self.investigation
        assert store is not None and investigation is not None
        return investigation.derived(
            key, "feature_drift", MetricSeries,
            lambda: drift_over_time(store, feature, d.bucket_seconds, d.window.start,
                                    d.window.end), feature=feature)

    def on_main(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the kernel's event loop and wait for it (see `_loop`); directly when
        there is no loop or this is its thread."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running() or _runs_on(loop):
            fn()
            return
        done: concurrent.futures.Future = concurrent.futures.Future()

        def call() -> None:
            try:
                fn()
                done.set_result(None)
            except BaseException as exc:  # noqa: BLE001 - raised again in the waiting thread
                done.set_exception(exc)

        loop.call_soon_threadsafe(call)
        done.result()

    def _publish(self, results: dict[str, Any], problems: dict[str, str], feature: str) -> None:
        """Set every result and repair the selections in one batch of notifications (on the
        kernel's event loop: the views they redraw create widgets)."""
        self.on_main(lambda: self._set_results(results, problems, feature))

    def _set_results(self, results: dict[str, Any], problems: dict[str, str],
                     feature: str) -> None:
        with self.lock, self._applying_inputs(), self.hold_trait_notifications():
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
                series = self._feature_drift(self.diagnosis, change["new"],
                                             self.cache.get("key", ""))
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
        with self._applying_inputs():
            self.split = d.split if d is not None else None

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


def _kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop of the IPython kernel this code runs in; None outside a kernel
    (a script, or a test process where another library's loop may be set)."""
    from IPython import get_ipython

    if getattr(get_ipython(), "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _runs_on(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `loop` is the event loop running in this thread."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
