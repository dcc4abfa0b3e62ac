"""Phase 3, deep diagnosis: feature drift (table, histogram, drift over time), the slice
explorer, failing records with SHAP, their place in training and a what-if editor, and the
attribution drift of the model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ipywidgets as w

from widgets.base import ChartSlot, View, esc, fmt, is_rate, section, table, when
from widgets.base import facts as fact_cards
from widgets.views import FeatureView, Syncing
from workbench import charts
from workbench.explain import drilldown
from workbench.results import FeatureDrift

SORT_COLUMNS = {
    "psi": "PSI vs training",
    "psi_onset": "PSI vs before the split",
    "severity": "severity",
    "js": "Jensen-Shannon",
    "kl": "Kullback-Leibler",
    "ks": "Kolmogorov-Smirnov",
    "chi2": "χ²",
    "wasserstein": "Wasserstein",
    "dependence": "score dependence",
    "outside_range_current": "outside training's range",
    "feature": "name",
}
SEVERITY_ORDER = {"major": 2, "moderate": 1, "stable": 0}
RECORD_SORTS = {
    "score": "most confidently wrong first",
    "time": "latest first",
    "shap": "largest top |SHAP| first",
}


def sort_drift(drift: tuple[FeatureDrift, ...], column: str) -> list[FeatureDrift]:
    """Features ordered by a drift column: largest first, missing values last; names A-Z."""
    if column == "feature":
        return sorted(drift, key=lambda d: d.feature)
    if column == "severity":
        return sorted(drift, key=lambda d: (-SEVERITY_ORDER.get(d.severity, -1), -d.psi))

    def key(d: FeatureDrift) -> tuple[int, float, str]:
        value = getattr(d, column)
        missing = value is None or value != value
        return (1 if missing else 0, 0.0 if missing else -float(value), d.feature)

    return sorted(drift, key=key)


class DriftTableView(Syncing, View):
    """Every feature's drift statistics, sorted by the column the picker names."""

    observes = ("diagnosis", "feature")

    def build(self) -> list[w.Widget]:
        self.sort = w.Dropdown(description="Sort by", value="psi",
                               options=[(label, key) for key, label in SORT_COLUMNS.items()],
                               layout=w.Layout(width="320px"))
        self.sort.add_class("wb-sort")
        self.html = w.HTML()
        self.sort.observe(lambda _change: self._redraw(), "value")
        return [self.sort, self.html]

    def _redraw(self) -> None:
        self._drawn = None
        self._refresh()

    def render(self) -> None:
        d = self.state.diagnosis
        if d is None:
            self.html.value = ""
            return
        rows, classes = [], []
        for x in sort_drift(d.drift, self.sort.value):
            ks = "" if x.ks is None else f"{x.ks:.3f} (p {fmt(x.ks_pvalue, digits=2)})"
            chi = "" if x.chi2 is None else f"{fmt(x.chi2)} (V {fmt(x.cramers_v, digits=2)})"
            means = ("" if x.mean_reference is None else
                     f"{fmt(x.mean_reference)} → {fmt(x.mean_current)}")
            rows.append([f"<b>{esc(x.feature)}</b>", esc(x.kind),
                         f'<span class="wb-sev wb-sev-{esc(x.severity)}">{esc(x.severity)}'
                         "</span>", f"{x.psi:.3f}", f"{x.psi_onset:.3f}", f"{x.js:.3f}",
                         f"{x.kl:.3f}", ks, chi, fmt(x.wasserstein, digits=3),
                         f"{x.dependence:.2f}", f"{x.outside_range_current:.1%}",
                         f"{x.null_rate_current:.1%}", means,
                         esc(when(x.shift_time) if x.shift_time else "")])
            classes.append("wb-picked" if x.feature == self.state.feature else "")
        self.html.value = table(
            ["feature", "kind", "severity", "PSI", "PSI vs before split", "JS", "KL", "KS",
             "χ²", "Wasserstein", "score dependence", "outside range", "nulls now",
             "mean training → now", "shifted at"], rows, "wb-drift", classes)


