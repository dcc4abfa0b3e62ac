"""The post-mortem review: a closed investigation reopened as it was, beside today's data.

Reviews happen days after the incident, when the log has grown and labels have arrived. The
review reads back **the diagnosis the team acted on**, pinned by its fingerprint (its cache key,
and a digest of its content that the report's JSON carries too), the journal's timeline (who
opened which hypothesis, ran which check, decided what, and when), the fix verifications the
journal recorded, and compares that diagnosis with a fresh one on today's data: did the onset,
the top suspect or the metric gap change, and did the labels that arrived since confirm the
regression the team acted on (the realised metric over the incident window where the saved one
rested on fewer labels or on an estimate)?

Pinning: `pin(journal, cached)` appends a journal note naming the cache key and the digest of
the diagnosis in hand. `open_as_was` reads the pinned diagnosis back from the diagnosis cache,
else from a post-mortem report (`workbench report`) the journal lists whose diagnosis has the
pinned digest; without a pin it takes the latest report's diagnosis. It never falls back to a
diagnosis of another fingerprint: a pinned entry that is gone raises `PostMortemError` saying
what to do.

Every result is a frozen dataclass that round-trips through JSON (`Review.from_dict(r.to_dict())
== r`). Reviewers' notes go into the same journal (`add_note`), with their author and time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.cache import CachedDiagnosis, DiagnosisCache
from workbench.config import Incident
from workbench.exceptions import WorkbenchError
from workbench.fingerprint import key_of
from workbench.investigation import Investigation
from workbench.journal import Journal, JournalEntry
from workbench.results import Diagnosis, Hypothesis, Serialisable
from workbench.windows import Window, window_field

Progress = Callable[[str], None]
PIN = "diagnosis"  # `params["pin"]` of the journal note pinning a diagnosis
REVIEW = "postmortem"  # `params["review"]` of a note written during the review
REPORT_SCHEMA = "workbench.postmortem"  # `workbench.report.SCHEMA`
# Fields a report's copy of the diagnosis leaves out; the digest is taken without them.
UNDIGESTED = ("series", "histograms")
# The metric gap counts as changed when it moved by more than this share of the saved gap.
GAP_TOLERANCE = 0.10
# The regression counts as realised when the labelled metric shows at least this share of it.
CONFIRM_SHARE = 0.5
OUTCOMES = ("confirmed", "regression_only", "not_confirmed", "no_new_labels", "unknown")


class PostMortemError(WorkbenchError):
    """The diagnosis to review cannot be found or read."""


# ---- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin(Serialisable):
    """Which diagnosis the review opens and where it was read from.

    key: the diagnosis cache key it was pinned by (None when read from a report without a
    pin); digest: the fingerprint of its content (`digest`); source: "cache" or "report";
    location: the cache entry or the report's JSON file; time/author/entry: the journal note
    that pinned it.
    """

    key: str | None
    digest: str
    source: str
    location: str | None
    time: datetime | None = None
    author: str | None = None
    entry: str | None = None


@dataclass(frozen=True)
class TimelineItem(Serialisable):
    """One journal entry on the review's timeline, with who wrote it and when.

    outcome: the latest verdict on it ("open", "confirmed", "refuted"; "" for verdicts, which
    are decisions themselves); review: written during the post-mortem review.
    """

    id: str
    time: datetime
    author: str
    kind: str
    text: str
    status: str | None = None
    outcome: str = ""
    ref: str | None = None
    review: bool = False


@dataclass(frozen=True)
class FixRecord(Serialisable):
    """A fix verification the journal recorded: the replay's verdict and its headline figures."""

    id: str
    time: datetime
    author: str
    name: str
    verdict: str | None
    outcome: str
    metric: str | None = None
    baseline: float | None = None
    before: float | None = None
    after: float | None = None
    rows: int | None = None
    text: str = ""


