"""Typed, serialisable results of lineage tracing: diffs, re-runs, experiments, bisect, ablation.

Every class is a frozen dataclass with `to_dict()` (JSON-ready); `Trace.to_dict()` is the
`workbench trace --json` document. Metric changes are always reported next to the noise band
they are judged against, never as bare numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.results import Serialisable


@dataclass(frozen=True)
class CommitInfo(Serialisable):
    """One commit of the pipeline's history."""

    sha: str
    short: str
    author: str
    time: str
    subject: str


@dataclass(frozen=True)
class FileChange(Serialisable):
    """A file that differs between the good and the bad commit."""

    path: str
    status: str  # added, deleted or modified
    added: int | None = None
    deleted: int | None = None


@dataclass(frozen=True)
class ValueChange(Serialisable):
    """A key whose value differs between two runs (None: absent on that side)."""

    key: str
    good: Any
    bad: Any


@dataclass(frozen=True)
class ColumnShift(Serialisable):
    """Distribution shift of one column between two data versions (bins from the good one)."""

    column: str
    kind: str  # numeric or categorical
    psi: float
    severity: str  # stable, moderate or major (see workbench.stats.drift)
    ks: float | None = None
    chi2_pvalue: float | None = None
    mean_good: float | None = None
    mean_bad: float | None = None
    null_rate_good: float = 0.0
    null_rate_bad: float = 0.0


@dataclass(frozen=True)
class SegmentShift(Serialisable):
    """Change of the label rate within one segment (a level of a categorical column)."""

    column: str
    level: str
    rows_good: int
    rows_bad: int
    label_rate_good: float | None
    label_rate_bad: float | None
    z: float  # two-proportion z statistic, bad vs good
    significant: bool

    @property
    def name(self) -> str:
        """`column=level`, as used in commands and messages."""
        return f"{self.column}={self.level}"


@dataclass(frozen=True)
class DataChange(Serialisable):
    """How one data input (role) differs between the good and the bad run."""

    role: str
    path_good: str | None
    path_bad: str | None
    sha256_good: str | None
    sha256_bad: str | None
    changed: bool
    rows_good: int | None = None
    rows_bad: int | None = None
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    types_changed: tuple[ValueChange, ...] = ()
    shifts: tuple[ColumnShift, ...] = ()
    label: str | None = None
    label_rate_good: float | None = None
    label_rate_bad: float | None = None
    label_z: float | None = None
    segments: tuple[SegmentShift, ...] = ()

    @property
    def top_segment(self) -> SegmentShift | None:
        """The segment whose label rate moved most, if the move is significant."""
        return next((s for s in self.segments if s.significant), None)


