"""Fix verification as a widget: replay up to three declared fixes and compare them.

`FixState` runs the core's `Replayer` over the app's `IncidentState` (its store and the
diagnosis of its window: the triage never runs again) and publishes the `Verification` results
as a trait; `VerifyView` draws the verdicts, a bar chart of the monitored metric per fix against
the baseline's interval, and the side effects. No statistic is computed here: every number comes
from the results.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as w
import traitlets

from widgets.charting import chart_widget
from widgets.journal import JournalState
from widgets.state import IncidentState, readable
from workbench.charts import fix_comparison_chart
from workbench.results import Diagnosis
from workbench.verify import Replayer, Verification, record
from workbench.verify.results import MetricEstimate

MAX_FIXES = 3


class FixState(traitlets.HasTraits):
    """Verifications of the fixes last replayed, shared by the verify and report views."""

    results = traitlets.Tuple(read_only=True,
                              help="Verification of each fix replayed last, in picking order")
    busy = traitlets.Unicode("", help="what is being replayed now; empty when idle")
    error = traitlets.Unicode("", help="why the last replay failed; empty when all is well")

    def __init__(self, state: IncidentState, journal: JournalState | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.journal = journal
        self._replayer: Replayer | None = None

    @property
    def fix_names(self) -> list[str]:
        """The fixes declared in the incident config."""
        incident = self.state.incident
        return [f.name for f in incident.fixes] if incident is not None else []

    def run(self, names: Sequence[str]) -> None:
        """Replay the named fixes (at most three) and record each in the journal."""
        names = list(names)
        if not names:
            self.error = "Pick at least one fix to replay."
            return
        if len(names) > MAX_FIXES:
            self.error = f"Pick at most {MAX_FIXES} fixes to compare side by side."
            return
        diagnosis = self.state.diagnosis
        if self.state.store is None or diagnosis is None:
            self.error = self.state.error or "The incident is not open."
            return
        self.error = ""
        out = []
        try:
            replayer = self._replayer_for(diagnosis)
            for name in names:
                self.busy = f"replaying fix {name!r}"
                result = replayer.run(name, progress=self._progress)
                out.append(result)
                if self.journal is not None and self.journal.journal is not None:
                    record(self.journal.journal, result)
        except Exception as exc:  # noqa: BLE001 - app users must see a message
            self.error = readable(exc)
        finally:
            self.busy = ""
            if self.journal is not None:
                self.journal.refresh()
        self.set_trait("results", tuple(out))

    def _replayer_for(self, diagnosis: Diagnosis) -> Replayer:
        """A replayer against the windows of the diagnosis shown (kept while it is shown)."""
        if self._replayer is None or self._replayer.diagnosis is not diagnosis:
            self._replayer = Replayer(self.state.store, diagnosis)
        return self._replayer

    def _progress(self, message: str) -> None:
        self.busy = message

    @property
    def best(self) -> Verification | None:
        """The first replayed fix that restores the metric, else the first replayed."""
        return next((r for r in self.results if r.restores),
                    self.results[0] if self.results else None)


class VerifyView(w.VBox):
    """Pick up to three declared fixes, replay them, compare verdicts, chart and side effects."""

    def __init__(self, fixes: FixState) -> None:
        self.fixes = fixes
        self.boxes = [w.Checkbox(value=False, description=name, indent=False,
                                 layout=w.Layout(width="auto"))
                      for name in fixes.fix_names]
        for box in self.boxes:
            box.add_class("wb-fix-choice")
        self.button = w.Button(description="Replay selected fixes", button_style="primary",
                               icon="play", layout=w.Layout(width="auto"))
        self.button.add_class("wb-verify-run")
        self.status = w.HTML()
        self.verdicts = w.HTML()
        self.effects = w.HTML()
        self.chart = None
        intro = w.HTML("<p>No fix is declared in <code>[[fixes]]</code> of the incident config."
                       "</p>" if not self.boxes else
                       f"<p><small>Pick up to {MAX_FIXES} fixes; each replays the incident "
                       f"window's logged rows and is judged against the baseline.</small></p>")
        super().__init__([intro, w.HBox(self.boxes), self.button, self.status, self.verdicts])
        self.button.on_click(lambda _b: self.fixes.run(
            [b.description for b in self.boxes if b.value]))
        fixes.observe(lambda _ch: self._status(), names=["busy", "error"])
        fixes.observe(lambda _ch: self.render(), names="results")
        self._status()
        self.render()

    def _status(self) -> None:
        f = self.fixes
        if f.busy:
            self.status.value = f'<div class="wb-busy">⏳ {html.escape(f.busy)}…</div>'
        elif f.error:
            self.status.value = f'<div class="wb-error">{html.escape(f.error)}</div>'
        else:
            self.status.value = ""
        self.button.disabled = bool(f.busy)

    def render(self) -> None:
        """Redraw from the results."""
        results = self.fixes.results
        if not results:
            self.verdicts.value = ""
            return
        self.verdicts.value = ('<div class="wb-facts">'
                               + "".join(_verdict_card(r) for r in results) + "</div>")
        self.effects.value = _effects_table(results)
        spec = fix_comparison_chart(results)
        if self.chart is None:
            self.chart = chart_widget(spec)
        else:
            self.chart.chart = spec
        self.children = [*self.children[:5], self.chart, self.effects]


def _ci(e: MetricEstimate) -> str:
    if not e.known:
        return "n/a"
    return f"{e.value:.4f} [{e.lower:.4f}, {e.upper:.4f}]"


def _verdict_card(r: Verification) -> str:
    cls = "wb-ok" if r.restores else "wb-bad"
    p = r.primary
    return (f'<div class="wb-fact wb-verdict" data-fix="{html.escape(r.fix.name)}">'
            f"<b>{html.escape(r.fix.name)} ({html.escape(r.fix.kind)})</b>"
            f'<span class="{cls} wb-verdict-word">{html.escape(r.verdict)}</span><br>'
            f"<small>{html.escape(p.name.replace('_', ' '))}: {_ci(p.before)} as logged → "
            f"{_ci(p.after)} after; baseline {_ci(p.baseline)}<br>"
            f"{r.rows:,} rows replayed ({r.rows_per_second:,.0f} rows/s), "
            f"{len(r.side_effects)} side effect(s)</small></div>")


def _effects_table(results: Sequence[Verification]) -> str:
    rows = []
    for r in results:
        for s in r.side_effects:
            rows.append(f"<tr><td>{html.escape(r.fix.name)}</td><td>{html.escape(s.segment)}="
                        f"{html.escape(s.value)}</td><td>{html.escape(s.metric)}</td>"
                        f"<td>{_ci(s.baseline)}</td><td>{_ci(s.before)}</td>"
                        f"<td>{_ci(s.after)}</td></tr>")
    body = "".join(rows) or ('<tr><td colspan="6">None: no segment got worse than both its '
                             "logged and its baseline value beyond their intervals.</td></tr>")
    return ("<h4>Side effects per segment</h4>"
            '<table class="wb-table wb-side-effects"><thead><tr><th>fix</th><th>segment</th>'
            "<th>metric</th><th>baseline</th><th>as logged</th><th>after the fix</th></tr>"
            f"</thead><tbody>{body}</tbody></table>")
