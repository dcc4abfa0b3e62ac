"""Phase 2, isolate the layer: one row per layer with its verdict and headline number; a row
expands to the evidence behind the verdict, with a chart where one helps."""

from __future__ import annotations

import ipywidgets as w

from widgets.base import ChartSlot, View, error_panel, esc, fmt, section, table, when
from widgets.state import readable
from workbench import charts
from workbench.results import Diagnosis, LayerVerdict
from workbench.stages import summary
from workbench.stages.features import drift_over_time

LAYER_TITLES = {
    "serving": "Serving infrastructure",
    "model": "Model version",
    "feature_pipeline": "Feature pipeline",
    "input_data": "Input data",
    "external": "External dependencies and upstream changes",
}
VERDICT_ICONS = {"healthy": "●", "suspect": "▲", "failing": "■", "unknown": "○"}


class LayerRow(View):
    """One layer: verdict badge, colour and headline; the toggle shows its evidence."""

    observes = ("diagnosis",)

    def __init__(self, state, layer: str) -> None:
        self.layer = layer
        super().__init__(state)
        self.add_class("wb-layer")
        self.add_class(f"wb-layer-{layer}")

    def build(self) -> list[w.Widget]:
        self.toggle = w.ToggleButton(description="Evidence", icon="chevron-right",
                                     tooltip="Show the numbers behind this verdict",
                                     layout=w.Layout(width="120px"))
        self.headline = w.HTML()
        self.details = w.VBox(layout=w.Layout(display="none"))
        self.details.add_class("wb-layer-details")
        self.evidence = w.HTML()
        self.chart = ChartSlot()
        self.details.children = [self.evidence, self.chart]
        self.toggle.observe(self._on_toggle, "value")
        return [w.HBox([self.toggle, self.headline], layout=w.Layout(align_items="center")),
                self.details]

    @property
    def verdict(self) -> LayerVerdict | None:
        d = self.state.diagnosis
        return d.layer(self.layer) if d is not None else None

    def render(self) -> None:
        v = self.verdict
        if v is None:
            self.headline.value = ""
            return
        for name in VERDICT_ICONS:
            self.remove_class(f"wb-verdict-{name}")
        self.add_class(f"wb-verdict-{v.verdict}")
        self.headline.value = (
            f'<span class="wb-badge wb-{esc(v.verdict)}">{VERDICT_ICONS.get(v.verdict, "")} '
            f"{esc(v.verdict)}</span> <b>{esc(LAYER_TITLES.get(v.layer, v.layer))}</b> — "
            f'<span class="wb-headline">{esc(v.headline)}</span>')
        if self.toggle.value:
            self._draw_details(self.state.diagnosis, v)

    def _on_toggle(self, change: dict) -> None:
        self.details.layout.display = "flex" if change["new"] else "none"
        self.toggle.icon = "chevron-down" if change["new"] else "chevron-right"
        v = self.verdict
        if change["new"] and v is not None:
            try:
                self._draw_details(self.state.diagnosis, v)
                self.notice.value = ""
            except Exception as exc:  # noqa: BLE001 - shown in this row's panel
                self.notice.value = error_panel([readable(exc)], "Evidence unavailable")

    def _draw_details(self, d: Diagnosis, v: LayerVerdict) -> None:
        rows = [[esc(e.statistic), fmt(e.value), fmt(e.baseline), esc(e.window or ""),
                 fmt(e.threshold), esc(e.detail or "")] for e in v.evidence]
        html = table(["statistic", "value", "baseline", "window", "threshold", "detail"], rows,
                     "wb-evidence") if rows else "<p>No evidence records for this layer.</p>"
        self.evidence.value = html + self._extra_table(d)
        chart = self._chart(d, v)
        if chart is None:
            self.chart.clear()
        else:
            self.chart.show(chart)

    def _extra_table(self, d: Diagnosis) -> str:
        if self.layer == "feature_pipeline":
            rows = [[esc(x.feature), f"{x.null_rate_baseline:.1%}", f"{x.null_rate_current:.1%}",
                     f"{x.outside_range_current:.1%}"] for x in d.drift]
            return table(["feature", "nulls before", "nulls after",
                          "outside training's range after"], rows, "wb-evidence")
        if self.layer == "external":
            rows = [[esc(when(c.time)), esc(c.id), esc(c.kind), esc(c.description),
                     f"{c.proximity:.2f}"] for c in sorted(d.changes, key=lambda c: c.time)]
            return table(["time", "change", "kind", "description", "proximity to onset"],
                         rows, "wb-evidence")
        return ""

    def _chart(self, d: Diagnosis, v: LayerVerdict):
        store = self.state.store
        if store is None:
            return None
        baseline, current = d.baseline_window, d.current_window
        with self.state.working(f"evidence for the {self.layer} layer"):
            if self.layer == "serving":
                series = summary.serving_series(store, self.state.bucket_seconds,
                                                baseline.start, current.end)
                return charts.signals_over_time(series, "Serving signals per "
                                                f"{d.bucket}", d.onset)
            if self.layer == "model" and store.roles.model_version is not None:
                found = summary.version_metrics(store, d.metric.name, baseline.start,
                                                current.end, current.start)
                return charts.versions(found, d.metric.name)
            if self.layer == "input_data" and d.drift:
                worst = max(d.drift, key=lambda x: x.psi_onset).feature
                series = drift_over_time(store, worst, self.state.bucket_seconds,
                                         baseline.start, current.end)
                return charts.drift_over_time(series, worst, d.bucket, d.onset)
        return None


class LayersView(w.VBox):
    """Every layer, in the order an on-call engineer checks them."""

    def __init__(self, state, layers: tuple[str, ...] = tuple(LAYER_TITLES)) -> None:
        self.rows = {name: LayerRow(state, name) for name in layers}
        super().__init__(list(self.rows.values()))
        self.add_class("wb-layers")


class IsolatePhase(w.VBox):
    """Phase 2 as one widget."""

    def __init__(self, state) -> None:
        super().__init__([
            section("Which layer broke?", "Healthy layers can be ruled out; open a failing or "
                    "suspect layer to see the numbers (and a chart) behind its verdict."),
            LayersView(state),
        ])
        self.add_class("wb-phase")
        self.add_class("wb-phase-isolate")
