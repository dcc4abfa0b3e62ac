"""The post-mortem review as widgets: the saved diagnosis beside today's, the journal's timeline
and the fixes verified, and a note box that appends to the journal.

`PostMortemState` holds the `Review` the core builds (`workbench.postmortem.review`) and the
journal's timeline as traits; the views draw them and compute nothing. Writing happens only when
a reviewer presses the button, never when the page opens.

    from widgets.postmortem import open_postmortem
    pm = open_postmortem()       # the incident from the link, WORKBENCH_INCIDENT or the sample
    display(pm.header, pm.comparison, pm.chart, pm.timeline, pm.notes)

During the investigation, `pin_diagnosis(wb.state)` pins the diagnosis the team acts on.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import ipywidgets as w
import traitlets

from widgets.base import ChartSlot, error_panel, esc, fmt, is_rate, section, table, when
from widgets.state import IncidentState, readable
from widgets.style import CSS
from workbench import charts, postmortem
from workbench.cache import CachedDiagnosis
from workbench.exceptions import InvalidInputError
from workbench.incidents import resolve_incident
from workbench.investigation import Investigation
from workbench.journal import Journal, JournalEntry
from workbench.postmortem import Review, Suspect

OUTCOME_TEXT = {
    "confirmed": ("wb-ok", "labels confirm the root cause"),
    "regression_only": ("wb-bad", "regression confirmed, top suspect changed"),
    "not_confirmed": ("wb-bad", "labels do not confirm the regression"),
    "no_new_labels": ("", "no new labels since"),
    "unknown": ("", "labels do not bear on it"),
}

# Entries that stay "open" until a verdict (notes and conclusions are not claims to settle).
OPEN_KINDS = ("hypothesis", "check", "fix")


class PostMortemState(traitlets.HasTraits):
    """The review of one closed investigation and its journal's timeline."""

    review = traitlets.Instance(Review, allow_none=True, read_only=True,
                                help="the saved diagnosis, today's, and their comparison")
    timeline = traitlets.Tuple(read_only=True, help="the journal's entries, oldest first")
    error = traitlets.Unicode("", help="why the review cannot be shown; empty when all is well")
    note_error = traitlets.Unicode("", help="why the last note could not be written")

    def __init__(self, incident_path: str | Path, *, author: str | None = None,
                 key: str | None = None, report: str | Path | None = None) -> None:
        super().__init__()
        self.incident_path = str(incident_path)
        self.author, self.key, self.report = author, key, report
        self.journal: Journal | None = None

    def load(self) -> None:
        """Open the incident and its journal, then the review; errors land in `error`."""
        investigation = None
        try:
            investigation = Investigation.open(self.incident_path)
            self.journal = Journal.for_incident(investigation.incident, author=self.author)
            self.set_trait("timeline", postmortem.timeline(self.journal))
            self.set_trait("review", postmortem.review(investigation, self.journal,
                                                       key=self.key, report=self.report))
            self.error = ""
        except Exception as exc:  # noqa: BLE001 - reviewers must see a sentence
            self.error = readable(exc)
        finally:
            if investigation is not None:
                investigation.close()

    def add_note(self, text: str) -> bool:
        """Append a reviewer's note to the journal and re-read the timeline; False on error."""
        text = text.strip()
        if self.journal is None or not text:
            return False
        try:
            postmortem.add_note(self.journal, text)
            found = postmortem.timeline(self.journal)
        except Exception as exc:  # noqa: BLE001
            self.note_error = readable(exc)
            return False
        self.note_error = ""
        with self.hold_trait_notifications():
            self.set_trait("timeline", found)
            if self.review is not None:
                self.set_trait("review", dataclasses.replace(self.review, timeline=found))
        return True


class _StateView(w.VBox):
    """A view redrawn whenever the traits it names change."""

    observes: tuple[str, ...] = ("review",)

    def __init__(self, state: PostMortemState) -> None:
        self.state = state
        super().__init__(self.build())
        self.add_class("wb-view")
        state.observe(lambda _ch: self.render(), names=list(self.observes))
        self.render()

    def build(self) -> list[w.Widget]:
        return []

    def render(self) -> None:
        """Draw from the state."""


class HeaderView(_StateView):
    """What is reviewed: the incident, the pinned diagnosis, and the comparison in a sentence."""

    observes = ("review", "error")

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        self.html.add_class("wb-pm-header")
        return [w.HTML(CSS), self.html]

    def render(self) -> None:
        s, r = self.state, self.state.review
        if r is None:
            self.html.value = error_panel([s.error], "The review cannot be opened") \
                if s.error else ""
            return
        p = r.pin
        by = f" by <b>{esc(p.author)}</b> at {when(p.time)}" if p.author else ""
        cls, outcome = OUTCOME_TEXT.get(r.comparison.labels.outcome, ("", ""))
        self.html.value = (
            f"<h2>Post-mortem review · {esc(r.incident)}</h2>"
            f"<p>As it was: diagnosis <code>{esc(p.key or p.digest)}</code> from the "
            f"{esc(p.source)} (<small>{esc(p.location)}</small>), pinned{by}. Today: "
            f"diagnosis <code>{esc(r.now_key)}</code>, reviewed {when(r.reviewed_at)}.</p>"
            f'<p class="wb-pm-headline"><span class="wb-pm-outcome {cls}" '
            f'data-outcome="{esc(r.comparison.labels.outcome)}">{esc(outcome)}</span> · '
            f"{esc(r.comparison.headline)}</p>")