@dataclass(frozen=True)
class Suspect(Serialisable):
    """A ranked hypothesis by what identifies it (signature, feature, change, segment, model)."""

    rank: int
    signature: str
    layer: str
    score: float
    summary: str
    feature: str | None = None
    change_id: str | None = None
    segment: str | None = None
    model_version: str | None = None

    @classmethod
    def of(cls, h: Hypothesis) -> Suspect:
        """The suspect a hypothesis names."""
        return cls(h.rank, h.signature, h.layer, h.score, h.summary, h.feature, h.change_id,
                   h.segment, h.model_version)

    def same_as(self, other: Suspect | Hypothesis | None) -> bool:
        """Whether the other names the same cause (rank and score aside)."""
        return other is not None and all(
            getattr(self, k) == getattr(other, k)
            for k in ("signature", "feature", "change_id", "segment", "model_version"))


@dataclass(frozen=True)
class OnsetChange(Serialisable):
    """The onset as it was and now; changed: now outside the saved onset's plausible interval
    (or more than a bucket away when the saved one had none), or found on one side only."""

    was: datetime | None
    now: datetime | None
    was_low: datetime | None
    was_high: datetime | None
    shift_hours: float | None
    changed: bool


@dataclass(frozen=True)
class CulpritChange(Serialisable):
    """The top suspect as it was and now; rank_now: where the saved top suspect ranks today
    (None: no longer among the hypotheses)."""

    was: Suspect | None
    now: Suspect | None
    changed: bool
    rank_now: int | None


@dataclass(frozen=True)
class GapChange(Serialisable):
    """The monitored metric before/after the onset as it was and now.

    gap: current minus baseline; relative: the gap's change over the saved gap's size; changed:
    that change exceeds GAP_TOLERANCE (or the metric is another one now).
    """

    metric: str
    metric_now: str
    higher_is_worse: bool | None
    baseline_was: float | None
    current_was: float | None
    gap_was: float | None
    estimated_was: bool
    coverage_was: float | None
    baseline_now: float | None
    current_now: float | None
    gap_now: float | None
    estimated_now: bool
    coverage_now: float | None
    relative: float | None
    changed: bool


@dataclass(frozen=True)
class LabelCheck(Serialisable):
    """What the labels that arrived since say about the saved incident window.

    window: the saved diagnosis' current window; labelled_*: the labelled rows its metric rests
    on there (its denominator: negatives for a false-positive rate, labelled rows for MAE),
    then and now; estimate*: the saved estimate of the metric over that window (CBPE/DLE) with
    its 95 % interval; realised_*: the metric on the labelled rows then and now; baseline: the
    saved baseline value; estimate_held: whether today's realised value lies in the saved
    estimate's interval; outcome: one of OUTCOMES, reason: the outcome in a sentence.
    """

    metric: str
    window: Window = window_field("incident", required=True)
    labelled_was: float
    labelled_now: float
    pending_buckets_was: int | None
    pending_buckets_now: int | None
    estimate: float | None
    estimate_lower: float | None
    estimate_upper: float | None
    realised_was: float | None
    realised_now: float | None
    baseline: float | None
    arrived: bool
    estimate_held: bool | None
    outcome: str
    reason: str


@dataclass(frozen=True)
class Comparison(Serialisable):
    """The saved diagnosis against today's: onset, top suspect, metric gap, labels, data."""

    onset: OnsetChange
    culprit: CulpritChange
    gap: GapChange
    labels: LabelCheck
    rows_was: int
    rows_now: int
    window_was: Window = window_field("analysed_was", required=True)
    window_now: Window = window_field("analysed_now", required=True)
    same_data: bool = False
    headline: str = ""

    @property
    def changed(self) -> tuple[str, ...]:
        """The names of what changed ("onset", "culprit", "gap")."""
        return tuple(n for n, c in (("onset", self.onset), ("culprit", self.culprit),
                                    ("gap", self.gap)) if c.changed)


@dataclass(frozen=True)
class Review(Serialisable):
    """A closed investigation as it was, its timeline and fixes, and today's diagnosis."""

    incident: str
    pin: Pin
    was: Diagnosis
    now: Diagnosis
    now_key: str
    comparison: Comparison
    timeline: tuple[TimelineItem, ...] = ()
    fixes: tuple[FixRecord, ...] = ()
    reviewed_at: datetime | None = None


# ---- pinning and reading back -------------------------------------------------------------------


def digest(diagnosis: Diagnosis) -> str:
    """The fingerprint of a diagnosis' content, the same for its cache entry and for the copy a
    report carries (which leaves out the per-bucket series and the histograms)."""
    data = {k: v for k, v in diagnosis.to_dict().items() if k not in UNDIGESTED}
    return key_of(data)


