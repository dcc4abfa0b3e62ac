"""Core results -> Altair charts. The only core module importing altair; no statistics here.

Charts carry aggregated data only (one point per bucket or bin), so they stay small in the
browser whatever the log size. Used by the widgets and, through vl-convert, by static reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from workbench.results import Diagnosis, Histogram, MetricSeries, Slice
from workbench.timeutil import parse_duration

if TYPE_CHECKING:
    from workbench.explain.drilldown import RecordPosition
    from workbench.explain.results import AttributionDrift, RecordExplanation
    from workbench.stages.summary import SegmentImpact, VersionMetric
    from workbench.verify.results import MetricEstimate, Verification

KIND_COLORS = {
    "upstream": "#d62728", "data": "#ff7f0e", "schema": "#e377c2", "model": "#9467bd",
    "code": "#8c564b", "config": "#7f7f7f", "infra": "#17becf",
}


def metric_frame(diagnosis: Diagnosis, metric: str) -> pd.DataFrame:
    """The metric per bucket as a frame (bucket, value, rows)."""
    series = next((s for s in diagnosis.series if s.name == metric), None)
    if series is None:
        names = ", ".join(s.name for s in diagnosis.series)
        raise KeyError(f"No series for metric {metric!r}; available: {names}.")
    return pd.DataFrame({"bucket": list(series.buckets), "value": list(series.values),
                         "rows": list(series.weights)})


def metric_over_time(diagnosis: Diagnosis, metric: str | None = None,
                     width: int = 720, height: int = 240, *,
                     segment_series: MetricSeries | None = None,
                     split: datetime | None = None) -> alt.LayerChart:
    """Metric per bucket with the onset (red rule) and change-log events (coloured rules).

    segment_series: the same metric within one segment, drawn over the overall line; split: a
    baseline/current boundary chosen by hand, drawn as a black dashed rule when it is not the
    onset.
    """
    name = metric or diagnosis.metric.name
    df = metric_frame(diagnosis, name)
    title = name.replace("_", " ").capitalize() + " per " + diagnosis.bucket
    tooltip = [alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
               alt.Tooltip("value:Q", format=".4f"), alt.Tooltip("rows:Q", format=",")]
    if segment_series is None:
        line = alt.Chart(df).mark_line(point=False, strokeWidth=1.5).encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("value:Q", title=name.replace("_", " ")),
            tooltip=tooltip,
        )
    else:
        label = segment_series.name.partition(" (")[2].rstrip(")") or segment_series.name
        seg = pd.DataFrame({"bucket": list(segment_series.buckets),
                            "value": list(segment_series.values),
                            "rows": list(segment_series.weights), "series": label})
        both = pd.concat([df.assign(series="everyone"), seg], ignore_index=True)
        title += f": everyone vs {label}"
        line = alt.Chart(both).mark_line(point=False, strokeWidth=1.5).encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("value:Q", title=name.replace("_", " ")),
            color=alt.Color("series:N", title=None, sort=["everyone", label],
                            scale=alt.Scale(domain=["everyone", label],
                                            range=["#9e9e9e", "#54a24b"]),
                            legend=alt.Legend(orient="top-left")),
            tooltip=["series:N", *tooltip],
        )
    layers: list[alt.Chart] = [line]
    start, end = df["bucket"].min(), df["bucket"].max()
    events = pd.DataFrame([
        {"time": c.time, "id": c.id, "kind": c.kind, "description": c.description}
        for c in diagnosis.changes if start <= pd.Timestamp(c.time) <= end
    ])
    if not events.empty:
        layers.append(alt.Chart(events).mark_rule(strokeDash=[4, 3], strokeWidth=1.5).encode(
            x="time:T",
            color=alt.Color("kind:N", title="change",
                            scale=alt.Scale(domain=list(KIND_COLORS),
                                            range=list(KIND_COLORS.values()))),
            tooltip=["id:N", "kind:N", "description:N",
                     alt.Tooltip("time:T", format="%Y-%m-%d %H:%M")],
        ))
    if diagnosis.onset is not None:
        onset = pd.DataFrame({"time": [diagnosis.onset], "label": ["onset"]})
        rule = alt.Chart(onset).mark_rule(color="#d62728", strokeWidth=2.5).encode(
            x="time:T", tooltip=[alt.Tooltip("time:T", title="onset",
                                             format="%Y-%m-%d %H:%M")])
        text = alt.Chart(onset).mark_text(align="left", dx=4, dy=-4, color="#d62728",
                                          fontWeight="bold").encode(
            x="time:T", y=alt.value(8), text="label:N")
        layers += [rule, text]
    if split is not None and split != diagnosis.onset:
        mark = pd.DataFrame({"time": [split], "label": ["split"]})
        layers += [
            alt.Chart(mark).mark_rule(color="#555555", strokeDash=[6, 3], strokeWidth=2).encode(
                x="time:T", tooltip=[alt.Tooltip("time:T", title="split",
                                                 format="%Y-%m-%d %H:%M")]),
            alt.Chart(mark).mark_text(align="left", dx=4, dy=10, fontWeight="bold").encode(
                x="time:T", y=alt.value(8), text="label:N"),
        ]
    chart = alt.layer(*layers).properties(title=title, width=width, height=height)
    if segment_series is not None:  # the segment lines and the change kinds: two legends
        chart = chart.resolve_scale(color="independent")
    return chart


def histogram_frame(hist: Histogram, include_baseline: bool = True) -> pd.DataFrame:
    """Share of rows per bin for the reference and the production windows (long form)."""
    sources = {"training (reference)": hist.reference, "production after onset": hist.current}
    if include_baseline:
        sources["production before onset"] = hist.baseline
    rows = []
    for source, counts in sources.items():
        total = sum(counts) or 1.0
        for order, (label, count) in enumerate(zip(hist.labels, counts, strict=True)):
            rows.append({"bin": label, "order": order, "source": source,
                         "share": count / total, "rows": count})
    df = pd.DataFrame(rows)
    # Drop bins empty everywhere (e.g. no nulls) so the chart shows what matters.
    keep = df.groupby("bin")["rows"].transform("sum") > 0
    return df[keep]


def histogram_overlay(hist: Histogram, include_baseline: bool = False, width: int = 520,
                      height: int = 220) -> alt.Chart:
    """Overlaid distributions of one feature: production vs training, bins chosen on training."""
    df = histogram_frame(hist, include_baseline)
    order = df.drop_duplicates("bin").sort_values("order")["bin"].tolist()
    colors = alt.Scale(domain=["training (reference)", "production before onset",
                               "production after onset"],
                       range=["#4c78a8", "#9ecae9", "#e45756"])
    return alt.Chart(df).mark_bar(opacity=0.55).encode(
        x=alt.X("bin:N", sort=order, title=f"{hist.feature} (bins from training)",
                axis=alt.Axis(labelAngle=-40, labelLimit=90)),
        y=alt.Y("share:Q", stack=None, title="share of rows", axis=alt.Axis(format="%")),
        color=alt.Color("source:N", scale=colors, title=None,
                        legend=alt.Legend(orient="top")),
        tooltip=["source:N", "bin:N", alt.Tooltip("share:Q", format=".2%"),
                 alt.Tooltip("rows:Q", format=",.0f")],
    ).properties(title=f"Feature '{hist.feature}': production vs training", width=width,
                 height=height)


# ---- charts of the guided app's phases ------------------------------------------------------

PSI_RULES = ((0.1, "moderate"), (0.25, "major"))


def _series_frame(series: MetricSeries) -> pd.DataFrame:
    return pd.DataFrame({"bucket": list(series.buckets), "value": list(series.values),
                         "rows": list(series.weights)})


def _time_rule(when: datetime | None, label: str, color: str) -> list[alt.Chart]:
    if when is None:
        return []
    mark = pd.DataFrame({"time": [when], "label": [label]})
    return [alt.Chart(mark).mark_rule(color=color, strokeWidth=2).encode(
        x="time:T", tooltip=[alt.Tooltip("time:T", title=label, format="%Y-%m-%d %H:%M")])]


def drift_over_time(series: MetricSeries, feature: str, bucket: str,
                    onset: datetime | None = None, width: int = 520,
                    height: int = 200) -> alt.LayerChart:
    """PSI of one feature against training per bucket, with the PSI bands and the onset."""
    df = _series_frame(series)
    line = alt.Chart(df).mark_line(strokeWidth=1.5, color="#e45756").encode(
        x=alt.X("bucket:T", title=None), y=alt.Y("value:Q", title="PSI vs training"),
        tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("value:Q", title="PSI", format=".3f"),
                 alt.Tooltip("rows:Q", format=",.0f")])
    bands = pd.DataFrame([{"psi": v, "band": f"{label} ({v:g})"} for v, label in PSI_RULES])
    rules = alt.Chart(bands).mark_rule(strokeDash=[3, 3], color="#9e9e9e").encode(
        y="psi:Q", tooltip=["band:N"])
    return alt.layer(line, rules, *_time_rule(onset, "onset", "#d62728")).properties(
        title=f"Drift of '{feature}' over time (PSI vs training per {bucket})", width=width,
        height=height)


def signals_over_time(series: Sequence[MetricSeries], title: str,
                      onset: datetime | None = None, width: int = 520,
                      height: int = 90) -> alt.VConcatChart:
    """One small line chart per signal (own y scale), stacked, each with the onset."""
    rows = []
    for s in series:
        df = _series_frame(s)
        line = alt.Chart(df).mark_line(strokeWidth=1.2).encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("value:Q", title=s.name.replace("_", " ")),
            tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
                     alt.Tooltip("value:Q", format=".4g")])
        rows.append(alt.layer(line, *_time_rule(onset, "onset", "#d62728")).properties(
            width=width, height=height))
    return alt.vconcat(*rows).properties(title=title)


def versions(metrics: Sequence[VersionMetric], metric: str, width: int = 420,
             height: int = 200) -> alt.Chart:
    """The metric of every model version, before and after the split."""
    df = pd.DataFrame([{"version": v.version, "side": f"{v.side} split", "metric": v.metric,
                        "rows": v.rows} for v in metrics if v.metric is not None])
    if df.empty:
        df = pd.DataFrame({"version": [], "side": [], "metric": [], "rows": []})
    order = list(dict.fromkeys(v.version for v in metrics))
    name = metric.replace("_", " ")
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("version:N", sort=order, title="model version"),
        xOffset=alt.XOffset("side:N", sort=["before split", "after split"]),
        y=alt.Y("metric:Q", title=name),
        color=alt.Color("side:N", sort=["before split", "after split"], title=None,
                        scale=alt.Scale(range=["#4c78a8", "#e45756"]),
                        legend=alt.Legend(orient="top")),
        tooltip=["version:N", "side:N", alt.Tooltip("metric:Q", format=".4f"),
                 alt.Tooltip("rows:Q", format=",")],
    ).properties(title=f"{name.capitalize()} per model version", width=width, height=height)


def shap_bars(record: RecordExplanation, top: int = 8, width: int = 360,
              height: int | None = None) -> alt.Chart:
    """The record's largest SHAP values: bars right push the score up, left push it down."""
    rows = [{"feature": c.feature, "shap": c.shap, "value": str(c.value),
             "direction": "raises score" if c.shap >= 0 else "lowers score"}
            for c in record.top(top)]
    df = pd.DataFrame(rows or [{"feature": "", "shap": 0.0, "value": "", "direction": ""}])
    order = [r["feature"] for r in rows]
    score = "n/a" if record.score is None else f"{record.score:.3f}"
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("feature:N", sort=order, title=None),
        x=alt.X("shap:Q", title="SHAP value (contribution to the score)"),
        color=alt.Color("direction:N", title=None,
                        scale=alt.Scale(domain=["raises score", "lowers score"],
                                        range=["#e45756", "#4c78a8"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["feature:N", "value:N", alt.Tooltip("shap:Q", format="+.4f")],
    ).properties(title=f"SHAP for record {record.record_id} (score {score})", width=width,
                 height=height or 22 * max(len(rows), 1))


def record_in_training(positions: Sequence[RecordPosition], record_id: str,
                       width: int = 200, height: int = 150) -> alt.HConcatChart:
    """For each of the record's top features: training's histogram, the record's bin marked."""
    panels = []
    for p in positions:
        df = histogram_frame(p.histogram, include_baseline=False)
        df = df[df["source"] == "training (reference)"].copy()
        df["where"] = (df["bin"] == p.bin_label).map({True: "this record", False: "training"})
        if p.bin_label not in set(df["bin"]):  # a bin training never filled
            df = pd.concat([df, pd.DataFrame([{"bin": p.bin_label, "order": p.bin,
                                               "source": "training (reference)", "share": 0.0,
                                               "rows": 0.0, "where": "this record"}])])
        order = df.sort_values("order")["bin"].tolist()
        where = "" if p.percentile is None else f", p{p.percentile:.0f} of training"
        if p.outside_range:
            where = ", outside training's range"
        value = f"{p.value:.4g}" if isinstance(p.value, float) else str(p.value)
        panels.append(alt.Chart(df).mark_bar().encode(
            x=alt.X("bin:N", sort=order, title=None,
                    axis=alt.Axis(labelAngle=-40, labelLimit=70, labelFontSize=8)),
            y=alt.Y("share:Q", title="share of training", axis=alt.Axis(format="%")),
            color=alt.Color("where:N", title=None,
                            scale=alt.Scale(domain=["training", "this record"],
                                            range=["#9ecae9", "#e45756"]),
                            legend=alt.Legend(orient="bottom")),
            tooltip=["bin:N", alt.Tooltip("share:Q", format=".2%")],
        ).properties(title=f"{p.feature} = {value}{where}", width=width, height=height))
    return alt.hconcat(*panels).properties(
        title=f"Where record {record_id}'s top features sit in training")


def attribution(drift: AttributionDrift, top: int = 12, width: int = 420) -> alt.Chart:
    """Mean |SHAP| per feature before and after the split, largest increase first."""
    rows = []
    for s in drift.features[:top]:
        rows.append({"feature": s.feature, "window": "before split",
                     "mean_abs_shap": s.mean_abs_baseline})
        rows.append({"feature": s.feature, "window": "after split",
                     "mean_abs_shap": s.mean_abs_current})
    df = pd.DataFrame(rows)
    order = [s.feature for s in drift.features[:top]]
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("feature:N", sort=order, title=None),
        yOffset=alt.YOffset("window:N", sort=["before split", "after split"]),
        x=alt.X("mean_abs_shap:Q", title=f"mean |SHAP| ({drift.explainer.output})"),
        color=alt.Color("window:N", sort=["before split", "after split"], title=None,
                        scale=alt.Scale(range=["#4c78a8", "#e45756"]),
                        legend=alt.Legend(orient="top")),
        tooltip=["feature:N", "window:N", alt.Tooltip("mean_abs_shap:Q", format=".4f")],
    ).properties(title="Attribution drift: what the model leans on, before vs after the split",
                 width=width, height=max(26 * len(order), 60))


def slices(found: Sequence[Slice], selected: str = "", width: int = 420) -> alt.Chart:
    """The worst slices by their share of the extra errors; the selected one highlighted."""
    df = pd.DataFrame([{"slice": " & ".join(s.conditions), "share": s.score,
                        "rows": s.rows_current, "current": s.metric_current,
                        "baseline": s.metric_baseline} for s in found])
    if df.empty:
        df = pd.DataFrame({"slice": [], "share": [], "rows": [], "current": [], "baseline": []})
    df["picked"] = (df["slice"] == selected).map({True: "selected", False: "other"})
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("slice:N", sort=list(df["slice"]), title=None,
                axis=alt.Axis(labelLimit=320)),
        x=alt.X("share:Q", title="share of the extra errors", axis=alt.Axis(format="%")),
        color=alt.Color("picked:N", legend=None,
                        scale=alt.Scale(domain=["other", "selected"],
                                        range=["#9ecae9", "#e45756"])),
        tooltip=["slice:N", alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("rows:Q", format=","), alt.Tooltip("baseline:Q", format=".4f"),
                 alt.Tooltip("current:Q", format=".4f")],
    ).properties(title="Worst slices: share of the extra errors", width=width,
                 height=max(22 * len(df), 40))


