"""Exact linear SHAP on a model's linear estimator, summed back to raw inputs.

`shap.LinearExplainer` on the final estimator with the background encoded by the pipeline's own
fitted preprocessing (scaling, one-hot): value_j = coef_j * (x_j - mean of background_j), exact
and instant. Regressors are explained in their prediction, logistic classifiers in log-odds or in
probability; for probability each (row, background row) pair's log-odds values are scaled by the
logistic function's secant between the pair's two outputs (as SHAP's tree algorithm does), which
adds up exactly to the probability minus its background mean. Classifiers whose probability is
not the logistic of their margin (calibrated, modified Huber) are explained on the margin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shap

from workbench.explain.parts import (
    ModelPart,
    calibrated_note,
    explained_output,
    join_notes,
    merged_columns,
)
from workbench.explain.shap_values import FeatureExplainer, Score

# Below this log-odds difference the logistic's secant is its slope at the midpoint.
_SECANT_STEP = 1e-6
# How closely probability must equal the logistic of the margin for the link to count as one.
_LINK_TOL = 1e-9


def logistic(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow."""
    return np.exp(-np.logaddexp(0.0, -z))


def logistic_secant(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(logistic(a) - logistic(b)) / (a - b), elementwise; the slope where a == b."""
    diff = a - b
    near = np.abs(diff) < _SECANT_STEP
    mid = logistic((a + b) / 2)
    safe = np.where(near, 1.0, diff)
    return np.where(near, mid * (1 - mid), (logistic(a) - logistic(b)) / safe)


class LinearShapExplainer(FeatureExplainer):
    """Exact SHAP of a linear model (interventional: background means stand in for absent
    inputs), mapped back to raw inputs.

    parts: the linear estimator(s) with their preprocessing; score: the model's probability or
    prediction on raw inputs; output: the requested units ("raw" for regressors).
    """

    kind = "linear"

    def __init__(self, parts: Sequence[ModelPart], feature_names: Sequence[str],
                 background: pd.DataFrame, output: str, score: Score, *,
                 calibrated: bool = False, note: str | None = None) -> None:
        background = background.loc[:, list(feature_names)]
        self._parts = tuple(parts)
        self._data = [part.matrix(background) for part in self._parts]
        self._linear = [shap.LinearExplainer(part.model, data)
                        for part, data in zip(self._parts, self._data, strict=True)]
        units = output
        if output != "raw" and calibrated:
            units, note = "margin", join_notes(note, calibrated_note(self._parts))
        elif output != "raw" and not _logistic_link(self._parts[0], background, score):
            units, note = "margin", join_notes(note, (
                "the model's probability is not the logistic of its margin, so values explain "
                "the margin"))

        target = explained_output(units, self._parts, score)
        super().__init__(feature_names, units, len(background), target, note=note,
                         merged_columns=merged_columns(self._parts[0], feature_names))
        self._base = float(np.mean(target(background)))

    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        if self.output == "probability":
            part = self._parts[0]
            encoded = part.matrix(frame)
            linear = self._linear[0]
            phi = _probability_values(encoded, self._data[0], linear.coef, linear.intercept)
            return phi @ part.aggregate, self._base
        total = np.zeros((len(frame), len(self.feature_names)))
        for part, linear in zip(self._parts, self._linear, strict=True):
            phi = np.asarray(linear.shap_values(part.matrix(frame)), dtype=float)
            total += part.weight * (phi.reshape(len(frame), -1) @ part.aggregate)
        return total, self._base

    def expected_value(self) -> float:
        return self._base


def _probability_values(rows: np.ndarray, background: np.ndarray, coef: np.ndarray,
                        intercept: float | np.ndarray) -> np.ndarray:
    """Mean over background rows r of coef * (x - r) * secant(margin(x), margin(r))."""
    coef = np.asarray(coef, dtype=float).ravel()
    offset = float(np.ravel(intercept)[0])
    margin_x = rows @ coef + offset
    margin_r = background @ coef + offset
    secant = logistic_secant(margin_x[:, None], margin_r[None, :])  # rows x background
    return coef * (rows * secant.mean(axis=1)[:, None] - secant @ background / len(background))


def _logistic_link(part: ModelPart, background: pd.DataFrame, score: Score) -> bool:
    """Whether the model's probability is the logistic function of its margin."""
    margin = np.asarray(part.margin(part.encode(background)), dtype=float).ravel()
    return bool(np.allclose(logistic(margin), score(background), rtol=0, atol=_LINK_TOL))
