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
from collections.abc import Sequence
from pathlib import Path

import duckdb

from workbench.config import SourceSpec
from workbench.exceptions import DataSourceError

# Files checked one by one for their columns: all of them up to this many, else the first and
# last halves of it (a renamed column shows up in the newest files).
MAX_CHECKED_FILES = 400


# The config's CSV option names (DuckDB's SQL names) as the Python reader's arguments.
CSV_READER_ARGS = {
    "delim": "delimiter", "quote": "quotechar", "escape": "escapechar", "header": "header",
    "decimal_separator": "decimal", "nullstr": "na_values", "dateformat": "date_format",
    "timestampformat": "timestamp_format", "skip": "skiprows", "comment": "comment",
    "encoding": "encoding",
}


def csv_reader_args(options: Sequence[tuple[str, object]]) -> dict[str, object]:
    """Keyword arguments of DuckDB's Python `read_csv` for the configured CSV options."""
    return {CSV_READER_ARGS[key]: list(value) if isinstance(value, tuple) else value
            for key, value in options}


def source_files(spec: SourceSpec, what: str) -> list[str]:
    """The sorted files a Parquet/CSV source names, or an error saying why there are none."""
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
    """Raise naming the files of a multi-file source that lack a configured column."""
    if spec.kind == "duckdb":
        return
    files = _checked(source_files(spec, what))
    if len(files) < 2:
        return
    present = _columns_per_file(con, spec, files)
    for column in columns:
        lacking = [f for f in files if column not in present[f]]
        if lacking and len(lacking) < len(files) and column not in _partition_keys(spec):
            raise DataSourceError(
                f"Column {column!r} is missing from {len(lacking)} of {len(files)} files of the "
                f"{what} {spec.describe()!r} (e.g. {Path(lacking[-1]).name}): it was renamed "
                f"or dropped upstream, and would read as nulls there. Rename it back in those "
                f"files, or limit the source to the files that have it.")


def check_csv_headers(files: Sequence[str], spec: SourceSpec, what: str) -> None:
    """Raise on an empty CSV file or a header naming the same column twice."""
    options = dict(spec.csv_options)
    if options.get("header") is False:
        return
    for path in _checked(files):
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


def _checked(files: Sequence[str]) -> list[str]:
    files = list(files)
    if len(files) <= MAX_CHECKED_FILES:
        return files
    half = MAX_CHECKED_FILES // 2
    return files[:half] + files[-half:]


def _columns_per_file(con: duckdb.DuckDBPyConnection, spec: SourceSpec,
                      files: list[str]) -> dict[str, set[str]]:
    if spec.kind == "parquet":
        rows = con.execute("SELECT file_name, name FROM parquet_schema($files)",
                           {"files": files}).fetchall()
        out: dict[str, set[str]] = {f: set() for f in files}
        for file_name, name in rows:
            out.setdefault(file_name, set()).add(name)
        return out
    options = dict(spec.csv_options)
    return {f: set(_csv_header(f, options) or ()) for f in files}


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
