"""The landing page: every incident the server can open, with links into each phase."""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as w

from widgets.base import error_panel, esc, table
from widgets.style import CSS
from workbench.catalog import list_incidents
from workbench.incidents import ENV_INCIDENTS_DIR

PAGES = (("triage.ipynb", "Triage (start here)"), ("isolate.ipynb", "Isolate the layer"),
         ("deep_dive.ipynb", "Deep diagnosis"))


class IncidentIndex(w.VBox):
    """A table of incident configs found under the served folders, one link per phase.

    Links are relative (`triage.ipynb?incident=...`), so they open the sibling notebooks in
    whatever serves this one (Voila's `/voila/render/`).
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.html = w.HTML()
        super().__init__([w.HTML(CSS), self.html])
        self.add_class("wb-app")
        self.refresh(env)

    def refresh(self, env: Mapping[str, str] | None = None) -> None:
        """List the incidents again (new configs appear without restarting the server)."""
        try:
            entries = list_incidents(env)
        except Exception as exc:  # noqa: BLE001 - a readable panel, never a traceback
            self.html.value = error_panel([str(exc)], "Cannot list the incidents")
            return
        if not entries:
            self.html.value = (f"<p>No incident config (incident.toml) under the served "
                               f"folders. Start the server with {ENV_INCIDENTS_DIR}=folder "
                               f"(`make apps INCIDENTS_DIR=folder`) or run `make sample`.</p>")
            return
        rows = []
        for e in entries:
            if e.error:
                links = f'<span class="wb-bad">cannot be opened: {esc(e.error)}</span>'
            else:
                links = " · ".join(f'<a href="{page}?{esc(e.query)}" target="_self">'
                                   f"{esc(label)}</a>" for page, label in PAGES)
            rows.append([f"<b>{esc(e.title)}</b>", f"<code>{esc(e.path)}</code>", links])
        self.html.value = table(["incident", "config", "open"], rows, "wb-index")
