"""The diagnosis cache: finished diagnoses on disk, keyed by everything they depend on.

Any process — the CLI, a second app viewer, a `?incident=` link, JupyterLab — loads a finished
diagnosis instead of computing it again. Entries live in
`$WORKBENCH_HOME/cache/diagnoses/<incident-slug>/<key>.json` (`WORKBENCH_HOME` defaults to
`~/.workbench`); the key is the fingerprint of the config, the source files, the parameters and
the workbench itself (`workbench.fingerprint`), so new data or another split is another key.
Results derived from a diagnosis (who is affected in a segment, the failing records explained)
are kept the same way under a key naming the diagnosis' key and their own parameters.

Each entry is written to a temporary file and renamed into place, so a reader never sees half a
file and concurrent writers never corrupt one. Processes computing the same key at once take
turns on a lock file: the first computes, the next loads what it stored (a lock dies with its
process). An unreadable entry counts as a miss; a cache that cannot be written costs only the
saving, never the diagnosis.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workbench.config import Incident, load_incident
from workbench.exceptions import CacheError, WorkbenchError
from workbench.fingerprint import identity, key_of
from workbench.journal import slug, workbench_home
from workbench.results import Diagnosis
from workbench.serial import Serialisable, json_time, jsonable

if TYPE_CHECKING:
    from workbench.data import LogStore

Progress = Callable[[str], None]
R = TypeVar("R", bound=Serialisable)
CACHE_DIR = "diagnoses"
ENTRY_FORMAT = 1
MAX_ENTRIES = 256  # per incident: saving more removes the least recently used
LOCK_WAIT_SECONDS = 900.0  # after this long another process' turn is not waited for
LOCK_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class CachedDiagnosis:
    """A diagnosis, whether it was loaded from the cache, and its key."""

    diagnosis: Diagnosis
    hit: bool
    key: str

    def to_dict(self) -> dict[str, Any]:
        """The `cache` entry of the `--json` document."""
        return {"hit": self.hit, "key": self.key}


class DiagnosisCache:
    """Finished diagnoses (and results derived from them) by incident and key, in one folder
    (default under $WORKBENCH_HOME)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else workbench_home() / "cache" / CACHE_DIR

    def folder(self, incident: Incident) -> Path:
        """Where the entries of one incident live."""
        return self.root / slug(incident)

    def path(self, incident: Incident, key: str) -> Path:
        """The file of one entry."""
        return self.folder(incident) / f"{key}.json"

    def load(self, incident: Incident, key: str, ident: Mapping[str, Any] | None = None,
             cls: type[Serialisable] = Diagnosis) -> Any:
        """The stored result (a `cls`) of a key, or None (also when the entry is unreadable or
        was written for another identity)."""
        path = self.path(incident, key)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("format") != ENTRY_FORMAT \
                or doc.get("key") != key or (ident is not None and doc.get("identity") != ident):
            return None
        try:
            result = cls.from_dict(doc["result"])
        except (WorkbenchError, KeyError, TypeError, ValueError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return result

    def save(self, incident: Incident, key: str, ident: Mapping[str, Any],
             result: Serialisable) -> Path:
        """Store a result under its key (temporary file, then an atomic rename)."""
        path = self.path(incident, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": ENTRY_FORMAT, "key": key, "saved_at": json_time(datetime.now(UTC)),
               "identity": ident, "type": type(result).__name__, "result": result.to_dict()}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, separators=(",", ":"))
            os.chmod(tmp, 0o644)  # readable like the journal (mkstemp makes it private)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._prune(path.parent)
        return path

    @contextlib.contextmanager
    def turn(self, incident: Incident, key: str, say: Progress,
             what: str = "diagnosis") -> Iterator[None]:
        """Hold the key's lock while computing it, waiting while another process holds it.

        Without a lock file (a read-only cache) or after LOCK_WAIT_SECONDS the block runs
        anyway: the lock saves work, the atomic rename is what keeps entries whole.
        """
        try:
            self.folder(incident).mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder(incident) / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield
            return
        try:
            _acquire(fd, say, what)
            yield
        finally:
            os.close(fd)  # releases the lock

    def clear(self, incident: Incident | None = None) -> int:
        """Remove the entries of one incident (default: of all); returns how many."""
        folders = [self.folder(incident)] if incident is not None else (
            [p for p in self.root.iterdir() if p.is_dir()] if self.root.is_dir() else [])
        removed = 0
        for folder in folders:
            for path in sorted(folder.glob("*")) if folder.is_dir() else ():
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise CacheError(
                        f"Cannot remove the cached diagnosis {str(path)!r}: "
                        f"{exc.strerror or exc}. Check the permissions of {str(self.root)!r} "
                        f"(set WORKBENCH_HOME to use another folder).") from exc
                if path.suffix == ".json":
                    removed += 1
            with contextlib.suppress(OSError):
                folder.rmdir()
        return removed

    def _prune(self, folder: Path) -> None:
        """Keep the MAX_ENTRIES most recently used entries of a folder."""
        entries = sorted(folder.glob("*.json"), key=_mtime, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            with contextlib.suppress(OSError):
                old.unlink()
                Path(f"{old.with_suffix('')}.lock").unlink()


def cached_diagnose(incident: Incident | str | Path, *, use_cache: bool = True,
                    cache: DiagnosisCache | None = None, store: LogStore | None = None,
                    progress: Progress | None = None, start: datetime | None = None,
                    end: datetime | None = None, bucket: str | None = None,
                    metric: str | None = None, split: datetime | None = None,
                    attribution: bool = True,
                    attribution_budget: float | None = None) -> CachedDiagnosis:
    """`workbench.diagnose.diagnose` through the cache: a finished diagnosis of the same config,
    sources and parameters is loaded, else computed and stored (`use_cache=False`: computed,
    never read nor stored, and without a store given the reference statistics are recomputed
    too)."""
    say = progress or (lambda _msg: None)
    if not isinstance(incident, Incident):
        incident = load_incident(incident)
    params = {"start": start, "end": end, "bucket": bucket, "metric": metric, "split": split,
              "attribution": attribution, "attribution_budget": attribution_budget}
    ident = identity(incident, params)
    key = key_of(ident)

    def diagnose_with(on: LogStore | None) -> Diagnosis:
        from workbench.diagnose import diagnose  # the analysis stack loads on a miss only

        return diagnose(incident, store=on, progress=progress, **params)

    def compute() -> Diagnosis:
        return diagnose_with(store)

    if not use_cache:
        if store is None:  # nothing cached read: the reference is scanned again too
            from workbench.data import LogStore

            with LogStore(incident, reference_cache=False) as own:
                return CachedDiagnosis(diagnose_with(own), False, key)
        return CachedDiagnosis(compute(), False, key)
    diagnosis, hit = _through(cache or DiagnosisCache(), incident, key, ident, Diagnosis,
                              compute, say, "diagnosis")
    return CachedDiagnosis(diagnosis, hit, key)


def cached_result(incident: Incident, diagnosis_key: str, name: str, cls: type[R],
                  compute: Callable[[], R], *, use_cache: bool = True,
                  cache: DiagnosisCache | None = None, progress: Progress | None = None,
                  **params: Any) -> tuple[R, bool]:
    """A result derived from a cached diagnosis (`name` with `params`, e.g. a segment), loaded
    when computed before, else computed and stored; returns it and whether it was loaded."""
    if not use_cache:
        return compute(), False
    ident = {"format": ENTRY_FORMAT, "diagnosis": diagnosis_key, "result": name,
             "params": jsonable(params)}
    return _through(cache or DiagnosisCache(), incident, key_of(ident), ident, cls, compute,
                    progress or (lambda _msg: None), name)


def _through(cache: DiagnosisCache, incident: Incident, key: str, ident: Mapping[str, Any],
             cls: type[R], compute: Callable[[], R], say: Progress, what: str) -> tuple[R, bool]:
    """The stored result of a key, else computed once (one process at a time) and stored."""
    found = cache.load(incident, key, ident, cls)
    if found is None:
        with cache.turn(incident, key, say, what):
            found = cache.load(incident, key, ident, cls)  # another process may have stored it
            if found is None:
                result = compute()
                try:
                    cache.save(incident, key, ident, result)
                except (OSError, TypeError, ValueError) as exc:  # unwritable, or not JSON
                    say(f"{what} not cached: {getattr(exc, 'strerror', None) or exc} "
                        f"({cache.root})")
                return result, False
    say(f"{what} loaded from the cache (key {key})")
    return found, True


def _acquire(fd: int, say: Progress, what: str) -> None:
    """Take an exclusive lock on fd, waiting at most LOCK_WAIT_SECONDS for its holder."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not told:
                say(f"waiting for another process computing the same {what}")
                told = True
            if time.monotonic() > deadline:
                return
            time.sleep(LOCK_POLL_SECONDS)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
