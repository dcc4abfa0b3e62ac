"""`IncidentState`: the one state object every view of an app observes.

Views never hold copies of results: they observe `diagnosis` and `feature` and redraw. Changing
the window or the selection updates every view once.
"""

from __future__ import annotations

from pathlib import Path

import traitlets

from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.exceptions import WorkbenchError
from workbench.results import Diagnosis


class IncidentState(traitlets.HasTraits):
    """Incident, diagnosis and selection shared by the widgets of one app."""

    incident_path = traitlets.Unicode(help="path of the incident config")
    diagnosis = traitlets.Instance(Diagnosis, allow_none=True,
                                   help="the current diagnosis (read by every view)")
    feature = traitlets.Unicode("", help="feature selected for the histogram")
    busy = traitlets.Unicode("", help="what is being computed now; empty when idle")
    error = traitlets.Unicode("", help="a readable error message; empty when all is well")

    def __init__(self, incident_path: str | Path, **kwargs: object) -> None:
        super().__init__(incident_path=str(incident_path), **kwargs)
        self.incident: Incident | None = None
        self.store: LogStore | None = None

    def load(self) -> None:
        """Open the incident and diagnose it; errors land in `error`, never as tracebacks."""
        try:
            self.busy = "opening the incident"
            self.incident = load_incident(self.incident_path)
            self.store = LogStore(self.incident)
            result = diagnose(self.incident, store=self.store, progress=self._progress)
        except WorkbenchError as exc:
            self.error = str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - app users must see a message, not a traceback
            self.error = f"Unexpected error ({type(exc).__name__}): {exc}"
            return
        finally:
            self.busy = ""
        with self.hold_trait_notifications():
            self.diagnosis = result
            self.feature = self._default_feature(result)

    def _progress(self, message: str) -> None:
        self.busy = message

    @staticmethod
    def _default_feature(result: Diagnosis) -> str:
        """The top suspect's feature, else the most drifted one."""
        for h in result.hypotheses:
            if h.feature:
                return h.feature
        ranked = sorted(result.drift, key=lambda d: -d.psi)
        return ranked[0].feature if ranked else ""
