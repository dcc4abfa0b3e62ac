"""Result objects of the explain package: frozen dataclasses with `to_dict()` (and `to_frame()`).

Values follow `workbench.results`: JSON-safe through `jsonable`, datetimes as ISO-8601 'Z'.
SHAP values are in the units named by `ExplainerInfo.output` (see `shap_values`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from workbench.results import Evidence, Serialisable

KIND_LABELS = {
    "fp": "false positives (label 0, positive decision), highest score first",
    "fn": "false negatives (label 1, negative decision), lowest score first",
    "error": "largest absolute errors |score - label| first",
}


ATTRIBUTION_STATUSES = ("done", "skipped", "failed", "not_configured")


@dataclass(frozen=True)
class ExplainerInfo(Serialisable):
    """How SHAP values were computed, so a reader can reproduce them.

    additivity_gap: largest |base value + sum of values - model output| over the explained rows,
    in `output` units; note: how the values were obtained when `kind` does not say it all (a
    fallback, a calibrated model explained on its margin); merged_columns: raw inputs whose
    value sums several encoded columns (one-hot), with those columns.
    """

    model: str
    model_hash: str
    model_type: str
    task: str
    kind: str  # "tree" / "linear" (exact) or "permutation" (model-agnostic, sampled)
    output: str  # "probability", "log_odds", "raw" or "margin"
    base_value: float
    background_rows: int
    seed: int
    max_evals: int | None = None
    additivity_gap: float | None = None
    note: str | None = None
    merged_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AttributionStatus(Serialisable):
    """What became of the SHAP attribution step of `diagnose`, and what it cost.

    status: "done", "skipped" (over its time budget, or nothing to compare), "failed" (the reason
    says why; the diagnosis went on without it) or "not_configured" (no [model] section);
    rows: rows explained over both windows; seconds: time spent, budget: the time it was given.
    """

    status: str
    reason: str | None = None
    rows: int = 0
    seconds: float = 0.0
    budget: float | None = None
    explainer: str | None = None
    output: str | None = None
    additivity_gap: float | None = None

    def __post_init__(self) -> None:
        """Refuse a status outside the vocabulary of the `--json` contract."""
        if self.status not in ATTRIBUTION_STATUSES:
            raise ValueError(f"attribution status must be one of {ATTRIBUTION_STATUSES}, "
                             f"got {self.status!r}")


@dataclass(frozen=True)
class FeatureContribution(Serialisable):
    """One feature of one record: its value, SHAP value and where the value sits in training.

    percentile: share of reference values below it (0-100, numeric features); outside_range:
    below the reference minimum or above its maximum (numeric) or a level the reference never
    had (categorical); reference_share: share of reference rows with this level (categorical).
    """

    feature: str
    value: float | str | None
    shap: float
    percentile: float | None = None
    outside_range: bool | None = None
    reference_share: float | None = None


@dataclass(frozen=True)
class Neighbour(Serialisable):
    """A correctly handled reference record close to a failing one (standardized numerics)."""

    distance: float
    score: float
    label: float | None
    values: dict[str, Any]


@dataclass(frozen=True)
class RecordExplanation(Serialisable):
    """A failing record: logged outcome, re-scored output and contributions by |SHAP|."""

    record_id: str
    time: datetime | None
    score: float | None  # as logged
    model_score: float  # re-scored with the incident's model
    label: float | None
    decision: int | None
    contributions: tuple[FeatureContribution, ...]
    neighbours: tuple[Neighbour, ...] = ()

    def top(self, n: int = 3) -> tuple[FeatureContribution, ...]:
        """The n features with the largest |SHAP|."""
        return self.contributions[:n]

    @property
    def top_feature(self) -> str | None:
        """The feature with the largest |SHAP|."""
        return self.contributions[0].feature if self.contributions else None


@dataclass(frozen=True)
class FailingRecords(Serialisable):
    """Failing records of a window, each explained; `to_dict()` is the `explain --json` form."""

    incident: str
    kind: str
    window: dict[str, datetime | None]
    segment: dict[str, str] | None
    threshold: float
    total: int  # failing records in the window (before the limit)
    limit: int
    explainer: ExplainerInfo
    records: tuple[RecordExplanation, ...]
    rescore_max_abs_diff: float | None = None  # logged score vs the model's, over the records
    elapsed_seconds: float = 0.0

    @property
    def description(self) -> str:
        """What was selected, in words."""
        return KIND_LABELS[self.kind]

    def top_feature_counts(self) -> dict[str, int]:
        """How many records each feature is the top |SHAP| contributor of, most first."""
        counts = pd.Series([r.top_feature for r in self.records if r.top_feature]).value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    def to_frame(self, top: int = 3) -> pd.DataFrame:
        """One row per record: id, time, score, label and the top features."""
        rows = []
        for r in self.records:
            row: dict[str, Any] = {"record_id": r.record_id, "time": r.time, "score": r.score,
                                   "model_score": r.model_score, "label": r.label}
            for i, c in enumerate(r.top(top), start=1):
                row[f"feature_{i}"] = c.feature
                row[f"shap_{i}"] = c.shap
                row[f"value_{i}"] = c.value
                row[f"percentile_{i}"] = c.percentile
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class AttributionShift(Serialisable):
    """Mean |SHAP| of one feature in the baseline and the current window."""

    feature: str
    mean_abs_baseline: float
    mean_abs_current: float
    increase: float  # current - baseline
    ratio: float | None  # current / baseline (None when the baseline is 0)
    rank: int


@dataclass(frozen=True)
class AttributionDrift(Serialisable):
    """How much each feature drives the model's output before vs during the incident.

    A feature whose mean |SHAP| jumps is one the model now leans on harder: the usual trace of
    an input whose values moved into a region where the model reacts strongly.
    """

    baseline_window: dict[str, datetime | None]
    current_window: dict[str, datetime | None]
    rows_baseline: int
    rows_current: int
    explainer: ExplainerInfo
    features: tuple[AttributionShift, ...]  # ranked by increase, largest first

    @property
    def top(self) -> AttributionShift | None:
        """The feature whose attribution grew most."""
        return self.features[0] if self.features else None

    def to_frame(self) -> pd.DataFrame:
        """One row per feature, ranked."""
        return pd.DataFrame([s.to_dict() for s in self.features])

    def to_evidence(self, top: int = 1) -> tuple[Evidence, ...]:
        """Evidence records (statistic mean_abs_shap) for the `top` largest increases."""
        out = []
        for s in self.features[:top]:
            times = f" ({s.ratio:.1f}x)" if s.ratio is not None else ""
            out.append(Evidence(
                statistic="mean_abs_shap", value=s.mean_abs_current,
                baseline=s.mean_abs_baseline, window="current",
                detail=(f"{s.feature}: mean |SHAP| ({self.explainer.output}) "
                        f"{s.mean_abs_baseline:.3g} -> {s.mean_abs_current:.3g}{times}, rank "
                        f"{s.rank} of {len(self.features)} by increase; {self.rows_baseline} "
                        f"baseline and {self.rows_current} current rows sampled"),
            ))
        return tuple(out)


@dataclass(frozen=True)
class WhatIfRecord(Serialisable):
    """One record re-scored with some feature values replaced."""

    record_id: str
    score_before: float
    score_after: float
    decision_before: int | None
    decision_after: int | None
    flipped: bool
    changed: dict[str, tuple[Any, Any]]  # feature -> (value before, value after)


@dataclass(frozen=True)
class WhatIf(Serialisable):
    """A what-if over records: the replacements, the threshold and each record's outcome."""

    changes: dict[str, str]
    threshold: float | None
    records: tuple[WhatIfRecord, ...]

    @property
    def flip_share(self) -> float | None:
        """Share of records whose decision flips (None without records or a threshold)."""
        if not self.records or self.threshold is None:
            return None
        return sum(r.flipped for r in self.records) / len(self.records)

    def to_frame(self) -> pd.DataFrame:
        """One row per record: scores and decisions before and after."""
        return pd.DataFrame([
            {"record_id": r.record_id, "score_before": r.score_before,
             "score_after": r.score_after, "decision_before": r.decision_before,
             "decision_after": r.decision_after, "flipped": r.flipped}
            for r in self.records
        ])