class ComparisonView(_StateView):
    """As it was vs now: data, onset, top suspect, metric and the labels on the incident
    window, each with whether it changed."""

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [section("As it was · today", "The diagnosis the team acted on beside a fresh "
                        "one on today's data."), self.html]

    def render(self) -> None:
        r = self.state.review
        if r is None:
            self.html.value = ""
            return
        c, was, now = r.comparison, r.was, r.now
        pct = is_rate(c.gap.metric)
        metric = esc(c.gap.metric.replace("_", " "))
        lab = c.labels
        estimate = "n/a" if lab.estimate is None else (
            f"{fmt(lab.estimate, pct)} [{fmt(lab.estimate_lower, pct)}, "
            f"{fmt(lab.estimate_upper, pct)}]")
        rows = [
            ("log analysed", f"{fmt(c.rows_was)} rows to {when(c.window_was.end)}",
             f"{fmt(c.rows_now)} rows to {when(c.window_now.end)}",
             "same data" if c.same_data else "grown"),
            ("onset", when(c.onset.was), when(c.onset.now), _changed(
                c.onset.changed, f"{c.onset.shift_hours:+.1f} h"
                if c.onset.shift_hours is not None else "")),
            ("top suspect", _suspect(c.culprit.was), _suspect(c.culprit.now), _changed(
                c.culprit.changed, "" if c.culprit.rank_now in (None, 1)
                else f"saved one ranks #{c.culprit.rank_now}")),
            (f"{metric} before", fmt(c.gap.baseline_was, pct), fmt(c.gap.baseline_now, pct),
             ""),
            (f"{metric} after", _metric(c.gap.current_was, c.gap.estimated_was,
                                        c.gap.coverage_was, pct),
             _metric(c.gap.current_now, c.gap.estimated_now, c.gap.coverage_now, pct), ""),
            ("gap", fmt(c.gap.gap_was, pct), fmt(c.gap.gap_now, pct), _changed(
                c.gap.changed, f"{c.gap.relative:+.0%}" if c.gap.relative is not None else "")),
            (f"labelled rows, incident window {when(lab.window.start)} to "
             f"{when(lab.window.end)}", fmt(lab.labelled_was), fmt(lab.labelled_now),
             "labels arrived" if lab.arrived else "no new labels"),
            ("buckets awaiting labels", fmt(lab.pending_buckets_was),
             fmt(lab.pending_buckets_now), ""),
            (f"{metric} on the incident window", f"realised {fmt(lab.realised_was, pct)}; "
             f"estimated {estimate}", f"realised {fmt(lab.realised_now, pct)}",
             "" if lab.estimate_held is None else
             ("inside the saved estimate's interval" if lab.estimate_held
              else "outside the saved estimate's interval")),
        ]
        body = [[esc(a), esc(b), esc(x), esc(d)] for a, b, x, d in rows]
        cls, outcome = OUTCOME_TEXT.get(lab.outcome, ("", ""))
        self.html.value = (
            table(["", "as it was", "today", "change"], body, "wb-pm-compare")
            + f'<p class="wb-pm-labels"><b class="{cls}">{esc(outcome)}</b>: '
              f"{esc(lab.reason)}</p>"
            + (f"<p><small>{esc(len(was.hypotheses))} hypotheses as it was, "
               f"{esc(len(now.hypotheses))} today.</small></p>"))


class ChartView(_StateView):
    """The monitored metric as the saved diagnosis had it beside today's."""

    def build(self) -> list[w.Widget]:
        self.slot = ChartSlot()
        return [self.slot]

    def render(self) -> None:
        r = self.state.review
        if r is None:
            self.slot.clear()
            return
        self.slot.show(charts.postmortem_metric(r.was, r.now))


class TimelineView(_StateView):
    """The journal's timeline (who, when, what), and the fixes verified."""

    observes = ("timeline", "review")

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [section("Timeline", "Hypotheses, checks, decisions and notes from the journal, "
                        "with who wrote them and when."), self.html]

    def render(self) -> None:
        items = self.state.timeline
        rows, classes = [], []
        for i in items:
            outcome = i.outcome if i.outcome not in ("", "open") else (i.status or "")
            if not outcome and i.kind in OPEN_KINDS:
                outcome = "open"
            rows.append([when(i.time), esc(i.author), esc(i.kind + (" (review)" if i.review
                                                                   else "")),
                         esc(i.text), esc(outcome)])
            classes.append("wb-pm-entry wb-pm-review" if i.review else "wb-pm-entry")
        text = table(["time", "who", "kind", "entry", "outcome"], rows, "wb-pm-timeline",
                     classes) if rows else "<p>The journal holds no entry.</p>"
        r = self.state.review
        if r is not None and r.fixes:
            fix_rows = [[when(f.time), esc(f.author), esc(f.name), esc(f.verdict),
                         esc(fmt(f.before)), esc(fmt(f.after)), esc(fmt(f.baseline))]
                        for f in r.fixes]
            text += "<h4>Fixes verified</h4>" + table(
                ["time", "who", "fix", "verdict", "as logged", "after the fix", "baseline"],
                fix_rows, "wb-pm-fixes")
        self.html.value = text


