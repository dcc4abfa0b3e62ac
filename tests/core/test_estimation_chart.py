"""The realised-vs-estimated metric chart: its Vega-Lite spec, layer by layer."""

from __future__ import annotations

from datetime import datetime, timedelta

from workbench.charts import estimated_metric
from workbench.data import Window
from workbench.estimate.results import BucketEstimate, Calibration, Estimation
from workbench.results import Diagnosis, MetricSeries, MetricSummary

T0 = datetime(2026, 10, 18, 20)
HOUR = timedelta(hours=1)


def diagnosis(with_estimation: bool = True) -> Diagnosis:
    buckets = [T0 + i * HOUR for i in range(6)]
    labelled = [True, True, True, False, False, False]
    rows = tuple(
        BucketEstimate(b, 100, 0.96 if done else 0.0, "realised" if done else "estimated",
                       0.02 if done else 0.03, 0.021 + 0.002 * i, 0.015, 0.035,
                       0.02 if done else None)
        for i, (b, done) in enumerate(zip(buckets, labelled, strict=True)))
    est = Estimation("cbpe", "false_positive_rate",
                     Calibration("production", "isotonic", 2000, T0 - 24 * HOUR, T0 + 3 * HOUR,
                                 40, 0.004, 0.05), rows)
    return Diagnosis(
        incident="x", bucket="1h", window=Window("analysed", T0, T0 + 6 * HOUR),
        onset=T0 + HOUR, metric=MetricSummary("false_positive_rate", 0.01, 0.03),
        trend="stable", hypotheses=(),
        series=(MetricSeries("false_positive_rate", tuple(buckets),
                             (0.02, 0.02, 0.02, float("nan"), float("nan"), float("nan")),
                             (95.0,) * 3 + (0.0,) * 3),),
        estimation=est if with_estimation else None)


def test_realised_solid_estimated_dashed_with_band_over_a_coverage_strip():
    spec = estimated_metric(diagnosis()).to_dict()
    top, strip = spec["vconcat"]
    marks = [layer["mark"] for layer in top["layer"]]
    area, dashed, solid, onset = marks
    assert area["type"] == "area" and area["opacity"] < 0.5
    assert dashed["type"] == "line" and dashed["strokeDash"] == [6, 4]
    assert solid["type"] == "line" and "strokeDash" not in solid
    assert onset["type"] == "rule"
    encodings = [layer["encoding"] for layer in top["layer"]]
    assert encodings[0]["y"]["field"] == "lower" and encodings[0]["y2"]["field"] == "upper"
    assert encodings[1]["y"]["field"] == "estimated"
    assert encodings[2]["y"]["field"] == "realised"
    assert strip["mark"]["type"] == "rect"
    assert strip["encoding"]["color"]["field"] == "coverage"
    assert strip["encoding"]["x2"]["field"] == "end"
    rows = next(iter(spec["datasets"].values()))
    assert [r["source"] for r in rows] == ["realised"] * 3 + ["estimated"] * 3
    assert rows[-1]["realised"] is None and rows[-1]["coverage"] == 0.0


def test_without_an_estimation_the_realised_series_alone():
    spec = estimated_metric(diagnosis(with_estimation=False)).to_dict()
    assert len(spec["vconcat"]) == 1
    fields = [layer["encoding"].get("y", {}).get("field") for layer in spec["vconcat"][0]["layer"]]
    assert "realised" in fields
