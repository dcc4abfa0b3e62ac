"""Typed, serialisable result objects of the core: frozen dataclasses with `to_dict()`.

`to_dict()` renders JSON-safe values (see `workbench.serial`): datetimes as ISO-8601 with 'Z',
NaN/inf as None, tuples as lists; `from_dict()` reads them back, equal to what was written. The
`Diagnosis.to_dict()` keys are the stable `--json` contract of `workbench diagnose`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from workbench.serial import Serialisable as Serialisable
from workbench.serial import jsonable as jsonable
from workbench.serial import round_floats as round_floats
from workbench.windows import Window, window_field

if TYPE_CHECKING:
    from workbench.estimate.results import Estimation, LabelArrival
    from workbench.explain.results import AttributionStatus
    from workbench.stages.metrics import MetricDef

SIGNATURES = (
    "upstream_data_change", "distribution_shift", "training_serving_skew",
    "silent_pipeline_failure", "model_rollout", "segment_regression", "concept_drift",
    "serving_infrastructure",
)
LAYERS = ("serving", "model", "feature_pipeline", "input_data", "external")


@dataclass(frozen=True)
class Evidence(Serialisable):
    """One checkable number behind a hypothesis or verdict."""

    statistic: str
    value: float | str | None
    baseline: float | str | None = None
    window: str | None = None
    threshold: float | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Explained(Serialisable):
    """The share of the metric's change a hypothesis accounts for, with its interval."""

    share: float
    interval: tuple[float, float] | None
    method: str  # "shapley" (joint with the other top shifts) or "reweighting" (alone)


@dataclass(frozen=True)
class Decomposition(Serialisable):
    """The metric's change split into the joint shift of the top shifted inputs and the rest.

    gap: current minus baseline metric. covariate/residual: shares of the gap (they add up to
    1); by_feature: each input's share (Shapley within `features`, alone for the others);
    residual: the change of the input -> outcome relation within cells, which is concept drift
    when the metric uses labels and a model or serving change when it does not.
    """

    metric: str
    gap: float
    covariate: float
    residual: float
    by_feature: dict[str, float]
    features: tuple[str, ...]
    covariate_interval: tuple[float, float] | None
    labelled: bool
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    method: str = "shapley over coarse joint cells"


@dataclass(frozen=True)
class Hypothesis(Serialisable):
    """A ranked explanation of the incident in the signature vocabulary."""

    rank: int
    signature: str
    layer: str
    score: float
    summary: str
    feature: str | None = None
    segment: str | None = None
    change_id: str | None = None
    model_version: str | None = None
    evidence: tuple[Evidence, ...] = ()
    time: datetime | None = None  # when the suspected cause's own signal changed, if sharp
    explained: Explained | None = None  # share of the metric's change it accounts for


@dataclass(frozen=True)
class MetricSummary(Serialisable):
    """The monitored metric before and after the onset."""

    name: str
    baseline: float | None
    current: float | None
    higher_is_worse: bool = True
    estimated: bool = False  # the current value is the estimate: too few labels have arrived
    label_coverage: float | None = None  # share of the current window's rows labelled
    estimated_buckets: int = 0  # buckets whose estimate the onset search and the trend read


@dataclass(frozen=True)
class MetricSeries(Serialisable):
    """A metric per time bucket with the weight (rows) behind each value."""

    name: str
    buckets: tuple[datetime, ...]
    values: tuple[float, ...]
    weights: tuple[float, ...]


@dataclass(frozen=True)
class ChangeEvent(Serialisable):
    """A change-log entry and how close it lies to the onset."""

    id: str
    time: datetime
    kind: str
    description: str
    hours_before_onset: float | None = None
    proximity: float = 0.0


@dataclass(frozen=True)
class Histogram(Serialisable):
    """Binned counts of one feature in the reference and two production windows.

    labels: one per bin (null, below range / other, reference bins, above range).
    """

    feature: str
    kind: str
    labels: tuple[str, ...]
    reference: tuple[float, ...]
    baseline: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] = ()


@dataclass(frozen=True)
class FeatureDrift(Serialisable):
    """Drift of one feature: current vs reference and current vs the pre-onset baseline."""

    feature: str
    kind: str
    psi: float
    psi_onset: float
    psi_baseline: float
    js: float
    kl: float
    ks: float | None
    ks_pvalue: float | None
    chi2: float | None
    chi2_pvalue: float | None
    cramers_v: float | None
    wasserstein: float | None
    mean_reference: float | None
    mean_baseline: float | None
    mean_current: float | None
    null_rate_baseline: float
    null_rate_current: float
    outside_range_current: float
    dependence: float
    shift_time: datetime | None
    severity: str
    std_reference: float | None = None
    std_baseline: float | None = None
    std_current: float | None = None
    rows_baseline: int = 0
    rows_current: int = 0
    outside_range_baseline: float = 0.0


