"""Typed, serialisable results of lineage tracing: diffs, re-runs, experiments, bisect, ablation.

Every class is a frozen dataclass with `to_dict()` (JSON-ready); `Trace.to_dict()` is the
`workbench trace --json` document. Metric changes are always reported next to the noise band
they are judged against, never as bare numbers.
"""

from __future__ import annotations

import math
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
    """Change of the label within one segment (a level of a categorical column).

    Binary labels: the positive rate, two-proportion z. Numeric labels: the mean, Welch t (the
    rates are None). `z` holds the statistic either way.
    """

    column: str
    level: str
    rows_good: int
    rows_bad: int
    label_rate_good: float | None
    label_rate_bad: float | None
    z: float  # two-proportion z (binary label) or Welch t (numeric label), bad vs good
    significant: bool
    label_mean_good: float | None = None
    label_mean_bad: float | None = None
    test: str = "two-proportion z"

    def describe(self, label: str | None = None) -> str:
        """`rate 18.0% -> 0.0% (z = -9.1)` or `mean sale_price 412,000 -> 412 (t = -40.2)`."""
        if self.label_rate_good is not None and self.label_rate_bad is not None:
            return (f"label rate {self.label_rate_good:.1%} -> {self.label_rate_bad:.1%} "
                    f"(z = {self.z:.1f})")
        return (f"mean {label or 'label'} {label_value(self.label_mean_good)} -> "
                f"{label_value(self.label_mean_bad)} (t = {self.z:.1f})")

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
    label_rate_good: float | None = None  # binary labels only
    label_rate_bad: float | None = None
    label_z: float | None = None  # two-proportion z (binary) or Welch t (numeric)
    segments: tuple[SegmentShift, ...] = ()
    label_kind: str | None = None  # binary or numeric
    label_test: str | None = None  # the statistic in label_z
    label_mean_good: float | None = None
    label_mean_bad: float | None = None
    label_median_good: float | None = None  # numeric labels: from the stored quantiles
    label_median_bad: float | None = None
    label_ks: float | None = None  # numeric labels: KS distance of the label distributions

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
    may land (z = 2). A change inside ±half_width is not distinguishable from noise. With several
    factors the good reference is repeated too, and `std` is the larger of the two spreads (the
    noise can differ by orders of magnitude between the two ends).
    """

    metric: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]  # the bad baseline at each seed
    mean: float
    std: float
    half_width: float
    z: float = 2.0
    runs: tuple[str, ...] = ()  # keys of the runs, one per seed (and per good repeat)
    bad_std: float | None = None  # spread at the bad baseline
    good_values: tuple[float, ...] = ()  # the good reference at each seed, when repeated
    good_std: float | None = None

    def band(self, order: int = 1) -> float:
        """Band of a contrast of 2**order single runs with signs +-1 (order 1: a difference).

        A difference of two runs has std sqrt(2) * std; an interaction of k factors is a signed
        sum of 2**k runs, std sqrt(2**k) * std. The band is z times that.
        """
        return self.z * self.std * math.sqrt(2 ** order)


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
    damage: float | None = None  # how much worse the good run gets with only this factor bad
    damage_beyond_noise: bool = False
    damage_run: RunRecord | None = None  # the good run with this factor from the bad run
    shapley: float | None = None  # this factor's fair share of the gap (averaged over orders)
    shapley_share: float | None = None  # shapley / gap
    carries_effect: bool = False  # recovery or damage is harmful beyond the noise band
    rests_on: tuple[str, ...] = ()  # keys of the runs the effect is computed from


@dataclass(frozen=True)
class FactorialCell(Serialisable):
    """One run of the 2^k factorial: the bad run with some factors taken from the good run."""

    from_good: tuple[str, ...]  # () is the bad baseline, every factor the good reference
    metric_value: float
    recovery: float  # improvement over the bad baseline
    run: str  # key of the run
    label: str


@dataclass(frozen=True)
class InteractionEffect(Serialisable):
    """How far some factors' joint effect departs from the sum of their separate effects.

    value: recovery of swapping all of `factors` minus what the sub-combinations explain (the
    factorial's interaction contrast, anchored at the bad run); judged against the band of a
    contrast of 2**len(factors) runs.
    """

    factors: tuple[str, ...]
    value: float
    band: float
    real: bool
    verdict: str
    rests_on: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """`code × data`."""
        return " × ".join(self.factors)


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
    factors: tuple[str, ...] = ()  # the re-runnable factors that differ, in factorial order
    cells: tuple[FactorialCell, ...] = ()  # every combination run (2^k)
    interactions: tuple[InteractionEffect, ...] = ()
    culprits: tuple[str, ...] = ()  # factors carrying a harmful effect, largest share first

    def effect(self, factor: str) -> FactorEffect | None:
        """The experiment for a factor, if one ran."""
        return next((e for e in self.effects if e.factor == factor), None)

    @property
    def real_interactions(self) -> tuple[InteractionEffect, ...]:
        """Interactions beyond their noise band."""
        return tuple(i for i in self.interactions if i.real)


@dataclass(frozen=True)
class BisectStep(Serialisable):
    """One probe of the bisection: a candidate re-run and how it was judged."""

    position: int  # index into the candidates
    candidate: str
    label: str
    metric_value: float
    verdict: str  # good or bad
    cached: bool
    run: str = ""  # key of the run


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
    factor: str | None = None  # the factor bisected (code, data, data[ROLE], config)
    context: str | None = None  # the other factors during the probes: good, bad or none
    role: str | None = None  # data role of a snapshot bisection
    label_column: str | None = None  # the label the culprit segments are measured on
    rests_on: tuple[str, ...] = ()  # keys of the endpoint runs and the probes


@dataclass(frozen=True)
class Conclusion(Serialisable):
    """One conclusion of a trace, and the runs it rests on (keys into `Trace.runs`)."""

    subject: str  # noise, gap, a factor, an interaction (a × b), or a bisected culprit
    statement: str
    runs: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # the runs' labels, same order


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
    bisects: tuple[BisectResult, ...] = ()  # one per culprit factor that could be bisected
    conclusions: tuple[Conclusion, ...] = ()


def label_value(value: float | None) -> str:
    """A label value for messages: thousands separated, few decimals."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def figure(value: float | None, signed: bool = False) -> str:
    """A metric value for messages: four decimals, or whole thousands-separated units when large."""
    if value is None:
        return "n/a"
    sign = "+" if signed else ""
    return f"{value:{sign},.0f}" if abs(value) >= 1000 else f"{value:{sign}.4f}"
