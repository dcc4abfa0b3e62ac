"""Candidate fixes: declared in `[[fixes]]` of the incident config or built from code.

A fix turns a batch of logged rows into new scores (and decisions):

- `feature_correction`: a callable receives the logged rows (a pandas DataFrame with the log's
  columns) and returns them with corrected feature columns; the incident's [model] re-scores.
- `model`: another model file scores the logged features.
- `rollback`: a previous model version (present in the log) scores them; `path` names its file.
- `threshold`: the logged scores are kept, only the decision threshold changes.

Constructors only store; `prepare` loads the model and callable against a `LogStore`, where the
columns and versions they need can be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.config import FIX_KINDS, FixSpec
from workbench.data import LogStore
from workbench.exceptions import ConfigError, InvalidInputError
from workbench.explain.adapters import ModelAdapter, adapter_for, load_model
from workbench.plugins import load_callable

Correction = Callable[[pd.DataFrame], pd.DataFrame]
# Columns the replay adds to each batch; a correction never sees them.
HELPER_PREFIX = "_wb_"


@dataclass(frozen=True)
class CandidateFix:
    """A fix to replay: what it is and what defines it (nothing is loaded yet).

    model: a model file path or an adapter (kinds "model" and "rollback"); correction: the
    function of kind "feature_correction"; threshold: kind "threshold" (or an override of the
    incident's threshold for the other kinds); version: the rolled-back version.
    """

    name: str
    kind: str
    description: str = ""
    model: str | Path | ModelAdapter | None = None
    correction: Correction | None = None
    callable_spec: str | None = None
    threshold: float | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FIX_KINDS:
            raise InvalidInputError(f"A fix kind must be one of {', '.join(FIX_KINDS)}. "
                                    f"Got {self.kind!r} for fix {self.name!r}.")

    @classmethod
    def from_spec(cls, spec: FixSpec) -> CandidateFix:
        """The fix declared in `[[fixes]]`."""
        return cls(name=spec.name, kind=spec.kind, description=spec.description,
                   model=spec.path, callable_spec=spec.callable, threshold=spec.threshold,
                   version=spec.version)

    @classmethod
    def feature_correction(cls, name: str, correction: Correction,
                           description: str = "") -> CandidateFix:
        """A correction function from code, e.g. `lambda df: df.assign(ratio=...)`."""
        return cls(name=name, kind="feature_correction", description=description,
                   correction=correction)

    @classmethod
    def other_model(cls, name: str, model: str | Path | ModelAdapter,
                    description: str = "") -> CandidateFix:
        """Another model (file path or loaded adapter) scoring the logged features."""
        return cls(name=name, kind="model", description=description, model=model)

    @classmethod
    def rollback(cls, name: str, version: str, model: str | Path | ModelAdapter,
                 description: str = "") -> CandidateFix:
        """A previous model version present in the log, with its model file."""
        return cls(name=name, kind="rollback", description=description, model=model,
                   version=version)

    @classmethod
    def new_threshold(cls, name: str, threshold: float, description: str = "") -> CandidateFix:
        """The logged scores with another decision threshold."""
        return cls(name=name, kind="threshold", description=description, threshold=threshold)

    def parameters(self) -> dict[str, Any]:
        """What defines the fix, JSON-ready (recorded in results and the journal)."""
        model = self.model
        if isinstance(model, ModelAdapter):
            model = str(model.path) if model.path is not None else model.description
        func = self.callable_spec
        if func is None and self.correction is not None:
            func = f"{getattr(self.correction, '__module__', '?')}:" \
                   f"{getattr(self.correction, '__qualname__', repr(self.correction))}"
        out = {"model": None if model is None else str(model), "callable": func,
               "threshold": self.threshold, "version": self.version}
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class PreparedFix:
    """A fix loaded against a store: ready to re-score batches of logged rows."""

    fix: CandidateFix
    model: ModelAdapter | None
    threshold: float
    correction: Correction | None
    task: str
    model_hash: str | None = None
    notes: list[str] = field(default_factory=list)

    def apply(self, batch: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame | None]:
        """(scores after the fix, corrected logged rows or None) for one batch."""
        corrected = None
        if self.correction is not None:
            corrected = _correct(self.correction, batch, self.fix.name)
            scores = self.model.predict_score(corrected)  # type: ignore[union-attr]
        elif self.model is not None:
            scores = self.model.predict_score(batch)
        else:
            scores = batch["_wb_score"].to_numpy(dtype=float, na_value=np.nan)
        return np.asarray(scores, dtype=float), corrected

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Decisions (1/0) after the fix: the score at or above the threshold."""
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num(scores, nan=-np.inf) >= self.threshold).astype(np.int8)


