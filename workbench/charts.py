"""Core results -> Altair charts. The only core module importing altair; no statistics here.

Charts carry aggregated data only (one point per bucket or bin), so they stay small in the
browser whatever the log size. Used by the widgets and, through vl-convert, by static reports.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from workbench.results import Diagnosis, Histogram

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
                     width: int = 720, height: int = 240) -> alt.LayerChart:
    """Metric per bucket with the onset (red rule) and change-log events (coloured rules)."""
    name = metric or diagnosis.metric.name
    df = metric_frame(diagnosis, name)
    title = name.replace("_", " ").capitalize() + " per " + diagnosis.bucket
    line = alt.Chart(df).mark_line(point=False, strokeWidth=1.5).encode(
        x=alt.X("bucket:T", title=None),
        y=alt.Y("value:Q", title=name.replace("_", " ")),
        tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("value:Q", format=".4f"), alt.Tooltip("rows:Q", format=",")],
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
    return alt.layer(*layers).properties(title=title, width=width, height=height)


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
