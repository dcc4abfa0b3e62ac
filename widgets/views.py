"""Views of the triage app, each bound to the shared `IncidentState` and redrawn on change."""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.charting import chart_widget
from widgets.state import IncidentState
from workbench import charts
from workbench.results import Diagnosis
from workbench.timeutil import iso


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2%}" if pct else f"{value:.4g}"


class StatusView(w.VBox):
    """Busy indicator and readable error panel."""

    def __init__(self, state: IncidentState) -> None:
        self.busy = w.HTML()
        self.error = w.HTML()
        super().__init__([self.busy, self.error])
        state.observe(self._on_busy, "busy")
        state.observe(self._on_error, "error")
        self._on_busy({"new": state.busy})
        self._on_error({"new": state.error})

    def _on_busy(self, change: dict) -> None:
        msg = change["new"]
        self.busy.value = f'<div class="wb-busy">⏳ Working: {html.escape(msg)}…</div>' if msg \
            else ""

    def _on_error(self, change: dict) -> None:
        msg = change["new"]
        self.error.value = (f'<div class="wb-error"><b>Cannot analyse this incident.</b>\n'
                            f"{html.escape(msg)}</div>") if msg else ""


class HeaderView(w.HTML):
    """What happened, since when, how bad, and whether it is getting worse."""

    def __init__(self, state: IncidentState) -> None:
        super().__init__()
        state.observe(lambda ch: self.render(ch["new"]), "diagnosis")
        self.render(state.diagnosis)

    def render(self, d: Diagnosis | None) -> None:
        """Redraw from a diagnosis."""
        if d is None:
            self.value = ""
            return
        m = d.metric
        pct = "rate" in m.name or m.name in ("precision", "recall")
        ratio = f" ({m.current / m.baseline:.1f}×)" if m.baseline and m.current else ""
        onset = iso(d.onset) if d.onset else "no regression found"
        trend_cls = "wb-bad" if d.trend == "worsening" else ""
        facts = [
            ("Onset", onset),
            (m.name.replace("_", " "), f'<span class="wb-bad">{_fmt(m.baseline, pct)} → '
                                       f"{_fmt(m.current, pct)}{ratio}</span>"),
            ("Trend", f'<span class="{trend_cls}">{d.trend}</span>'),
            ("Rows analysed", f"{d.rows:,} (bucket {d.bucket})"),
            ("Window", f"{iso(d.window['start'])} → {iso(d.window['end'])}"),
        ]
        cards = "".join(f'<div class="wb-fact"><b>{html.escape(k)}</b>{v}</div>'
                        for k, v in facts)
        self.value = (f'<div class="wb-title">{html.escape(d.incident)}</div>'
                      f'<div class="wb-facts">{cards}</div>')


class MetricView(w.VBox):
    """The monitored metric over time with the onset and change-log events."""

    def __init__(self, state: IncidentState) -> None:
        self.chart = None
        super().__init__([])
        state.observe(lambda ch: self.render(ch["new"]), "diagnosis")
        self.render(state.diagnosis)

    def render(self, d: Diagnosis | None) -> None:
        """Redraw from a diagnosis."""
        if d is None:
            return
        spec = charts.metric_over_time(d)
        if self.chart is None:
            self.chart = chart_widget(spec)
            self.children = [self.chart]
        else:
            self.chart.chart = spec


class SuspectsView(w.HTML):
    """Ranked hypotheses: what probably broke, with the one-sentence action."""

    def __init__(self, state: IncidentState, limit: int = 6) -> None:
        super().__init__()
        self.limit = limit
        state.observe(lambda ch: self.render(ch["new"]), "diagnosis")
        self.render(state.diagnosis)

    def render(self, d: Diagnosis | None) -> None:
        """Redraw from a diagnosis."""
        if d is None:
            self.value = ""
            return
        if not d.hypotheses:
            self.value = ("<p>No suspects: the monitored metric shows no significant change. "
                          "If users still report wrong answers, pick another metric or window."
                          "</p>")
            return
        rows = []
        for h in d.hypotheses[: self.limit]:
            target = h.feature or h.segment or h.model_version or ""
            bar = f'<span class="wb-score" style="width:{max(h.score, 0.02) * 80:.0f}px"></span>'
            rows.append(
                f'<tr class="wb-suspect"><td>{h.rank}</td><td>{bar} {h.score:.2f}</td>'
                f"<td><b>{html.escape(h.signature)}</b><br><small>{html.escape(h.layer)}</small>"
                f"</td><td>{html.escape(target)}</td><td>{html.escape(h.change_id or '')}</td>"
                f"<td>{html.escape(h.summary)}</td></tr>")
        self.value = ('<table class="wb-table wb-suspects"><thead><tr><th>#</th><th>score</th>'
                      "<th>signature / layer</th><th>feature / segment / version</th>"
                      "<th>change</th><th>what it means, what to do</th></tr></thead><tbody>"
                      + "".join(rows) + "</tbody></table>")


class FeatureView(w.VBox):
    """A feature's distribution in production vs training; the dropdown picks the feature."""

    def __init__(self, state: IncidentState) -> None:
        self.state = state
        self.picker = w.Dropdown(description="Feature", layout=w.Layout(width="320px"))
        self.stats = w.HTML()
        self.chart = None
        super().__init__([self.picker, self.stats])
        self.picker.observe(self._on_pick, "value")
        state.observe(lambda ch: self._options(ch["new"]), "diagnosis")
        state.observe(lambda ch: self.render(), "feature")
        self._options(state.diagnosis)
        self.render()

    def _options(self, d: Diagnosis | None) -> None:
        if d is None:
            return
        ranked = sorted(d.drift, key=lambda x: -x.psi)
        self.picker.options = [(f"{x.feature}  (PSI {x.psi:.2f}, {x.severity})", x.feature)
                               for x in ranked]
        if self.state.feature in [x.feature for x in ranked]:
            self.picker.value = self.state.feature

    def _on_pick(self, change: dict) -> None:
        if change["new"]:
            self.state.feature = change["new"]

    def render(self) -> None:
        """Redraw for the selected feature."""
        d, name = self.state.diagnosis, self.state.feature
        if d is None or not name:
            return
        hist = d.histogram(name)
        drift = next((x for x in d.drift if x.feature == name), None)
        if hist is None or drift is None:
            return
        if self.picker.value != name:
            self.picker.value = name
        test = (f"KS {drift.ks:.3f}" if drift.ks is not None else
                f"χ² {drift.chi2:.1f} (Cramér's V {drift.cramers_v:.3f})")
        self.stats.value = (
            f"<small>PSI vs training <b>{drift.psi:.3f}</b> · vs before onset "
            f"<b>{drift.psi_onset:.3f}</b> · {test} · JS {drift.js:.3f} · outside training "
            f"range {drift.outside_range_current:.1%} · nulls {drift.null_rate_current:.1%}"
            f"</small>")
        spec = charts.histogram_overlay(hist, include_baseline=True)
        if self.chart is None:
            self.chart = chart_widget(spec)
            self.children = [self.picker, self.stats, self.chart]
        else:
            self.chart.chart = spec
