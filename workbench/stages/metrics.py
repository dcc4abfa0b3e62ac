"""Metrics derived from outcome counts (confusion counts or error sums), per bucket or window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.serial import Serialisable

# Outcome count columns (named as in `queries.outcome_aggregates`) every metric derives from.
COUNT_COLUMNS = ("n", "n_scored", "score_sum", "score_sumsq", "decision_pos", "n_labeled",
                 "label_pos", "tp", "fp", "fn", "tn", "abs_err_sum", "sq_err_sum", "err_sum")


@dataclass(frozen=True)
class MetricDef(Serialisable):
    """How to compute a metric from count columns, and which direction is bad."""

    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    higher_is_worse: bool | None  # None: any material change is suspicious
    needs_labels: bool
    task: str  # "classification", "regression" or "any"


METRICS = {
    m.name: m
    for m in (
        MetricDef("false_positive_rate", ("fp",), ("fp", "tn"), True, True, "classification"),
        MetricDef("false_negative_rate", ("fn",), ("fn", "tp"), True, True, "classification"),
        MetricDef("error_rate", ("fp", "fn"), ("tp", "fp", "fn", "tn"), True, True,
                  "classification"),
        MetricDef("precision", ("tp",), ("tp", "fp"), False, True, "classification"),
        MetricDef("recall", ("tp",), ("tp", "fn"), False, True, "classification"),
        MetricDef("mae", ("abs_err_sum",), ("n_labeled",), True, True, "regression"),
        MetricDef("bias", ("err_sum",), ("n_labeled",), None, True, "regression"),
        MetricDef("positive_rate", ("decision_pos",), ("n",), None, False, "classification"),
        MetricDef("score_mean", ("score_sum",), ("n_scored",), None, False, "any"),
    )
}
# Candidates searched for the onset, in order of preference when equally strong.
LABELLED_CANDIDATES = {
    "classification": ("false_positive_rate", "false_negative_rate", "error_rate"),
    "regression": ("mae",),
}
UNLABELLED_CANDIDATES = ("positive_rate", "score_mean")


def available(name: str, task: str, has_labels: bool) -> bool:
    """Whether a metric can be computed for this task and log."""
    m = METRICS[name]
    return (m.task in (task, "any")) and (has_labels or not m.needs_labels)


def series(counts: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, weights) of a metric per row of a counts frame; NaN where the weight is 0."""
    m = METRICS[name]
    num = sum(counts[c].astype(float).fillna(0).to_numpy() for c in m.numerator)
    den = sum(counts[c].astype(float).fillna(0).to_numpy() for c in m.denominator)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return values, den


def total(counts: pd.DataFrame, name: str) -> float | None:
    """The metric over all rows of a counts frame (None when its denominator is 0)."""
    m = METRICS[name]
    num = float(sum(counts[c].astype(float).fillna(0).sum() for c in m.numerator))
    den = float(sum(counts[c].astype(float).fillna(0).sum() for c in m.denominator))
    return num / den if den > 0 else None


def outcome_totals(counts: pd.DataFrame) -> dict[str, float]:
    """Each outcome count column of a counts frame summed over its rows."""
    return {c: float(counts[c].astype(float).fillna(0).sum())
            for c in COUNT_COLUMNS if c in counts.columns}
