"""Which estimators inside a fitted scikit-learn model SHAP explains exactly, and with what.

A Pipeline splits into its fitted preprocessing and its final estimator; a CalibratedClassifierCV
into the models it averages (each with its own preprocessing when it wraps a whole Pipeline).
The final estimators' class decides the explainer family: exact tree SHAP for tree ensembles,
exact linear SHAP for linear models, the model-agnostic explainer for anything else (and for
preprocessing that mixes inputs, whose attributions cannot be mapped back to input columns).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier

from workbench.explain.encoding import aggregation_matrix, encoded_feature_map
from workbench.explain.parts import ModelPart

# Final estimators SHAP's TreeExplainer reads natively (by class name).
TREE_MODELS = frozenset({
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor", "LGBMClassifier",
    "LGBMRegressor", "XGBClassifier", "XGBRegressor", "Booster",
})
# Final estimators whose raw output is coef_ . x + intercept_ (SHAP's LinearExplainer).
LINEAR_MODELS = frozenset({
    "LogisticRegression", "LogisticRegressionCV", "SGDClassifier", "SGDRegressor",
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
    "Lars", "LarsCV", "LassoLars", "LassoLarsCV", "LassoLarsIC", "BayesianRidge",
    "ARDRegression", "HuberRegressor", "QuantileRegressor", "TheilSenRegressor", "LinearSVR",
    "PassiveAggressiveRegressor", "OrthogonalMatchingPursuit",
})


@dataclass(frozen=True)
class Decomposition:
    """The parts of a model an exact explainer reads, or why none applies.

    family: "tree", "linear" or None (model-agnostic); calibrated: the parts are the models a
    CalibratedClassifierCV averages, explained on their raw margin; reason: why family is None.
    """

    parts: tuple[ModelPart, ...]
    family: str | None
    calibrated: bool = False
    reason: str | None = None


def decompose(estimator: Any, feature_names: Sequence[str]) -> Decomposition:
    """Split a fitted scikit-learn model into the parts an exact explainer reads."""
    n = len(feature_names)
    outer, final = _split(estimator)
    calibrated = type(final).__name__ == "CalibratedClassifierCV"
    members = ([(_unfrozen(c.estimator), 1.0 / len(final.calibrated_classifiers_))
                for c in final.calibrated_classifiers_] if calibrated else [(final, 1.0)])
    parts = []
    for member, weight in members:
        inner, model = _split(member)
        steps = outer + inner
        mapping = _trace(steps, n)
        if mapping is None:
            return Decomposition((), None, calibrated,
                                 f"its preprocessing ({_step_names(steps)}) mixes input "
                                 f"columns, so attributions cannot be traced back to them")
        parts.append(ModelPart(model=model, encode=_transform(steps),
                               aggregate=aggregation_matrix(mapping, n), margin=raw_margin(model),
                               weight=weight, encoded_names=_encoded_names(steps, feature_names)))
    families = {family_of(p.model) for p in parts}
    family = families.pop() if len(families) == 1 else None
    reason = None if family else f"{type(parts[0].model).__name__} has no exact SHAP algorithm"
    return Decomposition(tuple(parts), family, calibrated, reason)


def family_of(model: Any) -> str | None:
    """"tree", "linear" or None, by the estimator's class."""
    name = type(model).__name__
    if name in TREE_MODELS:
        return "tree"
    if name in LINEAR_MODELS and hasattr(model, "coef_"):
        return "linear"
    return None


def raw_margin(model: Any) -> Callable[[Any], np.ndarray]:
    """The estimator's raw output: what its trees or coefficients add up to."""
    name = type(model).__name__
    if name.startswith("LGBM"):
        return lambda x: _flat(model.predict(x, raw_score=True))
    if name.startswith("XGB"):
        return lambda x: _flat(model.predict(x, output_margin=True))
    if is_classifier(model):
        if hasattr(model, "decision_function"):
            return lambda x: _flat(model.decision_function(x))
        return lambda x: np.asarray(model.predict_proba(x), dtype=float)[:, -1]
    return lambda x: _flat(model.predict(x))


def _flat(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


def _split(estimator: Any) -> tuple[tuple[Any, ...], Any]:
    """(preprocessing steps, final estimator) of a Pipeline; ((), estimator) otherwise."""
    steps = getattr(estimator, "steps", None)
    if not steps:
        return (), estimator
    final = steps[-1][1]
    return ((estimator[:-1],) if len(steps) > 1 else ()), final


def _unfrozen(estimator: Any) -> Any:
    """The estimator inside scikit-learn's FrozenEstimator (calibration of a prefit model)."""
    return estimator.estimator if type(estimator).__name__ == "FrozenEstimator" else estimator


def _trace(steps: Sequence[Any], n: int) -> np.ndarray | None:
    """For each encoded column, the raw input it came from (None when a step mixes inputs)."""
    mapping = np.arange(n)
    for step in steps:
        local = encoded_feature_map(step, len(mapping))
        if local is None:
            return None
        mapping = mapping[local]
    return mapping


def _step_names(steps: Sequence[Any]) -> str:
    """The class names of the preprocessing steps, pipelines opened up."""
    names = []
    for step in steps:
        inner = getattr(step, "steps", None)
        names += [type(s).__name__ for _, s in inner] if inner else [type(step).__name__]
    return ", ".join(names)


def _transform(steps: Sequence[Any]) -> Callable[[pd.DataFrame], Any]:
    def encode(frame: pd.DataFrame) -> Any:
        x: Any = frame
        for step in steps:
            x = step.transform(x)
        return x

    return encode


def _encoded_names(steps: Sequence[Any], feature_names: Sequence[str]) -> tuple[str, ...]:
    if not steps:
        return tuple(str(n) for n in feature_names)
    try:
        return tuple(str(n) for n in steps[-1].get_feature_names_out())
    except Exception:  # a step without feature names: columns are then named by position
        return ()