def affected(segments: Sequence[SegmentImpact], selected: str = "", top: int = 12,
             width: int = 420) -> alt.Chart:
    """Segment values holding most of the extra errors, against their share of traffic."""
    rows = []
    for s in list(segments)[:top]:
        rows.append({"segment": s.label, "measure": "share of extra errors",
                     "share": s.excess_share})
        rows.append({"segment": s.label, "measure": "share of traffic", "share": s.traffic_share})
    df = pd.DataFrame(rows or [{"segment": "", "measure": "", "share": 0.0}])
    order = [s.label for s in list(segments)[:top]]
    title = "Who is affected: extra errors vs traffic by segment"
    if selected:
        title += f" (filter: {selected})"
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("segment:N", sort=order, title=None),
        yOffset=alt.YOffset("measure:N", sort=["share of extra errors", "share of traffic"]),
        x=alt.X("share:Q", title=None, axis=alt.Axis(format="%")),
        color=alt.Color("measure:N", title=None,
                        sort=["share of extra errors", "share of traffic"],
                        scale=alt.Scale(range=["#e45756", "#bdbdbd"]),
                        legend=alt.Legend(orient="top")),
        tooltip=["segment:N", "measure:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(title=title, width=width, height=max(26 * len(order), 60))


# ---- lineage: run timeline, delta experiments, bisect path, ablation -------------------------

VERDICT_COLORS = alt.Scale(domain=["good", "bad"], range=["#54a24b", "#e45756"])


def run_timeline(manifests: Sequence[Manifest], metric: str, good: str = "", bad: str = "",
                 width: int = 620, height: int = 200) -> alt.LayerChart:
    """Each recorded run at its creation time with its metric; the traced pair highlighted."""
    rows = [{"run": m.name, "created": m.created.rstrip("Z"), "value": m.metrics.get(metric),
             "commit": (m.code.commit or "")[:8],
             "data": ", ".join(f"{d.role}={d.path.rsplit('/', 1)[-1]}" for d in m.data),
             "role": "good" if m.name == good else "bad" if m.name == bad else "other"}
            for m in manifests if metric in m.metrics]
    df = pd.DataFrame(rows or [{"run": "", "created": None, "value": None, "commit": "",
                                "data": "", "role": "other"}])
    df["created"] = pd.to_datetime(df["created"])
    base = alt.Chart(df).encode(
        x=alt.X("created:T", title="trained at",
                axis=alt.Axis(format="%b %d %H:%M:%S", labelAngle=-30)),
        y=alt.Y("value:Q", title=metric.replace("_", " "), scale=alt.Scale(zero=False)))
    line = base.mark_line(color="#bdbdbd")
    points = base.mark_point(filled=True, size=90).encode(
        color=alt.Color("role:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["good", "bad", "other"],
                                        range=["#54a24b", "#e45756", "#4c78a8"])),
        tooltip=["run:N", "commit:N", "data:N", alt.Tooltip("value:Q", format=".4f"),
                 alt.Tooltip("created:T", format="%Y-%m-%d %H:%M")])
    labels = base.mark_text(dy=-12, fontSize=11).encode(text="run:N")
    return alt.layer(line, points, labels).properties(
        title=f"Runs over time: {metric.replace('_', ' ')}", width=width, height=height)


