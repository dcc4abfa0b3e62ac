"""Views every phase shares, each bound to the shared `IncidentState`: status and errors, the
incident header, the window selector, the metric over time, the suspects and a feature's
distribution against training."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import ipywidgets as w

from widgets.base import ChartSlot, View, error_panel, esc, fmt, is_rate, table, when
from widgets.base import facts as fact_cards
from widgets.state import IncidentState
from workbench import charts
from workbench.runbooks import runbook


class Syncing:
    """Mixin for views whose input widgets mirror state traits: while the view writes the
    state's values into its widgets, the widgets' own observers stay quiet."""

    _syncing = False

    @contextlib.contextmanager
    def syncing(self) -> Iterator[None]:
        previous, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = previous


class StatusView(w.VBox):
    """Busy indicator (a floating note while the kernel computes) and the app's error panel."""

    def __init__(self, state: IncidentState) -> None:
        self.busy = w.HTML()
        self.error = w.HTML()
        super().__init__([self.busy, self.error])
        self.add_class("wb-status")
        state.observe(self._on_busy, "busy")
        state.observe(self._on_error, "error")
        self._on_busy({"new": state.busy})
        self._on_error({"new": state.error})

    def _on_busy(self, change: dict) -> None:
        msg = change["new"]
        self.busy.value = (f'<div class="wb-busy" role="status"><span class="wb-spinner">'
                           f"</span>Working: {esc(msg)}…</div>" if msg else "")

    def _on_error(self, change: dict) -> None:
        msg = change["new"]
        self.error.value = error_panel([msg], "Cannot analyse this incident") if msg else ""


class HeaderView(View):
    """What happened, since when, how bad, whether it is getting worse, and the window."""

    observes = ("diagnosis",)

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [self.html]

    def render(self) -> None:
        d = self.state.diagnosis
        if d is None:
            self.html.value = ""
            return
        m = d.metric
        pct = is_rate(m.name)
        ratio = f" ({m.current / m.baseline:.1f}×)" if m.baseline and m.current else ""
        onset = when(d.onset) if d.onset else "no regression found"
        trend_cls = "wb-bad" if d.trend == "worsening" else ""
        split = d.current_window.start
        chosen = self.state.split is not None
        facts = [
            ("Onset (detected)", esc(onset)),
            (m.name.replace("_", " ") + " before → after",
             f'<span class="wb-bad">{fmt(m.baseline, pct)} → {fmt(m.current, pct)}{ratio}</span>'),
            ("Trend since the split", f'<span class="{trend_cls}">{esc(d.trend)}</span>'),
            ("Split" + (" (chosen)" if chosen else " (at the onset)"), esc(when(split))),
            ("Rows analysed", f"{d.rows:,} (bucket {esc(d.bucket)})"),
            ("Window", f"{esc(when(d.window.start))} → {esc(when(d.window.end))}"),
            *_label_facts(d),
        ]
        self.html.value = f'<div class="wb-title">{esc(d.incident)}</div>{fact_cards(facts)}'


def _label_facts(d) -> list[tuple[str, str]]:
    """Header facts on labels still on their way: how many rows wait, since when, and the
    monitored metric's current estimate; none when every label is in."""
    labels = d.labels
    if labels is None or labels.complete:
        return []
    since = f" since {esc(when(labels.pending_since))}" if labels.pending_since else ""
    facts = [("Labels still missing",
              f'<span class="wb-labels-pending">{labels.pending_rows:,} rows{since} '
              f"({labels.pending_buckets} buckets)</span>")]
    est = d.estimation
    now = next((m for m in est.current if m.name == est.metric), None) if est else None
    if now is not None and now.estimated is not None:
        pct = is_rate(now.name)
        band = (f" [{fmt(now.lower, pct)}, {fmt(now.upper, pct)}]"
                if now.lower is not None and now.upper is not None else "")
        facts.append((f"{now.name.replace('_', ' ')} estimated now ({est.method.upper()})",
                      f"{fmt(now.estimated, pct)}{band}"))
    return facts


