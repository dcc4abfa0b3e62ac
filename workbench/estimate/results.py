"""Result types of estimation before labels arrive (serialisable, part of the `--json`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workbench.results import Serialisable


@dataclass(frozen=True)
class LabelArrival(Serialisable):
    """How far the labels have arrived: shares labelled, what is still missing and since when.

    usual: the share of a bucket's rows labelled once its labels are in (a high quantile over
    buckets); a bucket counts as labelled from `workbench.estimate.labels.LABELLED_SHARE` of it.
    pending_*: the unlabelled rows of the buckets not labelled yet, and where their trailing run
    starts (None when the last bucket is labelled).
    """

    rows: int
    labelled: int
    usual: float
    baseline: float | None  # share of the baseline window's rows labelled
    current: float | None  # share of the current window's rows labelled
    pending_rows: int
    pending_buckets: int
    pending_since: datetime | None
    labelled_until: datetime | None  # end of the last labelled bucket

    @property
    def complete(self) -> bool:
        """Whether every bucket's labels have arrived."""
        return self.pending_buckets == 0


@dataclass(frozen=True)
class Calibration(Serialisable):
    """What the estimates rest on: the labelled rows they were fitted on and how well the
    scores (or the loss model) describe them there.

    source: "production" (the log's own labelled window [start, end)) or "reference"; method:
    "none", "isotonic" or "platt" for CBPE, "loss_model" for DLE; error: the cross-validated
    calibration error (ECE) for CBPE, the loss model's held-out bias (mean realised minus
    predicted absolute error) for DLE; raw_error: the scores taken as probabilities.
    """

    source: str
    method: str
    rows: int
    start: datetime | None = None
    end: datetime | None = None
    positives: int | None = None
    error: float | None = None
    raw_error: float | None = None
    cv_errors: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketEstimate(Serialisable):
    """One bucket of the monitored metric: the estimate beside the realised value.

    source: which of the two the onset search and the trend used ("realised" or "estimated");
    value: that one; lower/upper: the estimate's 95% sampling interval.
    """

    bucket: datetime
    rows: int
    coverage: float
    source: str
    value: float | None
    estimated: float | None
    lower: float | None
    upper: float | None
    realised: float | None


@dataclass(frozen=True)
class MetricEstimate(Serialisable):
    """One metric over a window: estimated for every scored row, realised on its labelled rows."""

    name: str
    estimated: float | None
    lower: float | None
    upper: float | None
    realised: float | None
    labelled_rows: int


@dataclass(frozen=True)
class Support(Serialisable):
    """Whether the estimated rows look like the labelled rows (the estimates assume it).

    scores_outside: share of the estimated rows scored outside the labelled rows' score range;
    domain_auc: the domain classifier's AUC between the baseline and current inputs, when the
    labelled window lies before the current window; outside_features: inputs with a material
    share of current values outside training's range.
    """

    scores_outside: float
    domain_auc: float | None
    outside_features: dict[str, float]
    holds: bool
    note: str | None = None


@dataclass(frozen=True)
class Estimation(Serialisable):
    """Labelled metrics estimated where the labels have not arrived (CBPE or DLE)."""

    method: str  # "cbpe" or "dle"
    metric: str
    calibration: Calibration
    buckets: tuple[BucketEstimate, ...] = ()
    current: tuple[MetricEstimate, ...] = ()  # every estimable metric over the current window
    support: Support | None = None
    notes: tuple[str, ...] = ()