def delta_effects(exp: DeltaExperiments, width: int = 520) -> alt.LayerChart:
    """Metric recovered by each single-factor swap, the full gap, and the noise band around 0."""
    rows = [{"factor": e.factor, "recovery": e.recovery, "verdict": e.verdict}
            for e in exp.effects]
    rows.append({"factor": "all (good run)", "recovery": exp.gap,
                 "verdict": f"gap {exp.gap:+.4f}"})
    df = pd.DataFrame(rows)
    band = pd.DataFrame({"lo": [-exp.noise.half_width], "hi": [exp.noise.half_width]})
    order = list(df["factor"])
    bars = alt.Chart(df).mark_bar(color="#4c78a8").encode(
        y=alt.Y("factor:N", sort=order, title=None),
        x=alt.X("recovery:Q", title=f"{exp.metric.replace('_', ' ')} recovered vs bad run"),
        tooltip=["factor:N", alt.Tooltip("recovery:Q", format="+.4f"), "verdict:N"])
    noise = alt.Chart(band).mark_rect(color="#bdbdbd", opacity=0.45).encode(x="lo:Q", x2="hi:Q")
    return alt.layer(noise, bars).properties(
        title="Delta experiments: metric recovered per factor (grey: noise band)", width=width,
        height=max(30 * len(df), 60))