def pin(journal: Journal, cached: CachedDiagnosis, text: str = "",
        author: str | None = None) -> JournalEntry:
    """Record in the journal that the team acts on this diagnosis (its key and digest)."""
    d = cached.diagnosis
    top = d.top
    say = text or (f"Diagnosis {cached.key} pinned: the team acts on it (onset "
                   f"{_when(d.onset)}, top suspect {_name(top)}).")
    return journal.record("note", say, author=author, params={
        "pin": PIN, "diagnosis_key": cached.key, "digest": digest(d), "onset": d.onset,
        "top": Suspect.of(top).to_dict() if top is not None else None})


def find_pin(journal: Journal) -> JournalEntry | None:
    """The latest journal note pinning a diagnosis, if any."""
    found = [e for e in journal.entries("note") if e.params.get("pin") == PIN
             and e.params.get("diagnosis_key")]
    return found[-1] if found else None


def open_as_was(incident: Incident, journal: Journal, *, key: str | None = None,
                report: str | Path | None = None,
                cache: DiagnosisCache | None = None) -> tuple[Pin, Diagnosis]:
    """The diagnosis the team acted on and how it was found.

    key: a diagnosis cache key to open (default: the one the journal pinned); report: a report's
    JSON file to read it from instead. Raises PostMortemError when nothing is pinned and no
    report was written, or when the pinned entry is gone.
    """
    cache = cache or DiagnosisCache()
    if report is not None and key is None:
        diagnosis = _report_diagnosis(Path(report))
        return Pin(None, digest(diagnosis), "report", str(report)), diagnosis
    entry = find_pin(journal) if key is None else None
    wanted = key or (str(entry.params["diagnosis_key"]) if entry is not None else None)
    if wanted is None:
        latest = _reports(journal)
        written = _from_latest_report(incident, journal, cache)
        if written is not None:
            return written
        if not latest:
            raise PostMortemError(
                f"Nothing to review for {incident.title!r}: the journal {str(journal.path)!r} "
                f"pins no diagnosis and lists no post-mortem report. Pin the diagnosis the team "
                f"acts on (`workbench.postmortem.pin`), or write the report (`workbench report "
                f"CONFIG`), then open the review again.")
        path = latest[-1]
        diagnosis = _report_diagnosis(path)
        return Pin(None, digest(diagnosis), "report", str(path)), diagnosis
    pinned_digest = (str(entry.params.get("digest") or "") if entry is not None else "") or None
    meta = {"time": entry.time, "author": entry.author, "entry": entry.id} if entry else {}
    found = cache.load(incident, wanted)
    if isinstance(found, Diagnosis) and (pinned_digest is None
                                         or digest(found) == pinned_digest):
        return Pin(wanted, digest(found), "cache", str(cache.path(incident, wanted)),
                   **meta), found
    if report is not None or pinned_digest is not None:  # the same content, kept by a report
        for path in ([Path(report)] if report is not None else reversed(_reports(journal))):
            try:
                diagnosis = _report_diagnosis(path)
            except PostMortemError:
                continue
            if pinned_digest is None or digest(diagnosis) == pinned_digest:
                return Pin(wanted, digest(diagnosis), "report", str(path), **meta), diagnosis
    raise PostMortemError(
        f"The diagnosis pinned by fingerprint {wanted} is not in the diagnosis cache "
        f"({str(cache.path(incident, wanted))!r} is missing or unreadable) and no report the "
        f"journal lists carries it. It was cleared (`workbench cache clear`) or saved under "
        f"another WORKBENCH_HOME: start the review with WORKBENCH_HOME set to the folder the "
        f"investigation used, or open it from the post-mortem report's JSON "
        f"(report=<folder>/report.json). The review never substitutes a diagnosis of another "
        f"fingerprint.")


def _from_latest_report(incident: Incident, journal: Journal,
                        cache: DiagnosisCache) -> tuple[Pin, Diagnosis] | None:
    """The whole diagnosis (series and histograms too) the latest report was written from, read
    from the cache by the key and digest its journal entry names; None when it has none."""
    entries = [e for e in journal.entries("report") if e.result.get("json")]
    if not entries:
        return None
    last = entries[-1]
    key, wanted = last.params.get("diagnosis_key"), last.params.get("diagnosis_digest")
    if not key or not wanted:
        return None
    found = cache.load(incident, str(key))
    if not isinstance(found, Diagnosis) or digest(found) != wanted:
        return None
    return Pin(str(key), str(wanted), "cache", str(cache.path(incident, str(key))),
               time=last.time, author=last.author, entry=last.id), found