class LabelArrivalView(View):
    """Where labels lag: the realised metric beside its estimate (with its band) over a strip of
    label coverage per bucket; empty when every label is in or a segment is filtered."""

    observes = ("diagnosis", "segment")

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        self.chart = ChartSlot()
        return [self.html, self.chart]

    def render(self) -> None:
        d = self.state.diagnosis
        est = d.estimation if d is not None else None
        if est is None or self.state.segment or d.labels is None or d.labels.complete:
            self.html.value = ""
            self.chart.clear()
            return
        cal = est.calibration
        fitted = (f"{cal.method} calibration on {cal.rows:,} labelled {cal.source} rows"
                  if est.method == "cbpe" else f"a loss model on {cal.rows:,} labelled rows")
        note = f" {esc(est.support.note)}" if est.support and est.support.note else ""
        self.html.value = (
            "<p class='wb-hint wb-estimate-note'>Labels have not arrived for the latest buckets: "
            f"the dashed line estimates the {esc(est.metric.replace('_', ' '))} from the scores "
            f"({esc(est.method.upper())}, {esc(fitted)}); the band is its 95% interval and the "
            f"strip shows each bucket's labelled share.{note}</p>")
        self.chart.show(charts.estimated_metric(d))


class WindowBar(Syncing, View):
    """The window shared by every view: the baseline/current split and a segment filter."""

    observes = ("diagnosis", "impact", "segment", "busy")
    requires = ("impact",)
    problems = ("window",)

    def build(self) -> list[w.Widget]:
        self.picker = w.NaiveDatetimePicker(description="Split at (UTC)",
                                            style={"description_width": "initial"})
        self.apply = w.Button(description="Apply split", icon="check",
                              tooltip="Compare before and after this time")
        self.reset = w.Button(description="Back to the onset", icon="undo",
                              tooltip="Split at the detected onset again")
        self.segments = w.Dropdown(description="Segment", options=[("Everyone", "")],
                                   layout=w.Layout(width="340px"))
        self.apply.on_click(self._on_apply)
        self.reset.on_click(self._on_reset)
        self.segments.observe(self._on_segment, "value")
        bar = w.HBox([self.picker, self.apply, self.reset, self.segments],
                     layout=w.Layout(flex_flow="row wrap", align_items="center"))
        bar.add_class("wb-window")
        return [bar]

    def render(self) -> None:
        state, d = self.state, self.state.diagnosis
        busy = bool(state.busy)
        for control in (self.apply, self.reset, self.segments, self.picker):
            control.disabled = busy or d is None
        if busy:
            return
        with self.syncing():
            if d is not None:
                split = d.current_window.start
                self.picker.value = split.replace(second=0, microsecond=0) if split else None
                self.reset.disabled = state.split is None
            options = [("Everyone", "")]
            if state.impact is not None:
                options += [(f"{s.label}  ({s.excess_share:.0%} of extra errors)", s.label)
                            for s in state.impact.segments]
            if state.segment and state.segment not in [v for _, v in options]:
                options.append((state.segment, state.segment))
            self.segments.options = options
            self.segments.value = state.segment

    def _on_apply(self, _button: w.Button) -> None:
        value = self.picker.value
        if value is None:
            return
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None) - (value.utcoffset() or timedelta(0))
        self.state.split = value

    def _on_reset(self, _button: w.Button) -> None:
        self.state.split = None

    def _on_segment(self, change: dict) -> None:
        if not self._syncing:
            self.state.segment = change["new"] or ""


class MetricView(View):
    """The monitored metric over time with the onset, change-log events, the chosen split and,
    with a segment filter, the segment's own line."""

    observes = ("diagnosis", "impact")
    requires = ("impact",)

    def build(self) -> list[w.Widget]:
        self.chart = ChartSlot()
        return [self.chart]

    def render(self) -> None:
        d = self.state.diagnosis
        if d is None:
            return
        impact = self.state.impact
        seg = impact.segment_series if impact is not None else None
        split = d.current_window.start if self.state.split is not None else None
        self.chart.show(charts.metric_over_time(d, segment_series=seg, split=split))