def bisect_path(result: BisectResult, width: int = 620, height: int = 220) -> alt.LayerChart:
    """The probed candidates in history order with their metric, verdict and probe order."""
    n = len(result.candidates)
    probes = pd.DataFrame([{"position": s.position + 1, "value": s.metric_value,
                            "verdict": s.verdict, "step": f"#{i + 1}", "label": s.label,
                            "candidate": s.candidate[:10]} for i, s in enumerate(result.steps)])
    ends = pd.DataFrame([{"position": 0, "value": result.good_ref, "verdict": "good",
                          "step": "good", "label": "good run", "candidate": ""},
                         {"position": n, "value": result.bad_ref, "verdict": "bad",
                          "step": "bad", "label": "bad run", "candidate": ""}])
    df = pd.concat([ends, probes], ignore_index=True) if not probes.empty else ends
    threshold = result.good_ref - result.band if result.bad_ref < result.good_ref \
        else result.good_ref + result.band
    rule = pd.DataFrame({"value": [threshold], "label": ["bad beyond here (noise band)"]})
    what = "commits" if result.kind == "code" else "snapshots"
    base = alt.Chart(df).encode(
        x=alt.X("position:Q", title=f"{what} after the good run (0 = good run)",
                scale=alt.Scale(domain=[0, max(n, 1)])),
        y=alt.Y("value:Q", title=result.metric.replace("_", " "), scale=alt.Scale(zero=False)))
    points = base.mark_point(filled=True, size=110).encode(
        color=alt.Color("verdict:N", scale=VERDICT_COLORS, title=None,
                        legend=alt.Legend(orient="top")),
        tooltip=["step:N", "candidate:N", "label:N", alt.Tooltip("value:Q", format=".4f"),
                 "verdict:N"])
    text = base.mark_text(dy=-12, fontSize=11).encode(text="step:N")
    limit = alt.Chart(rule).mark_rule(strokeDash=[4, 3], color="#e45756").encode(
        y="value:Q", tooltip=["label:N", alt.Tooltip("value:Q", format=".4f")])
    culprit = result.culprit_label or "none found"
    return alt.layer(limit, points, text).properties(
        title=f"Bisect path ({len(result.steps)} re-runs): {culprit[:60]}", width=width,
        height=height)