class DriftOverTimeView(View):
    """The selected feature's PSI against training per bucket: when did it start to drift?"""

    observes = ("feature_drift", "diagnosis")
    requires = ("feature_drift",)
    problems = ("feature_drift",)

    def build(self) -> list[w.Widget]:
        self.chart = ChartSlot()
        return [self.chart]

    def render(self) -> None:
        series, d = self.state.feature_drift, self.state.diagnosis
        if series is None or d is None:
            self.chart.clear()
            return
        feature = series.name.partition(":")[2]
        self.chart.show(charts.drift_over_time(series, feature, d.bucket, d.onset))


def slice_label(conditions: tuple[str, ...]) -> str:
    """How a slice is named in the state and the menus."""
    return " & ".join(conditions)


class SliceExplorer(Syncing, View):
    """The worst slices (within the segment filter); picking one shows its numbers."""

    observes = ("diagnosis", "slice", "segment")

    def build(self) -> list[w.Widget]:
        self.picker = w.Dropdown(description="Slice", layout=w.Layout(width="640px"))
        self.picker.add_class("wb-slice-picker")
        self.numbers = w.HTML()
        self.chart = ChartSlot()
        self.picker.observe(self._on_pick, "value")
        return [self.picker, self.numbers, self.chart]

    def _on_pick(self, change: dict) -> None:
        if change["new"] and not self._syncing:
            self.state.slice = change["new"]

    def render(self) -> None:
        d = self.state.diagnosis
        if d is None:
            return
        if not d.slices:
            self.numbers.value = ("<p>No slices: slice discovery needs labels and segment or "
                                  "feature columns, and an onset.</p>")
            self.chart.clear()
            return
        segment = self.state.segment
        shown = [s for s in d.slices if not segment or segment in s.conditions]
        note = ""
        if segment and not shown:
            note = (f"<p class='wb-hint'>No slice names {esc(segment)}; showing all slices."
                    "</p>")
            shown = list(d.slices)
        labels = [slice_label(s.conditions) for s in shown]
        with self.syncing():
            self.picker.options = labels
            if self.state.slice in labels:
                self.picker.value = self.state.slice
        picked = next((s for s in shown if slice_label(s.conditions) == self.picker.value),
                      None)
        self.chart.show(charts.slices(shown, self.picker.value or ""))
        if picked is None:
            self.numbers.value = note
            return
        pct = is_rate(d.metric.name)
        facts = [
            ("slice", esc(slice_label(picked.conditions))),
            ("rows since the split", f"{picked.rows_current:,}"),
            (d.metric.name.replace("_", " ") + " before → after",
             f'{fmt(picked.metric_baseline, pct)} → <span class="wb-bad">'
             f"{fmt(picked.metric_current, pct)}</span>"),
            ("vs everyone after the split", f"{picked.lift:.1f}×"),
            ("extra errors", f"{picked.excess:,.0f}"),
            ("share of all extra errors", f"{picked.score:.0%}"),
        ]
        self.numbers.value = note + fact_cards(facts, "wb-slice-numbers")


def record_line(record: Any) -> str:
    """One failing record as a fixed-width line of the records list."""
    top = record.contributions[0] if record.contributions else None
    feature = f"{top.feature} {top.shap:+.3f}" if top else ""
    score = "n/a" if record.score is None else f"{record.score:.3f}"
    label = "n/a" if record.label is None else f"{record.label:g}"
    stamp = when(record.time)[:16] if record.time else ""
    return f"{record.record_id:<20} {stamp:<16} {score:>6} {label:>5}  {feature}"


def sort_records(records: tuple, key: str) -> list:
    """Failing records in the order the picker names."""
    if key == "time":
        return sorted(records, key=lambda r: r.time or datetime.min, reverse=True)
    if key == "shap":
        return sorted(records, key=lambda r: -abs(r.contributions[0].shap)
                      if r.contributions else 0.0)
    return list(records)  # as selected: most confidently wrong first


