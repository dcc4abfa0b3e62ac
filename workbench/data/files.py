"""The files behind a source: glob expansion and the checks that need each file's header.

DuckDB reads a glob as one table (`union_by_name`), which hides two faults a user must hear
about: a column missing from some files (read as nulls, as if the feature had failed) and
duplicated CSV header names (silently renamed `x_1`). Both are checked here, file by file,
from metadata or the first line only.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import duckdb

from workbench.config import SourceSpec
from workbench.data import remote
from workbench.exceptions import DataSourceError

# Files checked one by one for their columns: all of them up to this many, else the first and
# last halves of it (a renamed column shows up in the newest files).
MAX_CHECKED_FILES = 400


def source_files(spec: SourceSpec, what: str) -> list[str]:
    """The sorted files a Parquet/CSV source names, or an error saying why there are none."""
    if spec.remote:
        found = [path for path, _, _ in remote.list_files(spec.path, what)]
        if not found:
            raise DataSourceError(
                f"The {what} source {spec.describe()!r} matches no object. Check the bucket "
                f"and prefix (a glob such as 's3://bucket/logs/*.parquet', or the folder).")
        return found
    matches = sorted(glob.glob(spec.path, recursive=True))
    files = [m for m in matches if os.path.isfile(m)]
    if files:
        return files
    broken = [m for m in matches if os.path.islink(m) and not os.path.exists(m)]
    if broken:
        raise DataSourceError(
            f"The {what} source {spec.describe()!r} is a symbolic link that leads nowhere or "
            f"in a loop ({broken[0]}). Point it at the real file.")
    if matches and all(os.path.isdir(m) for m in matches):
        raise DataSourceError(
            f"The {what} source {spec.describe()!r} is a folder, not a file. Name the files "
            f"inside it (e.g. 'logs/*.parquet') or the folder itself without a suffix.")
    raise DataSourceError(
        f"The {what} source {spec.describe()!r} matches no file. Check the path (relative to "
        f"the incident config) or generate the data first.")


def check_files_have_columns(con: duckdb.DuckDBPyConnection, spec: SourceSpec,
                             columns: Sequence[str], what: str) -> None:
    """Raise naming the files of a multi-file source that lack one of `columns` (present in
    the others), or that store it as text where the others store numbers."""
    if spec.kind == "duckdb" or (spec.remote and (spec.kind != "parquet"
                                                  or not remote.usable(con, spec.path, what))):
        # CSV objects are not opened here; a store DuckDB cannot read here is Spark's, which
        # merges the files' schemas itself.
        return
    files = _checked(source_files(spec, what))
    if len(files) < 2:
        return
    present = _columns_per_file(con, spec, files)
    partitions = _partition_keys(spec)
    for column in columns:
        lacking = [f for f in files if column not in present[f]]
        if lacking and len(lacking) < len(files) and column not in partitions:
            raise DataSourceError(
                f"Column {column!r} is missing from {len(lacking)} of {len(files)} files of the "
                f"{what} {spec.describe()!r} (e.g. {Path(lacking[-1]).name}): it was renamed "
                f"or dropped upstream, and would read as nulls there. Rename it back in those "
                f"files, or limit the source to the files that have it.")
        kinds = {f: present[f][column] for f in files if present[f].get(column)}
        if len(set(kinds.values())) > 1:
            odd = Counter(kinds.values()).most_common()[-1][0]
            first = next(f for f, k in kinds.items() if k == odd)
            raise DataSourceError(
                f"Column {column!r} of the {what} {spec.describe()!r} is stored as {odd} in "
                f"{Path(first).name} but as {Counter(kinds.values()).most_common(1)[0][0]} in "
                f"most files: its type changed upstream. Rewrite those files with the usual "
                f"type, or limit the source to the files that match.")


def check_csv_headers(files: Sequence[str], spec: SourceSpec, what: str) -> None:
    """Raise on an empty CSV file or a header naming the same column twice."""
    options = dict(spec.csv_options)
    if options.get("header") is False or spec.remote:
        return  # objects in a store are not opened here; DuckDB's reader checks the header
    for path in _checked(files):
        _check_encoding(path, options, what)
        header = _csv_header(path, options)
        if header is None:
            raise DataSourceError(f"The {what} file {path!r} is empty: it has no header and no "
                                  f"rows. Remove it or point the source at the right files.")
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise DataSourceError(
                    f"The {what} file {path!r} has two columns named {name!r}. Rename one "
                    f"upstream: the workbench will not guess which one is meant.")
            seen.add(name)


def _check_encoding(path: str, options: dict, what: str, sample: int = 1 << 16) -> None:
    """Raise naming the file when its start is not valid in the configured encoding."""
    encoding = str(options.get("encoding", "utf-8")).lower()
    if encoding not in ("utf-8", "utf8"):
        return
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(sample)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sample's end
            return
        raise DataSourceError(
            f"The {what} file {path!r} is not UTF-8 (byte {exc.start}). Set its encoding, e.g. "
            f"[production] csv = {{encoding = \"latin-1\"}} (or \"utf-16\").") from exc


def _checked(files: Sequence[str]) -> list[str]:
    files = list(files)
    if len(files) <= MAX_CHECKED_FILES:
        return files
    half = MAX_CHECKED_FILES // 2
    return files[:half] + files[-half:]


def _columns_per_file(con: duckdb.DuckDBPyConnection, spec: SourceSpec,
                      files: list[str]) -> dict[str, dict[str, str | None]]:
    """Per file: its column names with their kind ("text", "number", "time", "boolean";
    None where unknown, as for CSV headers)."""
    if spec.kind == "parquet":
        rows = con.execute("SELECT file_name, name, type, converted_type, logical_type "
                           "FROM parquet_schema($files)", {"files": files}).fetchall()
        out: dict[str, dict[str, str | None]] = {f: {} for f in files}
        for file_name, name, physical, converted, logical in rows:
            out.setdefault(file_name, {})[name] = _parquet_kind(physical, converted, logical)
        return out
    options = dict(spec.csv_options)
    return {f: dict.fromkeys(_csv_header(f, options) or ()) for f in files}


def _parquet_kind(physical: str | None, converted: str | None, logical: str | None) -> str | None:
    """The broad kind of a Parquet column, enough to tell a type change between files."""
    if physical is None:
        return None
    text = f"{converted or ''} {logical or ''}".upper()
    if "TIMESTAMP" in text or "DATE" in text or physical == "INT96":
        return "time"
    if physical in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY") and ("UTF8" in text
                                                               or "STRING" in text):
        return "text"
    if physical == "BOOLEAN":
        return "boolean"
    if physical in ("INT32", "INT64", "FLOAT", "DOUBLE") or "DECIMAL" in text:
        return "number"
    return None


def _csv_header(path: str, options: dict) -> list[str] | None:
    """The first line of a CSV file split into names (None for an empty file)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding=options.get("encoding", "utf-8"), errors="replace",
                newline="") as fh:
        for _ in range(int(options.get("skip", 0))):
            fh.readline()
        first = fh.readline()
    if not first.strip():
        return None
    delim = options.get("delim") or _sniff_delimiter(first, path)
    quote = options.get("quote") or '"'
    return next(csv.reader(io.StringIO(first), delimiter=delim, quotechar=quote))


def _sniff_delimiter(line: str, path: str) -> str:
    if path.endswith((".tsv", ".tsv.gz")):
        return "\t"
    try:
        return csv.Sniffer().sniff(line, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _partition_keys(spec: SourceSpec) -> set[str]:
    """Hive partition names (`key=value` folders) of a folder source: columns of every file."""
    if spec.folder is None:
        return set()
    keys = set()
    for path in Path(spec.folder).rglob("*"):
        if path.is_dir() and "=" in path.name:
            keys.add(path.name.split("=", 1)[0])
    return keys
