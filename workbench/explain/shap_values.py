"""SHAP values per original feature: exact tree SHAP where possible, a bounded permutation
explainer otherwise, with an in-memory cache so repeated requests are instant.

Output units (documented in every result as `output`):
- "probability" (default for classifiers): values add up to the predicted probability minus
  its mean over the background sample, so they read directly against the decision threshold.
- "log_odds": the same in log-odds (the trees' own units); useful when probabilities saturate.
- "raw" (regressors): the prediction itself.

Tree models use `shap.TreeExplainer(model, background, feature_perturbation="interventional")`:
exact Shapley values of the model with "absent" features drawn from the background rows. Every
result is checked for additivity (base value + sum of values = the model's own output); a
failure raises `ExplanationError` rather than returning numbers that do not add up.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shap

from workbench.explain.errors import ExplanationError

OUTPUTS = ("probability", "log_odds", "raw")
DEFAULT_MAX_EVALS = 500  # model evaluations per explained row for the permutation explainer
ADDITIVITY_TOL = 1e-4
_EPS = 1e-12

Score = Callable[[pd.DataFrame], np.ndarray]
Encode = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class ShapValues:
    """SHAP values of explained rows, one column per original feature.

    `base_value + values.sum(axis=1) == model_output` up to `additivity_error`.
    """

    feature_names: tuple[str, ...]
    values: np.ndarray
    base_value: float
    model_output: np.ndarray
    output: str
    kind: str
    additivity_error: float
    ids: tuple[str, ...] | None = None

    def frame(self) -> pd.DataFrame:
        """The values as a DataFrame (rows x features), indexed by the ids when known."""
        return pd.DataFrame(self.values, columns=list(self.feature_names),
                            index=list(self.ids) if self.ids is not None else None)

    def order(self) -> np.ndarray:
        """Per row, feature indices by decreasing |SHAP|."""
        return np.argsort(-np.abs(self.values), axis=1, kind="stable")

    def top_feature(self) -> tuple[str, ...]:
        """Per row, the feature with the largest |SHAP|."""
        return tuple(self.feature_names[i] for i in self.order()[:, 0])


def to_output(score: np.ndarray, output: str) -> np.ndarray:
    """A model score (probability for classifiers) in the requested output units."""
    score = np.asarray(score, dtype=float)
    if output == "log_odds":
        p = np.clip(score, _EPS, 1 - _EPS)
        return np.log(p / (1 - p))
    return score


class FeatureExplainer(ABC):
    """Explains a model's output on rows of original features (a frame with the model's columns).

    Constructors only store and prepare; `explain` validates the frame and checks additivity.
    """

    kind: str = ""

    def __init__(self, feature_names: Sequence[str], output: str, background_rows: int,
                 score: Score, max_evals: int | None = None) -> None:
        self.feature_names = tuple(feature_names)
        self.output = output
        self.background_rows = background_rows
        self.max_evals = max_evals
        self._score = score

    def explain(self, frame: pd.DataFrame, ids: Sequence[str] | None = None) -> ShapValues:
        """SHAP values of every row of frame (uncached; see `explain_rows` for the cache)."""
        frame = frame.loc[:, list(self.feature_names)]
        if len(frame) == 0:
            values = np.zeros((0, len(self.feature_names)))
            return ShapValues(self.feature_names, values, self.expected_value(), np.zeros(0),
                              self.output, self.kind, 0.0, tuple(ids) if ids is not None else None)
        values, base = self._compute(frame)
        target = to_output(self._score(frame), self.output)
        error = float(np.max(np.abs(base + values.sum(axis=1) - target)))
        if error > ADDITIVITY_TOL * max(1.0, float(np.max(np.abs(target)))):
            raise ExplanationError(
                f"The {self.kind} SHAP values do not add up to the model output "
                f"({self.output}): the largest gap is {error:.3g} (tolerance {ADDITIVITY_TOL}). "
                f"Try another output (probability/log_odds) or report the model type."
            )
        for array in (values, target):
            array.setflags(write=False)
        return ShapValues(self.feature_names, values, float(base), target, self.output,
                          self.kind, error, tuple(str(i) for i in ids) if ids is not None else None)

    @abstractmethod
    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        """(values per original feature, base value) for a validated frame."""

    @abstractmethod
    def expected_value(self) -> float:
        """The base value: the mean model output over the background."""


class TreeShapExplainer(FeatureExplainer):
    """Exact interventional tree SHAP on the final estimator, mapped back to original features.

    encode: frame -> the matrix the tree model takes (a pipeline's preprocessing);
    aggregate: encoded columns x features 0/1 matrix summing encoded values per feature.
    """

    kind = "tree"

    def __init__(self, model: Any, encode: Encode, aggregate: np.ndarray,
                 feature_names: Sequence[str], background: pd.DataFrame, output: str,
                 score: Score) -> None:
        super().__init__(feature_names, output, len(background), score)
        self._encode = encode
        self._aggregate = aggregate
        model_output = "probability" if output == "probability" else "raw"
        data = encode(background.loc[:, list(feature_names)])
        self._tree = shap.TreeExplainer(model, data, feature_perturbation="interventional",
                                        model_output=model_output)
        self._dtype = getattr(self._tree.model, "input_dtype", np.float64)
        if self._dtype == np.float32:
            # The explainer takes float32 inputs like scikit-learn; so must the background.
            self._tree.data = np.asarray(data, dtype=np.float32)
            _float32_safe_thresholds(self._tree.model)

    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        x = np.asarray(self._encode(frame), dtype=self._dtype)
        phi = np.asarray(self._tree.shap_values(x, check_additivity=False), dtype=float)
        if phi.ndim == 3:  # one output per class: explain the positive class
            phi = phi[..., -1]
        return phi @ self._aggregate, self.expected_value()

    def expected_value(self) -> float:
        expected = np.atleast_1d(np.asarray(self._tree.expected_value, dtype=float))
        return float(expected[-1])


def _float32_safe_thresholds(ensemble: Any) -> None:
    """Round split thresholds down to float32 so every code path splits like scikit-learn.

    scikit-learn compares float32 inputs with float64 thresholds, which lie between two float32
    values; SHAP's interventional algorithm stores thresholds as float32, so a value just above
    a threshold can round onto it and take the wrong branch (the values then do not add up).
    The largest float32 not above the threshold splits every float32 input exactly as before.
    """
    thresholds = np.asarray(ensemble.thresholds, dtype=np.float64)
    down = thresholds.astype(np.float32)
    down = np.where(down.astype(np.float64) > thresholds,
                    np.nextafter(down, np.float32(-np.inf)), down)
    ensemble.thresholds = down.astype(np.float64)


class PermutationShapExplainer(FeatureExplainer):
    """Model-agnostic SHAP (`shap.PermutationExplainer`) with a bounded evaluation budget.

    Categorical columns are coded as integers for the masker and decoded before each model call,
    so any model that scores a frame can be explained. Cost: about `max_evals` model calls on
    `background_rows` rows per explained row.
    """

    kind = "permutation"

    def __init__(self, score: Score, feature_names: Sequence[str], background: pd.DataFrame,
                 output: str, max_evals: int | None = None, seed: int = 0) -> None:
        n = len(feature_names)
        budget = DEFAULT_MAX_EVALS if max_evals is None else int(max_evals)
        super().__init__(feature_names, output, len(background), score,
                         max(budget, 2 * n + 1))
        self._background = background.loc[:, list(feature_names)].reset_index(drop=True)
        self._seed = seed
        self._base: float | None = None

    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        codec = _Codec(self._background, frame)
        masker = shap.maskers.Independent(codec.encode(self._background),
                                          max_samples=len(self._background))

        def model(z: np.ndarray) -> np.ndarray:
            return to_output(self._score(codec.decode(z)), self.output)

        explainer = shap.PermutationExplainer(model, masker, seed=self._seed)
        result = explainer(codec.encode(frame), max_evals=self.max_evals, silent=True)
        base = float(np.mean(np.asarray(result.base_values, dtype=float)))
        self._base = base
        return np.asarray(result.values, dtype=float), base

    def expected_value(self) -> float:
        if self._base is None:
            self._base = float(np.mean(to_output(self._score(self._background), self.output)))
        return self._base


class _Codec:
    """Numbers <-> frame: non-numeric columns become integer codes over the values seen."""

    def __init__(self, *frames: pd.DataFrame) -> None:
        first = frames[0]
        self.columns = list(first.columns)
        self.dtypes = {c: first[c].dtype for c in self.columns}
        self.levels: dict[str, np.ndarray] = {}
        for col in self.columns:
            if not pd.api.types.is_numeric_dtype(first[col]) or pd.api.types.is_bool_dtype(
                    first[col]):
                values = pd.concat([f[col] for f in frames], ignore_index=True)
                self.levels[col] = np.asarray(pd.unique(values.dropna()), dtype=object)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)))
        for j, col in enumerate(self.columns):
            if col in self.levels:
                codes = pd.Categorical(frame[col], categories=self.levels[col]).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        data = {}
        for j, col in enumerate(self.columns):
            if col in self.levels:
                codes = matrix[:, j]
                idx = np.where(np.isnan(codes), -1, codes).astype(int)
                values = np.where(idx >= 0, self.levels[col][np.clip(idx, 0, None)], None)
                data[col] = pd.Series(values, dtype=object)
                if isinstance(self.dtypes[col], pd.CategoricalDtype | pd.StringDtype):
                    data[col] = data[col].astype(self.dtypes[col])
            else:
                data[col] = matrix[:, j]
        return pd.DataFrame(data)


# ---- cache -----------------------------------------------------------------------------------

class _Lru:
    """A small thread-safe LRU mapping."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_RESULTS = _Lru(64)


def frame_digest(frame: pd.DataFrame) -> str:
    """Content hash of a frame (column names and values), used as a cache key."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def ids_digest(ids: Sequence[Any] | None) -> str | None:
    """Hash of the row ids (None when the rows have none)."""
    if ids is None:
        return None
    return hashlib.sha1("\x1f".join(map(str, ids)).encode(), usedforsecurity=False).hexdigest()


def cached(key: Hashable, compute: Callable[[], ShapValues]) -> ShapValues:
    """The cached result for key, computing and storing it on a miss."""
    hit = _RESULTS.get(key)
    if hit is not None:
        return hit
    result = compute()
    _RESULTS.put(key, result)
    return result


def clear_cache() -> None:
    """Forget every cached SHAP result."""
    _RESULTS.clear()


def explain_rows(adapter: Any, frame: pd.DataFrame, background: pd.DataFrame, *,
                 ids: Sequence[Any] | None = None, output: str | None = None,
                 max_evals: int | None = None, seed: int = 0) -> ShapValues:
    """SHAP values of frame's rows for a model adapter, cached in memory.

    The cache key is (model file hash, row ids, row values, background, options): asking again
    for the same rows returns the stored result at once; changed values never hit stale entries.
    """
    frame = adapter.inputs(frame)
    explainer = adapter.explainer(background, output=output, max_evals=max_evals, seed=seed)
    key = (adapter.file_hash, ids_digest(ids), frame_digest(frame),
           frame_digest(adapter.inputs(background, "the background sample")), explainer.output,
           max_evals, seed)
    return cached(key, lambda: explainer.explain(frame, ids))