def _reports(journal: Journal) -> list[Path]:
    """The report JSON files the journal's "report" entries name, oldest first."""
    return [Path(str(e.result["json"])) for e in journal.entries("report")
            if e.result.get("json")]


def _report_diagnosis(path: Path) -> Diagnosis:
    """The diagnosis a post-mortem report's JSON carries."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PostMortemError(f"The report {str(path)!r} does not exist; write it with "
                              f"`workbench report CONFIG` or pass another file.") from exc
    except (OSError, ValueError) as exc:
        raise PostMortemError(f"The report {str(path)!r} cannot be read as JSON: {exc}.") from exc
    if not isinstance(data, dict) or data.get("schema") != REPORT_SCHEMA \
            or not isinstance(data.get("diagnosis"), dict):
        raise PostMortemError(f"{str(path)!r} is not a post-mortem report's JSON (schema "
                              f"{REPORT_SCHEMA!r} with a 'diagnosis').")
    try:
        return Diagnosis.from_dict(data["diagnosis"])
    except (WorkbenchError, KeyError, TypeError, ValueError) as exc:
        raise PostMortemError(f"The diagnosis in the report {str(path)!r} cannot be read back: "
                              f"{exc}") from exc


# ---- the journal as the review shows it ---------------------------------------------------------


def timeline(journal: Journal) -> tuple[TimelineItem, ...]:
    """Every journal entry, oldest first, with the latest verdict on each."""
    outcome = {s.entry.id: s.outcome for s in journal.states()}
    return tuple(TimelineItem(e.id, e.time, e.author, e.kind, e.text, e.status,
                              outcome.get(e.id, ""), e.ref, e.params.get("review") == REVIEW)
                 for e in sorted(journal.entries(), key=lambda e: e.time))


def fixes(journal: Journal) -> tuple[FixRecord, ...]:
    """The fix verifications the journal recorded, oldest first."""
    outcome = {s.entry.id: s.outcome for s in journal.states()}
    out = []
    for e in journal.entries("fix"):
        r = e.result
        out.append(FixRecord(
            e.id, e.time, e.author, str(r.get("fix") or e.params.get("fix") or e.text[:60]),
            e.status or r.get("verdict"), outcome.get(e.id, "open"), r.get("metric"),
            _value(r.get("baseline")), _value(r.get("before")), _value(r.get("after")),
            int(r["rows"]) if isinstance(r.get("rows"), int | float) else None, e.text))
    return tuple(out)


def add_note(journal: Journal, text: str, author: str | None = None) -> JournalEntry:
    """A reviewer's note, appended to the investigation's journal (author and time recorded)."""
    return journal.record("note", text, params={"review": REVIEW}, author=author)


# ---- the comparison -----------------------------------------------------------------------------


def compare(was: Diagnosis, now: Diagnosis) -> Comparison:
    """The saved diagnosis against a fresh one on today's data."""
    onset = _onset(was, now)
    culprit = _culprit(was, now)
    gap = _gap(was, now)
    labels = _labels(was, now, culprit)
    same = digest(was) == digest(now)
    return Comparison(onset, culprit, gap, labels, was.rows, now.rows,
                      Window("analysed_was", was.window.start, was.window.end),
                      Window("analysed_now", now.window.start, now.window.end),
                      same, _headline(onset, culprit, gap, labels, was, now, same))


def review(investigation: Investigation, journal: Journal | None = None, *,
           key: str | None = None, report: str | Path | None = None,
           progress: Progress | None = None) -> Review:
    """Open the investigation as it was and compare it with a fresh diagnosis of today's data
    (through the diagnosis cache, with the saved diagnosis' metric)."""
    incident = investigation.incident
    journal = journal if journal is not None else Journal.for_incident(incident)
    say = progress or (lambda _msg: None)
    say("opening the pinned diagnosis")
    pinned, was = open_as_was(incident, journal, key=key, report=report,
                              cache=investigation.cache)
    say("diagnosing today's data")
    fresh = investigation.diagnose(progress=progress)
    if fresh.diagnosis.metric.name != was.metric.name:
        fresh = investigation.diagnose(metric=was.metric.name, progress=progress)
    now = fresh.diagnosis
    return Review(incident.title, pinned, was, now, fresh.key, compare(was, now),
                  timeline(journal), fixes(journal), datetime.now(UTC).replace(tzinfo=None))


