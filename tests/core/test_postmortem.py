"""The post-mortem review: a closed investigation reopened as it was, beside today's data.

The scenario is a synthetic incident whose answer is known (`basket_value` served scaled from
day 7 14:00, the change CHG-7 ten minutes before). The team diagnosed it while the last 36 hours
had no labels yet, pinned that diagnosis and wrote its journal; then the labels arrived and the
log grew by a day (the Parquet files of a temporary copy rewritten and one added).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.core.conftest import DRIFTED, LOG_START, generate
from workbench.cache import DiagnosisCache, cached_diagnose
from workbench.config import load_incident
from workbench.investigation import Investigation
from workbench.journal import Journal, slug
from workbench.postmortem import (
    Comparison,
    PostMortemError,
    Review,
    add_note,
    compare,
    digest,
    find_pin,
    open_as_was,
    pin,
    review,
    timeline,
)
from workbench.results import Diagnosis

ONSET = LOG_START + timedelta(days=7, hours=14)
LABELS_UNTIL = LOG_START + timedelta(days=8, hours=12)  # labels still pending after this
LOG_END = LOG_START + timedelta(days=10)


@dataclass(frozen=True)
class Reviewed:
    """A closed investigation on disk: the incident (grown since), the home holding its cache
    and journal, the diagnosis the team pinned and the ids of the journal entries written."""

    config: Path
    home: Path
    key: str
    saved: Diagnosis
    entries: dict[str, str]

    def copy_home(self, to: Path) -> Path:
        """A private copy of the home (the incident's config path, hence its slug, is kept)."""
        shutil.copytree(self.home, to)
        return to


def _rewrite(path: Path, mask_from=None, shift: timedelta | None = None) -> pa.Table:
    """A log part with the labels masked from a time on, or shifted later by `shift`."""
    table = pq.read_table(path)
    ts = table.column("ts").to_numpy()
    if mask_from is not None:
        outcome = table.column("outcome").to_numpy(zero_copy_only=False)
        masked = pa.array(outcome, mask=ts >= np.datetime64(mask_from, "us"))
        table = table.set_column(table.schema.get_field_index("outcome"), "outcome", masked)
    if shift is not None:
        keep = ts >= np.datetime64(LOG_END - shift, "us")
        table = table.filter(pa.array(keep))
        moved = pa.array(table.column("ts").to_numpy() + np.timedelta64(shift), pa.timestamp("us"))
        table = table.set_column(table.schema.get_field_index("ts"), "ts", moved)
        ids = pa.array(table.column("request_id").to_numpy() + 1_000_000)
        table = table.set_column(table.schema.get_field_index("request_id"), "request_id", ids)
    return table


def build_reviewed(root: Path) -> Reviewed:
    """Diagnose with labels pending, pin, journal the investigation; then labels arrive and the
    log grows by a day."""
    folder = root / "incident"
    generate(folder, task="classification")
    logs = folder / "logs"
    part = logs / "part-1.parquet"
    full = pq.read_table(part)
    pq.write_table(_rewrite(part, mask_from=LABELS_UNTIL), part)
    home = root / "home"
    incident = load_incident(folder / "incident.toml")
    cache = DiagnosisCache(home / "cache" / "diagnoses")
    saved = cached_diagnose(incident, cache=cache)
    path = home / "journals" / f"{slug(incident)}.jsonl"  # its default place under the home
    alice = Journal.for_incident(incident, author="alice", path=path)
    bob = Journal.for_incident(incident, author="bob", path=path)
    hyp = alice.open_hypothesis("basket_value served scaled since CHG-7",
                                signature="upstream_data_change", feature=DRIFTED,
                                change_id="CHG-7")
    check = alice.record_check("psi basket_value current vs reference", {"psi": 0.61},
                               passed=True, hypothesis=hyp)
    verdict = bob.confirm(hyp, "warehouse team confirms the table was redefined")
    fix = bob.record("fix", "Replayed fix 'rescale-basket': restores", status="restores",
                     params={"fix": "rescale-basket"},
                     result={"fix": "rescale-basket", "verdict": "restores",
                             "metric": "false_positive_rate", "rows": 9000,
                             "baseline": {"value": 0.097}, "before": {"value": 0.58},
                             "after": {"value": 0.10}})
    pinned = pin(alice, saved)
    conclusion = bob.conclude("Root cause: basket_value scaled by the CHG-7 table redefinition")
    # Days later: the labels arrived and the log grew by a day.
    pq.write_table(full, part)
    pq.write_table(_rewrite(part, shift=timedelta(days=1)), logs / "part-2.parquet")
    # Today's diagnosis, computed once here as a first reviewer would: every copy of the home
    # loads it from the cache (a new key: the sources changed).
    assert cached_diagnose(incident, cache=cache).key != saved.key
    ids = {"hypothesis": hyp.id, "check": check.id, "verdict": verdict.id, "fix": fix.id,
           "pin": pinned.id, "conclusion": conclusion.id}
    return Reviewed(folder / "incident.toml", home, saved.key, saved.diagnosis, ids)


_BUILT: dict[str, Reviewed] = {}


def reviewed_incident(factory: pytest.TempPathFactory) -> Reviewed:
    """The scenario, built once per test session."""
    if "it" not in _BUILT:
        _BUILT["it"] = build_reviewed(factory.mktemp("postmortem"))
    return _BUILT["it"]


@pytest.fixture
def scenario(tmp_path_factory, tmp_path, monkeypatch) -> Reviewed:
    """The scenario with a private home as WORKBENCH_HOME."""
    built = reviewed_incident(tmp_path_factory)
    home = built.copy_home(tmp_path / "home")
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    return Reviewed(built.config, home, built.key, built.saved, built.entries)


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Review:
    """The review of the scenario, computed once for the tests that only read it."""
    built = reviewed_incident(tmp_path_factory)
    home = built.copy_home(tmp_path_factory.mktemp("review") / "home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        with Investigation.open(built.config) as inv:
            return review(inv)


def test_the_saved_diagnosis_rested_on_pending_labels(scenario):
    d = scenario.saved
    assert d.onset == ONSET
    assert (d.top.signature, d.top.feature, d.top.change_id) == (
        "upstream_data_change", DRIFTED, "CHG-7")
    assert d.labels.pending_buckets == 36
    assert d.labels.pending_since == LABELS_UNTIL


def test_review_opens_the_pinned_diagnosis_as_it_was(result, scenario):
    assert result.pin.source == "cache"
    assert result.pin.key == scenario.key
    assert result.pin.author == "alice"
    assert result.pin.entry == scenario.entries["pin"]
    assert result.was == scenario.saved
    assert result.pin.digest == digest(scenario.saved)
    assert result.now_key != scenario.key  # new data: another fingerprint


def test_the_timeline_lists_who_did_what_when(result, scenario):
    items = {i.id: i for i in result.timeline}
    assert set(scenario.entries.values()) <= set(items)
    hyp = items[scenario.entries["hypothesis"]]
    assert (hyp.kind, hyp.author, hyp.outcome) == ("hypothesis", "alice", "confirmed")
    verdict = items[scenario.entries["verdict"]]
    assert (verdict.kind, verdict.author, verdict.status, verdict.ref) == (
        "verdict", "bob", "confirmed", hyp.id)
    assert items[scenario.entries["conclusion"]].author == "bob"
    times = [i.time for i in result.timeline]
    assert times == sorted(times)
    (fix,) = result.fixes
    assert (fix.name, fix.verdict, fix.author, fix.before, fix.after, fix.baseline) == (
        "rescale-basket", "restores", "bob", 0.58, 0.10, 0.097)


def test_the_comparison_reports_what_changed_since(result, scenario):
    c = result.comparison
    was, now = result.was, result.now
    assert c.rows_was == 30_000 and c.rows_now > c.rows_was
    assert c.window_now.end > c.window_was.end
    assert not c.same_data
    # The onset and the culprit hold on today's data.
    assert (c.onset.was, c.onset.now, c.onset.changed) == (ONSET, now.onset, False)
    assert now.onset == ONSET
    assert not c.culprit.changed and c.culprit.rank_now == 1
    assert c.culprit.now.change_id == "CHG-7"
    # The gap as it was and now, from the two diagnoses' own figures.
    assert c.gap.gap_was == pytest.approx(was.metric.current - was.metric.baseline)
    assert c.gap.gap_now == pytest.approx(now.metric.current - now.metric.baseline)
    assert c.gap.coverage_was < 0.5 and c.gap.coverage_now == 1.0
    assert c.gap.relative == pytest.approx((c.gap.gap_now - c.gap.gap_was) / abs(c.gap.gap_was))
    assert c.gap.changed == (abs(c.gap.relative) > 0.10)


def test_the_labels_that_arrived_confirm_the_root_cause(result):
    labels = result.comparison.labels
    assert labels.arrived
    assert labels.pending_buckets_was == 36 and labels.pending_buckets_now == 0
    assert labels.labelled_now > 2 * labels.labelled_was
    # Realised over the saved incident window: every row of it is labelled now.
    assert labels.realised_now is not None and labels.realised_now > 4 * labels.baseline
    assert labels.estimate is not None  # the saved diagnosis estimated the pending buckets
    assert labels.estimate_held == (labels.estimate_lower <= labels.realised_now
                                    <= labels.estimate_upper)
    assert labels.outcome == "confirmed"
    assert "confirm the root cause" in labels.reason
    assert "Top suspect unchanged" in result.comparison.headline


def test_the_realised_metric_over_the_incident_window_is_exact(result, scenario):
    """The labelled metric today over the saved current window, recomputed from the rows."""
    import pandas as pd

    frame = pd.concat([pq.read_table(p).to_pandas() for p in
                       sorted((scenario.config.parent / "logs").glob("*.parquet"))])
    w = result.comparison.labels.window
    inside = frame[(frame.ts >= w.start) & (frame.ts < w.end) & frame.outcome.notna()]
    negatives = inside[inside.outcome == 0]
    fpr = float((negatives.score >= 0.5).mean())  # no decision column: the 0.5 threshold
    assert result.comparison.labels.realised_now == pytest.approx(fpr, abs=0.02)


def test_review_round_trips_through_json(result):
    text = json.dumps(result.to_dict())
    again = Review.from_dict(json.loads(text))
    assert again == result
    assert Comparison.from_dict(result.comparison.to_dict()) == result.comparison


def test_same_data_compares_as_unchanged(scenario):
    c = compare(scenario.saved, scenario.saved)
    assert c.same_data and not c.changed
    assert c.labels.outcome == "no_new_labels"
    assert c.headline.startswith("Today's data gives the same diagnosis")


def test_a_missing_pinned_entry_is_refused_naming_what_to_do(scenario):
    DiagnosisCache().clear()
    incident = load_incident(scenario.config)
    with pytest.raises(PostMortemError) as raised:
        open_as_was(incident, Journal.for_incident(incident))
    message = str(raised.value)
    assert scenario.key in message
    assert "WORKBENCH_HOME" in message and "report.json" in message


def test_a_report_with_the_pinned_digest_stands_in_for_a_cleared_entry(scenario, tmp_path):
    incident = load_incident(scenario.config)
    journal = Journal.for_incident(incident)
    data = {k: v for k, v in scenario.saved.to_dict().items() if k not in ("series", "histograms")}
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"schema": "workbench.postmortem", "diagnosis": data}))
    journal.record("report", "Post-mortem report written", result={"json": str(report)})
    DiagnosisCache().clear()
    found, diagnosis = open_as_was(incident, journal)
    assert (found.source, found.key, found.location) == ("report", scenario.key, str(report))
    assert diagnosis.onset == scenario.saved.onset and diagnosis.series == ()
    assert found.digest == digest(scenario.saved)
    # A report of another diagnosis does not stand in for the pinned one.
    other = dict(data, rows=1)
    report.write_text(json.dumps({"schema": "workbench.postmortem", "diagnosis": other}))
    with pytest.raises(PostMortemError):
        open_as_was(incident, journal)


