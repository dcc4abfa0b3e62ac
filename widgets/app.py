"""The triage app: composes the views over one shared state. Notebooks call `triage_app()`."""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as w

from widgets.state import IncidentState
from widgets.style import CSS
from widgets.views import FeatureView, HeaderView, MetricView, StatusView, SuspectsView
from workbench.exceptions import WorkbenchError
from workbench.incidents import resolve_incident


def _section(title: str, hint: str) -> w.HTML:
    return w.HTML(f"<h3>{title}</h3><p><small>{hint}</small></p>")


def open_state(incident: str | Path | None = None) -> IncidentState:
    """State for the incident given, or the one the Voila link / environment names."""
    try:
        path = Path(incident) if incident else resolve_incident(os.environ.get("QUERY_STRING"))
    except WorkbenchError as exc:
        state = IncidentState("")
        state.error = str(exc)
        return state
    state = IncidentState(path)
    return state


def triage_app(incident: str | Path | None = None) -> w.VBox:
    """The on-call triage page: header, metric over time, suspects, top suspect's feature.

    The diagnosis runs before the page is returned (a few seconds on the sample); errors show
    as a readable panel in place of the views.
    """
    state = open_state(incident)
    if not state.error:
        state.load()
    parts: list[w.Widget] = [w.HTML(CSS), StatusView(state)]
    if not state.error:
        parts += [
            HeaderView(state),
            _section("When did it start?", "The monitored metric per time bucket. Red line: the "
                     "detected onset. Dashed lines: change-log events (hover for details)."),
            MetricView(state),
            _section("What broke? Suspects, most likely first",
                     "Scores combine timing, size of the shift, how much the model's score "
                     "depends on it, and nearby changes. Evidence is in the --json output."),
            SuspectsView(state),
            _section("Is the input different from training?",
                     "The selected feature's distribution in production after (red) and before "
                     "(light blue) the onset, against training (blue), on bins chosen from "
                     "training."),
            FeatureView(state),
        ]
    app = w.VBox(parts, layout=w.Layout(width="100%"))
    app.add_class("wb-app")
    app.state = state  # for notebook users who extend the page
    return app
