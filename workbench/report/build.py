"""Assemble the post-mortem from the core's results and the investigation journal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workbench.config import Incident
from workbench.journal import EntryState, Journal, JournalEntry, slug
from workbench.report.followups import follow_ups
from workbench.report.model import (
    SCHEMA,
    SCHEMA_VERSION,
    ChartRef,
    HypothesisOutcome,
    PostMortem,
    TimelineEvent,
)
from workbench.results import Diagnosis, Hypothesis
from workbench.verify.results import Verification

TOP_SUSPECTS = 5
# Journal entry kinds shown on the timeline (notes and reports are listed elsewhere).
TIMELINE_KINDS = ("hypothesis", "check", "verdict", "fix", "mitigation", "conclusion")


def build_report(incident: Incident, diagnosis: Diagnosis,
                 verification: Verification | None = None, journal: Journal | None = None,
                 charts: tuple[ChartRef, ...] = (), author: str = "") -> PostMortem:
    """The post-mortem of an incident: numbers from `diagnosis`/`verification`, story from
    the journal."""
    entries = journal.entries() if journal is not None else ()
    states = journal.states() if journal is not None else ()
    tested = _hypotheses(states, entries)
    cause = _root_cause(diagnosis, tested)
    culprit = cause["hypothesis"]["feature"] if cause["hypothesis"] else None
    data = diagnosis.to_dict()
    return PostMortem(
        schema=SCHEMA, schema_version=SCHEMA_VERSION,
        generated_at=datetime.now(UTC).replace(tzinfo=None),
        generated_by=author or (journal.author if journal else ""),
        incident={"title": incident.title,
                  "config": str(incident.path) if incident.path else None,
                  "slug": slug(incident),
                  "journal": str(journal.path) if journal is not None else None},
        summary=_summary(diagnosis, verification, entries, cause),
        timeline=_timeline(diagnosis, entries),
        root_cause=cause,
        hypotheses_ranked=tuple(h.to_dict() for h in diagnosis.hypotheses[:TOP_SUSPECTS]),
        hypotheses_tested=tested,
        fixes_tried=tuple(_fix_entry(s) for s in states if s.entry.kind == "fix"),
        fix=({"name": verification.fix.name, "verification": verification.to_dict()}
             if verification is not None else None),
        follow_ups=follow_ups(diagnosis, culprit, verification),
        notes=tuple(e.to_dict() for e in entries if e.kind == "note"),
        charts=charts,
        diagnosis={k: v for k, v in data.items() if k not in ("series", "histograms")},
    )


def _summary(d: Diagnosis, v: Verification | None, entries: tuple[JournalEntry, ...],
             cause: dict[str, Any]) -> dict[str, Any]:
    m = d.metric
    status = "open"
    if any(e.kind == "mitigation" for e in entries):
        status = "mitigated"
    elif v is not None and v.restores:
        status = "fix verified"
    conclusions = [e for e in entries if e.kind == "conclusion"]
    return {
        "onset": d.onset, "metric": m.to_dict(),
        "change_factor": (m.current / m.baseline) if m.baseline and m.current else None,
        "trend": d.trend, "rows": d.rows, "bucket": d.bucket, "window": d.window,
        "baseline_window": d.baseline_window, "current_window": d.current_window,
        "root_cause": cause["statement"], "status": status,
        "conclusion": conclusions[-1].text if conclusions else None,
        "verdict": v.verdict if v is not None else None,
    }


def _hypotheses(states: tuple[EntryState, ...],
                entries: tuple[JournalEntry, ...]) -> tuple[HypothesisOutcome, ...]:
    out = []
    for s in states:
        e = s.entry
        if e.kind != "hypothesis":
            continue
        checks = tuple(c.to_dict() for c in entries if c.kind == "check" and c.ref == e.id)
        out.append(HypothesisOutcome(e.id, e.time, e.author, e.text, dict(e.params), s.outcome,
                                     s.verdict.to_dict() if s.verdict else None, checks))
    return tuple(out)


def _root_cause(d: Diagnosis, tested: tuple[HypothesisOutcome, ...]) -> dict[str, Any]:
    """The confirmed journal hypothesis if any (matched to a ranked one), else the top suspect."""
    confirmed = [h for h in tested if h.outcome == "confirmed"]
    chosen: Hypothesis | None = d.top
    statement = d.top.summary if d.top else "No regression was found in the monitored metric."
    source = "diagnosis"
    if confirmed:
        last = confirmed[-1]
        statement, source = last.text, "journal"
        chosen = _match(d, last.params) or d.top
    drift = None
    if chosen is not None and chosen.feature:
        drift = next((x.to_dict() for x in d.drift if x.feature == chosen.feature), None)
    return {"statement": statement, "source": source,
            "hypothesis": chosen.to_dict() if chosen else None,
            "confirmed_by": confirmed[-1].verdict if confirmed else None,
            "feature_drift": drift}


def _match(d: Diagnosis, params: dict[str, Any]) -> Hypothesis | None:
    """The ranked hypothesis a journal hypothesis names by signature/feature/change, if any."""
    keys = [k for k in ("signature", "feature", "change_id", "segment", "model_version")
            if params.get(k)]
    if not keys:
        return None
    return next((h for h in d.hypotheses
                 if all(getattr(h, k) == params[k] for k in keys)), None)


def _fix_entry(s: EntryState) -> dict[str, Any]:
    e = s.entry
    return {"id": e.id, "time": e.to_dict()["time"], "author": e.author, "text": e.text,
            "verdict": e.status, "outcome": s.outcome, "params": e.params, "result": e.result}


def _timeline(d: Diagnosis, entries: tuple[JournalEntry, ...]) -> tuple[TimelineEvent, ...]:
    events = [TimelineEvent(c.time, "change", f"{c.id} ({c.kind})", c.description,
                            "change_log", c.id) for c in d.changes]
    if d.onset is not None:
        m = d.metric
        events.append(TimelineEvent(
            d.onset, "onset", f"Onset: {m.name.replace('_', ' ')} changes",
            f"{m.baseline:.4g} before, {m.current:.4g} after" if m.baseline is not None
            and m.current is not None else "", "diagnosis"))
    if entries:
        first = entries[0]
        events.append(TimelineEvent(first.time, "detection", "Investigation opened",
                                    f"first journal entry ({first.kind}) by {first.author}",
                                    "journal", first.id, first.author))
    for e in entries:
        if e.kind in TIMELINE_KINDS:
            title = e.kind.capitalize() + (f" ({e.status})" if e.status else "")
            events.append(TimelineEvent(e.time, e.kind, title, e.text, "journal", e.id,
                                        e.author))
    return tuple(sorted(events, key=lambda ev: (ev.time is None, ev.time or datetime.min)))