class FailingRecordsView(Syncing, View):
    """The failing records of the current window and segment: a sortable list to pick from."""

    observes = ("failing", "record", "segment")
    requires = ("failing",)
    problems = ("failing",)

    def build(self) -> list[w.Widget]:
        self.sort = w.Dropdown(description="Order", value="score",
                               options=[(label, key) for key, label in RECORD_SORTS.items()],
                               layout=w.Layout(width="360px"))
        self.summary = w.HTML()
        self.head = w.HTML()
        self.list = w.Select(rows=10, layout=w.Layout(width="100%"))
        self.list.add_class("wb-records")
        self.sort.observe(lambda _change: self._redraw(), "value")
        self.list.observe(self._on_pick, "value")
        return [self.summary, self.sort, self.head, self.list]

    def _redraw(self) -> None:
        self._drawn = None
        self._refresh()

    def _on_pick(self, change: dict) -> None:
        if change["new"] and not self._syncing:
            self.state.record = change["new"]

    def render(self) -> None:
        failing = self.state.failing
        if failing is None:
            self.summary.value = ""
            with self.syncing():
                self.list.options = []
            return
        who = f"segment {esc(self.state.segment)}" if self.state.segment else "everyone"
        self.summary.value = (
            f"<p>Showing <b>{len(failing.records)}</b> of <b>{failing.total:,}</b> "
            f"{esc(failing.description)} since the split ({who}; change the segment in the "
            f"window bar above). Model {esc(failing.explainer.model)}, SHAP "
            f"{esc(failing.explainer.kind)} in {esc(failing.explainer.output)} units.</p>")
        self.head.value = ('<pre class="wb-records-head">'
                           f"{'record id':<20} {'time (UTC)':<16} {'score':>6} {'label':>5}  "
                           "top feature (SHAP)</pre>")
        ordered = sort_records(failing.records, self.sort.value)
        with self.syncing():
            self.list.options = [(record_line(r), r.record_id) for r in ordered]
            if self.state.record in [r.record_id for r in ordered]:
                self.list.value = self.state.record


class RecordView(View):
    """The selected record: SHAP bars, and where its top features sit in training."""

    observes = ("record", "failing", "diagnosis")
    requires = ("failing",)

    def build(self) -> list[w.Widget]:
        self.facts = w.HTML()
        self.shap = ChartSlot()
        self.where = ChartSlot()
        row = w.HBox([self.shap, self.where], layout=w.Layout(flex_flow="row wrap",
                                                             align_items="flex-start"))
        return [self.facts, row]

    def render(self) -> None:
        record, d = self.state.selected_record, self.state.diagnosis
        if record is None or d is None:
            self.facts.value = ""
            self.shap.clear()
            self.where.clear()
            return
        decision = {1: "positive", 0: "negative"}.get(record.decision, "n/a")
        label = "n/a" if record.label is None else f"{record.label:g}"
        facts = [("record", esc(record.record_id)), ("time", esc(when(record.time))),
                 ("logged score", fmt(record.score)), ("model's score", fmt(record.model_score)),
                 ("decision", decision), ("true label", label)]
        if record.neighbours:
            near = record.neighbours[0]
            facts.append(("nearest correct training row", f"score {near.score:.3f}, label "
                                                           f"{fmt(near.label)}"))
        self.facts.value = fact_cards(facts, "wb-record-facts")
        self.shap.show(charts.shap_bars(record))
        positions = drilldown.record_positions(d, record)
        if positions:
            self.where.show(charts.record_in_training(positions, record.record_id))
        else:
            self.where.clear()


