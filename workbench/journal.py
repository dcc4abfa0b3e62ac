"""The investigation journal: who investigated what, which hypotheses were tested, and how.

Every step is one entry: a hypothesis opened, a check run with its result, a fix replayed, a
verdict on an earlier entry, a mitigation, a conclusion, a free-text note. Each carries the
time (UTC), the author, the incident and the exact parameters to re-run it. Entries are never
edited: confirming or refuting an entry appends a "verdict" entry that references it.

Storage: one JSON Lines file per incident, written append-only. JSON Lines rather than SQLite
because the journal is a record people read, grep, attach to tickets and diff; a line per entry
needs no schema migration and no driver to read. Crash safety: each entry is serialised first
and written with a single `write` on an `O_APPEND` descriptor under an exclusive `flock`, then
`fsync`ed before the call returns, so an entry the caller saw recorded survives a crash or a
`kill -9`. A write cut short by a crash leaves at most one torn last line: readers skip it, and
the next writer (holding the lock) truncates it before appending, so the file stays valid.

Location: `[journal] path` in the incident config, else
`$WORKBENCH_HOME/journals/<incident-slug>.jsonl` (`WORKBENCH_HOME` defaults to `~/.workbench`) —
never next to the production data, which the workbench only reads. The slug is the incident
title made filename-safe plus a short hash of the config's absolute path, so two incidents with
the same title keep separate journals.

Author: the `author` argument, else `WORKBENCH_AUTHOR`, else `[journal] author`, else the
operating-system user.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.config import Incident, load_incident
from workbench.exceptions import ConfigError, InvalidInputError, WorkbenchError
from workbench.results import jsonable

ENV_HOME = "WORKBENCH_HOME"
ENV_AUTHOR = "WORKBENCH_AUTHOR"
DEFAULT_HOME = Path("~/.workbench")
SCHEMA_VERSION = 1
KINDS = ("hypothesis", "check", "fix", "verdict", "mitigation", "conclusion", "note", "report")
MARKS = ("confirmed", "refuted")


class JournalError(WorkbenchError, OSError):
    """The journal file cannot be read or written."""


@dataclass(frozen=True)
class JournalEntry:
    """One step of the investigation (immutable once written).

    kind: one of KINDS. status: the outcome in a word ("passed"/"failed" for checks, the
    verdict of a fix, "confirmed"/"refuted" for verdict entries). ref: the id of the entry a
    verdict (or a check of a hypothesis) refers to. params: what to re-run it with; result:
    the figures it produced.
    """

    id: str
    time: datetime
    author: str
    incident: str
    kind: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    ref: str | None = None
    version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; the time keeps its microseconds (entries are ordered by it)."""
        return {"id": self.id, "time": self.time.isoformat() + "Z", "author": self.author,
                "incident": self.incident, "kind": self.kind, "text": self.text,
                "params": jsonable(self.params), "result": jsonable(self.result),
                "status": self.status, "ref": self.ref, "version": self.version}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Rebuild an entry read from the file."""
        time = datetime.fromisoformat(str(data["time"]).replace("Z", "+00:00"))
        return cls(id=str(data["id"]), time=time.astimezone(UTC).replace(tzinfo=None),
                   author=str(data["author"]), incident=str(data["incident"]),
                   kind=str(data["kind"]), text=str(data.get("text", "")),
                   params=dict(data.get("params") or {}), result=dict(data.get("result") or {}),
                   status=data.get("status"), ref=data.get("ref"),
                   version=int(data.get("version", SCHEMA_VERSION)))


@dataclass(frozen=True)
class EntryState:
    """An entry with the latest verdict on it (derived from later verdict entries)."""

    entry: JournalEntry
    outcome: str  # "open", "confirmed" or "refuted"
    verdict: JournalEntry | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {"entry": self.entry.to_dict(), "outcome": self.outcome,
                "verdict": self.verdict.to_dict() if self.verdict else None}


@dataclass(frozen=True)
class JournalRead:
    """What reading the file found: the entries and any damage skipped."""

    entries: tuple[JournalEntry, ...]
    torn_tail: bool = False
    bad_lines: tuple[int, ...] = ()


def slug(incident: Incident) -> str:
    """File-safe name of an incident: title words plus a hash of the config's path."""
    words = re.sub(r"[^a-z0-9]+", "-", incident.title.lower()).strip("-")[:60].strip("-")
    where = str(incident.path.resolve()) if incident.path else incident.title
    return f"{words or 'incident'}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def workbench_home(env: Mapping[str, str] | None = None) -> Path:
    """`$WORKBENCH_HOME`, else `~/.workbench` (not created here)."""
    env = os.environ if env is None else env
    return Path(env.get(ENV_HOME) or DEFAULT_HOME).expanduser()


