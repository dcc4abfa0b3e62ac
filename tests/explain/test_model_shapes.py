"""Every model shape people ship gets its exact explainer, per raw input column, adding up.

Each model is trained on a small frame with a categorical column and rounded numerics (so many
rows sit exactly on split thresholds, as in real data), saved the way it is shipped (skops for
scikit-learn, save_model for native boosters, joblib with trusted = true for pipelines holding
LightGBM/XGBoost wrappers) and loaded back through `load_model`. Then: the explainer kind is
the exact one expected, values come one per raw input column (one-hot columns summed), base
value + values = the model's own raw output (log-odds, margin or prediction) within 1e-6 or the
reported gap, and explaining 200 rows stays far below what the model-agnostic explainer costs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from workbench.explain import SklearnAdapter, explain_rows, load_model
from workbench.explain.shap_values import clear_cache

INPUTS = ["amount", "ratio", "channel"]
NUMERIC = ["amount", "ratio"]
EXPLAINED_ROWS = 200
EXACT = 1e-6
# Seconds per 1000 explained rows no exact explainer should come near on this data (the
# model-agnostic explainer takes minutes for 1000 rows here).
SLOW_PER_1000 = 60.0


def _frame(n: int = 1_500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "amount": rng.lognormal(3.0, 1.0, n).round(0),
        "ratio": rng.normal(1.0, 0.5, n).round(2),
        "channel": rng.choice(["web", "app", "pos"], n, p=[0.5, 0.3, 0.2]),
    })
    logit = 0.04 * (x["amount"] - 25) + 2.0 * (x["ratio"] - 1) + (x["channel"] == "pos") - 0.5
    y = rng.random(n) < 1 / (1 + np.exp(-logit.to_numpy()))
    target = (x["amount"] * 0.1 + 3 * x["ratio"] + (x["channel"] == "app")).to_numpy()
    return x, y, target + rng.normal(0, 0.2, n)


X, Y, TARGET = _frame()
ROWS = X.iloc[:EXPLAINED_ROWS]
BACKGROUND = X.iloc[1_000:1_100]


def _encoder(one_hot: bool, scale: bool = False) -> ColumnTransformer:
    categorical = (OneHotEncoder(handle_unknown="ignore") if one_hot else
                   OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
    return ColumnTransformer([("cat", categorical, ["channel"])],
                             remainder=StandardScaler() if scale else "passthrough")


def _pipe(model: Any, one_hot: bool = False, scale: bool = False) -> Pipeline:
    return Pipeline([("pre", _encoder(one_hot, scale)), ("model", model)])


def _pipeline_margin(pipe: Pipeline) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda rows: pipe.decision_function(rows)


def _proba(pipe: Pipeline) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda rows: pipe.predict_proba(rows)[:, 1]


def _calibrated_margin(pipe: Pipeline) -> Callable[[pd.DataFrame], np.ndarray]:
    def margin(rows: pd.DataFrame) -> np.ndarray:
        encoded = pipe[:-1].transform(rows)
        members = pipe[-1].calibrated_classifiers_
        return np.mean([m.estimator.decision_function(encoded) for m in members], axis=0)
    return margin


@dataclass(frozen=True)
class Shape:
    """A model as shipped: how to build and save it, what to expect from its explainer."""

    build: Callable[[Path], tuple[Path, Any, Callable[[pd.DataFrame], np.ndarray]]]
    kind: str
    output: str  # units of the default explanation
    merged: tuple[str, ...] = ()  # raw inputs summed from several encoded columns
    trusted: bool = False
    inputs: tuple[str, ...] = tuple(INPUTS)
    tolerance: float = EXACT


def _skops(pipe: Pipeline, raw: Callable, y: np.ndarray = Y) -> Callable:
    def build(folder: Path):
        pipe.fit(X, y)
        path = folder / "model.skops"
        sio.dump(pipe, path)
        return path, pipe, raw(pipe)
    return build


def _joblib(pipe: Pipeline, raw: Callable) -> Callable:
    def build(folder: Path):
        pipe.fit(X, Y)
        path = folder / "model.joblib"
        joblib.dump(pipe, path)
        return path, pipe, raw(pipe)
    return build


def _lightgbm_text(folder: Path):
    lgb = pytest.importorskip("lightgbm")
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15},
                        lgb.Dataset(X[NUMERIC], label=Y.astype(int)), num_boost_round=60)
    path = folder / "model.txt"
    booster.save_model(str(path))
    return path, booster, lambda rows: booster.predict(rows[NUMERIC], raw_score=True)


def _xgboost_json(folder: Path):
    xgb = pytest.importorskip("xgboost")
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4},
                        xgb.DMatrix(X[NUMERIC], label=Y.astype(int)), num_boost_round=60)
    path = folder / "model.json"
    booster.save_model(str(path))
    return path, booster, lambda rows: booster.predict(xgb.DMatrix(rows[NUMERIC]),
                                                       output_margin=True)


def _lgbm_pipeline(folder: Path):
    lgb = pytest.importorskip("lightgbm")
    pipe = _pipe(lgb.LGBMClassifier(n_estimators=60, num_leaves=15, verbose=-1))
    return _joblib(pipe, lambda p: lambda rows: p[-1].predict(p[:-1].transform(rows),
                                                              raw_score=True))(folder)


def _xgb_pipeline(folder: Path):
    xgb = pytest.importorskip("xgboost")
    pipe = _pipe(xgb.XGBClassifier(n_estimators=60, max_depth=4))
    return _joblib(pipe, lambda p: lambda rows: p[-1].predict(p[:-1].transform(rows),
                                                              output_margin=True))(folder)


SHAPES = {
    "hist_gradient_boosting": Shape(
        _skops(_pipe(HistGradientBoostingClassifier(random_state=0)), _pipeline_margin),
        "tree", "probability"),
    "hist_gradient_boosting_one_hot": Shape(
        _skops(_pipe(HistGradientBoostingClassifier(random_state=0), one_hot=True),
               _pipeline_margin), "tree", "probability", merged=("channel",)),
    "gradient_boosting": Shape(
        _skops(_pipe(GradientBoostingClassifier(random_state=0)), _pipeline_margin),
        "tree", "probability"),
    "random_forest": Shape(
        _skops(_pipe(RandomForestClassifier(50, max_depth=6, random_state=0)), _proba),
        "tree", "probability"),
    "extra_trees": Shape(
        _skops(_pipe(ExtraTreesClassifier(50, max_depth=6, random_state=0), one_hot=True),
               _proba), "tree", "probability", merged=("channel",)),
    "decision_tree": Shape(
        _skops(_pipe(DecisionTreeClassifier(max_depth=8, random_state=0)), _proba),
        "tree", "probability"),
    "hist_gradient_boosting_regressor": Shape(
        _skops(_pipe(HistGradientBoostingRegressor(random_state=0)),
               lambda p: p.predict, y=TARGET), "tree", "raw"),
    "logistic_regression": Shape(
        _skops(_pipe(LogisticRegression(), one_hot=True, scale=True), _pipeline_margin),
        "linear", "probability", merged=("channel",)),
    "ridge": Shape(
        _skops(_pipe(Ridge(), one_hot=True, scale=True), lambda p: p.predict, y=TARGET),
        "linear", "raw", merged=("channel",)),
    "calibrated_hist_gradient_boosting": Shape(
        _skops(_pipe(CalibratedClassifierCV(HistGradientBoostingClassifier(random_state=0),
                                            cv=3)), _calibrated_margin),
        "tree", "margin"),
    "lightgbm_text": Shape(_lightgbm_text, "tree", "probability", inputs=tuple(NUMERIC)),
    "lightgbm_pipeline": Shape(_lgbm_pipeline, "tree", "probability", trusted=True),
    # XGBoost sums its trees in float32: its own output carries ~1e-6 of rounding
    "xgboost_json": Shape(_xgboost_json, "tree", "probability", inputs=tuple(NUMERIC),
                          tolerance=1e-4),
    "xgboost_pipeline": Shape(_xgb_pipeline, "tree", "probability", trusted=True,
                              tolerance=1e-4),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_exact_explainer_per_raw_column_adds_up_to_the_raw_output(name, tmp_path):
    shape = SHAPES[name]
    path, _, raw_output = shape.build(tmp_path)
    adapter = load_model(path, trusted=shape.trusted)
    assert adapter.feature_names == shape.inputs

    clear_cache()
    began = time.perf_counter()
    default = explain_rows(adapter, ROWS, BACKGROUND)
    per_1000 = (time.perf_counter() - began) * 1000 / EXPLAINED_ROWS
    assert default.kind == shape.kind, adapter.explainer(BACKGROUND).note
    assert default.output == shape.output
    assert default.values.shape == (EXPLAINED_ROWS, len(shape.inputs))
    assert default.additivity_error <= shape.tolerance
    np.testing.assert_allclose(default.base_value + default.values.sum(axis=1),
                               default.model_output, rtol=0,
                               atol=default.additivity_error + 1e-12)
    assert per_1000 < SLOW_PER_1000, f"{per_1000:.1f} s per 1000 rows"

    # the model's raw units: log-odds for classifiers that have them, else their own output
    raw = explain_rows(adapter, ROWS, BACKGROUND,
                       output="raw" if shape.output == "raw" else "log_odds")
    assert raw.additivity_error <= shape.tolerance
    expected = np.asarray(raw_output(ROWS), dtype=float).ravel()
    np.testing.assert_allclose(raw.base_value + raw.values.sum(axis=1), expected, rtol=0,
                               atol=max(EXACT, raw.additivity_error) + 1e-9)

    explainer = adapter.explainer(BACKGROUND)
    assert sorted(explainer.merged_columns) == sorted(shape.merged)
    for column in shape.merged:
        assert len(explainer.merged_columns[column]) == ROWS[column].nunique()


def test_calibrated_model_says_it_explains_the_margin(tmp_path):
    path, _, _ = SHAPES["calibrated_hist_gradient_boosting"].build(tmp_path)
    explainer = load_model(path).explainer(BACKGROUND)
    assert explainer.output == "margin"
    assert "CalibratedClassifierCV" in explainer.note and "3" in explainer.note


def test_exact_values_match_shapley_values_computed_by_enumeration(tmp_path):
    """On thresholds and missing values too: ranking thresholds changes no value."""
    rows = X.iloc[:40].copy()
    pipe = _pipe(HistGradientBoostingClassifier(random_state=0)).fit(X, Y)
    thresholds = np.unique([node["num_threshold"] for predictor in pipe[-1]._predictors
                            for node in predictor[0].nodes
                            if not node["is_leaf"] and node["feature_idx"] == 2])
    rows["ratio"] = np.resize(thresholds, len(rows))  # every row exactly on a ratio split
    rows.loc[rows.index[::5], "amount"] = np.nan  # and some missing amounts
    background = BACKGROUND.copy()
    background.loc[background.index[::7], "amount"] = np.nan
    path = tmp_path / "model.skops"
    sio.dump(pipe, path)
    values = explain_rows(load_model(path), rows, background, output="log_odds")
    assert values.kind == "tree" and values.additivity_error < EXACT

    np.testing.assert_allclose(values.values, _enumerated_shapley(pipe, rows, background),
                               rtol=0, atol=1e-6)


def _enumerated_shapley(pipe: Pipeline, rows: pd.DataFrame,
                        background: pd.DataFrame) -> np.ndarray:
    """Interventional Shapley values of the log-odds from all 2^3 coalitions (one model call)."""
    from itertools import combinations
    from math import factorial

    names = list(rows.columns)
    m = len(names)
    coalitions = [c for size in range(m + 1) for c in combinations(range(m), size)]
    blocks = []
    for i in range(len(rows)):
        for coalition in coalitions:
            mixed = background.copy()
            for j in coalition:
                mixed[names[j]] = rows.iloc[i, j]
            blocks.append(mixed)
    margins = pipe.decision_function(pd.concat(blocks, ignore_index=True))
    means = margins.reshape(len(rows), len(coalitions), len(background)).mean(axis=2)
    out = np.zeros((len(rows), m))
    index = {c: k for k, c in enumerate(coalitions)}
    for j in range(m):
        for coalition in coalitions:
            if j in coalition:
                continue
            weight = factorial(len(coalition)) * factorial(m - len(coalition) - 1) / factorial(m)
            with_j = tuple(sorted((*coalition, j)))
            out[:, j] += weight * (means[:, index[with_j]] - means[:, index[coalition]])
    return out


def test_logistic_probability_values_add_up_to_the_probability():
    pipe = _pipe(LogisticRegression(), one_hot=True, scale=True).fit(X, Y)
    adapter = SklearnAdapter(pipe)
    proba = explain_rows(adapter, ROWS, BACKGROUND)
    assert proba.kind == "linear" and proba.output == "probability"
    assert proba.base_value == pytest.approx(pipe.predict_proba(BACKGROUND)[:, 1].mean())
    np.testing.assert_allclose(proba.base_value + proba.values.sum(axis=1),
                               pipe.predict_proba(ROWS)[:, 1], rtol=0, atol=1e-9)
    # log-odds values are coef * (x - background mean), summed over each input's columns
    log_odds = explain_rows(adapter, ROWS, BACKGROUND, output="log_odds")
    encoded = pipe[:-1].transform(ROWS)
    centred = encoded - pipe[:-1].transform(BACKGROUND).mean(axis=0)
    per_column = centred * pipe[-1].coef_.ravel()
    names = list(pipe[:-1].get_feature_names_out())
    channel = [j for j, n in enumerate(names) if n.startswith("cat__channel_")]
    np.testing.assert_allclose(log_odds.values[:, 2], per_column[:, channel].sum(axis=1),
                               atol=1e-9)


def test_classifier_whose_probability_is_not_logistic_is_explained_on_its_margin():
    pipe = _pipe(SGDClassifier(loss="modified_huber", random_state=0), one_hot=True,
                 scale=True).fit(X, Y)
    values = explain_rows(SklearnAdapter(pipe), ROWS, BACKGROUND)
    assert values.kind == "linear" and values.output == "margin"
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               pipe.decision_function(ROWS), atol=1e-9)


def test_native_categorical_splits_fall_back_and_say_why():
    coded = X.assign(channel=X["channel"].map({"web": 0, "app": 1, "pos": 2}))
    model = HistGradientBoostingClassifier(categorical_features=[2], max_iter=20,
                                           random_state=0).fit(coded, Y)
    explainer = SklearnAdapter(model).explainer(coded.iloc[:20], max_evals=20)
    assert explainer.kind == "permutation"
    assert "categorical" in explainer.note and "model-agnostic" in explainer.note
