"""A scenario's definition: the domain, the timeline, what goes wrong and what is true."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .domains.base import Domain
from .faults import Fault
from .traffic import Burst, Traffic

LAYER_OF = {
    "upstream_data_change": "input_data", "distribution_shift": "input_data",
    "segment_regression": "input_data", "training_serving_skew": "feature_pipeline",
    "silent_pipeline_failure": "feature_pipeline", "model_rollout": "model",
    "concept_drift": "model", "serving_infrastructure": "serving",
}
# Optional roles of the production log an incident config may declare.
ROLES = ("decision", "label", "model_version", "id", "segments", "latency", "status")


@dataclass(frozen=True)
class Change:
    """A change-log entry."""

    time: str
    id: str
    kind: str
    description: str


@dataclass(frozen=True)
class Release:
    """A model version going live at `at` (None: live before the log starts).

    options: how it was trained ("seed", "class_weight", "blind": features that were constant
    in its training data).
    """

    version: str
    at: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """One incident (or a healthy control) and its ground truth.

    culprit fields (feature, segment, change_id, model_version) are what a diagnosis must name;
    onset is when the fault takes effect (None for a healthy control).
    """

    name: str
    domain: Domain
    summary: str
    signature: str | None
    start: str
    days: float
    rows: int
    bucket: str
    seed: int
    onset: str | None = None
    faults: tuple[Fault, ...] = ()
    releases: tuple[Release, ...] = (Release("v1.0.0"),)
    changes: tuple[Change, ...] = ()
    feature: str | None = None
    segment: str | None = None
    change_id: str | None = None
    model_version: str | None = None
    onset_tolerance_buckets: int = 1
    train_rows: int = 15_000
    train_days: float = 28.0
    traffic: Traffic | None = None  # default: the domain's
    bursts: tuple[Burst, ...] = ()  # unusual volume in the log period
    label_missing: float = 0.03
    labels_until: str | None = None
    log_labels: bool = True  # False: outcomes are not known yet, the log has no label column
    roles: tuple[str, ...] = ROLES  # which optional roles the config declares
    list_features: bool = False  # write [production] features explicitly
    bucket_in_config: bool = True
    with_model: bool = True  # save the model(s) and write a [model] section
    pipeline: str | None = None  # module in sample_data.scenarios.pipelines -> pipeline.py
    title: str = ""  # what the on-call engineer was told (a symptom, never the cause)

    @property
    def layer(self) -> str | None:
        """The layer of the signature (None for a healthy control)."""
        return LAYER_OF[self.signature] if self.signature else None

    @property
    def healthy(self) -> bool:
        """True for a control without an incident."""
        return self.signature is None

    def truth(self) -> dict[str, Any]:
        """The ground truth written as truth.json."""
        return {
            "signature": self.signature,
            "layer": self.layer,
            "feature": self.feature,
            "segment": self.segment,
            "change_id": self.change_id,
            "model_version": self.model_version,
            "onset": self.onset,
            "onset_tolerance_buckets": self.onset_tolerance_buckets,
            "scenario": self.name,
            "domain": self.domain.name,
            "task": self.domain.task,
            "bucket": self.bucket,
            "summary": self.summary,
            "decoy_change_ids": [c.id for c in self.changes if c.id != self.change_id],
            "seed": self.seed,
            "rows": self.rows,
        }
