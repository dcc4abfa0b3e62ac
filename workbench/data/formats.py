"""File formats of data inputs: recognised on reading, kept on writing derived tables.

A data input is one file, a folder of files or a glob, in Parquet or CSV (plain, gzip or zstd;
any delimiter). Tables the workbench derives from it for a re-run (ablations, swaps) are written
by `workbench.data.snapshots` in the same format and layout: a CSV file stays a CSV file with
the same delimiter, quote and header, a Parquet file stays Parquet, a folder stays a folder and
a glob a glob, so the pipeline reads them with its own loader. A format the workbench cannot
read or write is an error naming it, never a silent conversion.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from workbench.exceptions import DataVersionError

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