def ablation_bars(result: Ablation, width: int = 520) -> alt.Chart:
    """Per feature: share of the regression explained (or metric change), ranked."""
    explained = result.ranked_by == "gap_explained"
    field = "gap_explained" if explained else "delta_bad"
    df = pd.DataFrame([{"feature": r.feature, "value": getattr(r, field),
                        "metric_bad": r.metric_bad, "delta_bad": r.delta_bad,
                        "beyond_noise": "beyond noise" if r.beyond_noise else "within noise"}
                       for r in result.rows])
    if df.empty:
        df = pd.DataFrame({"feature": [], "value": [], "metric_bad": [], "delta_bad": [],
                           "beyond_noise": []})
    title = ("Ablation: share of the regression explained per feature" if explained
             else f"Ablation: {result.metric.replace('_', ' ')} change per ablated feature")
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("feature:N", sort=list(df["feature"]), title=None),
        x=alt.X("value:Q", title="share of the gap explained" if explained
                else "metric change", axis=alt.Axis(format="%" if explained else "+.3f")),
        color=alt.Color("beyond_noise:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["beyond noise", "within noise"],
                                        range=["#e45756", "#bdbdbd"])),
        tooltip=["feature:N", alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("metric_bad:Q", format=".4f"),
                 alt.Tooltip("delta_bad:Q", format="+.4f"), "beyond_noise:N"],
    ).properties(title=title, width=width, height=max(22 * len(df), 60))


