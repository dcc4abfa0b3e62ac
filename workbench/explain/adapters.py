"""Model adapters: one small interface over the model formats an incident can point at.

Every adapter offers `feature_names`, `task`, `predict_score(frame)` (probability of the positive
class for classifiers, the prediction for regressors) and `explainer(background)`: the fastest
exact explainer for the model (tree or linear SHAP on the final estimator, attributions summed
back to the raw input columns) or, when none applies, the sampled model-agnostic one.

Formats, chosen by the file name and checked against its content:
- scikit-learn estimators and pipelines saved with skops (`.skops`): loaded with an explicit
  list of trusted types, built from `skops.io.get_untrusted_types` and restricted to
  scikit-learn, NumPy and SciPy types; anything else is refused.
- joblib/pickle (`.joblib`, `.pkl`, `.pickle`): unpickling runs code from the file, so these
  load only when the incident says `[model] trusted = true`.
- LightGBM text models (`.txt`, `.lgb`, `.lgbm`) and XGBoost JSON/UBJSON models (`.json`,
  `.ubj`), each needing its optional package, imported only when such a file is loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.config import TASKS
from workbench.exceptions import ConfigError, EmptyDataError, InvalidInputError
from workbench.explain.errors import (
    FeatureMismatchError,
    MissingExtraError,
    ModelLoadError,
    UnsupportedModelError,
    UntrustedModelError,
)
from workbench.explain.estimators import decompose
from workbench.explain.linear_shap import LinearShapExplainer
from workbench.explain.parts import ModelPart
from workbench.explain.shap_values import (
    OUTPUTS,
    FeatureExplainer,
    PermutationShapExplainer,
    additive,
    frame_digest,
)
from workbench.explain.tree_shap import TreeShapExplainer

if TYPE_CHECKING:
    from workbench.data import LogStore

SAFE_TYPE_ROOTS = ("sklearn", "numpy", "scipy")
SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".jbl")
LIGHTGBM_SUFFIXES = (".txt", ".lgb", ".lgbm")
XGBOOST_SUFFIXES = (".json", ".ubj")
# The pip extra that installs each optional model package.
EXTRAS = {"lightgbm": "lightgbm", "xgboost": "xgboost"}
DISTRIBUTION = "ml-incident-workbench"
# The exact explainer of each estimator family (see workbench.explain.estimators).
EXACT_EXPLAINERS: dict[str, type[TreeShapExplainer] | type[LinearShapExplainer]] = {
    "tree": TreeShapExplainer, "linear": LinearShapExplainer}
# Background rows an exact explainer is checked on before it is used.
PROBE_ROWS = 5


class ModelAdapter(ABC):
    """A loaded model behind the interface the explain functions use.

    path/file_hash identify the file (the hash keys caches); description names the model type.
    """

    def __init__(self, path: Path | None, file_hash: str, feature_names: Sequence[str],
                 task: str, description: str) -> None:
        if task not in TASKS:
            raise ModelLoadError(f"The model task must be one of {', '.join(TASKS)}. Got {task!r}.")
        self.path = path
        self.file_hash = file_hash
        self.feature_names = tuple(str(n) for n in feature_names)
        self.task = task
        self.description = description
        self._explainers: dict[tuple, FeatureExplainer] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model file's name (or the description for in-memory models)."""
        return self.path.name if self.path is not None else self.description

    @property
    def default_output(self) -> str:
        """Units SHAP values are reported in unless asked otherwise."""
        return "probability" if self.task == "classification" else "raw"

    def inputs(self, frame: pd.DataFrame, where: str = "the rows to score") -> pd.DataFrame:
        """The model's columns of frame, in the model's order (raises naming missing ones)."""
        missing = [n for n in self.feature_names if n not in frame.columns]
        if missing:
            raise FeatureMismatchError(
                f"{where} lack the model's input column(s) {missing}; "
                f"the model {self.name} needs {list(self.feature_names)}."
            )
        return frame.loc[:, list(self.feature_names)]

    def check_columns(self, columns: Iterable[str], where: str,
                      expected: Iterable[str] | None = None) -> None:
        """Raise FeatureMismatchError when a model feature is not among columns.

        expected: the features the incident analyses, listed as "extra" when the model does not
        use them, so the message shows both sides of the disagreement.
        """
        available = set(columns)
        missing = [n for n in self.feature_names if n not in available]
        if not missing:
            return
        extra = [c for c in (expected if expected is not None else available)
                 if c not in self.feature_names]
        raise FeatureMismatchError(
            f"The model {self.name} and {where} disagree on the features. Missing from "
            f"{where} (the model needs them): {missing}. In {where} but not used by the model: "
            f"{extra or 'none'}. Point [model] path at the model that scored this log, or "
            f"fix the column names upstream."
        )

    @abstractmethod
    def predict_score(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class (classification) or the prediction (regression)."""

    def explainer(self, background: pd.DataFrame, *, output: str | None = None,
                  max_evals: int | None = None, seed: int = 0) -> FeatureExplainer:
        """A SHAP explainer over this background sample (cached per background and options).

        output: "probability" or "log_odds" for classifiers ("raw" means log-odds there),
        "raw" for regressors; default `default_output`. The explainer's own `output` says what
        it delivers: a forest's probability when log-odds are asked for, or a calibrated
        model's margin (see `tree_shap`, `linear_shap`).
        """
        output = output or self.default_output
        if output not in OUTPUTS:
            raise InvalidInputError(f"The SHAP output must be one of {', '.join(OUTPUTS)}. "
                                    f"Got {output!r}.")
        if self.task == "regression" and output != "raw":
            raise InvalidInputError(
                f"A regression model is explained in 'raw' units. Got {output!r}.")
        if self.task == "classification" and output == "raw":
            output = "log_odds"
        background = self.inputs(background, "the background sample")
        if len(background) == 0:
            raise EmptyDataError("The background sample is empty: the reference has no rows.")
        key = (frame_digest(background), output, max_evals, seed)
        with self._lock:
            if key not in self._explainers:
                self._explainers[key] = self._make_explainer(background, output, max_evals,
                                                             seed)
            return self._explainers[key]

    @abstractmethod
    def _make_explainer(self, background: pd.DataFrame, output: str, max_evals: int | None,
                        seed: int) -> FeatureExplainer:
        """Build the explainer (an exact one when the model allows it)."""

    def _permutation(self, background: pd.DataFrame, output: str, max_evals: int | None,
                     seed: int, note: str | None = None) -> FeatureExplainer:
        return PermutationShapExplainer(self.predict_score, self.feature_names, background,
                                        output, max_evals, seed, note=note)

    def _exact_or_permutation(self, family: str, parts: Sequence[ModelPart],
                              background: pd.DataFrame, output: str, max_evals: int | None,
                              seed: int, calibrated: bool = False) -> FeatureExplainer:
        """The family's exact explainer if SHAP reads the model and its values add up on a probe
        of the background, else the model-agnostic explainer (saying why in its note)."""
        try:
            explainer = EXACT_EXPLAINERS[family](parts, self.feature_names, background, output,
                                                 self.predict_score, calibrated=calibrated)
            probe = explainer.explain(background.iloc[: min(PROBE_ROWS, len(background))])
            if not additive(probe):
                raise UnsupportedModelError(
                    f"its values missed the model output by {probe.additivity_error:.3g} on a "
                    f"probe")
        except Exception as exc:  # SHAP cannot read this model: explain it model-agnostically
            return self._permutation(background, output, max_evals, seed,
                                     note=f"{family} SHAP unavailable for {self.description} "
                                          f"({exc}); sampled model-agnostic explainer used")
        return explainer


# ---- scikit-learn ------------------------------------------------------------------------------

class SklearnAdapter(ModelAdapter):
    """A scikit-learn estimator or Pipeline (binary classifier or regressor)."""

    def __init__(self, estimator: Any, path: Path | None = None, file_hash: str = "",
                 task: str | None = None, feature_names: Sequence[str] | None = None) -> None:
        where = str(path) if path else "the model"
        if not hasattr(estimator, "predict"):
            raise ModelLoadError(f"{where} holds a {type(estimator).__name__}, not a fitted "
                                 f"scikit-learn estimator (it has no predict method).")
        names = _sklearn_feature_names(estimator, feature_names, where)
        task = task or _sklearn_task(estimator)
        if task == "classification":
            classes = getattr(estimator, "classes_", None)
            if classes is not None and len(classes) != 2:
                raise ModelLoadError(f"{where} is a classifier with {len(classes)} classes; the "
                                     f"workbench explains binary classifiers and regressors.")
            if not hasattr(estimator, "predict_proba"):
                raise ModelLoadError(f"{where} is a classifier without predict_proba; the log's "
                                     f"score must be a probability to compare with it.")
        steps = getattr(estimator, "steps", None)
        final = steps[-1][1] if steps else estimator
        super().__init__(path, file_hash or _object_hash(estimator), names, task,
                         _describe(estimator, final))
        self.estimator = estimator

    def predict_score(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.inputs(frame)
        if self.task == "classification":
            return np.asarray(self.estimator.predict_proba(x), dtype=float)[:, 1]
        return np.asarray(self.estimator.predict(x), dtype=float).ravel()

    def _make_explainer(self, background: pd.DataFrame, output: str, max_evals: int | None,
                        seed: int) -> FeatureExplainer:
        anatomy = decompose(self.estimator, self.feature_names)
        if anatomy.family is None:
            return self._permutation(background, output, max_evals, seed,
                                     note=f"{anatomy.reason}; sampled model-agnostic explainer "
                                          f"used")
        return self._exact_or_permutation(anatomy.family, anatomy.parts, background, output,
                                          max_evals, seed, calibrated=anatomy.calibrated)


def _sklearn_feature_names(estimator: Any, given: Sequence[str] | None, where: str) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    n_in = getattr(estimator, "n_features_in_", None)
    if given is not None and (n_in is None or n_in == len(given)):
        return list(given)
    raise FeatureMismatchError(
        f"{where} was fitted without column names and expects {n_in} inputs, but the log "
        f"has {len(given) if given is not None else 'no'} features to give it. Refit it on a "
        f"DataFrame (so it stores feature_names_in_) or list its inputs in order in "
        f"[production] features."
    )


def _sklearn_task(estimator: Any) -> str:
    from sklearn.base import is_classifier

    return "classification" if is_classifier(estimator) else "regression"


def _describe(estimator: Any, final: Any) -> str:
    if final is estimator:
        return type(estimator).__name__
    return f"{type(estimator).__name__} -> {type(final).__name__}"


# ---- LightGBM ----------------------------------------------------------------------------------

class LightGBMAdapter(ModelAdapter):
    """A LightGBM Booster read from its native text format."""

    def __init__(self, booster: Any, path: Path | None, file_hash: str, task: str | None,
                 objective: str) -> None:
        if objective.startswith(("multiclass", "multiclassova", "lambdarank", "rank_xendcg")):
            raise ModelLoadError(f"{path}: LightGBM objective {objective!r} is not supported; "
                                 f"the workbench explains binary classifiers and regressors.")
        guessed = "classification" if objective.startswith(
            ("binary", "cross_entropy")) else "regression"
        super().__init__(path, file_hash, booster.feature_name(), task or guessed,
                         f"LightGBM Booster ({objective or 'unknown objective'})")
        self.booster = booster
        self._categories = list(getattr(booster, "pandas_categorical", None) or [])

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = self.inputs(frame).copy()
        text = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])
                or isinstance(x[c].dtype, pd.CategoricalDtype)]
        if text and len(text) != len(self._categories):
            raise FeatureMismatchError(
                f"The LightGBM model {self.name} was trained with {len(self._categories)} "
                f"categorical column(s) but the log has {len(text)} non-numeric ones ({text})."
            )
        for col, levels in zip(text, self._categories, strict=False):
            x[col] = pd.Categorical(x[col].astype(object), categories=levels)
        return x

    def predict_score(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self._frame(frame)), dtype=float).ravel()

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        x = self._frame(frame)
        out = np.empty(x.shape)
        for j, col in enumerate(x.columns):
            if isinstance(x[col].dtype, pd.CategoricalDtype):
                codes = x[col].cat.codes.to_numpy()
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = pd.to_numeric(x[col], errors="coerce").to_numpy(dtype=float)
        return out

    def _margin(self, matrix: np.ndarray) -> np.ndarray:
        """The booster's raw output (log-odds for binary objectives)."""
        return np.asarray(self.booster.predict(matrix, raw_score=True), dtype=float).ravel()

    def _make_explainer(self, background: pd.DataFrame, output: str, max_evals: int | None,
                        seed: int) -> FeatureExplainer:
        n = len(self.feature_names)
        part = ModelPart(self.booster, self._encode, np.eye(n), self._margin,
                         encoded_names=self.feature_names)
        return self._exact_or_permutation("tree", [part], background, output, max_evals, seed)


# ---- XGBoost -----------------------------------------------------------------------------------

class XGBoostAdapter(ModelAdapter):
    """An XGBoost Booster read from its native JSON or UBJSON format (numeric features)."""

    def __init__(self, booster: Any, xgb: ModuleType, path: Path | None, file_hash: str,
                 task: str | None, feature_names: Sequence[str] | None) -> None:
        config = json.loads(booster.save_config())
        objective = str(config.get("learner", {}).get("objective", {}).get("name", ""))
        if objective.startswith(("multi:", "rank:")):
            raise ModelLoadError(f"{path}: XGBoost objective {objective!r} is not supported; "
                                 f"the workbench explains binary classifiers and regressors.")
        names = booster.feature_names
        if names is None:
            if feature_names is None or len(feature_names) != booster.num_features():
                raise FeatureMismatchError(
                    f"{path} stores no feature names and expects {booster.num_features()} "
                    f"inputs; list them in order in [production] features.")
            names = list(feature_names)
        types = booster.feature_types or []
        if "c" in types:
            raise ModelLoadError(
                f"{path} has categorical features; the workbench reads XGBoost models with "
                f"numeric inputs only. Save an sklearn Pipeline (encoder + XGBClassifier) with "
                f"skops instead.")
        guessed = "classification" if objective.startswith("binary:") else "regression"
        super().__init__(path, file_hash, names, task or guessed,
                         f"XGBoost Booster ({objective or 'unknown objective'})")
        self.booster = booster
        self._xgb = xgb
        self._logit_raw = objective == "binary:logitraw"

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.inputs(frame)
        return np.column_stack([pd.to_numeric(x[c], errors="coerce").to_numpy(dtype=float)
                                for c in x.columns]) if len(x.columns) else np.empty((len(x), 0))

    def predict_score(self, frame: pd.DataFrame) -> np.ndarray:
        matrix = self._xgb.DMatrix(self._encode(frame), feature_names=list(self.feature_names))
        score = np.asarray(self.booster.predict(matrix), dtype=float).ravel()
        return 1.0 / (1.0 + np.exp(-score)) if self._logit_raw else score

    def _margin(self, matrix: np.ndarray) -> np.ndarray:
        """The booster's raw output (log-odds for binary objectives)."""
        data = self._xgb.DMatrix(matrix, feature_names=list(self.feature_names))
        return np.asarray(self.booster.predict(data, output_margin=True), dtype=float).ravel()

    def _make_explainer(self, background: pd.DataFrame, output: str, max_evals: int | None,
                        seed: int) -> FeatureExplainer:
        n = len(self.feature_names)
        part = ModelPart(self.booster, self._encode, np.eye(n), self._margin,
                         encoded_names=self.feature_names)
        return self._exact_or_permutation("tree", [part], background, output, max_evals, seed)


# ---- loading -----------------------------------------------------------------------------------

_LOADED: dict[tuple, ModelAdapter] = {}
_LOADED_LOCK = threading.Lock()


def load_model(path: str | Path, *, trusted: bool = False, task: str | None = None,
               feature_names: Sequence[str] | None = None) -> ModelAdapter:
    """Load a model file into an adapter (cached per file content and options).

    trusted: allow pickle/joblib files (they run code when loaded). task: overrides the task
    read from the model. feature_names: input names for models that store none.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"The model file {str(path)!r} does not exist. Fix [model] path in "
                             f"the incident config (it is relative to the config file).")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    key = (str(path.resolve()), digest, trusted, task,
           tuple(feature_names) if feature_names is not None else None)
    with _LOADED_LOCK:
        if key in _LOADED:
            return _LOADED[key]
    adapter = _load(path, data, digest, trusted, task, feature_names)
    with _LOADED_LOCK:
        _LOADED[key] = adapter
    return adapter


def adapter_for(store: LogStore) -> ModelAdapter:
    """The incident's [model], loaded and checked against the production log's columns."""
    model = store.incident.model
    if model is None:
        raise ConfigError(
            "Explaining records needs the model: add a [model] section with `path = "
            "\"models/your_model.skops\"` (and `threshold`) to the incident config.")
    features = [f.name for f in store.roles.features]
    adapter = load_model(model.path, trusted=model.trusted, task=model.task or store.roles.task,
                         feature_names=features)
    where = f"the production log {store.incident.production.source.describe()!r}"
    adapter.check_columns(store.production_schema, where, expected=features)
    return adapter


def _load(path: Path, data: bytes, digest: str, trusted: bool, task: str | None,
          feature_names: Sequence[str] | None) -> ModelAdapter:
    suffix = path.suffix.lower()
    if suffix in SKOPS_SUFFIXES:
        return SklearnAdapter(_load_skops(path), path, digest, task, feature_names)
    if suffix in PICKLE_SUFFIXES:
        return _adapter_for_object(_load_pickle(path, trusted), path, digest, task,
                                   feature_names)
    if suffix in LIGHTGBM_SUFFIXES or data[:5] == b"tree\n":
        return _load_lightgbm(path, data, digest, task)
    if suffix in XGBOOST_SUFFIXES:
        return _load_xgboost(path, data, digest, task, feature_names)
    raise ModelLoadError(
        f"The model file {str(path)!r} has an unknown format. Supported: scikit-learn models "
        f"saved with skops (.skops), joblib/pickle (.joblib, .pkl; needs trusted = true), "
        f"LightGBM text (.txt) and XGBoost JSON/UBJSON (.json, .ubj)."
    )


def _load_skops(path: Path) -> Any:
    import skops.io as sio

    try:
        untrusted = [str(t) for t in sio.get_untrusted_types(file=path)]
    except Exception as exc:
        raise ModelLoadError(f"{path} is not a readable skops file: {exc}") from exc
    refused = sorted(t for t in untrusted if t.split(".")[0] not in SAFE_TYPE_ROOTS)
    if refused:
        raise UntrustedModelError(
            f"{path} needs types outside scikit-learn, NumPy and SciPy, which the workbench "
            f"does not load: {refused}. Rebuild the model from scikit-learn components only, "
            f"or audit those types and score the log yourself."
        )
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise ModelLoadError(f"{path} could not be loaded with skops: {exc}") from exc


def _load_pickle(path: Path, trusted: bool) -> Any:
    if not trusted:
        raise UntrustedModelError(
            f"{path} is a pickle/joblib file. Loading a pickle runs arbitrary code stored in "
            f"the file, so the workbench loads one only if you trust its source: set "
            f"`trusted = true` in the [model] section of the incident config. Safer: convert "
            f"it once to skops (`import joblib, skops.io as sio; "
            f"sio.dump(joblib.load('{path.name}'), '{path.stem}.skops')`) and point [model] "
            f"path at the .skops file."
        )
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:
        raise ModelLoadError(f"{path} could not be unpickled: {exc}") from exc


def _adapter_for_object(obj: Any, path: Path, digest: str, task: str | None,
                        feature_names: Sequence[str] | None) -> ModelAdapter:
    module = type(obj).__module__.split(".")[0]
    if module == "lightgbm" and type(obj).__name__ == "Booster":
        return LightGBMAdapter(obj, path, digest, task, _lightgbm_objective(obj.model_to_string()))
    if module == "xgboost" and type(obj).__name__ == "Booster":
        return XGBoostAdapter(obj, importlib.import_module("xgboost"), path, digest, task,
                              feature_names)
    return SklearnAdapter(obj, path, digest, task, feature_names)


def _extra(module: str, path: Path, fmt: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{path} is a {fmt} model; reading it needs the optional package {module!r}. "
            f"Install it with `pip install '{DISTRIBUTION}[{EXTRAS[module]}]'` "
            f"(or `pip install {module}`)."
        ) from exc


def _lightgbm_objective(text: str) -> str:
    for line in text.splitlines()[:50]:
        if line.startswith("objective="):
            return line.split("=", 1)[1].strip()
    return ""


def _load_lightgbm(path: Path, data: bytes, digest: str, task: str | None) -> ModelAdapter:
    if _is_lightgbm_dump(data):
        raise ModelLoadError(_LGB_DUMP.format(path=path))
    lgb = _extra("lightgbm", path, "LightGBM")
    try:
        booster = lgb.Booster(model_file=str(path))
    except Exception as exc:
        raise ModelLoadError(f"{path} is not a LightGBM text model: {exc}") from exc
    return LightGBMAdapter(booster, path, digest, task,
                           _lightgbm_objective(data[:20_000].decode("utf-8", errors="replace")))


def _is_lightgbm_dump(data: bytes) -> bool:
    """A LightGBM `dump_model` JSON (has tree_info; XGBoost JSON has a learner instead)."""
    head = data[:200_000]
    return head.lstrip().startswith(b"{") and b'"tree_info"' in head and b'"learner"' not in head


_LGB_DUMP = ("{path} looks like a LightGBM JSON dump (Booster.dump_model), which LightGBM cannot "
             "load back. Save the model with Booster.save_model('model.txt') (text format) and "
             "point [model] path at that file.")


def _load_xgboost(path: Path, data: bytes, digest: str, task: str | None,
                  feature_names: Sequence[str] | None) -> ModelAdapter:
    if path.suffix.lower() == ".json" and _is_lightgbm_dump(data):
        raise ModelLoadError(_LGB_DUMP.format(path=path))
    xgb = _extra("xgboost", path, "XGBoost")
    try:
        booster = xgb.Booster()
        booster.load_model(str(path))
    except Exception as exc:
        raise ModelLoadError(f"{path} is not an XGBoost JSON/UBJSON model: {exc}") from exc
    return XGBoostAdapter(booster, xgb, path, digest, task, feature_names)


def _object_hash(obj: Any) -> str:
    """A unique identity for an in-memory model (there is no file to hash)."""
    return f"memory-{type(obj).__name__}-{uuid.uuid4().hex}"
