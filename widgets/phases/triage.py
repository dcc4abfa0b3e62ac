"""Phase 1, triage: when it started, what changed around then, how bad it is and who is
affected."""

from __future__ import annotations

import ipywidgets as w

from widgets.base import ChartSlot, View, esc, fmt, is_rate, section, table, when
from widgets.base import facts as fact_cards
from widgets.views import LabelArrivalView, MetricView, NextStepView, SuspectsView
from workbench import charts
from workbench.stages.isolation import NEAR  # proximity from which an event is flagged

# Change-log events shown as "near the onset": from two days before to one day after.
HOURS_BEFORE = 48.0
HOURS_AFTER = 24.0


class ChangesView(View):
    """Change-log events near the onset, the most plausible first."""

    observes = ("diagnosis",)

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [self.html]

    def render(self) -> None:
        d = self.state.diagnosis
        if d is None:
            self.html.value = ""
            return
        if d.onset is None:
            self.html.value = "<p>No onset detected: no change can be tied to it.</p>"
            return
        near = [c for c in d.changes if c.hours_before_onset is not None
                and -HOURS_AFTER <= c.hours_before_onset <= HOURS_BEFORE]
        near.sort(key=lambda c: (-c.proximity, c.hours_before_onset))
        older = len(d.changes) - len(near)
        if not near:
            self.html.value = (f"<p>No change-log event within {HOURS_BEFORE:.0f} h before the "
                               f"onset ({older} older or later events).</p>")
            return
        rows, classes = [], []
        for c in near:
            hours = c.hours_before_onset
            rel = f"{hours:.1f} h before" if hours >= 0 else f"{-hours:.1f} h after"
            bar = f'<span class="wb-score" style="width:{max(c.proximity, 0.02) * 60:.0f}px">' \
                  "</span>"
            rows.append([esc(when(c.time)), esc(rel), f'<span class="wb-kind">{esc(c.kind)}'
                         "</span>", f"<b>{esc(c.id)}</b>", esc(c.description),
                         f"{bar} {c.proximity:.2f}"])
            classes.append("wb-near" if c.proximity >= NEAR else "")
        note = f"<p class='wb-hint'>{older} other events lie further away.</p>" if older else ""
        self.html.value = table(["time", "vs onset", "kind", "change", "description",
                                 "proximity"], rows, "wb-changes", classes) + note


class SeverityView(View):
    """How bad: extra bad outcomes since the split, their share of rows, per hour; the same for
    the filtered segment."""

    observes = ("impact",)
    requires = ("impact",)
    problems = ("impact",)

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [self.html]

    def render(self) -> None:
        impact = self.state.impact
        if impact is None:
            self.html.value = ""
            return
        blocks = [self._cards(impact.overall, "Everyone")]
        if impact.segment is not None:
            blocks.append(self._cards(impact.segment, impact.segment.segment or ""))
        self.html.value = "".join(blocks)

    @staticmethod
    def _cards(s, who: str) -> str:
        noun = s.metric.replace("_rate", "s").replace("_", " ")
        pct = is_rate(s.metric)
        facts = [
            (f"{noun} since the split", f"{s.bad_current:,.0f}"),
            ("extra vs the baseline rate",
             "n/a" if s.excess is None else f'<span class="wb-bad">{s.excess:,.0f}</span>'),
            ("share of rows affected", fmt(s.affected_share, pct=True)),
            ("extra per hour", "n/a" if s.excess_per_hour is None else f"{s.excess_per_hour:.1f}"),
            (s.metric.replace("_", " "), f"{fmt(s.metric_baseline, pct)} → "
                                         f"{fmt(s.metric_current, pct)}"),
            ("rows since the split", f"{s.rows_current:,}"),
        ]
        return (f'<div class="wb-severity" data-who="{esc(who)}"><div class="wb-who">'
                f"{esc(who)}</div>{fact_cards(facts)}</div>")


class AffectedView(View):
    """Who is affected: segment values holding the extra errors, against their traffic."""

    observes = ("impact", "segment", "diagnosis")
    requires = ("impact",)
    problems = ("impact",)

    def __init__(self, state, top: int = 10) -> None:
        self.top = top
        super().__init__(state)

    def build(self) -> list[w.Widget]:
        self.chart = ChartSlot()
        self.html = w.HTML()
        return [self.chart, self.html]

    def render(self) -> None:
        impact = self.state.impact
        if impact is None:
            self.html.value = ""
            self.chart.clear()
            return
        if not impact.segments:
            self.chart.clear()
            self.html.value = ("<p>No segment columns configured: add `segments = [...]` to "
                               "[production] in the incident config to see who is affected."
                               "</p>")
            return
        picked = self.state.segment
        top = list(impact.segments[: self.top])
        self.chart.show(charts.affected(top, picked))
        pct = is_rate(impact.overall.metric)
        rows, classes = [], []
        for s in top:
            ratio = (f"{s.metric_current / s.metric_baseline:.1f}×" if s.metric_baseline and
                     s.metric_current is not None else "n/a")
            rows.append([f"<b>{esc(s.label)}</b>", f"{s.rows_current:,}",
                         f"{s.traffic_share:.0%}", f"{fmt(s.metric_baseline, pct)} → "
                         f"{fmt(s.metric_current, pct)}", ratio, f"{s.excess:,.0f}",
                         f"{s.excess_share:.0%}"])
            classes.append("wb-picked" if s.label == picked else "")
        self.html.value = table(["segment", "rows since split", "of its column's traffic",
                                 impact.overall.metric.replace("_", " "), "change",
                                 "extra errors", "of its column's extra errors"],
                                rows, "wb-affected", classes) + self._slices()

    def _slices(self) -> str:
        """The three worst slices (segment and feature-range combinations) in one line each."""
        d = self.state.diagnosis
        if d is None or not d.slices:
            return ""
        items = "".join(f"<li><b>{esc(' & '.join(s.conditions))}</b>: {s.score:.0%} of the "
                        f"extra errors, {s.rows_current:,} rows, {s.lift:.1f}× the overall rate"
                        "</li>" for s in d.slices[:3])
        return (f"<div class='wb-top-slices'><p class='wb-hint'>Worst slices (explore them in "
                f"the deep diagnosis):</p><ul>{items}</ul></div>")


class TriagePhase(w.VBox):
    """Phase 1 as one widget: metric over time, what changed, severity, who is affected, and
    the ranked suspects with the next step."""

    def __init__(self, state) -> None:
        super().__init__([
            section("When did it start?", "The monitored metric per time bucket. Red line: "
                    "the detected onset; dashed lines: change-log events (hover for details)."),
            MetricView(state),
            LabelArrivalView(state),
            section("What changed near the onset?", "Change-log events from two days before "
                    "the onset, the most plausible cause first."),
            ChangesView(state),
            section("How bad is it?", "Bad outcomes since the split, and how many exceed what "
                    "the baseline rate would have produced."),
            SeverityView(state),
            section("Who is affected?", "Segments holding more of the extra errors than of the "
                    "traffic are where to look; filter on one with the Segment menu above."),
            AffectedView(state),
            section("What broke? Suspects, most likely first", "Scores combine timing, size "
                    "of the shift, how much the score depends on it and nearby changes."),
            SuspectsView(state),
            NextStepView(state),
        ])
        self.add_class("wb-phase")
        self.add_class("wb-phase-triage")