def default_path(incident: Incident, env: Mapping[str, str] | None = None) -> Path:
    """Where the incident's journal lives unless `[journal] path` says otherwise."""
    if incident.journal is not None and incident.journal.path is not None:
        return incident.journal.path
    return workbench_home(env) / "journals" / f"{slug(incident)}.jsonl"


def resolve_author(incident: Incident | None = None, author: str | None = None,
                   env: Mapping[str, str] | None = None) -> str:
    """Who is writing: argument, WORKBENCH_AUTHOR, `[journal] author`, then the OS user."""
    env = os.environ if env is None else env
    if author:
        return author
    if env.get(ENV_AUTHOR):
        return env[ENV_AUTHOR]
    if incident is not None and incident.journal is not None and incident.journal.author:
        return incident.journal.author
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def protected_folders(incident: Incident) -> list[Path]:
    """Folders holding the incident's data sources; the workbench never writes there."""
    out = []
    for spec in (incident.production.source, incident.reference.source):
        out.append(Path(spec.path).parent.resolve())
    return out


def check_writable_location(path: Path, incident: Incident, what: str) -> None:
    """Refuse to write `what` into a folder that holds the incident's data sources."""
    target = path.resolve()
    for folder in protected_folders(incident):
        if target == folder or target.is_relative_to(folder):
            raise ConfigError(
                f"The {what} location {str(path)!r} is inside {str(folder)!r}, which holds the "
                f"incident's data; the workbench never writes there. Choose another folder "
                f"(e.g. under ${ENV_HOME}, default ~/.workbench).")


