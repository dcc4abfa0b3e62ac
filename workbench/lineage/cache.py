"""On-disk cache of pipeline re-runs, keyed by (entry point, factors, seed).

A re-run is a pure function of its entry point, code commit, data versions (content hashes),
config and seed, so its metrics can be reused: a repeated trace reads them back instead of
training again. Entries live in `$WORKBENCH_HOME/cache/lineage/` (default `~/.workbench`), one
small JSON file per run, written atomically so concurrent traces never see half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

ENV_HOME = "WORKBENCH_HOME"
CACHE_VERSION = 1


def workbench_home() -> Path:
    """`$WORKBENCH_HOME`, or `~/.workbench` when unset."""
    value = os.environ.get(ENV_HOME)
    return Path(value).expanduser() if value else Path.home() / ".workbench"


def run_key(identity: dict[str, Any]) -> str:
    """Stable hash of a run's identity (canonical JSON: sorted keys, no whitespace)."""
    text = json.dumps({"v": CACHE_VERSION, **identity}, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class RunCache:
    """Metrics of finished re-runs by run key; `enabled=False` makes every lookup miss."""

    def __init__(self, root: Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root else workbench_home() / "cache" / "lineage"
        self.enabled = enabled

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record of a run, or None (also when the file is unreadable)."""
        if not self.enabled:
            return None
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store a run's record (atomic replace)."""
        if not self.enabled:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, sort_keys=True)
        os.replace(tmp, path)