@dataclass(frozen=True)
class ManifestDiff(Serialisable):
    """Every recorded difference between a good and a bad run."""

    good: str
    bad: str
    metric: str
    metric_good: float | None
    metric_bad: float | None
    data: tuple[DataChange, ...]
    code_changed: bool
    commit_good: str | None
    commit_bad: str | None
    commits: tuple[CommitInfo, ...] = ()
    files: tuple[FileChange, ...] = ()
    dirty: tuple[ValueChange, ...] = ()
    config: tuple[ValueChange, ...] = ()
    libraries: tuple[ValueChange, ...] = ()
    platform: tuple[ValueChange, ...] = ()
    seeds: tuple[ValueChange, ...] = ()
    entry_point: tuple[ValueChange, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping, with the derived `factors` list."""
        return {**super().to_dict(), "factors": list(self.factors)}

    @property
    def factors(self) -> tuple[str, ...]:
        """Factors that differ: data, code, config (re-runnable), libraries, platform, seed."""
        out = []
        if any(d.changed and d.role != "eval" for d in self.data):
            out.append("data")
        if self.code_changed:
            out.append("code")
        if self.config:
            out.append("config")
        if self.libraries:
            out.append("libraries")
        if self.platform:
            out.append("platform")
        if self.seeds:
            out.append("seed")
        return tuple(out)


@dataclass(frozen=True)
class RunRecord(Serialisable):
    """One execution (or cache hit) of the pipeline's entry point."""

    key: str
    label: str
    commit: str
    data: dict[str, str]  # role -> data version id
    config_sha256: str
    seed: int
    metrics: dict[str, float]
    seconds: float
    cached: bool


@dataclass(frozen=True)
class NoiseBand(Serialisable):
    """Run-to-run noise of the metric: the baseline repeated with different seeds.

    half_width = z * std * sqrt(2): how far apart two single runs that differ only in their seed
    may land (z = 2). A change inside ±half_width is not distinguishable from noise.
    """

    metric: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    mean: float
    std: float
    half_width: float
    z: float = 2.0


@dataclass(frozen=True)
class FactorEffect(Serialisable):
    """One delta experiment: the bad run with one factor taken from the good run.

    recovery: improvement of the metric over the bad baseline (positive = better), in metric
    units; share_of_gap: recovery / (good reference - bad baseline) as an improvement.
    """

    factor: str
    description: str
    metric_value: float
    recovery: float
    share_of_gap: float | None
    beyond_noise: bool
    verdict: str
    run: RunRecord


@dataclass(frozen=True)
class DeltaExperiments(Serialisable):
    """Controlled re-runs attributing the metric change to data, code and config."""

    metric: str
    higher_is_better: bool
    seed: int
    bad_value: float
    good_value: float
    gap: float  # improvement from bad baseline to good reference (positive: good is better)
    noise: NoiseBand
    effects: tuple[FactorEffect, ...]
    culprit: str | None
    not_rerun: tuple[str, ...] = ()  # factors that differ but cannot be re-run (libraries, ...)
    recorded_bad: float | None = None
    reproduced: bool | None = None  # the bad run's recorded metric came out again
    notes: tuple[str, ...] = ()

    def effect(self, factor: str) -> FactorEffect | None:
        """The experiment for a factor, if one ran."""
        return next((e for e in self.effects if e.factor == factor), None)


@dataclass(frozen=True)
class BisectStep(Serialisable):
    """One probe of the bisection: a candidate re-run and how it was judged."""

    position: int  # index into the candidates
    candidate: str
    label: str
    metric_value: float
    verdict: str  # good or bad
    cached: bool


@dataclass(frozen=True)
class BisectResult(Serialisable):
    """The first bad commit (or data snapshot) between a good and a bad one."""

    kind: str  # code or data
    metric: str
    candidates: tuple[str, ...]  # after the good one, ending with the bad one
    labels: tuple[str, ...]
    good_ref: float
    bad_ref: float
    band: float
    steps: tuple[BisectStep, ...]
    culprit: str | None
    culprit_label: str | None
    reruns: int
    max_reruns: int
    culprit_files: tuple[FileChange, ...] = ()
    culprit_segments: tuple[SegmentShift, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AblationRow(Serialisable):
    """Metric without one feature (or with it swapped), in the bad and the good run.

    delta_*: metric change caused by the ablation (negative: the feature was helping);
    gap_explained: share of the good-vs-bad gap that disappears once the feature is ablated in
    both runs (1.0: the whole regression lives in this feature). beyond_noise: the change that
    is ranked (the gap closed, else delta_bad) exceeds the noise band.
    """

    feature: str
    metric_bad: float
    delta_bad: float
    beyond_noise: bool
    metric_good: float | None = None
    delta_good: float | None = None
    gap_explained: float | None = None


@dataclass(frozen=True)
class Ablation(Serialisable):
    """Per-feature ablation re-runs, most regression-explaining (or most important) first."""

    mode: str  # drop or swap
    metric: str
    higher_is_better: bool
    seed: int
    baseline_bad: float
    baseline_good: float | None
    band: float
    rows: tuple[AblationRow, ...]
    reruns: int
    cached: int
    ranked_by: str
    notes: tuple[str, ...] = ()

    @property
    def top(self) -> AblationRow | None:
        """The first-ranked feature."""
        return self.rows[0] if self.rows else None


@dataclass(frozen=True)
class Trace(Serialisable):
    """A traced regression: the diff, the delta experiments, the bisection and the verdict."""

    good: str
    bad: str
    good_manifest: str
    bad_manifest: str
    diff: ManifestDiff
    experiments: DeltaExperiments | None
    bisect: BisectResult | None
    verdict: str
    runs: tuple[RunRecord, ...] = ()
    reruns: int = 0
    cached: int = 0
    seconds: float = 0.0
    journal: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