if TYPE_CHECKING:
    from workbench.lineage.manifest import Manifest
    from workbench.lineage.results import Ablation, BisectResult, DeltaExperiments


def estimated_metric(diagnosis: Diagnosis, width: int = 720, height: int = 220,
                     strip_height: int = 14) -> alt.VConcatChart:
    """The monitored metric per bucket, realised (solid) beside its estimate (dashed, with the
    95% band) where labels lag, over a strip of each bucket's label coverage (dark: labelled).

    Without an estimation (every label in) the realised series alone, without the strip.
    """
    est = diagnosis.estimation
    name = est.metric if est is not None else diagnosis.metric.name
    label = name.replace("_", " ")
    title = f"{label.capitalize()} per {diagnosis.bucket}: realised and estimated"
    if est is None:
        df = metric_frame(diagnosis, name).rename(columns={"value": "realised"})
        df = df.assign(estimated=None, lower=None, upper=None, coverage=1.0, source="realised")
    else:
        df = pd.DataFrame([{"bucket": b.bucket, "realised": b.realised, "estimated": b.estimated,
                            "lower": b.lower, "upper": b.upper, "coverage": b.coverage,
                            "source": b.source, "rows": b.rows} for b in est.buckets])
    df["end"] = df["bucket"] + pd.Timedelta(seconds=parse_duration(diagnosis.bucket))
    x = alt.X("bucket:T", title=None)
    tooltip = [alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
               alt.Tooltip("realised:Q", format=".4f"), alt.Tooltip("estimated:Q", format=".4f"),
               alt.Tooltip("lower:Q", format=".4f"), alt.Tooltip("upper:Q", format=".4f"),
               alt.Tooltip("coverage:Q", format=".0%", title="labelled"), "source:N"]
    base = alt.Chart(df).encode(x=x)
    layers = [
        base.mark_area(opacity=0.18, color="#f58518").encode(
            y=alt.Y("lower:Q", title=label), y2="upper:Q"),
        base.mark_line(strokeDash=[6, 4], strokeWidth=1.5, color="#f58518").encode(
            y="estimated:Q", tooltip=tooltip),
        base.mark_line(strokeWidth=1.8, color="#4c78a8").encode(y="realised:Q", tooltip=tooltip),
    ]
    if diagnosis.onset is not None:
        onset = pd.DataFrame({"time": [diagnosis.onset]})
        layers.append(alt.Chart(onset).mark_rule(color="#d62728", strokeWidth=2).encode(
            x="time:T"))
    top = alt.layer(*layers).properties(title=title, width=width, height=height)
    if est is None:
        return alt.vconcat(top)
    strip = alt.Chart(df).mark_rect().encode(
        x=x, x2="end:T",
        color=alt.Color("coverage:Q", title="labelled",
                        scale=alt.Scale(domain=[0, 1], range=["#f2f2f2", "#525252"]),
                        legend=alt.Legend(orient="bottom", format=".0%")),
        tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("coverage:Q", format=".0%", title="labelled"),
                 alt.Tooltip("rows:Q", format=",")],
    ).properties(width=width, height=strip_height, title="label coverage")
    return alt.vconcat(top, strip, spacing=4)