@dataclass(frozen=True)
class QualityFault(Serialisable):
    """A data-quality fault of the current window against the baseline, with its numbers.

    kind: "null_rate", "unseen_categories", "type_drift", "duplicate_ids", "out_of_range"
    (numeric values outside training's range), "stale_values" (a feature frozen at one value:
    the share of rows at it), "volume_drop" (the share of buckets far below their seasonal
    expectation; no feature) or "future_timestamps" (the share of the log's rows far after the
    rest of it); baseline/current: the rate in each window; z: the two-proportion z statistic
    of the jump.
    """

    kind: str
    feature: str | None
    baseline: float
    current: float
    z: float
    rows: int  # rows of the current window the rate is over
    detail: str = ""  # e.g. the unseen categories with their shares
    start: datetime | None = None  # when the rate changed, where a change point locates it


@dataclass(frozen=True)
class MultivariateDrift(Serialisable):
    """A classifier two-sample test between the baseline and current windows' inputs.

    auc: the domain classifier's cross-validated ROC AUC (0.5: indistinguishable);
    top_features: the inputs that give the windows away, by the AUC lost when permuted.
    """

    auc: float
    auc_folds: tuple[float, ...]
    rows_baseline: int
    rows_current: int
    top_features: dict[str, float]
    shifted: bool


VERDICTS = ("healthy", "suspect", "failing", "unknown")


@dataclass(frozen=True)
class LayerVerdict(Serialisable):
    """Phase 2: one layer's verdict with its key number and the evidence behind it."""

    layer: str
    verdict: str  # one of VERDICTS; "unknown" when the data to judge is absent
    headline: str  # the key number in words, e.g. "latency p95 42 ms -> 43 ms"
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Slice(Serialisable):
    """A segment (conjunction of conditions) whose error metric rose, with its support."""

    conditions: tuple[str, ...]  # e.g. ("country=US", "ratio in [2.1, 3.4)")
    rows_current: int
    metric_baseline: float | None
    metric_current: float | None
    lift: float  # metric_current / overall current metric
    excess: float  # extra bad outcomes in the slice vs its own baseline rate
    score: float


@dataclass(frozen=True)
class Diagnosis(Serialisable):
    """Everything `diagnose` found; `to_dict()` is the `--json` contract."""

    incident: str
    bucket: str
    window: Window = window_field("analysed", required=True)  # the span analysed
    onset: datetime | None
    metric: MetricSummary
    trend: str
    hypotheses: tuple[Hypothesis, ...]
    baseline_window: Window = window_field("baseline")
    current_window: Window = window_field("current")
    series: tuple[MetricSeries, ...] = ()
    drift: tuple[FeatureDrift, ...] = ()
    histograms: tuple[Histogram, ...] = ()
    changes: tuple[ChangeEvent, ...] = ()
    layers: tuple[LayerVerdict, ...] = ()
    slices: tuple[Slice, ...] = ()
    rows: int = 0
    elapsed_seconds: float = 0.0
    notes: tuple[str, ...] = ()  # what the reading of the sources left out or assumed
    decomposition: Decomposition | None = None  # the metric's change split into its causes
    quality: tuple[QualityFault, ...] = ()  # data-quality faults since the onset
    multivariate: MultivariateDrift | None = None  # can the windows' inputs be told apart?
    attribution: AttributionStatus | None = None  # what the SHAP attribution step did
    # What the later phases build on, as the triage found it (so they never run it again):
    bucket_seconds: int = 0  # `bucket` in seconds
    metric_definition: MetricDef | None = None  # how the metric derives from outcome counts
    onset_detected: datetime | None = None  # the change point (`onset` may be sharpened)
    onset_low: datetime | None = None  # earliest and latest plausible onset: the change
    onset_high: datetime | None = None  # point's location uncertainty
    onset_strength: float = 0.0  # the change point's F statistic over its threshold
    split: datetime | None = None  # the split asked for; None: at the detected onset
    baseline_outcomes: dict[str, float] = field(default_factory=dict)  # outcome counts
    current_outcomes: dict[str, float] = field(default_factory=dict)  # summed per window
    labels: LabelArrival | None = None  # how far the labels have arrived
    estimation: Estimation | None = None  # the metric estimated where labels are missing

    @property
    def top(self) -> Hypothesis | None:
        """The highest-ranked hypothesis."""
        return self.hypotheses[0] if self.hypotheses else None

    def layer(self, name: str) -> LayerVerdict | None:
        """The verdict of one layer."""
        return next((v for v in self.layers if v.layer == name), None)

    def histogram(self, feature: str) -> Histogram | None:
        """The histogram of a feature, if computed."""
        return next((h for h in self.histograms if h.feature == feature), None)