def _onset(was: Diagnosis, now: Diagnosis) -> OnsetChange:
    shift = None
    if was.onset is not None and now.onset is not None:
        shift = (now.onset - was.onset).total_seconds() / 3600
    if was.onset is None or now.onset is None:
        changed = was.onset != now.onset
    elif was.onset_low is not None and was.onset_high is not None:
        changed = not was.onset_low <= now.onset <= was.onset_high
    else:
        changed = abs((now.onset - was.onset).total_seconds()) >= max(was.bucket_seconds, 1)
    return OnsetChange(was.onset, now.onset, was.onset_low, was.onset_high, shift, changed)


def _culprit(was: Diagnosis, now: Diagnosis) -> CulpritChange:
    before = Suspect.of(was.top) if was.top is not None else None
    after = Suspect.of(now.top) if now.top is not None else None
    rank = None
    if before is not None:
        rank = next((h.rank for h in now.hypotheses if before.same_as(h)), None)
    changed = (before is None) != (after is None) or (
        before is not None and not before.same_as(after))
    return CulpritChange(before, after, changed, rank)


def _gap(was: Diagnosis, now: Diagnosis) -> GapChange:
    m, n = was.metric, now.metric
    gap_was, gap_now = _diff(m.current, m.baseline), _diff(n.current, n.baseline)
    relative = None
    if gap_was is not None and gap_now is not None and gap_was != 0:
        relative = (gap_now - gap_was) / abs(gap_was)
    changed = m.name != n.name or (gap_was is None) != (gap_now is None) or (
        relative is not None and abs(relative) > GAP_TOLERANCE)
    return GapChange(m.name, n.name, m.higher_is_worse, m.baseline, m.current, gap_was,
                     m.estimated, m.label_coverage, n.baseline, n.current, gap_now, n.estimated,
                     n.label_coverage, relative, changed)


def _labels(was: Diagnosis, now: Diagnosis, culprit: CulpritChange) -> LabelCheck:
    """The saved current window's labelled metric then and now (from the per-bucket realised
    series, whose weights are the metric's denominators)."""
    name = was.metric.name
    win = Window("incident", was.current_window.start, was.current_window.end)
    real_was, n_was = _window_metric(was, name, win)
    if n_was is None:  # a report's copy has no series: the window's summed outcome counts
        real_was, n_was = _counts_metric(was)
    real_now, n_now = _window_metric(now, name, win)
    est = next((e for e in (was.estimation.current if was.estimation else ()) if e.name == name),
               None)
    held = None
    if est is not None and real_now is not None and est.lower is not None \
            and est.upper is not None and not math.isnan(est.lower):
        held = est.lower <= real_now <= est.upper
    arrived = (n_now or 0.0) > (n_was or 0.0) + 0.5
    baseline = was.metric.baseline
    pending = (was.labels.pending_buckets if was.labels else None,
               now.labels.pending_buckets if now.labels else None)
    outcome, reason = _verdict(was, culprit, arrived, real_now, n_was or 0.0, n_now or 0.0,
                               baseline)
    return LabelCheck(name, win, n_was or 0.0, n_now or 0.0, *pending,
                      est.estimated if est else None, est.lower if est else None,
                      est.upper if est else None, real_was, real_now, baseline, arrived, held,
                      outcome, reason)


