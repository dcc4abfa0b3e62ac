"""An incident opened for interactive work: its config, its query layer and its diagnoses.

Apps and notebooks hold one `Investigation` per incident and never open data themselves. Every
diagnosis, and every result derived from one, goes through the diagnosis cache
(`workbench.cache`), so a second viewer, a reload, going back to an earlier split or to a segment
chosen before loads the finished result instead of computing it again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.cache import (
    CachedDiagnosis,
    DiagnosisCache,
    Progress,
    R,
    cached_diagnose,
    cached_result,
)
from workbench.config import Incident, load_incident
from workbench.data import LogStore


class Investigation:
    """One open incident: the validated config, a read-only `LogStore` and cached diagnoses."""

    def __init__(self, incident: Incident, store: LogStore, *, use_cache: bool = True,
                 cache: DiagnosisCache | None = None) -> None:
        self.incident = incident
        self.store = store
        self.use_cache = use_cache
        self.cache = cache

    @classmethod
    def open(cls, config: str | Path | Incident, *, use_cache: bool = True) -> Investigation:
        """Load the config and open its sources (errors name what is wrong and where)."""
        incident = config if isinstance(config, Incident) else load_incident(config)
        return cls(incident, LogStore(incident), use_cache=use_cache)

    def diagnose(self, *, split: datetime | None = None, progress: Progress | None = None,
                 **params: Any) -> CachedDiagnosis:
        """The diagnosis with the baseline/current boundary at `split` (None: the detected
        onset), from the cache when it was computed before; `params` as `diagnose` takes."""
        return cached_diagnose(self.incident, store=self.store, split=split, progress=progress,
                               use_cache=self.use_cache, cache=self.cache, **params)

    def derived(self, diagnosis_key: str, name: str, cls: type[R], compute: Callable[[], R],
                **params: Any) -> R:
        """A result computed from the diagnosis of `diagnosis_key` (`name` with `params`, e.g.
        the failing records of a segment), from the cache when it was computed before."""
        return cached_result(self.incident, diagnosis_key, name, cls, compute,
                             use_cache=self.use_cache, cache=self.cache, **params)[0]

    def close(self) -> None:
        """Close the query layer."""
        self.store.close()

    def __enter__(self) -> Investigation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
