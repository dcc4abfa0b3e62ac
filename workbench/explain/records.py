"""Failing records explained: select them in SQL, explain them with SHAP, compare with training.

Only the selected records (at most `limit`), a SHAP background sample and a reference sample for
neighbours come into memory; percentiles come from reference quantiles computed in SQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from workbench.data import LogStore
from workbench.data import queries as q
from workbench.data.schema import ColumnKind, FeatureSpec, is_numeric
from workbench.exceptions import InvalidInputError
from workbench.explain.adapters import ModelAdapter, adapter_for
from workbench.explain.results import (
    FailingRecords,
    FeatureContribution,
    Neighbour,
    RecordExplanation,
)
from workbench.explain.sampling import DEFAULT_BACKGROUND_ROWS, reference_background
from workbench.explain.shap_values import ShapValues, explain_rows, explainer_info

FAILING_KINDS = q.FAILING_KINDS
# Percentiles are read off 201 reference quantiles (every 0.5 %), interpolated linearly.
PERCENTILE_PROBS = [i / 200 for i in range(201)]
MAX_REFERENCE_LEVELS = 1000
NEIGHBOUR_SAMPLE_ROWS = 2000


def parse_segment(text: str) -> tuple[str, str]:
    """'column=value' -> (column, value)."""
    column, sep, value = str(text).partition("=")
    if not sep or not column.strip():
        raise InvalidInputError(
            f"A segment must look like 'column=value', e.g. 'country=US'. Got {text!r}.")
    return column.strip(), value.strip()


def select_failing(store: LogStore, adapter: ModelAdapter, kind: str = "fp", *,
                   start: datetime | None = None, end: datetime | None = None,
                   segment: tuple[str, Any] | None = None, limit: int = 50) -> pd.DataFrame:
    """The `limit` most confidently wrong records of [start, end), selected in SQL.

    Columns `_wb_id`, `_wb_time`, `_wb_score`, `_wb_decision`, `_wb_label`, `_wb_total`, then the
    model's features. Raises InvalidInputError for a kind the log cannot answer.
    """
    roles = store.roles
    if kind not in FAILING_KINDS:
        raise InvalidInputError(
            f"The failing-record kind must be one of {', '.join(FAILING_KINDS)}. Got {kind!r}.")
    if roles.label is None:
        raise InvalidInputError(
            "Failing records need ground truth: set `label` in [production] of the incident "
            "config to the column holding the true outcome.")
    if kind in ("fp", "fn") and roles.task != "classification":
        raise InvalidInputError(
            f"{kind!r} (false {'positives' if kind == 'fp' else 'negatives'}) needs a "
            f"classification log; this one is {roles.task}. Use 'error' instead.")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"The record limit must be a positive integer. Got {limit!r}.")
    return store.failing_records(kind, list(adapter.feature_names), start, end, segment, limit)


@dataclass(frozen=True)
class ReferenceProfile:
    """Where a value sits in the reference: numeric quantile grids and categorical level shares.

    Built from one quantile query and one level count per categorical feature (both in SQL).
    """

    quantiles: dict[str, tuple[np.ndarray, np.ndarray, float, float]]  # probs, values, lo, hi
    levels: dict[str, tuple[dict[str, float], bool]]  # level -> share, complete?

    @classmethod
    def load(cls, store: LogStore, features: list[str]) -> ReferenceProfile:
        """Profile the reference columns of features (absent ones are simply not profiled)."""
        schema = store.reference_schema
        specs = [FeatureSpec(f, ColumnKind.NUMERIC if is_numeric(schema[f])
                             else ColumnKind.CATEGORICAL, schema[f], schema[f])
                 for f in features if f in schema]
        numeric = [s for s in specs if s.kind is ColumnKind.NUMERIC]
        quantiles = {}
        if numeric:
            row = store.run(q.reference_quantiles(numeric, PERCENTILE_PROBS)).iloc[0]
            for i, spec in enumerate(numeric):
                if row[f"n{i}"] == 0 or row[f"q{i}"] is None:
                    continue
                values = np.asarray(row[f"q{i}"], dtype=float)
                quantiles[spec.name] = (np.asarray(PERCENTILE_PROBS) * 100, values,
                                        float(row[f"lo{i}"]), float(row[f"hi{i}"]))
        levels = {}
        for spec in specs:
            if spec.kind is ColumnKind.CATEGORICAL:
                counts = store.run(q.top_levels(spec, MAX_REFERENCE_LEVELS))
                n = float(counts["n"].sum()) or 1.0  # non-null reference values
                levels[spec.name] = ({str(k): float(v) / n for k, v in
                                      zip(counts["level"], counts["n"], strict=True)},
                                     len(counts) < MAX_REFERENCE_LEVELS)
        return cls(quantiles, levels)

    def percentile(self, feature: str, value: Any) -> float | None:
        """Share (0-100) of reference values below value, interpolated; None if unknown."""
        if feature not in self.quantiles or not _is_number(value):
            return None
        probs, values, lo, hi = self.quantiles[feature]
        x = float(value)
        if x < lo:
            return 0.0
        if x > hi:
            return 100.0
        uniq, first = np.unique(values, return_index=True)
        last = len(values) - 1 - np.unique(values[::-1], return_index=True)[1]
        mid = (probs[first] + probs[last]) / 2  # tied quantiles: the middle of their span
        return float(np.interp(x, uniq, mid))

    def outside(self, feature: str, value: Any) -> bool | None:
        """Outside the reference range (numeric) or an unseen level (categorical)."""
        if feature in self.quantiles:
            if not _is_number(value):
                return None
            _, _, lo, hi = self.quantiles[feature]
            return bool(float(value) < lo or float(value) > hi)
        if feature in self.levels:
            shares, complete = self.levels[feature]
            if value is None or str(value) in shares:
                return False
            return True if complete else None
        return None

    def share(self, feature: str, value: Any) -> float | None:
        """Share of reference rows with this categorical level."""
        if feature not in self.levels or value is None:
            return None
        shares, complete = self.levels[feature]
        return shares.get(str(value), 0.0 if complete else None)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool) and bool(np.isfinite(value)))


def nearest_correct(store: LogStore, adapter: ModelAdapter, frame: pd.DataFrame, k: int = 3,
                    sample_rows: int = NEIGHBOUR_SAMPLE_ROWS,
                    seed: int = 0) -> list[tuple[Neighbour, ...]]:
    """For each row of frame, the k nearest correctly handled records of a reference sample.

    Distance: Euclidean on the model's numeric features, standardized with the sample's mean and
    standard deviation. "Correctly handled": the model's decision matches the reference label
    (classification) or its absolute error is at most the sample's median (regression). Empty
    when the reference has no label or the model no numeric feature.
    """
    label = store.roles.reference_label
    numeric = [f for f in adapter.feature_names
               if f in store.reference_schema and is_numeric(store.reference_schema[f])]
    if k < 1 or label is None or not numeric or len(frame) == 0:
        return [() for _ in range(len(frame))]
    columns = list(dict.fromkeys([*adapter.feature_names, label]))
    sample = store.seeded_sample(columns, sample_rows, seed, reference=True)
    if sample.empty:
        return [() for _ in range(len(frame))]
    score = adapter.predict_score(sample)
    truth = pd.to_numeric(sample[label], errors="coerce").to_numpy(dtype=float)
    if adapter.task == "classification":
        ok = ((score >= store.incident.threshold).astype(float) == (truth > 0.5)) & ~np.isnan(
            truth)
    else:
        err = np.abs(score - truth)
        ok = err <= np.nanmedian(err)
    sample, score, truth = sample[ok].reset_index(drop=True), score[ok], truth[ok]
    if sample.empty:
        return [() for _ in range(len(frame))]
    ref = sample[numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    mean = np.nanmean(ref, axis=0)
    std = np.nanstd(ref, axis=0)
    std = np.where(std > 0, std, 1.0)
    z_ref = np.nan_to_num((ref - mean) / std)
    x = frame[numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    z_x = np.nan_to_num((x - mean) / std)
    out = []
    for row in z_x:
        dist = np.sqrt(((z_ref - row) ** 2).sum(axis=1))
        order = np.argsort(dist, kind="stable")[:k]
        out.append(tuple(
            Neighbour(float(dist[j]), float(score[j]), float(truth[j]),
                      {c: _plain(sample.at[j, c]) for c in adapter.feature_names})
            for j in order
        ))
    return out


def _plain(value: Any) -> Any:
    """A scalar as a plain Python value (None for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def explain_failing(store: LogStore, kind: str = "fp", *, start: datetime | None = None,
                    end: datetime | None = None, segment: tuple[str, Any] | None = None,
                    limit: int = 50, adapter: ModelAdapter | None = None,
                    background_rows: int = DEFAULT_BACKGROUND_ROWS, seed: int = 0,
                    output: str | None = None, max_evals: int | None = None,
                    neighbours: int = 3) -> FailingRecords:
    """Select the failing records of a window and explain each one.

    For every record: SHAP values against a seeded reference background (see `shap_values`),
    each feature's percentile in the reference and whether it lies outside the reference range,
    and the `neighbours` nearest correctly handled reference records.
    """
    began = time.perf_counter()
    adapter = adapter or adapter_for(store)
    df = select_failing(store, adapter, kind, start=start, end=end, segment=segment,
                        limit=limit)
    total = int(df["_wb_total"].iloc[0]) if len(df) else 0
    ids = _record_ids(df)
    frame = df[list(adapter.feature_names)].reset_index(drop=True)
    background = reference_background(store, adapter, background_rows, seed)
    values = explain_rows(adapter, frame, background, ids=ids, output=output,
                          max_evals=max_evals, seed=seed)
    explainer = adapter.explainer(background, output=output, max_evals=max_evals, seed=seed)
    profile = ReferenceProfile.load(store, list(adapter.feature_names))
    model_score = adapter.predict_score(frame) if len(frame) else np.zeros(0)
    near = nearest_correct(store, adapter, frame, neighbours, seed=seed)
    records = tuple(
        _record(i, ids[i], df.iloc[i], frame.iloc[i], values, profile, float(model_score[i]),
                near[i])
        for i in range(len(frame))
    )
    logged = pd.to_numeric(df["_wb_score"], errors="coerce").to_numpy(dtype=float)
    diff = float(np.nanmax(np.abs(logged - model_score))) if len(frame) and np.isfinite(
        logged).any() else None
    info = explainer_info(
        adapter, explainer,
        base_value=values.base_value if len(frame) else explainer.expected_value(),
        background_rows=len(background), seed=seed,
        additivity_gap=values.additivity_error if len(frame) else None)
    return FailingRecords(
        incident=store.incident.title, kind=kind, window={"start": start, "end": end},
        segment={"column": str(segment[0]), "value": str(segment[1])} if segment else None,
        threshold=store.incident.threshold, total=total, limit=limit, explainer=info,
        records=records, rescore_max_abs_diff=diff,
        elapsed_seconds=round(time.perf_counter() - began, 3))


def _record_ids(df: pd.DataFrame) -> list[str]:
    """The log's ids, or 'time#n' when the log has no id column."""
    out = []
    for n, (rid, t) in enumerate(zip(df["_wb_id"], df["_wb_time"], strict=True)):
        if rid is None or (not isinstance(rid, str) and pd.isna(rid)):
            stamp = pd.Timestamp(t).isoformat() if not pd.isna(t) else "unknown"
            out.append(f"{stamp}#{n}")
        else:
            out.append(str(rid))
    return out


def _record(i: int, rid: str, row: pd.Series, values_row: pd.Series, shap: ShapValues,
            profile: ReferenceProfile, model_score: float,
            neighbours: tuple[Neighbour, ...]) -> RecordExplanation:
    contributions = []
    for j in np.argsort(-np.abs(shap.values[i]), kind="stable"):
        feature = shap.feature_names[j]
        value = _plain(values_row[feature])
        contributions.append(FeatureContribution(
            feature=feature, value=value, shap=float(shap.values[i, j]),
            percentile=profile.percentile(feature, value),
            outside_range=profile.outside(feature, value),
            reference_share=profile.share(feature, value)))
    t = row["_wb_time"]
    return RecordExplanation(
        record_id=rid, time=None if pd.isna(t) else pd.Timestamp(t).to_pydatetime(),
        score=_plain(row["_wb_score"]), model_score=model_score, label=_plain(row["_wb_label"]),
        decision=None if pd.isna(row["_wb_decision"]) else int(row["_wb_decision"]),
        contributions=tuple(contributions), neighbours=neighbours)
