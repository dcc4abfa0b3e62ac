"""Fingerprints of what a diagnosis depends on: the config, the source files, the parameters and
the workbench's own version and code.

A source file counts by path, size and modification time (nanoseconds), a Parquet file also by
a hash of its footer (row groups, row counts and column statistics), so new data — a file
appended to a glob, a file rewritten — gives a new fingerprint without reading the data. A
DuckDB file counts by size and modification time (with its write-ahead log).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import workbench
from workbench.config import Incident, SourceSpec
from workbench.exceptions import WorkbenchError
from workbench.serial import jsonable

FORMAT = 1  # bump when the cached form of a diagnosis changes meaning
PARQUET_MAGIC = b"PAR1"
MAX_FOOTER_BYTES = 4 << 20  # footers beyond this are counted by size and time only


def identity(incident: Incident, params: Mapping[str, Any]) -> dict[str, Any]:
    """Everything a diagnosis of `incident` with `params` depends on, as plain JSON."""
    config = incident.to_dict()
    config.pop("engine", None)  # DuckDB and Spark give the same diagnosis (tests/engines)
    return {"format": FORMAT, "version": workbench.__version__, "code": code_digest(),
            "config": json.loads(json.dumps(config, sort_keys=True, default=str)),
            "sources": sources(incident), "params": jsonable(dict(params))}


def key_of(ident: Mapping[str, Any]) -> str:
    """A short stable hash of an identity (canonical JSON: sorted keys, no whitespace)."""
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def sources(incident: Incident) -> dict[str, list[dict[str, Any]]]:
    """Per input (production, reference, changes, model, pipeline): its files' fingerprints."""
    out = {"production": source(incident.production.source, "production log"),
           "reference": source(incident.reference.source, "reference data")}
    if incident.changes is not None:
        out["changes"] = source(incident.changes.source, "change log")
    if incident.model is not None:
        out["model"] = [file_print(incident.model.path)]
    if incident.pipeline is not None:
        target = incident.pipeline.callable.partition(":")[0]
        if target.endswith(".py"):  # a module callable is counted by the code it imports
            out["pipeline"] = [file_print(incident.base_dir / target)]
    return out


def source(spec: SourceSpec, what: str) -> list[dict[str, Any]]:
    """Fingerprints of the files behind one source (its glob expanded)."""
    if spec.kind == "duckdb":
        wal = Path(f"{spec.path}.wal")
        return [file_print(Path(spec.path))] + ([file_print(wal)] if wal.exists() else [])
    from workbench.data.files import source_files

    try:
        files = source_files(spec, what)
    except WorkbenchError as exc:  # the diagnosis reports it; nothing is cached then
        return [{"path": spec.describe(), "error": str(exc)}]
    return [file_print(Path(p)) for p in files]


def file_print(path: Path) -> dict[str, Any]:
    """Path, size and modification time of a file; for Parquet also its footer's hash."""
    try:
        st = path.stat()
    except OSError:
        return {"path": str(path), "missing": True}
    out: dict[str, Any] = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if path.suffix.lower() in (".parquet", ".parq", ".pq") or _is_parquet(path):
        out["footer"] = parquet_footer(path)
    return out


def parquet_footer(path: Path) -> str | None:
    """Hash of a Parquet file's footer (its metadata), or None when it has none to read."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size < 12:
                return None
            fh.seek(size - 8)
            tail = fh.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != PARQUET_MAGIC or not 0 < length <= min(MAX_FOOTER_BYTES, size - 12):
                return None
            fh.seek(size - 8 - length)
            return hashlib.blake2b(fh.read(length), digest_size=16).hexdigest()
    except OSError:
        return None


def _is_parquet(path: Path) -> bool:
    """Whether a file without a Parquet suffix ends like one (a folder of part files)."""
    if path.suffix:
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            return fh.read(4) == PARQUET_MAGIC
    except OSError:
        return False


@cache
def code_digest() -> str:
    """Hash of the workbench's own source files (path, size, time): an edited workbench, even
    under the same version number, does not read diagnoses an older one wrote."""
    root = Path(workbench.__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]
