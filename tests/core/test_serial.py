"""Results written to JSON read back equal, from their type hints alone (workbench.serial)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from workbench.exceptions import InvalidInputError
from workbench.explain.results import AttributionStatus
from workbench.results import (
    ChangeEvent,
    Decomposition,
    Diagnosis,
    Evidence,
    Explained,
    Hypothesis,
    MetricSeries,
    MetricSummary,
)
from workbench.serial import Serialisable, decode, json_time, same
from workbench.stages.metrics import METRICS
from workbench.windows import Window

T0 = datetime(2026, 10, 16, 18, 0)
T1 = datetime(2026, 10, 19, 11, 59, 56, 986779)


def through_json(value: Serialisable) -> Serialisable:
    """The value written as JSON text and read back as its own class."""
    return type(value).from_dict(json.loads(json.dumps(value.to_dict())))


def small_diagnosis(**changes) -> Diagnosis:
    h = Hypothesis(1, "upstream_data_change", "input_data", 0.62, "ratio shifted",
                   feature="ratio", change_id="CHG-1042", time=T0,
                   evidence=(Evidence("psi", 0.25, 0.0, "current vs baseline", 0.1),
                             Evidence("unit", "cents", None)),
                   explained=Explained(0.8, (0.7, 0.9), "shapley"))
    fields = dict(
        incident="x", bucket="1h", window=Window("analysed", datetime(2026, 9, 28, 0, 0, 13,
                                                                      816323), T1),
        onset=T0, metric=MetricSummary("false_positive_rate", 0.0086, 0.0248), trend="stable",
        hypotheses=(h,), baseline_window=Window("baseline", None, T0),
        current_window=Window("current", T0, T1),
        series=(MetricSeries("false_positive_rate", (T0, T1), (0.01, math.nan), (10.0, 0.0)),),
        changes=(ChangeEvent("CHG-1042", T0, "upstream", "avg_amount redefined", 0.5, 1.0),),
        attribution=AttributionStatus("done", rows=1000, seconds=1.5, budget=30.0),
        decomposition=Decomposition("false_positive_rate", 0.016, 0.9, 0.1, {"ratio": 0.9},
                                    ("ratio",), None, True, {"ratio": (0.8, 1.0)}),
        bucket_seconds=3600, metric_definition=METRICS["false_positive_rate"],
        onset_detected=T0, onset_low=T0, onset_high=T0, onset_strength=4.2, split=None,
        baseline_outcomes={"n": 10.0, "fp": 2.0}, current_outcomes={"n": 5.0, "fp": 3.0})
    fields.update(changes)
    return Diagnosis(**fields)


def test_a_diagnosis_reads_back_equal_field_by_field():
    d = small_diagnosis()
    back = through_json(d)
    assert back == d
    assert back.window == d.window and back.window.name == "analysed"
    assert back.baseline_window.name == "baseline" and back.baseline_window.start is None
    assert back.current_window.end == T1  # microseconds kept
    assert isinstance(back.hypotheses, tuple) and isinstance(back.hypotheses[0].evidence, tuple)
    assert back.hypotheses[0].evidence[1].value == "cents"
    assert back.hypotheses[0].explained.interval == (0.7, 0.9)
    assert back.decomposition.intervals == {"ratio": (0.8, 1.0)}
    assert back.attribution == d.attribution and back.metric_definition is not None
    assert back.metric_definition.numerator == ("fp",)
    assert math.isnan(back.series[0].values[1])  # NaN was written as null, read back as NaN


def test_the_json_keeps_the_contract_shape():
    data = small_diagnosis().to_dict()
    assert data["window"] == {"start": "2026-09-28T00:00:13.816323Z",
                              "end": "2026-10-19T11:59:56.986779Z"}
    assert data["baseline_window"] == {"start": None, "end": "2026-10-16T18:00:00Z"}
    assert data["onset"] == "2026-10-16T18:00:00Z"  # whole seconds stay whole
    assert data["series"][0]["values"] == [0.01, None]
    assert data["metric_definition"]["denominator"] == ["fp", "tn"]


def test_a_changed_diagnosis_is_not_equal():
    d = small_diagnosis()
    assert small_diagnosis(onset_strength=4.3) != d
    assert small_diagnosis(current_window=Window("current", T0, T0)) != d
    assert small_diagnosis(series=(MetricSeries("false_positive_rate", (T0, T1), (0.01, 0.02),
                                                (10.0, 0.0)),)) != d


def test_missing_numbers_are_equal_and_hash_alike():
    a = MetricSeries("m", (T0,), (math.nan,), (0.0,))
    b = MetricSeries("m", (T0,), (float("nan"),), (0.0,))
    assert a == b and hash(a) == hash(b)
    assert same(None, math.nan) and same({"x": (1.0, math.nan)}, {"x": (1.0, None)})
    assert not same(0.0, math.nan) and not same((1.0,), [1.0])


@dataclass(frozen=True)
class Nested(Serialisable):
    """A made-up result with the shapes the codec must handle."""

    when: datetime | None
    counts: dict[int, float]
    pairs: tuple[tuple[str, float], ...]
    either: float | str | None = None
    tags: list[str] = field(default_factory=list)
    inner: Window = field(default_factory=lambda: Window("w", T0, None))


def test_nested_shapes_read_back():
    value = Nested(T1, {1: 0.5, 2: math.inf}, (("a", 1.0), ("b", 2.5)), "text", ["x"])
    back = through_json(value)
    assert back.counts[1] == 0.5 and math.isnan(back.counts[2])  # inf is written as null
    assert back.pairs == value.pairs and back.either == "text" and back.tags == ["x"]
    assert back.inner == Window("window", T0, None)  # a bare Window is named by its holder
    assert Nested.from_dict({**value.to_dict(), "either": 3}).either == 3


def test_unknown_keys_are_ignored_and_missing_required_ones_are_named():
    data = {**small_diagnosis().to_dict(), "cache": {"hit": True}}
    assert Diagnosis.from_dict(data) == small_diagnosis()
    del data["metric"]
    with pytest.raises(InvalidInputError, match="lacks its 'metric' field"):
        Diagnosis.from_dict(data)
    with pytest.raises(InvalidInputError, match="fits none of"):
        decode(float | None, {"a": 1})


def test_times_are_written_in_utc_with_a_z():
    assert json_time(T0) == "2026-10-16T18:00:00Z"
    assert json_time(T1) == "2026-10-19T11:59:56.986779Z"
    assert decode(datetime, "2026-10-16T20:00:00+02:00") == T0
