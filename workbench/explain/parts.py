"""A model as an exact explainer sees it: the estimator it reads, how raw inputs reach it, how its
columns map back to the raw input columns, and the raw output its attributions add up to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.explain.encoding import dense_matrix


@dataclass(frozen=True)
class ModelPart:
    """One estimator an exact explainer reads.

    model: the fitted estimator or booster; encode: frame of raw inputs -> the estimator's own
    input (a pipeline's fitted preprocessing); aggregate: encoded columns x raw inputs 0/1 matrix
    that sums encoded attributions per raw input; margin: the estimator's raw output on encoded
    input (log-odds for boosted classifiers, probability for forests, the prediction for
    regressors); weight: its share when the model averages several (CalibratedClassifierCV).
    """

    model: Any
    encode: Callable[[pd.DataFrame], Any]
    aggregate: np.ndarray
    margin: Callable[[Any], np.ndarray]
    weight: float = 1.0
    encoded_names: tuple[str, ...] = ()

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The encoded rows as a dense float matrix (what SHAP reads)."""
        return dense_matrix(self.encode(frame))


def combined_margin(parts: Sequence[ModelPart], frame: pd.DataFrame) -> np.ndarray:
    """The weighted raw output of the parts on rows of raw inputs."""
    total = np.zeros(len(frame))
    for part in parts:
        total += part.weight * np.asarray(part.margin(part.encode(frame)), dtype=float).ravel()
    return total


def explained_output(units: str, parts: Sequence[ModelPart],
                     score: Callable[[pd.DataFrame], np.ndarray],
                     ) -> Callable[[pd.DataFrame], np.ndarray]:
    """The model output the values add up to: the probability score in "probability" units,
    the parts' combined margin otherwise."""
    def target(frame: pd.DataFrame) -> np.ndarray:
        if units == "probability":
            return np.asarray(score(frame), dtype=float)
        return combined_margin(parts, frame)
    return target


def calibrated_note(parts: Sequence[ModelPart]) -> str:
    """What the values of a CalibratedClassifierCV's parts explain, in words."""
    return (f"CalibratedClassifierCV: values explain the mean raw margin of its {len(parts)} "
            f"{type(parts[0].model).__name__} model(s), not the calibrated probability")


def join_notes(*notes: str | None) -> str | None:
    """Notes joined with '; ' (None when there is none)."""
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def merged_columns(part: ModelPart, feature_names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Raw inputs whose attribution sums several encoded columns (one-hot), with those columns."""
    out = {}
    for j, name in enumerate(feature_names):
        rows = np.flatnonzero(part.aggregate[:, j])
        if len(rows) > 1:
            names = part.encoded_names
            out[str(name)] = tuple(names[i] if i < len(names) else f"column {i}" for i in rows)
    return out
