"""Result objects of fix verification: frozen dataclasses with `to_dict()`.

Every interval is a 95 % interval (`workbench.verify.intervals` documents the methods). Windows
are half-open [start, end) in UTC; `to_dict()` renders them as ISO-8601 'Z' strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workbench.results import Serialisable

VERDICTS = ("restores", "insufficient")
RELATIONS = ("overlaps", "better", "worse", "unknown")


@dataclass(frozen=True)
class MetricEstimate(Serialisable):
    """A metric's value with its interval and the counts behind it (recomputable by hand).

    numerator/denominator: errors and rows it is a rate of (rates), or the sum and row count
    (means). method: "wilson" (rates) or "normal" (means).
    """

    name: str
    value: float | None
    lower: float | None
    upper: float | None
    numerator: float
    denominator: float
    method: str

    @property
    def known(self) -> bool:
        """Whether there were rows to estimate it on."""
        return self.value is not None and self.lower is not None and self.upper is not None

    def overlaps(self, other: MetricEstimate) -> bool:
        """Whether the two intervals share at least one value."""
        if not (self.known and other.known):
            return False
        return self.lower <= other.upper and other.lower <= self.upper  # type: ignore[operator]


@dataclass(frozen=True)
class MetricComparison(Serialisable):
    """One metric on the replayed rows as logged and after the fix, against the baseline.

    vs_baseline: how the fixed interval sits against the baseline's: "overlaps", "better"
    (entirely on the good side), "worse" or "unknown" (no rows). worse_beyond_ci: the fixed
    value is worse than both the logged value and the baseline beyond their intervals.
    """

    name: str
    higher_is_worse: bool | None
    baseline: MetricEstimate
    before: MetricEstimate
    after: MetricEstimate
    vs_baseline: str
    worse_beyond_ci: bool


@dataclass(frozen=True)
class SegmentEffect(Serialisable):
    """A metric of one segment value before and after the fix, and its baseline.

    side_effect: the fix made this segment worse beyond the intervals of both its logged
    (pre-fix) value and its baseline value.
    """

    segment: str
    value: str
    rows: int
    metric: str
    baseline: MetricEstimate
    before: MetricEstimate
    after: MetricEstimate
    side_effect: bool


@dataclass(frozen=True)
class ScoreSummary(Serialisable):
    """Distribution of the model score over the replayed rows (as logged or after the fix).

    counts: rows per bin between consecutive edges (values outside the edges fall into the
    end bins); positive_rate: share of rows with a positive decision.
    """

    rows: int
    mean: float | None
    std: float | None
    positive_rate: float | None
    edges: tuple[float, ...]
    counts: tuple[float, ...]


@dataclass(frozen=True)
class CorrectedFeature(Serialisable):
    """A feature the fix changed: its drift against the reference before and after the fix.

    psi_baseline is the pre-onset window against the reference: the level to get back to.
    Bins are the reference bins of `LogStore.bin_specs` (labels as in the triage histograms).
    """

    feature: str
    kind: str
    changed_rows: int
    changed_share: float
    psi_before: float
    psi_after: float
    psi_baseline: float
    severity_before: str
    severity_after: str
    labels: tuple[str, ...]
    reference: tuple[float, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]


@dataclass(frozen=True)
class ModelCheck(Serialisable):
    """Whether the model file used for the replay reproduces scores logged in production."""

    model: str
    version: str | None
    rows: int
    max_abs_diff: float | None
    reproduces: bool
    detail: str


@dataclass(frozen=True)
class FixInfo(Serialisable):
    """What was replayed: the fix's name, kind and the parameters that define it."""

    name: str
    kind: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verification(Serialisable):
    """A fix replayed over a window of logged rows and judged against the baseline.

    verdict: "restores" when the fixed monitored metric's interval overlaps the baseline's
    interval (or lies entirely on its better side), else "insufficient". side_effects: the
    flagged entries of `segments`. rerun: the exact parameters to run this again.
    elapsed_seconds: the whole run; replay_seconds: reading and re-scoring the rows, which
    rows_per_second is measured on.
    """

    incident: str
    config: str | None
    fix: FixInfo
    metric: str
    window: dict[str, datetime | None]
    baseline_window: dict[str, datetime | None]
    window_given: bool
    rows: int
    labelled_rows: int
    flips: dict[str, int]
    primary: MetricComparison
    metrics: tuple[MetricComparison, ...]
    verdict: str
    verdict_reason: str
    segments: tuple[SegmentEffect, ...]
    side_effects: tuple[SegmentEffect, ...]
    scores_before: ScoreSummary
    scores_after: ScoreSummary
    drift: tuple[CorrectedFeature, ...]
    model_check: ModelCheck | None
    warnings: tuple[str, ...]
    ci_method: str
    confidence: float
    rerun: dict[str, Any]
    elapsed_seconds: float
    replay_seconds: float
    rows_per_second: float

    @property
    def restores(self) -> bool:
        """Whether the verdict is "restores"."""
        return self.verdict == "restores"

    def metric_comparison(self, name: str) -> MetricComparison | None:
        """The comparison of a metric by name, if computed."""
        return next((m for m in self.metrics if m.name == name), None)

    def summary(self) -> dict[str, Any]:
        """The headline figures (verdict, metric before/after/baseline with intervals)."""
        p = self.primary
        return {
            "fix": self.fix.name, "kind": self.fix.kind, "verdict": self.verdict,
            "metric": self.metric, "rows": self.rows, "labelled_rows": self.labelled_rows,
            "baseline": p.baseline.to_dict(), "before": p.before.to_dict(),
            "after": p.after.to_dict(), "vs_baseline": p.vs_baseline,
            "side_effects": len(self.side_effects),
        }
