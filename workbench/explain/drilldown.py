"""Drilling into one explained record: where its values sit in the training histograms, and
what the model says when a person changes one of them (what-if)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.data.queries import LOW_BIN, NULL_BIN
from workbench.exceptions import InvalidInputError
from workbench.explain.results import RecordExplanation, WhatIf
from workbench.results import Diagnosis, Histogram, Serialisable

if TYPE_CHECKING:
    from workbench.data import LogStore


@dataclass(frozen=True)
class RecordPosition(Serialisable):
    """Where one feature value of a record falls in the training histogram of that feature."""

    feature: str
    value: float | str | None
    shap: float
    percentile: float | None
    outside_range: bool | None
    bin: int  # index into histogram.labels
    histogram: Histogram

    @property
    def bin_label(self) -> str:
        """The label of the bin holding the value."""
        return self.histogram.labels[self.bin]


def locate(hist: Histogram, value: Any) -> int:
    """Index of the histogram bin holding value, with the binning rules of the query layer."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NULL_BIN
    if hist.kind != "numeric":
        levels = list(hist.labels[2:])
        return levels.index(str(value)) + 2 if str(value) in levels else LOW_BIN
    x = float(value)
    edges = hist.edges
    if len(edges) < 2:
        pivot = edges[0] if edges else 0.0
        return LOW_BIN if x < pivot else (2 if x == pivot else 3)
    if x < edges[0]:
        return LOW_BIN
    if x > edges[-1]:
        return len(edges) + 1
    k = int(np.searchsorted(edges, x, side="right")) - 1
    return min(k, len(edges) - 2) + 2


def record_positions(diagnosis: Diagnosis, record: RecordExplanation,
                     top: int = 3) -> tuple[RecordPosition, ...]:
    """For the record's `top` features by |SHAP|: the training bin holding each value."""
    out = []
    for c in record.contributions:
        hist = diagnosis.histogram(c.feature)
        if hist is None:
            continue
        out.append(RecordPosition(c.feature, c.value, c.shap, c.percentile, c.outside_range,
                                  locate(hist, c.value), hist))
        if len(out) == top:
            break
    return tuple(out)


def parse_value(text: str, current: Any) -> float | str | None:
    """A what-if value typed by a person, read like the record's current value.

    Numbers stay numbers ('1.5', '2e3'); an empty text or 'null' means missing; a categorical
    value is taken as typed.
    """
    text = str(text).strip()
    if text == "" or text.lower() in ("null", "none", "nan"):
        return None
    if isinstance(current, bool) or not isinstance(current, int | float | np.number):
        if current is not None:
            return text
    try:
        return float(text)
    except ValueError:
        if current is None:
            return text
        raise InvalidInputError(
            f"The value for a numeric feature must be a number like 1.5 or 2e3. Got {text!r}."
        ) from None


def record_frame(record: RecordExplanation) -> pd.DataFrame:
    """The record's model inputs as a one-row frame (from its explanation)."""
    return pd.DataFrame([{c.feature: c.value for c in record.contributions}])


def what_if_record(store: LogStore, record: RecordExplanation, feature: str,
                   text: str) -> WhatIf:
    """Re-score one explained record with one feature set to a typed value."""
    from workbench.explain.adapters import adapter_for
    from workbench.explain.whatif import what_if

    values = {c.feature: c.value for c in record.contributions}
    if feature not in values:
        raise InvalidInputError(
            f"{feature!r} is not an input of the model; choose one of {', '.join(values)}.")
    value = parse_value(text, values[feature])
    adapter = adapter_for(store)
    threshold = store.incident.threshold if adapter.task == "classification" else None
    return what_if(adapter, record_frame(record), {feature: value}, threshold=threshold,
                   ids=[record.record_id], labels={feature: f"set to {value!r}"})
