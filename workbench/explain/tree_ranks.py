"""Tree ensembles rewritten so SHAP's interventional algorithm splits exactly like the model.

SHAP's interventional tree algorithm stores split thresholds as float32 and compares in float32.
Models that split float64 inputs on float64 thresholds (HistGradientBoosting, LightGBM) often
have thresholds equal to training values (integer features, rounded amounts), so a row on or
next to a threshold takes the other branch there than in the model, and the SHAP values stop
adding up to the model output (gaps of several hundredths of probability are common). Replacing
every threshold of a feature by its rank among that feature's thresholds, and every input value
by the number of thresholds below it, keeps each comparison exactly as the model makes it: ranks
are small integers, exact in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shap

from workbench.explain.errors import UnsupportedModelError

# SHAP's interventional algorithm indexes tree nodes with 16-bit integers.
MAX_TREE_NODES = 32_767


@dataclass(frozen=True)
class RankedTrees:
    """An ensemble in SHAP's dict form with ranked thresholds, and how to rank inputs for it.

    thresholds: per feature index, the sorted distinct thresholds the model splits it on;
    input_dtype: the precision the model casts its inputs to before comparing;
    tree_output: the units of the leaf values ("log_odds", "probability", "raw_value", ...).
    """

    model: dict[str, Any]
    thresholds: dict[int, np.ndarray]
    input_dtype: type
    tree_output: str | None

    def rank(self, matrix: np.ndarray) -> np.ndarray:
        """Input rows as threshold ranks (missing values stay missing, unsplit columns as is)."""
        cast = np.asarray(matrix, dtype=self.input_dtype).astype(np.float64)
        out = cast.copy()
        for feature, thresholds in self.thresholds.items():
            column = cast[:, feature]
            # x <= thresholds[k]  <=>  (number of thresholds below x) <= k
            out[:, feature] = np.where(np.isnan(column), np.nan,
                                       np.searchsorted(thresholds, column, side="left"))
        return out


def rank_trees(model: Any, data: np.ndarray) -> RankedTrees:
    """Parse a tree model with SHAP and rank its thresholds (positive class of classifiers).

    Raises UnsupportedModelError for what the interventional algorithm cannot compute exactly:
    categorical splits and trees with more nodes than it can index.
    """
    categorical = getattr(model, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        raise UnsupportedModelError(
            f"{type(model).__name__} uses native categorical splits, which SHAP's tree "
            f"algorithm does not read")
    parsed = shap.TreeExplainer(model, data, feature_perturbation="interventional").model
    internal = parsed.children_left >= 0
    if np.any(parsed.threshold_types[internal] != 0):
        raise UnsupportedModelError(
            f"{type(model).__name__} has categorical splits, which SHAP's interventional tree "
            f"algorithm does not read")
    largest = int(np.max(parsed.num_nodes))
    if largest > MAX_TREE_NODES:
        raise UnsupportedModelError(
            f"a tree of {type(model).__name__} has {largest:,} nodes; SHAP's interventional "
            f"algorithm handles at most {MAX_TREE_NODES:,}")
    thresholds = parsed.thresholds.astype(np.float64)
    ranked = thresholds.copy()
    tables: dict[int, np.ndarray] = {}
    for feature in np.unique(parsed.features[internal]):
        nodes = internal & (parsed.features == feature)
        table = np.unique(thresholds[nodes])
        tables[int(feature)] = table
        ranked[nodes] = np.searchsorted(table, thresholds[nodes])
    trees = []
    for i, size in enumerate(parsed.num_nodes):
        trees.append({
            "children_left": parsed.children_left[i, :size],
            "children_right": parsed.children_right[i, :size],
            "children_default": parsed.children_default[i, :size],
            "features": parsed.features[i, :size],
            "thresholds": ranked[i, :size],
            "values": np.asarray(parsed.values[i, :size, -1:], dtype=np.float64),
            "node_sample_weight": np.asarray(parsed.node_sample_weight[i, :size],
                                             dtype=np.float64),
        })
    limit = parsed.tree_limit
    if limit is not None and 0 < limit < len(trees):  # early stopping: the model's own rounds
        trees = trees[:limit]
    base = np.atleast_1d(np.asarray(parsed.base_offset, dtype=np.float64))[-1:]
    spec = {"trees": trees, "base_offset": base, "tree_output": parsed.tree_output,
            "objective": parsed.objective, "input_dtype": np.float64,
            "internal_dtype": np.float64}
    return RankedTrees(spec, tables, parsed.input_dtype, parsed.tree_output)
