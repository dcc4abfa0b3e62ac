"""The guided on-call app: one shared state, the incident header and window bar, the four
phases as widgets, and the journal, fix and trace states every view of the app shares.
Notebooks compose them cell by cell; `triage_app()` returns them as one tabbed widget."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from widgets.journal import JournalState, JournalView
from widgets.phases import DeepDivePhase, IsolatePhase, TriagePhase, VerifyPhase
from widgets.report import ReportView
from widgets.state import IncidentState, readable
from widgets.style import CSS
from widgets.verify import FixState, VerifyView
from widgets.views import HeaderView, StatusView, WindowBar
from workbench.incidents import ENV_INCIDENTS_DIR, allowed_roots, resolve_incident

if TYPE_CHECKING:
    from widgets.trace import TraceState

# A page restores its widgets from the kernel in two steps: every widget's state at once, then
# each model in turn. ipywidgets' front end drops an update that arrives between the two for a
# model not yet built (voila-dashboards/voila#1101), and the views are filled whenever the
# diagnosis is ready, which may be just then: the page keeps an empty box for good. So once
# the load is over, the app's final state is sent again after these delays (seconds from the
# end of the load): a page that lost an update is repaired; an up-to-date page redraws
# nothing, since no value changes.
RESYNC_DELAYS = (2.0, 10.0, 30.0)

PHASES = {
    "triage": ("1 · Triage", TriagePhase),
    "isolate": ("2 · Isolate the layer", IsolatePhase),
    "deep_dive": ("3 · Deep diagnosis", DeepDivePhase),
    "verify": ("4 · Fix & verify", VerifyPhase),
}


def link_query() -> str | None:
    """The query string of the page's link (`?incident=...`).

    A pre-heated kernel runs the notebook before anyone asks for a page. On a server for many
    incidents (WORKBENCH_INCIDENTS_DIR, `make apps`) the link picks the incident, so such a
    kernel waits here for its visitor's request; the imports are done by then and a diagnosis
    in the cache loads in a moment."""
    if os.environ.get("VOILA_PREHEAT") == "True" and os.environ.get(ENV_INCIDENTS_DIR):
        from voila.utils import wait_for_request

        wait_for_request()
    return os.environ.get("QUERY_STRING")


def served_by_voila() -> bool:
    """Whether this kernel runs a page Voila serves (Voila sets VOILA_PREHEAT in every one)."""
    return "VOILA_PREHEAT" in os.environ


def quiet_stderr() -> None:
    """In an app served by Voila, send the kernel's stderr (warnings, library chatter, a
    traceback with the server's paths) to the server log instead of the page."""
    if served_by_voila() and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__


def open_state(incident: str | Path | None = None) -> IncidentState:
    """State for the incident given, or the one the Voila link / environment names (not yet
    loaded; a link that names nothing servable leaves a readable `error`)."""
    quiet_stderr()
    try:
        path = Path(incident) if incident else resolve_incident(link_query())
    except Exception as exc:  # noqa: BLE001 - shown as the app's error panel
        state = IncidentState("")
        state.error = hide_server_paths(readable(exc))
        return state
    state = IncidentState(path)
    state.observe(_hide_paths_in_error, names="error")
    return state


def hide_server_paths(text: str, roots: list[Path] | None = None) -> str:
    """A message for the page with the served folders cut off its paths: a config under a
    served folder is named relative to it, as its link names it."""
    roots = allowed_roots() if roots is None else roots
    for root in sorted({str(r) for r in roots}, key=len, reverse=True):
        text = text.replace(root + os.sep, "").replace(root, ".")
    return text


def _hide_paths_in_error(change: dict) -> None:
    clean = hide_server_paths(change["new"])
    if clean != change["new"]:
        change["owner"].error = clean


