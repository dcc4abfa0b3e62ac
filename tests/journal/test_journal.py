"""The investigation journal: entries, outcomes, location, author, torn lines and crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.journal.conftest import with_journal
from workbench.exceptions import ConfigError, InvalidInputError
from workbench.journal import Journal, JournalEntry, default_path, resolve_author, slug


def test_entries_round_trip_with_author_time_incident_and_parameters(home, incident):
    journal = Journal.for_incident(incident)
    hyp = journal.open_hypothesis("avg_amount redefined upstream", signature="upstream_data_change",
                                  feature="ratio")
    check = journal.record_check("psi ratio current vs reference", {"psi": 0.243},
                                 passed=True, params={"window": "2026-10-16..", "bins": 20},
                                 hypothesis=hyp)
    note = journal.note("paged the warehouse team")
    entries = journal.entries()
    assert [e.id for e in entries] == [hyp.id, check.id, note.id]
    assert all(e.author == "alice" and e.incident == slug(incident) for e in entries)
    assert entries[1].params == {"check": "psi ratio current vs reference",
                                 "window": "2026-10-16..", "bins": 20}
    assert entries[1].result == {"psi": 0.243}
    assert (entries[1].status, entries[1].ref) == ("passed", hyp.id)
    assert entries[0].time <= entries[1].time <= entries[2].time
    line = journal.path.read_text().splitlines()[0]
    assert json.loads(line) == hyp.to_dict()
    assert JournalEntry.from_dict(json.loads(line)) == hyp


def test_marking_appends_a_verdict_and_never_edits(home, incident):
    journal = Journal.for_incident(incident)
    hyp = journal.open_hypothesis("model rollout v1.3.1")
    before = journal.path.read_bytes()
    verdict = journal.refute(hyp, "v1.3.0 replay keeps the FPR at 2.5 %")
    assert journal.path.read_bytes().startswith(before)  # append-only
    assert (verdict.kind, verdict.status, verdict.ref) == ("verdict", "refuted", hyp.id)
    assert journal.outcome(hyp) == "refuted"
    journal.confirm(hyp.id, "on second thought")
    state = next(s for s in journal.states() if s.entry.id == hyp.id)
    assert (state.outcome, state.verdict.text) == ("confirmed", "on second thought")
    assert [s.entry.kind for s in journal.states()] == ["hypothesis"]  # verdicts are not states


def test_marking_checks_its_input(home, incident):
    journal = Journal.for_incident(incident)
    hyp = journal.open_hypothesis("x")
    with pytest.raises(InvalidInputError, match="no entry 'nope'"):
        journal.confirm("nope")
    with pytest.raises(InvalidInputError, match="confirmed or refuted"):
        journal.mark(hyp, "maybe")
    verdict = journal.confirm(hyp)
    with pytest.raises(InvalidInputError, match="itself a verdict"):
        journal.refute(verdict)
    with pytest.raises(InvalidInputError, match="kind must be one of"):
        journal.record("gossip", "x")


def test_default_location_is_under_workbench_home_not_the_data(home, incident, tmp_path):
    journal = Journal.for_incident(incident)
    assert journal.path == home / "journals" / f"{slug(incident)}.jsonl"
    assert not journal.path.is_relative_to(incident.base_dir)
    assert slug(incident).startswith("checkout-model-refunds-flagged-")
    journal.note("first")
    assert journal.path.is_file()
    # Same title, another config: another journal.
    other = tmp_path / "other"
    other.mkdir()
    (other / "incident.toml").write_text(incident.path.read_text())
    from workbench.config import load_incident

    assert slug(load_incident(other / "incident.toml")) != slug(incident)


def test_home_defaults_to_dot_workbench(incident, monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_path(incident) == tmp_path / "h" / ".workbench" / "journals" / \
        f"{slug(incident)}.jsonl"


def test_journal_path_in_config_overrides_and_data_folders_are_refused(home, incident):
    moved = with_journal(incident, '[journal]\npath = "notes/journal.jsonl"\nauthor = "team"\n')
    journal = Journal.for_incident(moved)
    assert journal.path == moved.base_dir / "notes" / "journal.jsonl"
    assert journal.author == "alice"  # WORKBENCH_AUTHOR wins over the config's author
    inside = with_journal(incident, '[journal]\npath = "logs/journal.jsonl"\n')
    with pytest.raises(ConfigError, match="holds the incident's data"):
        Journal.for_incident(inside)


def test_author_resolution_order(incident, monkeypatch):
    configured = with_journal(incident, '[journal]\nauthor = "oncall-team"\n')
    assert resolve_author(configured, "bob", env={"WORKBENCH_AUTHOR": "alice"}) == "bob"
    assert resolve_author(configured, None, env={"WORKBENCH_AUTHOR": "alice"}) == "alice"
    assert resolve_author(configured, None, env={}) == "oncall-team"
    import getpass

    assert resolve_author(incident, None, env={}) == getpass.getuser()


def test_a_torn_last_line_is_skipped_then_cut_by_the_next_writer(home, incident):
    journal = Journal.for_incident(incident)
    first = journal.note("one")
    second = journal.note("two")
    with open(journal.path, "ab") as f:  # a writer died in the middle of an entry
        f.write(b'{"id":"dead","time":"2026-')
    read = journal.read()
    assert read.torn_tail and [e.id for e in read.entries] == [first.id, second.id]
    third = journal.note("three")
    lines = journal.path.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [first.id, second.id, third.id]
    assert not journal.read().torn_tail


def test_a_damaged_middle_line_is_reported_not_fatal(home, incident):
    journal = Journal.for_incident(incident)
    journal.note("one")
    with open(journal.path, "ab") as f:
        f.write(b"not json at all\n")
    last = journal.note("two")
    read = journal.read()
    assert read.bad_lines == (2,) and read.entries[-1].id == last.id


def _spawn(path: Path, count: int, size: int, tag: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.journal.writer", str(path), str(count), str(size), tag],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_kill_9_mid_stream_loses_at_most_the_last_entry(tmp_path):
    path = tmp_path / "journal.jsonl"
    acknowledged: dict[str, int] = {}
    for round_no, size in enumerate((200, 60_000, 3_000)):  # small, large, medium entries
        tag = f"r{round_no}"
        proc = _spawn(path, 1_000_000, size, tag)
        last = -1
        deadline = time.monotonic() + 60
        while last < 40 + 20 * round_no:
            line = proc.stdout.readline()
            assert line, f"the writer stopped early: {proc.stderr.read()}"
            last = int(line)
            assert time.monotonic() < deadline
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: it is writing the next entries
        proc.wait(timeout=10)
        rest = proc.stdout.read().split()
        acknowledged[tag] = max([last, *map(int, rest)])
        journal = Journal(path, "crash-test", "reader")
        seqs = [e.params["seq"] for e in journal.entries() if e.params.get("tag") == tag]
        # Every acknowledged entry is there, intact and in order; at most one more made it.
        assert seqs == list(range(len(seqs)))
        assert acknowledged[tag] + 1 <= len(seqs) <= acknowledged[tag] + 2
        for e in journal.entries():
            assert e.text.startswith(f"{e.params['tag']} {e.params['seq']} ")
    # Earlier rounds are untouched by later crashes and recoveries.
    journal = Journal(path, "crash-test", "reader")
    for tag, acked in acknowledged.items():
        seqs = [e.params["seq"] for e in journal.entries() if e.params.get("tag") == tag]
        assert seqs[: acked + 1] == list(range(acked + 1))
    assert not journal.read().bad_lines


@pytest.mark.slow
def test_concurrent_writers_never_interleave(tmp_path):
    path = tmp_path / "journal.jsonl"
    procs = [_spawn(path, 150, 5_000, tag) for tag in ("a", "b")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    read = Journal(path, "crash-test", "reader").read()
    assert not read.torn_tail and not read.bad_lines
    for tag in ("a", "b"):
        assert [e.params["seq"] for e in read.entries if e.params["tag"] == tag] == \
            list(range(150))