class Journal:
    """The journal of one incident: append entries, read them back, derive their outcomes."""

    def __init__(self, path: str | Path, incident: str, author: str) -> None:
        self.path = Path(path)
        self.incident = incident
        self.author = author

    @classmethod
    def for_incident(cls, incident: Incident | str | Path, *, author: str | None = None,
                     path: str | Path | None = None) -> Journal:
        """The journal of an incident (config object or path), at its configured location."""
        if not isinstance(incident, Incident):
            incident = load_incident(incident)
        target = Path(path) if path is not None else default_path(incident)
        check_writable_location(target.parent, incident, "journal")
        return cls(target, slug(incident), resolve_author(incident, author))

    # ---- writing ------------------------------------------------------------------------------

    def record(self, kind: str, text: str = "", *, params: Mapping[str, Any] | None = None,
               result: Mapping[str, Any] | None = None, status: str | None = None,
               ref: str | None = None, author: str | None = None) -> JournalEntry:
        """Append one entry (durable when this returns) and return it."""
        if kind not in KINDS:
            raise InvalidInputError(f"A journal entry kind must be one of {', '.join(KINDS)}. "
                                    f"Got {kind!r}.")
        entry = JournalEntry(
            id=uuid.uuid4().hex[:12], time=datetime.now(UTC).replace(tzinfo=None),
            author=author or self.author, incident=self.incident, kind=kind, text=str(text),
            params=jsonable(dict(params or {})), result=jsonable(dict(result or {})),
            status=status, ref=ref)
        self._append(entry)
        return entry

    def note(self, text: str, **params: Any) -> JournalEntry:
        """A free-text note."""
        return self.record("note", text, params=params)

    def open_hypothesis(self, text: str, **params: Any) -> JournalEntry:
        """A hypothesis under investigation (e.g. signature, feature, change id in params)."""
        return self.record("hypothesis", text, params=params)

    def record_check(self, name: str, result: Mapping[str, Any] | None = None, *,
                     passed: bool | None = None, params: Mapping[str, Any] | None = None,
                     hypothesis: str | JournalEntry | None = None,
                     text: str = "") -> JournalEntry:
        """A check that was run: its name, parameters and result; optionally of a hypothesis."""
        status = None if passed is None else ("passed" if passed else "failed")
        return self.record("check", text or name, params={"check": name, **dict(params or {})},
                           result=result, status=status, ref=_id(hypothesis))

    def mark(self, entry: str | JournalEntry, outcome: str, reason: str = "") -> JournalEntry:
        """Confirm or refute an earlier entry (appends a verdict entry referencing it)."""
        if outcome not in MARKS:
            raise InvalidInputError(f"An entry is marked {' or '.join(MARKS)}. Got {outcome!r}.")
        target = self.get(_id(entry) or "")
        if target.kind == "verdict":
            raise InvalidInputError(f"Entry {target.id} is itself a verdict; mark the entry it "
                                    f"refers to ({target.ref}) instead.")
        text = reason or f"{outcome.capitalize()}: {target.text[:200]}"
        return self.record("verdict", text, status=outcome, ref=target.id,
                           params={"entry": target.id, "kind": target.kind})

    def confirm(self, entry: str | JournalEntry, reason: str = "") -> JournalEntry:
        """Mark an entry confirmed."""
        return self.mark(entry, "confirmed", reason)

    def refute(self, entry: str | JournalEntry, reason: str = "") -> JournalEntry:
        """Mark an entry refuted."""
        return self.mark(entry, "refuted", reason)

    def mitigate(self, text: str, **params: Any) -> JournalEntry:
        """A mitigation put in place (rollout of a fix, a revert upstream, a fallback)."""
        return self.record("mitigation", text, params=params)

    def conclude(self, text: str, **params: Any) -> JournalEntry:
        """The conclusion of the investigation (root cause in a sentence)."""
        return self.record("conclusion", text, params=params)

    def _append(self, entry: JournalEntry) -> None:
        line = (json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":"))
                + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                _drop_torn_tail(fd)
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)  # closing releases the lock
            if created:
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise JournalError(f"Cannot write the journal {str(self.path)!r}: {exc}. Set "
                               f"[journal] path in the incident config or ${ENV_HOME} to a "
                               f"writable folder.") from exc

    # ---- reading ------------------------------------------------------------------------------

    def read(self) -> JournalRead:
        """Every intact entry in file order; a torn last line and damaged lines are skipped."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return JournalRead(())
        except OSError as exc:
            raise JournalError(f"Cannot read the journal {str(self.path)!r}: {exc}.") from exc
        lines = data.split(b"\n")
        torn = bool(lines[-1])  # bytes after the last newline: an unfinished write
        entries, bad = [], []
        for number, raw in enumerate(lines[:-1], start=1):
            if not raw.strip():
                continue
            try:
                entries.append(JournalEntry.from_dict(json.loads(raw)))
            except (ValueError, KeyError, TypeError):
                bad.append(number)
        return JournalRead(tuple(entries), torn, tuple(bad))

    def entries(self, kind: str | None = None) -> tuple[JournalEntry, ...]:
        """The intact entries (optionally of one kind), oldest first."""
        found = self.read().entries
        return tuple(e for e in found if kind is None or e.kind == kind)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self.entries())

    def get(self, entry_id: str) -> JournalEntry:
        """The entry with that id (InvalidInputError naming the journal when absent)."""
        for entry in self.entries():
            if entry.id == entry_id:
                return entry
        raise InvalidInputError(f"There is no entry {entry_id!r} in the journal "
                                f"{str(self.path)!r}; list entries with `workbench journal "
                                f"CONFIG`.")

    def states(self) -> tuple[EntryState, ...]:
        """Every non-verdict entry with its latest verdict ("open" when none)."""
        found = self.entries()
        latest: dict[str, JournalEntry] = {}
        for e in found:
            if e.kind == "verdict" and e.ref:
                latest[e.ref] = e
        return tuple(EntryState(e, (latest[e.id].status or "open") if e.id in latest else "open",
                                latest.get(e.id))
                     for e in found if e.kind != "verdict")

    def outcome(self, entry: str | JournalEntry) -> str:
        """"open", "confirmed" or "refuted" for one entry."""
        wanted = _id(entry)
        for state in self.states():
            if state.entry.id == wanted:
                return state.outcome
        raise InvalidInputError(f"There is no entry {wanted!r} in the journal "
                                f"{str(self.path)!r}.")


def _id(entry: str | JournalEntry | None) -> str | None:
    return entry.id if isinstance(entry, JournalEntry) else entry


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _drop_torn_tail(fd: int) -> None:
    """Cut an unfinished last line left by a crashed writer (the lock is held)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    if os.pread(fd, 1, size - 1) == b"\n":
        return
    block = 65536
    pos = size
    while pos > 0:  # find the last newline
        start = max(0, pos - block)
        chunk = os.pread(fd, pos - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, start + cut + 1)
            return
        pos = start
    os.ftruncate(fd, 0)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
