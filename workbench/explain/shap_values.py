"""SHAP values per raw input column, and what every explainer shares: additivity measured and
reported (never raised), an in-memory cache so repeated requests are instant.

Explainers (chosen per model by the adapters, see `estimators`):
- "tree" (`tree_shap`): exact interventional tree SHAP on the final estimator(s) of a pipeline.
- "linear" (`linear_shap`): exact linear SHAP (SHAP's LinearExplainer) on linear models.
- "permutation" (here): model-agnostic, sampled with a bounded number of model evaluations.

Output units (documented in every result as `output`):
- "probability" (default for classifiers): values add up to the predicted probability minus
  its mean over the background sample, so they read directly against the decision threshold.
- "log_odds": the same in log-odds (boosted trees' and logistic models' own units).
- "raw" (regressors): the prediction itself.
- "margin": a classifier's raw output that is not its probability through the logistic function
  (e.g. the models a CalibratedClassifierCV averages), reported when probability cannot be
  explained exactly.

Every result carries its additivity gap: the largest |base value + sum of values - model output|
over the explained rows, in the output units.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shap

from workbench.explain.results import ExplainerInfo

OUTPUTS = ("probability", "log_odds", "raw")  # what a caller may ask for
DEFAULT_MAX_EVALS = 500  # model evaluations per explained row for the permutation explainer
# Largest additivity gap (relative to the output's scale) an exact explainer may show on its
# probe before the adapter considers that SHAP misread the model and explains it otherwise.
ADDITIVITY_TOL = 1e-4
_EPS = 1e-12

Score = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class ShapValues:
    """SHAP values of explained rows, one column per raw input feature.

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


def additive(values: ShapValues) -> bool:
    """Whether the values add up to the model output within ADDITIVITY_TOL (relative)."""
    scale = max(1.0, float(np.max(np.abs(values.model_output)))) if len(values.values) else 1.0
    return values.additivity_error <= ADDITIVITY_TOL * scale


class FeatureExplainer(ABC):
    """Explains a model's output on rows of raw inputs (a frame with the model's columns).

    target: the model output the values add up to, in `output` units; note: how the values were
    obtained when that is not obvious from `kind`; merged_columns: raw inputs whose values sum
    several encoded columns. Constructors only store and prepare; `explain` validates the frame
    and measures additivity.
    """

    kind: str = ""

    def __init__(self, feature_names: Sequence[str], output: str, background_rows: int,
                 target: Score, max_evals: int | None = None, *, note: str | None = None,
                 merged_columns: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.feature_names = tuple(feature_names)
        self.output = output
        self.background_rows = background_rows
        self.max_evals = max_evals
        self.note = note
        self.merged_columns = dict(merged_columns or {})
        self._target = target

    @property
    def model_rows_per_row(self) -> int:
        """Rows the model scores to explain one row (0: the explainer reads the model itself)."""
        return 0

    def explain(self, frame: pd.DataFrame, ids: Sequence[str] | None = None) -> ShapValues:
        """SHAP values of every row of frame (uncached; see `explain_rows` for the cache)."""
        frame = frame.loc[:, list(self.feature_names)]
        if len(frame) == 0:
            values = np.zeros((0, len(self.feature_names)))
            return ShapValues(self.feature_names, values, self.expected_value(), np.zeros(0),
                              self.output, self.kind, 0.0, tuple(ids) if ids is not None else None)
        values, base = self._compute(frame)
        target = np.asarray(self._target(frame), dtype=float)
        gap = float(np.max(np.abs(base + values.sum(axis=1) - target)))
        for array in (values, target):
            array.setflags(write=False)
        return ShapValues(self.feature_names, values, float(base), target, self.output,
                          self.kind, gap, tuple(str(i) for i in ids) if ids is not None else None)

    @abstractmethod
    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        """(values per raw input feature, base value) for a validated frame."""

    @abstractmethod
    def expected_value(self) -> float:
        """The base value: the mean model output over the background."""


class PermutationShapExplainer(FeatureExplainer):
    """Model-agnostic SHAP (`shap.PermutationExplainer`) with a bounded evaluation budget.

    Categorical columns are coded as integers for the masker and decoded before each model call,
    so any model that scores a frame can be explained. Cost: about `max_evals` model calls on
    `background_rows` rows per explained row.
    """

    kind = "permutation"

    def __init__(self, score: Score, feature_names: Sequence[str], background: pd.DataFrame,
                 output: str, max_evals: int | None = None, seed: int = 0, *,
                 note: str | None = None) -> None:
        n = len(feature_names)
        budget = DEFAULT_MAX_EVALS if max_evals is None else int(max_evals)
        super().__init__(feature_names, output, len(background),
                         lambda frame: to_output(score(frame), output),
                         max(budget, 2 * n + 1), note=note)
        self._background = background.loc[:, list(feature_names)].reset_index(drop=True)
        self._seed = seed
        self._base: float | None = None

    @property
    def model_rows_per_row(self) -> int:
        """About max_evals evaluations, each on every background row."""
        return int(self.max_evals or DEFAULT_MAX_EVALS) * self.background_rows

    def _compute(self, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        codec = _Codec(self._background, frame)
        masker = shap.maskers.Independent(codec.encode(self._background),
                                          max_samples=len(self._background))

        def model(z: np.ndarray) -> np.ndarray:
            return self._target(codec.decode(z))

        explainer = shap.PermutationExplainer(model, masker, seed=self._seed)
        result = explainer(codec.encode(frame), max_evals=self.max_evals, silent=True)
        base = float(np.mean(np.asarray(result.base_values, dtype=float)))
        self._base = base
        return np.asarray(result.values, dtype=float), base

    def expected_value(self) -> float:
        if self._base is None:
            self._base = float(np.mean(self._target(self._background)))
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


def explainer_info(adapter: Any, explainer: FeatureExplainer, *, base_value: float,
                   background_rows: int, seed: int,
                   additivity_gap: float | None = None) -> ExplainerInfo:
    """How the values of an adapter's explainer were computed, for a result."""
    return ExplainerInfo(
        model=adapter.name, model_hash=adapter.file_hash[:16], model_type=adapter.description,
        task=adapter.task, kind=explainer.kind, output=explainer.output, base_value=base_value,
        background_rows=background_rows, seed=seed, max_evals=explainer.max_evals,
        additivity_gap=additivity_gap, note=explainer.note,
        merged_columns=explainer.merged_columns)
