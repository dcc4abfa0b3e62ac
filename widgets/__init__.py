"""ipywidgets bindings of the workbench core: one shared state object per app, no statistics.

    from widgets import open_workbench
    wb = open_workbench()          # the incident from the link, the environment or the sample
    display(wb.top, wb.triage)     # any phase: wb.triage, wb.isolate, wb.deep_dive, wb.verify
"""

from widgets.app import Workbench, open_workbench, triage_app
from widgets.index import IncidentIndex
from widgets.state import IncidentState

__all__ = ["IncidentIndex", "IncidentState", "Workbench", "open_workbench", "triage_app"]
