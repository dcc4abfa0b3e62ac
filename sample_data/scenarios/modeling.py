"""The scenario models: small scikit-learn gradient-boosting pipelines, trained on the reference.

Categoricals are ordinal-encoded (unseen levels -> -1), numbers pass through. Domains choose the
family: "hist" (HistGradientBoosting, handles missing values) or "gbm" (GradientBoosting, missing
values imputed with the training median first). A release may be trained differently: another
seed, class weights, or with some features blanked out of its training data (a broken query).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from ..fraud_model import save_model
from .domains.base import Domain

MAX_ITER = 150
GBM_TREES = 70


def build(domain: Domain, random_state: int, options: dict[str, Any]) -> Pipeline:
    """An unfitted pipeline for the domain's task."""
    encode = ColumnTransformer(
        [("categorical", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
          list(domain.categorical))],
        remainder="passthrough", verbose_feature_names_out=False)
    if domain.family == "gbm":
        return Pipeline([("encode", encode), ("impute", SimpleImputer(strategy="median")),
                         ("model", _gbm(domain, random_state))])
    common = {"max_iter": MAX_ITER, "learning_rate": 0.08, "max_leaf_nodes": 31,
              "min_samples_leaf": 40, "early_stopping": False, "random_state": random_state}
    if domain.task == "classification":
        model = HistGradientBoostingClassifier(class_weight=options.get("class_weight"),
                                               **common)
    else:
        model = HistGradientBoostingRegressor(loss=domain.loss, **common)
    return Pipeline([("encode", encode), ("model", model)])


def _gbm(domain: Domain, random_state: int) -> GradientBoostingClassifier | \
        GradientBoostingRegressor:
    common = {"n_estimators": GBM_TREES, "max_depth": 3, "learning_rate": 0.12,
              "subsample": 0.5, "max_features": 0.6, "random_state": random_state}
    if domain.task == "classification":
        return GradientBoostingClassifier(**common)
    return GradientBoostingRegressor(loss="squared_error", **common)


def train(domain: Domain, features: pd.DataFrame, labels: np.ndarray, seed: int,
          options: dict[str, Any]) -> Pipeline:
    """Fit a release on the training features; `blind` features are constant in its data."""
    frame = features[list(domain.features)].copy()
    for name in options.get("blind", ()):
        frame[name] = frame[name].iloc[0] if name in domain.categorical else 0.0
    random_state = (seed * 7_919 + int(options.get("seed", 0))) % 2**31
    pipeline = build(domain, random_state, options)
    target = labels.astype(int) if domain.task == "classification" else labels
    fit_params = {}
    weights = options.get("class_weight")
    if weights and domain.family == "gbm":  # GradientBoosting takes weights per sample
        fit_params["model__sample_weight"] = np.vectorize(weights.get)(target).astype(float)
    pipeline.fit(frame, target, **fit_params)
    return pipeline


def predict(domain: Domain, model: Pipeline, features: pd.DataFrame) -> np.ndarray:
    """Scores (probability of the positive class) or predicted values."""
    frame = features[list(domain.features)]
    if len(frame) == 0:
        return np.zeros(0)
    if domain.task == "classification":
        return model.predict_proba(frame)[:, 1]
    return model.predict(frame)


def save(model: Pipeline, path: Path) -> None:
    """Write a reproducible skops file (the same model always gives the same bytes)."""
    save_model(model, path)