def test_nothing_pinned_and_no_report_is_refused(tmp_path, monkeypatch, scenario):
    incident = load_incident(scenario.config)
    empty = Journal.for_incident(incident, path=tmp_path / "empty.jsonl")
    assert find_pin(empty) is None
    with pytest.raises(PostMortemError, match="pins no diagnosis"):
        open_as_was(incident, empty)


def test_reviewers_notes_go_into_the_journal_with_author_and_time(scenario):
    incident = load_incident(scenario.config)
    journal = Journal.for_incident(incident)
    before = timeline(journal)
    entry = add_note(journal, "Labels confirm CHG-7; add a schema check upstream", author="carol")
    after = timeline(journal)
    assert len(after) == len(before) + 1
    last = after[-1]
    assert (last.id, last.author, last.kind, last.review) == (entry.id, "carol", "note", True)
    assert last.time >= before[-1].time


def test_a_saved_diagnosis_without_series_is_checked_on_its_counts(result):
    """A report's copy of the diagnosis has no per-bucket series: the incident window's labelled
    metric then comes from its summed outcome counts, with the same figures."""
    data = {k: v for k, v in result.was.to_dict().items() if k not in ("series", "histograms")}
    from_report = Diagnosis.from_dict(json.loads(json.dumps(data)))
    assert digest(from_report) == digest(result.was)
    labels = compare(from_report, result.now).labels
    full = result.comparison.labels
    assert labels.labelled_was == full.labelled_was
    assert labels.realised_was == pytest.approx(full.realised_was)
    assert (labels.realised_now, labels.outcome) == (full.realised_now, full.outcome)


def test_a_written_report_names_its_diagnosis_so_the_review_reopens_it_whole(scenario, tmp_path):
    """Nothing pinned, one report written: its journal entry names the diagnosis' cache key and
    digest, so the review reads the whole diagnosis (series included) from the cache."""
    from workbench.report import write_report

    incident = load_incident(scenario.config)
    journal = Journal.for_incident(incident, path=tmp_path / "journal.jsonl")
    write_report(incident, tmp_path / "report", journal=journal)
    (entry,) = journal.entries("report")
    key = entry.params["diagnosis_key"]
    assert key and entry.params["diagnosis_digest"]
    found, diagnosis = open_as_was(incident, journal)
    assert (found.source, found.key, found.entry) == ("cache", key, entry.id)
    assert found.digest == entry.params["diagnosis_digest"] == digest(diagnosis)
    assert diagnosis.series  # the whole diagnosis, not the report's copy without series
    DiagnosisCache().clear()  # gone from the cache: the report's own copy stands in
    again, copy = open_as_was(incident, journal)
    assert again.source == "report" and copy.series == () and again.digest == found.digest
