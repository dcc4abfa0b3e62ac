"""Which original feature each column of a fitted preprocessing step came from.

SHAP runs on the final estimator of a pipeline, i.e. on the encoded matrix. To report values per
original feature, each encoded column is traced back to the input column it was made from: 1:1
for ordinal encoders, scalers, imputers and passthrough columns, many:1 for one-hot encoders
(their SHAP values are then summed per original feature, which keeps additivity). Steps that mix
inputs (PCA, polynomial features, ...) cannot be traced; the caller then falls back to a
model-agnostic explainer on the whole pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

_PLACEHOLDER = "x{}"  # scikit-learn's own names for unnamed inputs


def encoded_feature_map(step: Any, n_features: int) -> np.ndarray | None:
    """For each output column of a fitted step, the index of its input feature (None if unknown)."""
    try:
        mapping = _trace(step, n_features)
    except Exception:  # any step we cannot read is simply "not traceable"
        return None
    if mapping.size == 0 or (mapping < 0).any() or (mapping >= n_features).any():
        return None
    return mapping


def aggregation_matrix(mapping: np.ndarray, n_features: int) -> np.ndarray:
    """0/1 matrix (encoded columns x features): encoded SHAP values @ it = per-feature values."""
    matrix = np.zeros((len(mapping), n_features))
    matrix[np.arange(len(mapping)), mapping] = 1.0
    return matrix


def dense_matrix(values: Any) -> np.ndarray:
    """A transform's output as a dense float array (sparse and pandas outputs included)."""
    if sp.issparse(values):
        values = values.toarray()
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy()
    return np.asarray(values, dtype=np.float64)


def _trace(step: Any, n_in: int) -> np.ndarray:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return np.arange(n_in)
    if isinstance(step, Pipeline):
        mapping = np.arange(n_in)
        for _, inner in step.steps:
            mapping = mapping[_trace(inner, len(mapping))]
        return mapping
    if isinstance(step, ColumnTransformer):
        return _trace_columns(step, n_in)
    fitted = getattr(step, "feature_names_in_", None)
    inputs = ([str(n) for n in fitted] if fitted is not None and len(fitted) == n_in
              else [_PLACEHOLDER.format(i) for i in range(n_in)])
    index = {name: i for i, name in enumerate(inputs)}
    by_length = sorted(inputs, key=len, reverse=True)
    out = []
    for name in map(str, step.get_feature_names_out(inputs)):
        if name in index:  # one-to-one steps keep the input's name
            out.append(index[name])
            continue
        # one-hot style outputs are "<input>_<category>"; the longest matching input wins
        source = next((n for n in by_length if name.startswith(n + "_")), None)
        if source is None:
            raise ValueError(f"output column {name!r} does not name its input")
        out.append(index[source])
    return np.asarray(out, dtype=int)


def _trace_columns(ct: ColumnTransformer, n_in: int) -> np.ndarray:
    slices = ct.output_indices_
    width = max((s.stop for s in slices.values()), default=0)
    mapping = np.full(width, -1, dtype=int)
    inputs = ct._transformer_to_input_indices  # resolved input columns of each transformer
    for name, trans, _ in ct.transformers_:
        out = slices.get(name)
        if out is None or out.stop == out.start or (isinstance(trans, str) and trans == "drop"):
            continue
        idx = np.asarray(inputs[name], dtype=int)
        local = _trace(trans, len(idx))
        if len(local) != out.stop - out.start:
            raise ValueError(f"transformer {name!r} output width does not match")
        mapping[out] = idx[local]
    if (mapping < 0).any() or (mapping >= n_in).any():
        raise ValueError("some output columns are not traced")
    return mapping
