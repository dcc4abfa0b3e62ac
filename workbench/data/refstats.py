"""Reference statistics computed once per reference version and kept on disk.

The features stage bins every feature on the reference (quantile edges, top levels) and counts
the reference's rows per bin; both depend only on the reference's files, how it is read (the
config's `[reference]` section and the features' names and kinds), the binning parameters and
the workbench's code. Keyed by a fingerprint of exactly that (file paths, sizes, mtimes and
Parquet footers, never the data), they are stored under `$WORKBENCH_HOME/cache/reference/`, so
re-diagnosing the same incident with another split, or another incident on the same training
data, never scans training again. A changed or appended reference file gives a new key.
Entries are written to a temporary file and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.config import Incident
from workbench.data.fingerprints import code_digest, source
from workbench.data.queries import BinSpec
from workbench.data.schema import FeatureSpec

FORMAT = 2  # bump when the stored form changes meaning
FOLDER = "reference"
MAX_ENTRIES = 64  # per cache folder, the most recently used kept


def default_root() -> Path:
    """`$WORKBENCH_HOME/cache/reference`."""
    from workbench.journal import workbench_home

    return workbench_home() / "cache" / FOLDER


def reference_key(incident: Incident, features: Sequence[FeatureSpec],
                  binning: dict[str, Any]) -> str | None:
    """The key of the reference statistics of these features, or None when the reference
    cannot be fingerprinted (then nothing is cached)."""
    files = source(incident.reference.source, "reference data")
    if any("error" in f or f.get("missing") for f in files):
        return None
    ident = {"format": FORMAT, "code": code_digest(), "files": files,
             "reference": json.loads(json.dumps(incident.to_dict().get("reference"),
                                                sort_keys=True, default=str)),
             "features": [[f.name, f.kind.value, f.reference_type] for f in features],
             "binning": binning}
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class ReferenceStats:
    """Bins and per-bin reference counts by key, in one folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def load(self, key: str, features: Sequence[FeatureSpec]
             ) -> tuple[list[BinSpec], pd.DataFrame] | None:
        """The stored bins (in the order of `features`) and counts of a key, or None."""
        meta = self.root / f"{key}.json"
        try:
            doc = json.loads(meta.read_text(encoding="utf-8"))
            stored = doc["counts"]
            frame = pd.DataFrame(stored["columns"]).astype(stored["dtypes"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        by_name = {b["name"]: b for b in doc.get("bins", [])}
        if any(f.name not in by_name for f in features):
            return None
        specs = [BinSpec(f, edges=tuple(float(v) for v in by_name[f.name]["edges"]),
                         levels=tuple(str(v) for v in by_name[f.name]["levels"]))
                 for f in features]
        with contextlib.suppress(OSError):
            os.utime(meta)  # recently used: pruned last
        return specs, frame

    def save(self, key: str, specs: Sequence[BinSpec], counts: pd.DataFrame) -> None:
        """Store a key's bins and counts in one JSON file (a few hundred rows; floats as
        Python writes them, so they read back exactly). A folder that cannot be written is no
        failure: the statistics are recomputed."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            doc = {"format": FORMAT, "key": key,
                   "bins": [{"name": s.feature.name, "edges": list(s.edges),
                             "levels": list(s.levels)} for s in specs],
                   "counts": {"columns": {c: counts[c].tolist() for c in counts.columns},
                              "dtypes": {c: str(t) for c, t in counts.dtypes.items()}}}
            self._write(self.root / f"{key}.json",
                        lambda path: Path(path).write_text(json.dumps(doc), encoding="utf-8"))
        except OSError:
            return
        self._prune()

    def clear(self) -> int:
        """Remove every entry; returns how many."""
        removed = 0
        for path in sorted(self.root.glob("*")) if self.root.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += path.suffix == ".json"
        return removed

    def _write(self, path: Path, write) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            write(tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _prune(self) -> None:
        """Keep the MAX_ENTRIES most recently used entries."""
        entries = sorted(self.root.glob("*.json"), key=_mtime, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            with contextlib.suppress(OSError):
                old.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed by another process meanwhile
        return 0.0