class WhatIfView(Syncing, View):
    """Change one value of the selected record and see its new score."""

    observes = ("record", "failing", "what_if")
    problems = ("what_if",)
    _for_record: str | None = None  # the record the editor was last filled from

    def build(self) -> list[w.Widget]:
        self.feature = w.Dropdown(description="Set", layout=w.Layout(width="260px"))
        self.feature.add_class("wb-whatif-feature")
        self.value = w.Text(description="to", layout=w.Layout(width="220px"),
                            style={"description_width": "initial"})
        self.value.add_class("wb-whatif-value")
        self.run = w.Button(description="Re-score", icon="play", button_style="primary")
        self.result = w.HTML()
        self.feature.observe(self._on_feature, "value")
        self.run.on_click(lambda _b: self.state.rescore(self.feature.value or "",
                                                        self.value.value))
        return [w.HBox([self.feature, self.value, self.run],
                       layout=w.Layout(flex_flow="row wrap", align_items="center")),
                self.result]

    def _values(self) -> dict[str, Any]:
        record = self.state.selected_record
        return {c.feature: c.value for c in record.contributions} if record else {}

    def _on_feature(self, change: dict) -> None:
        if not self._syncing and change["new"]:
            value = self._values().get(change["new"])
            self.value.value = "" if value is None else str(value)

    def render(self) -> None:
        record = self.state.selected_record
        disabled = record is None
        self.run.disabled = disabled
        if record is None:
            self.result.value = "<p class='wb-hint'>Select a failing record above.</p>"
            return
        names = [c.feature for c in record.contributions]
        if record.record_id != self._for_record:  # a new record: start from its top feature
            self._for_record = record.record_id
            with self.syncing():
                self.feature.options = names
                self.feature.value = names[0] if names else None
                value = self._values().get(self.feature.value)
                self.value.value = "" if value is None else str(value)
        result = self.state.what_if
        if result is None or not result.records or result.records[0].record_id != \
                record.record_id:
            self.result.value = ("<p class='wb-hint'>Type a value (e.g. the value before the "
                                 "change) and re-score.</p>")
            return
        r = result.records[0]
        words = {1: "positive", 0: "negative", None: "n/a"}
        flip = (" — <b class='wb-ok'>the decision flips</b>" if r.flipped else
                " — the decision stays")
        changed = ", ".join(f"{esc(f)} {esc(a)} → {esc(b)}" for f, (a, b) in r.changed.items())
        self.result.value = (
            f'<div class="wb-whatif">Record <b>{esc(r.record_id)}</b> with {changed}: score '
            f"<b>{r.score_before:.3f} → {r.score_after:.3f}</b>, decision "
            f"{words.get(r.decision_before)} → {words.get(r.decision_after)}{flip}.</div>")


class AttributionView(View):
    """Mean |SHAP| per feature before and after the split."""

    observes = ("attribution",)
    requires = ("attribution",)
    problems = ("attribution",)

    def build(self) -> list[w.Widget]:
        self.chart = ChartSlot()
        self.caption = w.HTML()
        return [self.chart, self.caption]

    def render(self) -> None:
        drift = self.state.attribution
        if drift is None:
            self.chart.clear()
            self.caption.value = ""
            return
        self.chart.show(charts.attribution(drift))
        top = drift.top
        if top is not None:
            times = f" ({top.ratio:.1f}×)" if top.ratio is not None else ""
            self.caption.value = (
                f"<p class='wb-hint'>The model's reliance grew most on <b>{esc(top.feature)}</b>"
                f": mean |SHAP| {top.mean_abs_baseline:.3g} → {top.mean_abs_current:.3g}{times}"
                f", on {drift.rows_baseline} and {drift.rows_current} sampled rows.</p>")


class DeepDivePhase(w.VBox):
    """Phase 3 as one widget."""

    def __init__(self, state) -> None:
        feature_row = w.HBox([FeatureView(state), DriftOverTimeView(state)],
                             layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__([
            section("Which inputs moved?", "Every feature against training and against the "
                    "window before the split; pick the column to sort by."),
            DriftTableView(state),
            section("The selected feature", "Its distribution in production against training "
                    "(left) and, per bucket, how far it drifted (right)."),
            feature_row,
            section("Which slices hold the extra errors?", "Segments and feature ranges whose "
                    "error rate rose most, by their share of the extra errors."),
            SliceExplorer(state),
            section("Failing records", "The most confidently wrong records since the split. "
                    "Pick one to see why the model scored it so."),
            FailingRecordsView(state),
            RecordView(state),
            section("What if?", "Change one input of the selected record (for instance back to "
                    "the value it had before the change) and re-score it with the model."),
            WhatIfView(state),
            section("What does the model lean on now?", "Mean |SHAP| per feature on sampled "
                    "rows before and after the split: a jump marks the input that drives the "
                    "new errors."),
            AttributionView(state),
        ])
        self.add_class("wb-phase")
        self.add_class("wb-phase-deep-dive")
