"""The incidents an app server can open, with the `?incident=` value that opens each one.

The landing page lists them; a link's value is the config's path relative to the served folder
it lies in, checked with `resolve_incident` so that every listed link opens what it names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from workbench.config import load_incident
from workbench.exceptions import WorkbenchError
from workbench.incidents import allowed_roots, find_incidents, resolve_incident


@dataclass(frozen=True)
class IncidentEntry:
    """One incident config found under a served folder."""

    path: Path
    query: str  # e.g. "incident=fraud_weekend%2Fincident.toml"
    title: str
    error: str | None = None  # why the config cannot be opened, when it cannot

    @property
    def name(self) -> str:
        """The config's folder name, a short handle for the incident."""
        return self.path.parent.name


def list_incidents(env: Mapping[str, str] | None = None) -> list[IncidentEntry]:
    """Every incident config under the folders app links may open, each with its link query."""
    env = os.environ if env is None else env
    seen: set[Path] = set()
    out = []
    for root in allowed_roots(env):
        if not root.is_dir():
            continue
        for path in find_incidents(root):
            path = path.resolve()
            if path in seen:
                continue
            seen.add(path)
            out.append(_entry(path, root, env))
    return out


def _entry(path: Path, root: Path, env: Mapping[str, str]) -> IncidentEntry:
    rel = path.relative_to(root).as_posix()
    query = urlencode({"incident": rel})
    try:
        if resolve_incident(query, env).resolve() != path:  # shadowed by an earlier folder
            query = urlencode({"incident": str(path)})
        title = load_incident(path).title
    except WorkbenchError as exc:
        return IncidentEntry(path, query, path.parent.name, str(exc))
    return IncidentEntry(path, query, title)
