"""Exact interventional tree SHAP on a model's tree estimator(s), summed back to raw inputs.

`shap.TreeExplainer(..., feature_perturbation="interventional")` on the final estimator, with
the background rows encoded by the pipeline's own fitted preprocessing: exact Shapley values of
the model with "absent" inputs drawn from the background. Thresholds are ranked first
(`tree_ranks`), so every split matches the model's own and the values add up to its output.

Units: regressors and forests (whose leaves hold probabilities) are explained in their own
output. Boosted classifiers (leaves in log-odds) are explained in log-odds, or in probability
through SHAP's own conversion: each (row, background row) pair is computed in log-odds and
scaled by the logistic function's secant between the pair's two outputs, which adds up exactly.
A CalibratedClassifierCV is explained on the mean raw margin of the tree models it averages
("margin"): its calibration map is fitted after the trees and is not a tree.
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
from workbench.explain.tree_ranks import RankedTrees, rank_trees


def tree_units(requested: str, tree_output: str | None, calibrated: bool) -> tuple[str, str]:
    """(units of the values, SHAP model_output) for a requested output and the leaves' units."""
    if requested == "raw":  # regressors; one with a logistic link is explained on its margin
        return ("margin" if tree_output == "log_odds" else "raw"), "raw"
    if calibrated:
        return "margin", "raw"
    if tree_output == "probability":
        return "probability", "raw"
    if tree_output == "log_odds":
        return requested, "probability" if requested == "probability" else "raw"
    return "margin", "raw"


class TreeShapExplainer(FeatureExplainer):
    """Exact interventional tree SHAP on the tree part(s) of a model, mapped to raw inputs.

    parts: the tree estimators with their preprocessing (several for a CalibratedClassifierCV,
    weighted by their share of its average); score: the model's probability or prediction on
    raw inputs; output: the requested units (see `tree_units` for what is delivered).
    """

    kind = "tree"

    def __init__(self, parts: Sequence[ModelPart], feature_names: Sequence[str],
                 background: pd.DataFrame, output: str, score: Score, *,
                 calibrated: bool = False, note: str | None = None) -> None:
        background = background.loc[:, list(feature_names)]
        self._parts = tuple(parts)
        self._ranked: list[RankedTrees] = []
        self._trees: list[shap.TreeExplainer] = []
        units = None
        for part in self._parts:
            data = part.matrix(background)
            ranked = rank_trees(part.model, data)
            units, model_output = tree_units(output, ranked.tree_output, calibrated)
            self._ranked.append(ranked)
            self._trees.append(shap.TreeExplainer(
                ranked.model, ranked.rank(data), feature_perturbation="interventional",
                model_output=model_output))
        units = units or output
        if calibrated:
            note = join_notes(note, calibrated_note(self._parts))

        target = explained_output(units, self._parts, score)
        super().__init__(feature_names, units, len(background), target, note=note,
                         merged_columns=merged_columns(self._parts[0], feature_names))
        self._base = float(np.mean(target(background)))

    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        total = np.zeros((len(frame), len(self.feature_names)))
        for part, ranked, tree in zip(self._parts, self._ranked, self._trees, strict=True):
            phi = np.asarray(tree.shap_values(ranked.rank(part.matrix(frame)),
                                              check_additivity=False), dtype=float)
            total += part.weight * (phi.reshape(len(frame), -1) @ part.aggregate)
        return total, self._base

    def expected_value(self) -> float:
        return self._base