class SuspectsView(View):
    """Ranked hypotheses: what probably broke, with the one-sentence action."""

    observes = ("diagnosis",)

    def __init__(self, state: IncidentState, limit: int = 6) -> None:
        self.limit = limit
        super().__init__(state)

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [self.html]

    def render(self) -> None:
        d = self.state.diagnosis
        if d is None:
            self.html.value = ""
            return
        if not d.hypotheses:
            self.html.value = ("<p>No suspects: the monitored metric shows no significant "
                               "change. If users still report wrong answers, pick another "
                               "split or segment.</p>")
            return
        rows = []
        for h in d.hypotheses[: self.limit]:
            target = h.feature or h.segment or h.model_version or ""
            bar = f'<span class="wb-score" style="width:{max(h.score, 0.02) * 80:.0f}px"></span>'
            rows.append([str(h.rank), f"{bar} {h.score:.2f}",
                         f"<b>{esc(h.signature)}</b><br><small>{esc(h.layer)}</small>",
                         esc(target), esc(h.change_id or ""), esc(h.summary)])
        self.html.value = table(["#", "score", "signature / layer",
                                 "feature / segment / version", "change",
                                 "what it means, what to do"], rows, "wb-suspects",
                                ["wb-suspect"] * len(rows))


class NextStepView(View):
    """The runbook of the top suspect: what it means, what to check, how to mitigate."""

    observes = ("diagnosis",)

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [self.html]

    def render(self) -> None:
        d = self.state.diagnosis
        top = d.top if d is not None else None
        book = runbook(top.signature) if top is not None else None
        if book is None:
            self.html.value = ""
            return
        steps = "".join(f"<li>{esc(s)}</li>" for s in book.steps)
        target = f" ({esc(top.feature or top.segment or top.model_version)})" if (
            top.feature or top.segment or top.model_version) else ""
        self.html.value = (
            f'<div class="wb-runbook"><b>Most likely: {esc(top.signature)}{target}.</b> '
            f"{esc(book.meaning)}<ol>{steps}</ol><b>Mitigate now:</b> {esc(book.mitigation)}"
            "</div>")


class FeatureView(Syncing, View):
    """A feature's distribution in production vs training; the dropdown picks the feature."""

    observes = ("diagnosis", "feature")

    def build(self) -> list[w.Widget]:
        self.picker = w.Dropdown(description="Feature", layout=w.Layout(width="360px"))
        self.picker.add_class("wb-feature-picker")
        self.stats = w.HTML()
        self.chart = ChartSlot()
        self.picker.observe(self._on_pick, "value")
        return [self.picker, self.stats, self.chart]

    def _on_pick(self, change: dict) -> None:
        if change["new"] and not self._syncing:
            self.state.feature = change["new"]

    def render(self) -> None:
        d, name = self.state.diagnosis, self.state.feature
        if d is None:
            return
        ranked = sorted(d.drift, key=lambda x: -x.psi)
        with self.syncing():
            self.picker.options = [(f"{x.feature}  (PSI {x.psi:.2f}, {x.severity})", x.feature)
                                   for x in ranked]
            if name in [x.feature for x in ranked]:
                self.picker.value = name
        hist = d.histogram(name)
        drift = next((x for x in d.drift if x.feature == name), None)
        if hist is None or drift is None:
            self.stats.value = ""
            self.chart.clear()
            return
        test = (f"KS {drift.ks:.3f}" if drift.ks is not None else
                f"χ² {fmt(drift.chi2)} (Cramér's V {fmt(drift.cramers_v, digits=3)})")
        self.stats.value = (
            f"<small>PSI vs training <b>{drift.psi:.3f}</b> · vs before the split "
            f"<b>{drift.psi_onset:.3f}</b> · {test} · JS {drift.js:.3f} · outside training "
            f"range {drift.outside_range_current:.1%} · nulls {drift.null_rate_current:.1%}"
            f"</small>")
        self.chart.show(charts.histogram_overlay(hist, include_baseline=True))
