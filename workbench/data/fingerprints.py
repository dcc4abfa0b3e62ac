"""Fingerprints of source files and of the workbench's own code, without reading any data.

A source file counts by path, size and modification time (nanoseconds), an object in a store by
path, size and modification time from the store's listing, a Parquet file also by a hash of its
footer (row groups, row counts and column statistics), so new data — a file
appended to a glob, a file rewritten — gives a new fingerprint. A DuckDB file counts by size
and modification time (with its write-ahead log). The diagnosis cache (`workbench.fingerprint`)
and the reference statistics (`refstats`) are keyed by them.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

import workbench
from workbench.config import SourceSpec
from workbench.data import remote
from workbench.data.files import source_files
from workbench.exceptions import WorkbenchError

PARQUET_MAGIC = b"PAR1"
MAX_FOOTER_BYTES = 4 << 20  # footers beyond this are counted by size and time only


def source(spec: SourceSpec, what: str) -> list[dict[str, Any]]:
    """Fingerprints of the files behind one source (its glob expanded)."""
    if spec.kind == "duckdb":
        wal = Path(f"{spec.path}.wal")
        return [file_print(Path(spec.path))] + ([file_print(wal)] if wal.exists() else [])
    try:
        if spec.remote:  # objects count by path, size and modification time of the listing
            return [{"path": p, "size": size, "mtime_us": mtime}
                    for p, size, mtime in remote.list_files(spec.path, what)]
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
