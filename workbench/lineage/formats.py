"""File formats of data inputs: recognised on reading, kept on writing derived tables.

A data input is one file, a folder of files or a glob, in Parquet or CSV (plain, gzip or zstd;
any delimiter). Tables the workbench derives from it for a re-run (ablations, swaps) are written
in the same format and layout: a CSV file stays a CSV file with the same delimiter, quote and
header, a Parquet file stays Parquet, a folder stays a folder and a glob a glob, so the pipeline
reads them with its own loader. A format the workbench cannot read or write is an error naming
it, never a silent conversion.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import duckdb

from workbench.data import queries
from workbench.lineage.errors import DataVersionError

# Suffix -> (kind, compression) of every format the workbench reads and writes.
FORMATS: dict[str, tuple[str, str | None]] = {
    ".parquet": ("parquet", None), ".pq": ("parquet", None),
    ".csv": ("csv", None), ".tsv": ("csv", None),
    ".csv.gz": ("csv", "gzip"), ".tsv.gz": ("csv", "gzip"),
    ".csv.zst": ("csv", "zstd"), ".tsv.zst": ("csv", "zstd"),
}
# Formats pipelines often read that DuckDB can neither read nor write here: named in errors.
UNSUPPORTED = (".csv.bz2", ".csv.xz", ".csv.zip", ".tsv.bz2", ".json", ".jsonl", ".ndjson",
               ".feather", ".arrow", ".orc", ".avro", ".xlsx", ".xls", ".pkl", ".pickle")
SUPPORTED_TEXT = ", ".join(sorted({s.lstrip(".") for s in FORMATS}))
PART_NAME = "part-0"


@dataclass(frozen=True)
class FileFormat:
    """The format of one data file: kind (parquet or csv), compression and file suffix."""

    kind: str
    compression: str | None
    suffix: str


@dataclass(frozen=True)
class Layout:
    """How a data input is laid out: a file, a folder or a glob of files of one format."""

    shape: str  # file, folder or glob
    format: FileFormat
    files: tuple[Path, ...]
    delimiter: str = ","
    quote: str = '"'
    header: bool = True


def file_format(path: Path) -> FileFormat:
    """The format of a data file from its name; DataVersionError naming any other format."""
    lower = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if lower.endswith(suffix):
            kind, compression = FORMATS[suffix]
            return FileFormat(kind, compression, suffix)
    known = next((s for s in UNSUPPORTED if lower.endswith(s)), None)
    what = f"is {known.lstrip('.')}" if known else f"has an unknown format ({path.name})"
    raise DataVersionError(f"The data file {str(path)!r} {what}; the workbench reads and writes "
                           f"{SUPPORTED_TEXT}. Convert it, or point at files in one of these.")


def resolve(path: str | Path) -> tuple[list[Path], FileFormat, str]:
    """The files of a data input, their common format and the input's shape."""
    text = str(path)
    p = Path(text)
    if p.is_dir():
        shape = "folder"
        found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_"))
                       and _readable(f))
        # Parquet files first (a folder of Parquet with a CSV export beside it is the Parquet).
        files = [f for f in found if file_format(f).kind == "parquet"] or found
        if not files:
            odd = sorted(f for f in p.rglob("*") if f.is_file()
                         and not f.name.startswith((".", "_")))
            if odd:
                file_format(odd[0])  # raises, naming the format found
    elif any(c in text for c in "*?["):
        shape = "glob"
        files = sorted(Path(f) for f in glob.glob(text) if Path(f).is_file())
    else:
        shape = "file"
        files = [p] if p.is_file() else []
    if not files:
        raise DataVersionError(f"The data input {text!r} matches no file. Check the path, or "
                               f"restore that data version (e.g. `dvc checkout`).")
    formats = {file_format(f) for f in files}
    if len({(f.kind, f.compression) for f in formats}) > 1:
        names = ", ".join(sorted(f.suffix.lstrip(".") for f in formats))
        raise DataVersionError(f"The data input {text!r} mixes formats ({names}); point at "
                               f"files of one format.")
    return files, min(formats, key=lambda f: f.suffix), shape


def _readable(path: Path) -> bool:
    lower = path.name.lower()
    return any(lower.endswith(s) for s in FORMATS)


def layout(path: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> Layout:
    """Shape, format and (for CSV) the dialect of a data input, sniffed by DuckDB."""
    files, fmt, shape = resolve(path)
    if fmt.kind != "csv":
        return Layout(shape, fmt, tuple(files))
    own = con is None
    con = con or duckdb.connect(":memory:")
    try:
        q = queries.csv_dialect(str(files[0]))
        (delimiter, quote, header), = con.execute(q.text, q.params).fetchall()
    except duckdb.Error as exc:
        raise DataVersionError(f"The CSV file {str(files[0])!r} cannot be read: "
                               f"{str(exc).splitlines()[0]}") from exc
    finally:
        if own:
            con.close()
    quote = quote if isinstance(quote, str) and len(quote) == 1 else '"'
    return Layout(shape, fmt, tuple(files), delimiter=delimiter or ",", quote=quote,
                  header=bool(header))


def register(con: duckdb.DuckDBPyConnection, data: Layout, view: str,
             text: bool = False) -> None:
    """Register the input as a view; text=True reads CSV columns as written (no type guessing)."""
    names = [str(f) for f in data.files]
    try:
        if data.format.kind == "parquet":
            rel = con.read_parquet(names, union_by_name=True)
        else:
            rel = con.read_csv(names, union_by_name=True, all_varchar=text, sep=data.delimiter,
                               quotechar=data.quote, header=data.header)
        rel.create_view(view, replace=True)
    except duckdb.Error as exc:
        raise DataVersionError(f"The data input {str(data.files[0])!r} cannot be read as "
                               f"{data.format.suffix.lstrip('.')}: "
                               f"{str(exc).splitlines()[0]}") from exc


def targets(like: Layout, dest: Path) -> tuple[Path, Path]:
    """(file written, path handed to the pipeline) for a table written like `like` at dest.

    dest: where to write, without suffix: the file itself (file inputs), else the folder.
    """
    suffix = like.format.suffix
    if like.shape == "file":
        target = dest.with_name(dest.name + suffix)
        return target, target
    target = dest / (PART_NAME + suffix)
    return target, dest if like.shape == "folder" else dest / ("*" + suffix)


def write_like(rel: duckdb.DuckDBPyRelation, like: Layout, dest: Path) -> Path:
    """Write a table in the format and layout of `like`; returns the path to hand a pipeline."""
    fmt = like.format
    if (fmt.kind, fmt.compression) not in set(FORMATS.values()):
        raise DataVersionError(f"Cannot write {fmt.suffix.lstrip('.')} files; derived tables "
                               f"are written as {SUPPORTED_TEXT}.")
    target, handed = targets(like, dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if fmt.kind == "parquet":
            rel.write_parquet(str(target))
        else:
            rel.write_csv(str(target), sep=like.delimiter, quotechar=like.quote,
                          header=like.header, compression=fmt.compression or "none")
    except duckdb.Error as exc:
        raise DataVersionError(f"Writing the derived table {str(target)!r} failed: "
                               f"{str(exc).splitlines()[0]}") from exc
    return handed
