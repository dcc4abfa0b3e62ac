"""Data versions (the inputs of pipeline runs) read through the query layer.

A `Snapshots` reader holds one in-memory DuckDB connection on which data inputs (a Parquet/CSV
file, folder or glob, see `formats`) are registered as views over the files, read-only; queries
are `queries.Sql` builders and only their small results come back. The one write it offers is a
derived table (an ablation's rewritten training data) into a scratch folder the caller owns,
in the format and layout of the input it derives from, never over the input itself.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from workbench.data import queries
from workbench.data.formats import FORMATS, SUPPORTED_TEXT, Layout, resolve, targets
from workbench.exceptions import DataVersionError


class Snapshots:
    """Read-only views of data inputs on one connection (a context manager)."""

    def __init__(self) -> None:
        self.con = duckdb.connect(":memory:")

    def __enter__(self) -> Snapshots:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection."""
        self.con.close()

    def layout(self, path: str | Path) -> Layout:
        """Shape, format and (for CSV) the dialect of a data input, sniffed by DuckDB."""
        files, fmt, shape = resolve(path)
        if fmt.kind != "csv":
            return Layout(shape, fmt, tuple(files))
        q = queries.csv_dialect(str(files[0]))
        try:
            (delimiter, quote, header), = self.con.execute(q.text, q.params).fetchall()
        except duckdb.Error as exc:
            raise DataVersionError(f"The CSV file {str(files[0])!r} cannot be read: "
                                   f"{_first_line(exc)}") from exc
        quote = quote if isinstance(quote, str) and len(quote) == 1 else '"'
        return Layout(shape, fmt, tuple(files), delimiter=delimiter or ",", quote=quote,
                      header=bool(header))

    def register(self, data: Layout, view: str, text: bool = False) -> dict[str, str]:
        """Register an input as a view (text=True: CSV columns as written, no type guessing);
        returns its schema."""
        names = [str(f) for f in data.files]
        try:
            if data.format.kind == "parquet":
                rel = self.con.read_parquet(names, union_by_name=True)
            else:
                rel = self.con.read_csv(names, union_by_name=True, all_varchar=text,
                                        sep=data.delimiter, quotechar=data.quote,
                                        header=data.header)
            rel.create_view(view, replace=True)
        except duckdb.Error as exc:
            raise DataVersionError(f"The data input {str(data.files[0])!r} cannot be read as "
                                   f"{data.format.suffix.lstrip('.')}: {_first_line(exc)}") from exc
        return self.schema(view)

    def open(self, path: str | Path, view: str = "reference") -> dict[str, str]:
        """Register a data input with DuckDB's own type detection; returns its schema."""
        files, fmt, _ = resolve(path)
        names = [str(f) for f in files]
        try:
            rel = (self.con.read_parquet(names, union_by_name=True) if fmt.kind == "parquet"
                   else self.con.read_csv(names, union_by_name=True))
            rel.create_view(view, replace=True)
        except duckdb.Error as exc:
            raise DataVersionError(f"The data input {str(path)!r} cannot be read as "
                                   f"{fmt.kind}: {_first_line(exc)}") from exc
        return self.schema(view)

    def schema(self, view: str) -> dict[str, str]:
        """Column name -> DuckDB type of a registered view."""
        rel = self.con.view(view)
        return {name: str(t) for name, t in zip(rel.columns, rel.types, strict=True)}

    def run(self, q: queries.Sql, what: str = "Summarising a data input") -> pd.DataFrame:
        """The (small) result of a query; DataVersionError saying what failed."""
        try:
            return self.con.execute(q.text, q.params).df()
        except duckdb.Error as exc:
            raise DataVersionError(f"{what} failed: {_first_line(exc)}") from exc

    def write_like(self, q: queries.Sql, like: Layout, dest: Path) -> Path:
        """Write a query's rows in the format and layout of `like` under `dest` (a scratch path
        without suffix); returns the path to hand a pipeline."""
        fmt = like.format
        if (fmt.kind, fmt.compression) not in set(FORMATS.values()):
            raise DataVersionError(f"Cannot write {fmt.suffix.lstrip('.')} files; derived "
                                   f"tables are written as {SUPPORTED_TEXT}.")
        target, handed = targets(like, dest)
        if any(target.resolve() == f.resolve() for f in like.files):
            raise DataVersionError(f"Refusing to overwrite the data input {str(target)!r}; "
                                   f"derived tables go to a scratch folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            rel = self.con.sql(q.text, params=q.params)
            if fmt.kind == "parquet":
                rel.write_parquet(str(target))
            else:
                rel.write_csv(str(target), sep=like.delimiter, quotechar=like.quote,
                              header=like.header, compression=fmt.compression or "none")
        except duckdb.Error as exc:
            raise DataVersionError(f"Writing the derived table {str(target)!r} failed: "
                                   f"{_first_line(exc)}") from exc
        return handed


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