def _verdict(was: Diagnosis, culprit: CulpritChange, arrived: bool, realised: float | None,
             n_was: float, n_now: float, baseline: float | None) -> tuple[str, str]:
    name = was.metric.name.replace("_", " ")
    definition = was.metric_definition
    if definition is not None and not definition.needs_labels:
        return "unknown", (f"The monitored metric ({name}) needs no labels; the labels that "
                           f"arrived since do not bear on it.")
    if not arrived:
        return "no_new_labels", (f"No labels arrived for the incident window since: {name} "
                                 f"still rests on {n_was:,.0f} labelled rows, the same evidence "
                                 f"the team acted on.")
    gap_was = _diff(was.metric.current, baseline)
    gap_now = _diff(realised, baseline)
    if gap_was is None or gap_now is None or gap_was == 0:
        return "unknown", (f"Labels arrived ({n_was:,.0f} -> {n_now:,.0f} labelled rows) but "
                           f"the saved diagnosis has no {name} gap to check against.")
    worse = 1.0 if was.metric.higher_is_worse is not False else -1.0
    if was.metric.higher_is_worse is None:
        worse = 1.0 if gap_was > 0 else -1.0
    share = (worse * gap_now) / (worse * gap_was)
    counts = (f"{n_was:,.0f} -> {n_now:,.0f} labelled rows; realised {name} {realised:.4g} "
              f"against the baseline {baseline:.4g}")
    if share < CONFIRM_SHARE:
        return "not_confirmed", (f"The labels that arrived do not confirm the regression: "
                                 f"{share:.0%} of the saved gap is realised ({counts}).")
    if culprit.changed:
        top = culprit.now.summary if culprit.now else "none"
        return "regression_only", (f"The labels confirm the regression ({share:.0%} of the "
                                   f"saved gap realised; {counts}), but the top suspect changed: "
                                   f"{top}.")
    return "confirmed", (f"The labels that arrived confirm the root cause: {share:.0%} of the "
                         f"saved gap is realised ({counts}) and the top suspect is the same.")


def _window_metric(d: Diagnosis, name: str, win: Window) -> tuple[float | None, float | None]:
    """The metric over the series' buckets inside a window, and its summed denominator."""
    series = next((s for s in d.series if s.name == name), None)
    if series is None:
        return None, None
    num = den = 0.0
    for bucket, value, weight in zip(series.buckets, series.values, series.weights,
                                     strict=True):
        if (win.start is not None and bucket < win.start) or \
                (win.end is not None and bucket >= win.end):
            continue
        if weight > 0 and value is not None and not math.isnan(value):
            num += value * weight
            den += weight
    return (num / den if den > 0 else None), den


def _counts_metric(d: Diagnosis) -> tuple[float | None, float | None]:
    """The metric and its denominator from the current window's summed outcome counts."""
    m = d.metric_definition
    if m is None or not d.current_outcomes:
        return (None if d.metric.estimated else d.metric.current), None
    num = sum(d.current_outcomes.get(c, 0.0) for c in m.numerator)
    den = sum(d.current_outcomes.get(c, 0.0) for c in m.denominator)
    return (num / den if den > 0 else None), den


def _headline(onset: OnsetChange, culprit: CulpritChange, gap: GapChange, labels: LabelCheck,
              was: Diagnosis, now: Diagnosis, same: bool) -> str:
    if same:
        return ("Today's data gives the same diagnosis the team acted on: nothing changed "
                "since.")
    parts = [f"Log {was.rows:,} -> {now.rows:,} rows."]
    parts.append(f"Onset moved {onset.shift_hours:+.1f} h." if onset.changed
                 and onset.shift_hours is not None else
                 "Onset changed." if onset.changed else "Onset unchanged.")
    parts.append("Top suspect changed." if culprit.changed else "Top suspect unchanged.")
    if gap.relative is not None:
        parts.append(f"Metric gap {'changed' if gap.changed else 'unchanged'} "
                     f"({gap.relative:+.0%}).")
    parts.append(labels.reason)
    return " ".join(parts)


def _diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return None
    return a - b


def _value(estimate: Any) -> float | None:
    """The value of a metric estimate's JSON ({"value": ...}) or a plain number."""
    if isinstance(estimate, dict):
        estimate = estimate.get("value")
    return float(estimate) if isinstance(estimate, int | float) else None


def _name(h: Hypothesis | None) -> str:
    """A hypothesis in a few words: its signature and what it names."""
    if h is None:
        return "none"
    named = [x for x in (h.feature, h.segment, h.change_id, h.model_version) if x]
    return h.signature + (f" ({', '.join(named)})" if named else "")


def _when(value: datetime | None) -> str:
    return "none" if value is None else value.isoformat(timespec="minutes") + " UTC"
