"""The post-mortem report's content: one versioned schema, rendered as JSON, Markdown and HTML.

`PostMortem.to_dict()` is the JSON document documented in `docs/report-schema.md`. Figures are
the core's own result dictionaries (`Diagnosis`, `Verification`, journal entries), embedded
unchanged, so the report never re-types a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workbench.results import Serialisable

SCHEMA = "workbench.postmortem"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TimelineEvent(Serialisable):
    """One dated event: a change, the onset, detection, a fix tried, a mitigation, a verdict.

    kind: "change", "onset", "detection", "hypothesis", "check", "verdict", "fix",
    "mitigation", "conclusion" or "note". source: "change_log", "diagnosis" or "journal".
    """

    time: datetime | None
    kind: str
    title: str
    detail: str = ""
    source: str = "diagnosis"
    ref: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class HypothesisOutcome(Serialisable):
    """A hypothesis from the journal with its outcome and the checks run on it."""

    id: str
    time: datetime
    author: str
    text: str
    params: dict[str, Any]
    outcome: str  # "open", "confirmed" or "refuted"
    verdict: dict[str, Any] | None = None
    checks: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class FollowUp(Serialisable):
    """Monitoring (or a task) to add, derived from what was found.

    kind: "monitor" (an alert: statistic on target over window above threshold) or "verify".
    baseline_value/incident_value: the statistic before and during the incident, which the
    threshold lies between.
    """

    kind: str
    target: str
    statistic: str
    threshold: float | None
    baseline_value: float | None
    incident_value: float | None
    window: str
    rationale: str
    feature: str | None = None


@dataclass(frozen=True)
class ChartRef(Serialisable):
    """A chart of the report: its id, title and SVG file (relative to the report folder)."""

    id: str
    title: str
    file: str


@dataclass(frozen=True)
class PostMortem(Serialisable):
    """The whole report. Keys are only ever added within a schema version."""

    schema: str
    schema_version: int
    generated_at: datetime
    generated_by: str
    incident: dict[str, Any]
    summary: dict[str, Any]
    timeline: tuple[TimelineEvent, ...]
    root_cause: dict[str, Any]
    hypotheses_ranked: tuple[dict[str, Any], ...]
    hypotheses_tested: tuple[HypothesisOutcome, ...]
    fixes_tried: tuple[dict[str, Any], ...]
    fix: dict[str, Any] | None
    follow_ups: tuple[FollowUp, ...]
    notes: tuple[dict[str, Any], ...]
    charts: tuple[ChartRef, ...] = ()
    diagnosis: dict[str, Any] = field(default_factory=dict)