POSTMORTEM_SERIES = ("as it was: realised", "as it was: estimated", "today: realised")


def postmortem_metric(was: Diagnosis, now: Diagnosis, width: int = 720,
                      height: int = 240) -> alt.LayerChart:
    """The monitored metric per bucket as the saved diagnosis had it (realised, and estimated
    where its labels were pending) beside today's realised series, with both onsets.

    A saved diagnosis read from a report carries no series: today's line is drawn alone.
    """
    name = was.metric.name
    label = name.replace("_", " ")
    rows = []
    saved = next((s for s in was.series if s.name == name), None)
    if saved is not None:
        rows += [{"bucket": b, "value": v, "series": POSTMORTEM_SERIES[0]}
                 for b, v in zip(saved.buckets, saved.values, strict=True)]
    if was.estimation is not None and was.estimation.metric == name:
        rows += [{"bucket": b.bucket, "value": b.estimated, "series": POSTMORTEM_SERIES[1]}
                 for b in was.estimation.buckets if b.source == "estimated"]
    today = next((s for s in now.series if s.name == name), None)
    if today is not None:
        rows += [{"bucket": b, "value": v, "series": POSTMORTEM_SERIES[2]}
                 for b, v in zip(today.buckets, today.values, strict=True)]
    df = pd.DataFrame(rows, columns=["bucket", "value", "series"])
    line = alt.Chart(df).mark_line(strokeWidth=1.6).encode(
        x=alt.X("bucket:T", title=None),
        y=alt.Y("value:Q", title=label),
        color=alt.Color("series:N", title=None, sort=list(POSTMORTEM_SERIES),
                        scale=alt.Scale(domain=list(POSTMORTEM_SERIES),
                                        range=["#9e9e9e", "#f58518", "#4c78a8"]),
                        legend=alt.Legend(orient="top-left")),
        strokeDash=alt.StrokeDash("series:N", sort=list(POSTMORTEM_SERIES), legend=None,
                                  scale=alt.Scale(domain=list(POSTMORTEM_SERIES),
                                                  range=[[1, 0], [6, 4], [1, 0]])),
        tooltip=["series:N", alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("value:Q", format=".4f")],
    )
    layers: list[alt.Chart] = [line]
    layers += _time_rule(was.onset, "onset as it was", "#7f7f7f")
    if now.onset != was.onset:
        layers += _time_rule(now.onset, "onset today", "#d62728")
    title = f"{label.capitalize()} per {now.bucket}: as it was and today"
    return alt.layer(*layers).properties(title=title, width=width, height=height)


