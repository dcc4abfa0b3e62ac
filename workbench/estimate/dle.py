"""Direct loss estimation (DLE) for regressors: a small gradient-boosted model of the absolute
error, trained on labelled rows from the inputs and the prediction, scores a seeded sample of the
log; the mean predicted loss of a bucket's sampled rows is its estimated MAE.

Its interval adds the sampling error of that mean (the sampled share of the bucket) to the
spread the loss model leaves unexplained, measured on held-out labelled rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.data import ColumnKind, FeatureSpec
from workbench.threads import small_fit

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

# Labelled rows the loss model trains on and rows it scores (seeded samples, so the cost does not
# grow with the log); the inputs it reads at most; its cross-validation folds.
TRAIN_ROWS = 20_000
SCORE_ROWS = 100_000
MAX_INPUTS = 40
FOLDS = 3
MIN_TRAIN_ROWS = 200


@dataclass(frozen=True)
class LossModel:
    """A fitted loss model with what it needs to encode rows and what held-out rows said."""

    model: HistGradientBoostingRegressor
    features: tuple[FeatureSpec, ...]
    levels: dict[str, tuple[str, ...]]
    residual_var: float  # variance of realised minus predicted absolute error, held out
    bias: float  # mean of realised minus predicted absolute error, held out
    rows: int

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted absolute error of each row (never negative)."""
        return np.clip(self.model.predict(_design(frame, self.features, self.levels)), 0.0, None)


def inputs(features: Sequence[FeatureSpec]) -> tuple[FeatureSpec, ...]:
    """The inputs the loss model reads: numeric and categorical features, at most MAX_INPUTS."""
    usable = [f for f in features if f.kind in (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL)]
    return tuple(usable[:MAX_INPUTS])


def train(frame: pd.DataFrame, features: tuple[FeatureSpec, ...],
          seed: int = 0) -> LossModel | None:
    """Fit the loss model on labelled rows (`_wb_score`, `_wb_label`, the inputs); None with
    fewer than MIN_TRAIN_ROWS of them."""
    frame = frame[frame["_wb_label"].notna()].reset_index(drop=True)
    if len(frame) < MIN_TRAIN_ROWS:
        return None
    levels = {f.name: tuple(sorted(frame[f.name].dropna().astype(str).unique()))
              for f in features if f.kind is not ColumnKind.NUMERIC}
    x = _design(frame, features, levels)
    loss = np.abs(frame["_wb_score"].to_numpy(float) - frame["_wb_label"].to_numpy(float))
    fold = np.random.default_rng(seed).integers(0, FOLDS, len(frame))
    held = np.empty(len(frame))
    _model(seed)  # loads scikit-learn, so the thread limit below reaches its OpenMP pool
    with small_fit():
        for f in range(FOLDS):
            test = fold == f
            held[test] = _model(seed).fit(x[~test], loss[~test]).predict(x[test])
        model = _model(seed).fit(x, loss)
    residual = loss - np.clip(held, 0.0, None)
    return LossModel(model, features, levels, float(residual.var()), float(residual.mean()),
                     len(frame))


def per_bucket(model: LossModel, sample: pd.DataFrame, buckets: pd.Series,
               scored: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(estimated MAE, standard error, sampled rows) per bucket of `buckets`, from the sampled
    rows (`_wb_bucket` and the inputs); `scored`: each bucket's scored rows."""
    g = len(buckets)
    where = pd.Index(buckets).get_indexer(sample["_wb_bucket"])
    ok = where >= 0
    loss = model.predict(sample[ok])
    where = where[ok]
    k = np.bincount(where, minlength=g).astype(float)
    total = np.bincount(where, weights=loss, minlength=g)
    square = np.bincount(where, weights=loss ** 2, minlength=g)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(k > 0, total / np.maximum(k, 1), np.nan)
        spread = np.where(k > 1, (square - k * mean ** 2) / np.maximum(k - 1, 1), 0.0)
        n = np.maximum(scored.astype(float), k)
        sampled = np.clip(spread, 0.0, None) * np.clip(1 / np.maximum(k, 1) - 1 / n, 0.0, None)
        var = sampled + model.residual_var / np.maximum(n, 1)
    return mean, np.sqrt(var), k


def window(model: LossModel, sample: pd.DataFrame, scored: int) -> tuple[float, float]:
    """(estimated MAE, standard error) of a window from a uniform sample of its `scored`
    rows."""
    loss = model.predict(sample)
    k, n = len(loss), max(scored, len(loss), 1)
    if k == 0:
        return float("nan"), float("nan")
    spread = float(loss.var(ddof=1)) if k > 1 else 0.0
    var = spread * max(1 / k - 1 / n, 0.0) + model.residual_var / n
    return float(loss.mean()), float(np.sqrt(var))


def _model(seed: int) -> HistGradientBoostingRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor  # loaded for regressors only

    return HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=15, min_samples_leaf=40,
                                         learning_rate=0.1, random_state=seed)


def _design(frame: pd.DataFrame, features: tuple[FeatureSpec, ...],
            levels: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Inputs as numbers (categories as codes of the training levels) plus the prediction."""
    cols = []
    for f in features:
        if f.kind is ColumnKind.NUMERIC:
            cols.append(pd.to_numeric(frame[f.name], errors="coerce").to_numpy(float))
        else:
            codes = pd.Categorical(frame[f.name].astype("string"),
                                   categories=list(levels.get(f.name, ()))).codes
            cols.append(np.where(codes >= 0, codes, np.nan).astype(float))
    cols.append(frame["_wb_score"].to_numpy(float))
    return np.column_stack(cols)
