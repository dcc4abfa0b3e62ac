"""The investigation journal as a widget: timeline, confirm/refute buttons and a note box.

`JournalState` holds the incident's `Journal` and its entries as a trait, re-read after every
write, so every view shows what is on disk. Writing happens only on a person's action (a
button), never when the page opens.
"""

from __future__ import annotations

import html

import ipywidgets as w
import traitlets

from widgets.state import IncidentState, readable
from workbench.journal import EntryState, Journal
from workbench.timeutil import iso


class JournalState(traitlets.HasTraits):
    """The journal of the incident an app shows, and its entries with their outcomes."""

    states = traitlets.Tuple(read_only=True,
                             help="entries (not verdicts) with their latest outcome, oldest first")
    count = traitlets.Int(0, read_only=True, help="entries in the file, verdicts included")
    error = traitlets.Unicode("", help="why the journal cannot be read or written")

    def __init__(self, journal: Journal | None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.journal = journal
        self.refresh()

    @classmethod
    def for_incident(cls, state: IncidentState, author: str | None = None) -> JournalState:
        """The journal of the state's incident (an error panel when it cannot be opened)."""
        if state.incident is None:
            out = cls(None)
            out.error = "The journal needs an incident; open one first."
            return out
        try:
            return cls(Journal.for_incident(state.incident, author=author))
        except Exception as exc:  # noqa: BLE001 - app users must see a message
            out = cls(None)
            out.error = readable(exc)
            return out

    def refresh(self) -> None:
        """Re-read the file."""
        if self.journal is None:
            return
        try:
            read = self.journal.read()
            states = self.journal.states()
        except Exception as exc:  # noqa: BLE001
            self.error = readable(exc)
            return
        with self.hold_trait_notifications():
            self.set_trait("states", states)
            self.set_trait("count", len(read.entries))

    def write(self, action: str, *args: object) -> bool:
        """Call a `Journal` method by name (note, mark, record...), then refresh; False on error."""
        if self.journal is None:
            return False
        try:
            getattr(self.journal, action)(*args)
        except Exception as exc:  # noqa: BLE001
            self.error = readable(exc)
            return False
        self.error = ""
        self.refresh()
        return True


OUTCOME_CLASS = {"confirmed": "wb-ok", "refuted": "wb-bad", "restores": "wb-ok",
                 "insufficient": "wb-bad"}
# Entries a person can confirm or refute (a report or a verdict is not a claim).
MARKABLE = ("hypothesis", "check", "fix", "mitigation", "conclusion", "note")
# Entries written from the text box.
WRITABLE = ("note", "hypothesis", "mitigation", "conclusion")


class JournalView(w.VBox):
    """Timeline of the journal; mark an entry confirmed or refuted; add a note, hypothesis,
    mitigation or conclusion."""

    def __init__(self, state: JournalState) -> None:
        self.state = state
        self.timeline = w.HTML()
        self.where = w.HTML()
        self.error = w.HTML()
        self.picker = w.Dropdown(description="Entry", layout=w.Layout(width="520px"))
        self.reason = w.Text(placeholder="why (optional)", layout=w.Layout(width="320px"))
        self.confirm = w.Button(description="Mark confirmed", button_style="success",
                                icon="check")
        self.refute = w.Button(description="Mark refuted", button_style="danger", icon="times")
        self.kind = w.Dropdown(options=WRITABLE, value="note", layout=w.Layout(width="130px"))
        self.note = w.Textarea(placeholder="What did you find, check or decide?",
                               layout=w.Layout(width="560px", height="70px"))
        self.add = w.Button(description="Add to journal", button_style="primary",
                            layout=w.Layout(width="auto"))
        self.confirm.add_class("wb-journal-confirm")
        self.refute.add_class("wb-journal-refute")
        self.note.add_class("wb-journal-note")
        self.add.add_class("wb-journal-add")
        super().__init__([self.where, self.timeline,
                          w.HBox([self.picker, self.reason, self.confirm, self.refute]),
                          w.HBox([self.kind, self.note, self.add]), self.error])
        self.confirm.on_click(lambda _b: self._mark("confirmed"))
        self.refute.on_click(lambda _b: self._mark("refuted"))
        self.add.on_click(lambda _b: self._add_note())
        state.observe(lambda _ch: self.render(), names=["states", "error"])
        self.render()

    def _mark(self, outcome: str) -> None:
        if self.picker.value:
            if self.state.write("mark", self.picker.value, outcome, self.reason.value.strip()):
                self.reason.value = ""

    def _add_note(self) -> None:
        text = self.note.value.strip()
        if text and self.state.write("record", self.kind.value, text):
            self.note.value = ""

    def render(self) -> None:
        """Redraw the timeline and the entry picker."""
        s = self.state
        self.error.value = (f'<div class="wb-error">{html.escape(s.error)}</div>'
                            if s.error else "")
        if s.journal is not None:
            self.where.value = (f"<small>Journal file: <code>{html.escape(str(s.journal.path))}"
                                f"</code> · writing as <b>{html.escape(s.journal.author)}</b>"
                                f"</small>")
        rows = [_row(x) for x in reversed(s.states)]
        self.timeline.value = (
            '<table class="wb-table wb-journal"><thead><tr><th>time (UTC)</th><th>who</th>'
            "<th>kind</th><th>entry</th><th>outcome</th></tr></thead><tbody>"
            + ("".join(rows) or '<tr><td colspan="5">Nothing recorded yet: replay a fix or '
                                'add a note.</td></tr>')
            + "</tbody></table>")
        previous = self.picker.value
        options = [(f"{x.entry.kind}: {x.entry.text[:70]} ({x.entry.id})", x.entry.id)
                   for x in reversed(s.states) if x.entry.kind in MARKABLE]
        self.picker.options = options
        ids = [value for _, value in options]
        self.picker.value = previous if previous in ids else (ids[0] if ids else None)
        for b in (self.confirm, self.refute):
            b.disabled = not options


def _row(x: EntryState) -> str:
    e = x.entry
    outcome = x.outcome if x.outcome != "open" else (e.status or "")
    if not outcome and e.kind in ("hypothesis", "fix", "check"):
        outcome = "open"
    cls = OUTCOME_CLASS.get(outcome, "")
    why = f"<br><small>{html.escape(x.verdict.text)} — {html.escape(x.verdict.author)}</small>" \
        if x.verdict is not None else ""
    return (f'<tr class="wb-journal-entry" data-id="{html.escape(e.id)}"><td>{iso(e.time)}</td>'
            f"<td>{html.escape(e.author)}</td><td>{html.escape(e.kind)}</td>"
            f"<td>{html.escape(e.text)}</td><td class=\"{cls}\">{html.escape(outcome)}{why}</td>"
            "</tr>")