def comparison_frame(results: Sequence[Verification]) -> pd.DataFrame:
    """One row per bar: the metric as logged, then after each fix (value and interval)."""
    if not results:
        return pd.DataFrame(columns=["label", "value", "lower", "upper", "verdict", "order"])
    rows = [_bar("incident as logged", results[0].primary.before, "", 0)]
    rows += [_bar(r.fix.name, r.primary.after, r.verdict, i + 1) for i, r in enumerate(results)]
    return pd.DataFrame(rows)


def _bar(label: str, e: MetricEstimate, verdict: str, order: int) -> dict:
    return {"label": label, "value": e.value, "lower": e.lower, "upper": e.upper,
            "verdict": verdict or "as logged", "order": order}


def fix_comparison_chart(results: Sequence[Verification], width: int = 520,
                         height: int = 240) -> alt.LayerChart:
    """The monitored metric per fix (bars with 95 % intervals) on the baseline's interval band."""
    df = comparison_frame(results)
    metric = results[0].metric if results else "metric"
    name = metric.replace("_", " ")
    base = results[0].primary.baseline if results else None
    order = df.sort_values("order")["label"].tolist()
    colors = alt.Scale(domain=["as logged", "restores", "insufficient"],
                       range=["#9e9e9e", "#2e7d32", "#e45756"])
    x = alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    bars = alt.Chart(df).mark_bar(width=46).encode(
        x=x, y=alt.Y("value:Q", title=name),
        color=alt.Color("verdict:N", scale=colors, title=None, legend=alt.Legend(orient="top")),
        tooltip=["label:N", "verdict:N", alt.Tooltip("value:Q", format=".4f"),
                 alt.Tooltip("lower:Q", format=".4f"), alt.Tooltip("upper:Q", format=".4f")])
    errors = alt.Chart(df).mark_rule(strokeWidth=2, color="#333").encode(
        x=x, y="lower:Q", y2="upper:Q")
    layers: list = []
    if base is not None and base.known:
        band = pd.DataFrame({"lower": [base.lower], "upper": [base.upper],
                             "value": [base.value], "what": ["baseline 95 % interval"]})
        layers.append(alt.Chart(band).mark_rect(color="#2e7d32", opacity=0.18).encode(
            y="lower:Q", y2="upper:Q",
            tooltip=["what:N", alt.Tooltip("value:Q", format=".4f"),
                     alt.Tooltip("lower:Q", format=".4f"), alt.Tooltip("upper:Q", format=".4f")]))
        layers.append(alt.Chart(band).mark_rule(color="#2e7d32", strokeDash=[4, 3]).encode(
            y="value:Q"))
    return alt.layer(*layers, bars, errors).properties(
        title=f"{name.capitalize()} after each fix (green band: baseline target)",
        width=width, height=height)