def logged_columns(batch: pd.DataFrame) -> list[str]:
    """The log's own columns of a replay batch (helper columns left out)."""
    return [c for c in batch.columns if not str(c).startswith(HELPER_PREFIX)]


def _correct(func: Correction, batch: pd.DataFrame, name: str) -> pd.DataFrame:
    """Run a correction on a copy of the logged rows and check what it returned."""
    rows = batch[logged_columns(batch)].copy()
    out = func(rows)
    if not isinstance(out, pd.DataFrame):
        raise InvalidInputError(
            f"The correction of fix {name!r} must return a pandas DataFrame of the rows it was "
            f"given (with corrected feature columns). It returned {type(out).__name__}.")
    if len(out) != len(batch):
        raise InvalidInputError(
            f"The correction of fix {name!r} returned {len(out):,} rows for {len(batch):,}; it "
            f"must return every row it was given, in the same order.")
    out = out.reset_index(drop=True)
    base = batch[logged_columns(batch)].reset_index(drop=True)
    missing = [c for c in base.columns if c not in out.columns]
    if missing:  # columns it dropped keep their logged values
        out = pd.concat([out, base[missing]], axis=1)
    return out


def prepare(fix: CandidateFix | FixSpec | str, store: LogStore) -> PreparedFix:
    """Load what a fix needs (model, callable) and check it against the log."""
    incident = store.incident
    if isinstance(fix, str):
        fix = incident.fix(fix)
    if isinstance(fix, FixSpec):
        fix = CandidateFix.from_spec(fix)
    task = store.roles.task
    default_threshold = incident.threshold
    where = f"[[fixes]] {fix.name!r}"
    if fix.kind == "threshold":
        if fix.threshold is None:
            raise ConfigError(f"{where} (kind threshold) needs 'threshold'.")
        if task == "classification" and not 0.0 <= fix.threshold <= 1.0:
            raise InvalidInputError(f"{where}: a classification threshold must lie in [0, 1]. "
                                    f"Got {fix.threshold!r}.")
        return PreparedFix(fix, None, float(fix.threshold), None, task)
    threshold = float(fix.threshold) if fix.threshold is not None else default_threshold
    if fix.kind == "feature_correction":
        func = fix.correction
        if func is None:
            if not fix.callable_spec:
                raise ConfigError(f"{where} (kind feature_correction) needs 'callable'.")
            func = load_callable(fix.callable_spec, incident.base_dir)
        model = _model(fix.model, store, where) if fix.model is not None else adapter_for(store)
        return PreparedFix(fix, model, threshold, func, task, model.file_hash)
    if fix.model is None:
        need = "the old version's model file" if fix.kind == "rollback" else "a model file"
        raise ConfigError(f"{where} (kind {fix.kind}) needs 'path': {need}, relative to the "
                          f"incident config.")
    if fix.kind == "rollback":
        _check_version(store, fix, where)
    model = _model(fix.model, store, where)
    return PreparedFix(fix, model, threshold, None, task, model.file_hash)


def _model(model: str | Path | ModelAdapter, store: LogStore, where: str) -> ModelAdapter:
    """Load a model file (or take an adapter) and check its inputs are in the log."""
    if not isinstance(model, ModelAdapter):
        trusted = store.incident.model.trusted if store.incident.model else False
        features = [f.name for f in store.roles.features]
        model = load_model(model, trusted=trusted, task=store.roles.task,
                           feature_names=features)
    log = f"the production log {store.incident.production.source.describe()!r}"
    model.check_columns(store.production_schema, f"{log} (replaying {where})",
                        expected=[f.name for f in store.roles.features])
    return model


def _check_version(store: LogStore, fix: CandidateFix, where: str) -> None:
    """A rollback's version must have served traffic in the log."""
    if not fix.version:
        raise ConfigError(f"{where} (kind rollback) needs 'version': the model version to roll "
                          f"back to, as logged in the model_version column.")
    if store.roles.model_version is None:
        raise ConfigError(f"{where} rolls back to {fix.version!r}, but the incident names no "
                          f"model_version column in [production]; add it so the version can "
                          f"be checked.")
    versions = store.version_counts(None, None, None)["version"].dropna().astype(str).tolist()
    if fix.version not in versions:
        raise InvalidInputError(
            f"{where} rolls back to version {fix.version!r}, which never served in the "
            f"production log (versions seen: {', '.join(sorted(set(versions))) or 'none'}). "
            f"Use a version from the log, or declare the fix with kind = \"model\".")