class NoteView(_StateView):
    """A note box: the reviewer's note goes into the investigation's journal."""

    observes = ("note_error", "error")

    def build(self) -> list[w.Widget]:
        self.where = w.HTML()
        self.text = w.Textarea(placeholder="What does the review find? (goes into the journal)",
                               layout=w.Layout(width="560px", height="70px"))
        self.add = w.Button(description="Add review note", button_style="primary",
                            layout=w.Layout(width="auto"))
        self.message = w.HTML()
        self.text.add_class("wb-pm-note")
        self.add.add_class("wb-pm-add")
        self.add.on_click(lambda _b: self._add())
        return [self.where, w.HBox([self.text, self.add]), self.message]

    def _add(self) -> None:
        if self.state.add_note(self.text.value):
            self.text.value = ""

    def render(self) -> None:
        j = self.state.journal
        self.add.disabled = j is None
        self.where.value = (f"<small>Journal file: <code>{esc(j.path)}</code> · writing as "
                            f"<b>{esc(j.author)}</b></small>") if j is not None else ""
        self.message.value = error_panel([self.state.note_error], "The note was not written") \
            if self.state.note_error else ""


class PostMortemApp:
    """The review's views over one state, built once each (a cell shows the same widget)."""

    VIEWS = {"header": HeaderView, "comparison": ComparisonView, "chart": ChartView,
             "timeline": TimelineView, "notes": NoteView}

    def __init__(self, state: PostMortemState) -> None:
        self.state = state
        self._views: dict[str, w.Widget] = {}

    def _get(self, name: str) -> w.Widget:
        if name not in self._views:
            view = self.VIEWS[name](self.state)
            view.add_class("wb-app")
            self._views[name] = view
        return self._views[name]

    @property
    def header(self) -> w.Widget:
        """The incident, the pinned diagnosis and the comparison in a sentence."""
        return self._get("header")

    @property
    def comparison(self) -> w.Widget:
        """As it was vs today, item by item."""
        return self._get("comparison")

    @property
    def chart(self) -> w.Widget:
        """The metric as it was beside today's."""
        return self._get("chart")

    @property
    def timeline(self) -> w.Widget:
        """The journal's timeline and the fixes verified."""
        return self._get("timeline")

    @property
    def notes(self) -> w.Widget:
        """The reviewer's note box."""
        return self._get("notes")

    def app(self) -> w.VBox:
        """Every view, top to bottom."""
        return w.VBox([self._get(n) for n in self.VIEWS])


def open_postmortem(incident: str | Path | None = None, *, author: str | None = None,
                    key: str | None = None, report: str | Path | None = None) -> PostMortemApp:
    """The review of the incident given, else the one the link (`?incident=`), the
    WORKBENCH_INCIDENT environment variable or the bundled sample names; problems show in the
    views, never as exceptions."""
    try:
        path = Path(incident) if incident else resolve_incident(os.environ.get("QUERY_STRING"))
    except Exception as exc:  # noqa: BLE001 - shown in the header
        state = PostMortemState("")
        state.error = readable(exc)
        return PostMortemApp(state)
    state = PostMortemState(path, author=author, key=key, report=report)
    state.load()
    return PostMortemApp(state)


def pin_diagnosis(state: IncidentState, text: str = "",
                  author: str | None = None) -> JournalEntry:
    """Pin the diagnosis an app shows (its cache key and digest) in the incident's journal: the
    one the post-mortem review reopens as it was."""
    key = state.cache.get("key") if state.cache else None
    if state.incident is None or state.diagnosis is None or not key:
        raise InvalidInputError("There is no diagnosis to pin yet: open the incident and let it "
                                "diagnose first.")
    journal = Journal.for_incident(state.incident, author=author)
    found = CachedDiagnosis(state.diagnosis, bool(state.cache.get("hit")), str(key))
    return postmortem.pin(journal, found, text)


def _changed(changed: bool, detail: str = "") -> str:
    return ("changed" if changed else "unchanged") + (f" ({detail})" if detail else "")


def _suspect(s: Suspect | None) -> str:
    return "none" if s is None else f"#{s.rank} {s.summary}"


def _metric(value: float | None, estimated: bool, coverage: float | None, pct: bool) -> str:
    labelled = f", {coverage:.0%} labelled" if coverage is not None else ""
    return fmt(value, pct) + (" (estimated" + labelled + ")" if estimated else
                              (f" ({coverage:.0%} labelled)" if coverage is not None else ""))
