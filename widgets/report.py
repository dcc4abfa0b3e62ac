"""The post-mortem button: writes the report (HTML, Markdown, JSON) and shows where it is."""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w
import traitlets

from widgets.journal import JournalState
from widgets.state import IncidentState, readable
from widgets.verify import FixState
from workbench.report import ReportFiles, default_report_dir, write_report


class ReportView(w.VBox):
    """Folder box, a button, and the paths of the files written."""

    files = traitlets.Instance(ReportFiles, allow_none=True, read_only=True,
                               help="where the last report was written")

    def __init__(self, state: IncidentState, fixes: FixState | None = None,
                 journal: JournalState | None = None) -> None:
        self.state = state
        self.fixes = fixes
        self.journal = journal
        folder = str(default_report_dir(state.incident)) if state.incident is not None else ""
        self.folder = w.Text(value=folder, description="Folder",
                             layout=w.Layout(width="720px"))
        self.button = w.Button(description="Generate post-mortem report",
                               button_style="primary", icon="file", layout=w.Layout(width="auto"))
        self.button.add_class("wb-report-run")
        self.status = w.HTML()
        self.output = w.HTML()
        super().__init__([w.HTML("<p><small>The report uses the diagnosis above, the fix that "
                                 "restores the metric (else the first replayed) and the "
                                 "journal.</small></p>"),
                          self.folder, self.button, self.status, self.output])
        self.button.on_click(lambda _b: self.generate())

    def generate(self) -> None:
        """Write the report into the folder; errors show as a readable panel."""
        state = self.state
        if state.incident is None or state.diagnosis is None:
            self._error(state.error or "The incident has not been diagnosed yet.")
            return
        self.button.disabled = True
        self.status.value = '<div class="wb-busy">⏳ Writing the report…</div>'
        try:
            verification = self.fixes.best if self.fixes is not None else None
            journal = self.journal.journal if self.journal is not None else None
            _, files = write_report(state.incident, Path(self.folder.value.strip()),
                                    diagnosis=state.diagnosis, verification=verification,
                                    journal=journal, store=state.store)
        except Exception as exc:  # noqa: BLE001 - app users must see a message
            self._error(readable(exc))
            return
        finally:
            self.button.disabled = False
        self.status.value = ""
        self.set_trait("files", files)
        if self.journal is not None:
            self.journal.refresh()
        items = "".join(f"<li>{label}: <code>{html.escape(str(path))}</code></li>"
                        for label, path in (("HTML", files.html), ("Markdown", files.markdown),
                                            ("JSON", files.json)))
        self.output.value = (f'<div class="wb-report-files"><b>Report written.</b> Open the HTML '
                             f"file in any browser (it works offline):<ul>{items}</ul></div>")

    def _error(self, message: str) -> None:
        self.output.value = ""
        self.status.value = f'<div class="wb-error">{html.escape(message)}</div>'
