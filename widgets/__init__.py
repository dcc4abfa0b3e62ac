"""ipywidgets bindings of the workbench core: one shared state object per app, no statistics."""

from widgets.app import triage_app
from widgets.state import IncidentState

__all__ = ["IncidentState", "triage_app"]