class Workbench:
    """One incident's app: the shared `state`, the `top` bar, the phase widgets and the
    `journal`, `fixes` and `trace` states.

    Widgets and states are built on first use and then reused, so a notebook cell showing
    `wb.deep_dive` and the tabbed `wb.app()` show the same widget, and every view replaying a
    fix writes the same journal. Everything observes `wb.state`; change `wb.state.split` or
    `wb.state.segment` and every view follows.
    """

    def __init__(self, state: IncidentState) -> None:
        self.state = state
        self._widgets: dict[str, w.Widget] = {}
        self._states: dict[str, Any] = {}
        # While a background load runs, views are asked for as empty boxes, filled with the
        # views once the results are in: each chart is then drawn once, with its final spec.
        self._loading = False
        self._placeholders: dict[str, w.VBox] = {}
        self._verify_view: w.Widget | None = None
        self._guard = threading.Lock()

    @classmethod
    def open(cls, incident: str | Path | None = None) -> Workbench:
        """Resolve the incident (argument, `?incident=` link, environment or the sample) and
        diagnose it; problems show in the app, never as exceptions.

        Served by Voila, the diagnosis runs in a thread: the page shows at once with the stage
        being computed, and its views fill in when the results are ready (a moment when the
        diagnosis is in the cache)."""
        state = open_state(incident)
        wb = cls(state)
        if not state.error:
            if served_by_voila():
                wb._loading = True
                loading = state.load(background=True, then=wb._fill_placeholders)
                if loading is not None:
                    threading.Thread(target=wb.resync_after, args=(loading,), daemon=True,
                                     name="resync").start()
            else:
                state.load()
        return wb

    def _get(self, name: str) -> w.Widget:
        with self._guard:
            if self._loading and name != "top":
                if name not in self._placeholders:
                    box = w.VBox([])
                    box.add_class("wb-app" if name != "verify_panel" else "wb-pending")
                    self._placeholders[name] = box
                return self._placeholders[name]
        return self._build(name)

    def _fill_placeholders(self) -> None:
        """Build the views asked for during the load and put them in their boxes."""
        filled: set[str] = set()
        while True:
            with self._guard:
                pending = [n for n in self._placeholders if n not in filled]
                if not pending:
                    self._loading = False
                    return
            for name in sorted(pending, key=lambda n: n == "verify"):  # its panel first
                widget = self._build(name)
                if name == "verify" and self._verify_view is not None:
                    self._fill_verify(widget, self._verify_view)
                self._placeholders[name].children = (widget,)
                filled.add(name)

    def resync_after(self, loading: threading.Thread) -> None:
        """Once `loading` is over, send the app's state again at each of RESYNC_DELAYS."""
        loading.join()
        waited = 0.0
        for delay in RESYNC_DELAYS:
            time.sleep(max(delay - waited, 0.0))
            waited = delay
            self.state.on_main(self.resync)

    def resync(self) -> int:
        """Send the full state of every widget the app shows again; returns how many."""
        with self._guard:
            roots = [*self._widgets.values(), *self._placeholders.values()]
        sent = 0
        for widget in _displayed(roots):
            widget.send_state()
            sent += 1
        return sent

    def _build(self, name: str) -> w.Widget:
        if name not in self._widgets:
            if name == "top":
                widget = w.VBox([w.HTML(CSS), StatusView(self.state), HeaderView(self.state),
                                 WindowBar(self.state)])
            elif name == "verify_panel":
                return self._build_verify_panel()
            else:
                widget = PHASES[name][1](self.state)
            widget.add_class("wb-app")
            self._widgets[name] = widget
        return self._widgets[name]

    @property
    def top(self) -> w.Widget:
        """Stylesheet, busy indicator and error panel, incident header and the window bar."""
        return self._get("top")

    @property
    def triage(self) -> TriagePhase:
        """Phase 1: when, what changed, how bad, who is affected, the suspects."""
        return self._get("triage")

    @property
    def isolate(self) -> IsolatePhase:
        """Phase 2: a verdict per layer with its evidence."""
        return self._get("isolate")

    @property
    def deep_dive(self) -> DeepDivePhase:
        """Phase 3: feature drift, slices, failing records with SHAP and what-if, attribution."""
        return self._get("deep_dive")

    @property
    def verify(self) -> VerifyPhase:
        """Phase 4: the slot for the fix-and-verify widget (see `set_verify_view`)."""
        return self._get("verify")

    @property
    def journal(self) -> JournalState:
        """The incident's investigation journal (an error panel when it cannot be opened)."""
        if "journal" not in self._states:
            self._states["journal"] = JournalState.for_incident(self.state)
        return self._states["journal"]

    @property
    def fixes(self) -> FixState:
        """Fix replays over the state's diagnosis, recorded in `journal`."""
        if "fixes" not in self._states:
            self._states["fixes"] = FixState(self.state, self.journal)
        return self._states["fixes"]

    @property
    def trace(self) -> TraceState:
        """The runs of the incident's model versions (`[lineage] manifests`) to trace."""
        if "trace" not in self._states:
            from widgets.trace import TraceState  # the lineage stack loads when asked for

            self._states["trace"] = TraceState.for_incident(self.state.incident)
        return self._states["trace"]

    def verify_panel(self) -> w.VBox:
        """Fix verification, the journal and the report button as one widget (for
        `set_verify_view`); empty when the incident could not be opened."""
        return self._get("verify_panel")

    def _build_verify_panel(self) -> w.VBox:
        if "verify_panel" not in self._widgets:
            if self.state.error:  # the page already shows why the incident could not be opened
                panel = w.VBox([])
            else:
                panel = w.VBox([
                    w.HTML("<h3>Replay candidate fixes</h3>"), VerifyView(self.fixes),
                    w.HTML("<h3>Investigation journal</h3>"), JournalView(self.journal),
                    w.HTML("<h3>Post-mortem report</h3>"),
                    ReportView(self.state, self.fixes, self.journal)])
            panel.add_class("wb-verify-panel")
            self._widgets["verify_panel"] = panel
        return self._widgets["verify_panel"]

    def set_verify_view(self, widget: w.Widget | None) -> None:
        """Show a fix-and-verify widget (built over `self.state`) in phase 4; None restores
        the baseline/current comparison."""
        with self._guard:
            if self._loading:  # applied when phase 4 is built
                self._verify_view = widget
                self._placeholders.setdefault("verify", w.VBox([]))
                return
        self._fill_verify(self._build("verify"), widget)

    @staticmethod
    def _fill_verify(verify: VerifyPhase, widget: w.Widget | None) -> None:
        if widget is None:
            verify.slot.clear()
        else:
            verify.slot.fill(widget)

    def app(self) -> w.VBox:
        """Everything in one widget: the top bar and the four phases as tabs."""
        if "app" not in self._widgets:
            if self.state.error:
                body: list[w.Widget] = []
            else:
                names = list(PHASES)
                tabs = w.Tab(children=[self._get(n) for n in names],
                             titles=[PHASES[n][0] for n in names])
                tabs.add_class("wb-phases")
                body = [tabs]
            app = w.VBox([self.top, *body], layout=w.Layout(width="100%"))
            app.add_class("wb-app")
            app.workbench = self
            app.state = self.state
            self._widgets["app"] = app
        return self._widgets["app"]


def _displayed(roots: Iterable[w.Widget]) -> Iterator[w.Widget]:
    """Each open widget under `roots` (through box children) once, parents first."""
    seen: set[int] = set()
    stack = list(roots)[::-1]
    while stack:
        widget = stack.pop()
        if id(widget) in seen or widget.comm is None:
            continue
        seen.add(id(widget))
        yield widget
        stack.extend(reversed(getattr(widget, "children", ()) or ()))


def open_workbench(incident: str | Path | None = None) -> Workbench:
    """The app of an incident (see `Workbench.open`)."""
    return Workbench.open(incident)


def triage_app(incident: str | Path | None = None) -> w.VBox:
    """The whole on-call app as one widget (top bar and the four phases as tabs)."""
    return Workbench.open(incident).app()
