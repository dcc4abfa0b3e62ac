"""The engine seam under `LogStore`: where the SQL the query layer builds is run.

An engine registers an incident's sources as named views, describes their schema in DuckDB's
type names (which `workbench.data.schema` reads), runs a built `Sql` and returns its small
result as a pandas frame, and streams a window's rows in batches for a replay. `LogStore`
decides what to ask; the engine only knows how. Two engines exist: DuckDB in process (the
default) and Spark (`workbench.data.spark`), chosen by `[engine] kind` in the incident config.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from workbench.config import EngineSection, Incident, SourceSpec
from workbench.data import queries, remote
from workbench.data.files import check_csv_headers, source_files
from workbench.data.queries import Sql
from workbench.exceptions import DataSourceError, WorkbenchError


class EngineNotSupportedError(WorkbenchError):
    """The chosen engine cannot do what was asked (a source kind, a query) yet."""


class Engine(Protocol):
    """What `LogStore` needs of a query engine."""

    kind: str

    def register(self, view: str, spec: SourceSpec, what: str) -> None:
        """Register a source as view `view`; DataSourceError naming it when unreadable."""

    def schema(self, view: str) -> dict[str, str]:
        """Column name -> DuckDB type name of a registered view."""

    def run(self, q: Sql) -> pd.DataFrame:
        """Run a query and return its (small) result."""

    def execute(self, q: Sql) -> None:
        """Run a statement that returns nothing (CREATE VIEW)."""

    def set_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """(Re)create a small temporary table of text columns holding `rows`."""

    def batches(self, q: Sql, batch_rows: int) -> Iterator[pd.DataFrame]:
        """A query's rows as frames of at most `batch_rows` rows, out of core."""

    def metadata_connection(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection for reading local files' metadata (footers, headers)."""

    def close(self) -> None:
        """Release the engine's resources."""


# Errors a query's data causes (a value that does not convert, a file that changed under us).
DUCKDB_DATA_ERRORS = (duckdb.ConversionException, duckdb.InvalidInputException,
                      duckdb.IOException)


class DuckDBEngine:
    """One in-memory DuckDB connection; sources are read out of core through views."""

    kind = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(queries.set_threads(threads or os.cpu_count() or 2).text)
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute("SET memory_limit = $m", {"m": memory_limit})
        self._attached: dict[str, str] = {}

    def register(self, view: str, spec: SourceSpec, what: str) -> None:
        try:
            if spec.kind == "duckdb":
                rel = self._attach_table(view, spec)
            else:
                if spec.remote:
                    remote.prepare(self.con, spec.path, what)
                files = source_files(spec, what)
                if spec.kind == "parquet":
                    rel = self.con.read_parquet(files, union_by_name=True,
                                                hive_partitioning=spec.folder is not None)
                else:
                    check_csv_headers(files, spec, what)
                    q = queries.read_csv(list(spec.csv_options))
                    rel = self.con.sql(q.text, params={**q.params, "files": files})
            rel.create_view(view, replace=True)
            self.con.execute(queries.view_query("probe", view).text)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise DataSourceError(
                f"The {what} {spec.describe()!r} cannot be read as {spec.kind}: {first}. "
                f"Check that the file is complete and of that format."
            ) from exc

    def _attach_table(self, view: str, spec: SourceSpec) -> duckdb.DuckDBPyRelation:
        """Attach a DuckDB file read-only and return a relation over the named table."""
        if not Path(spec.path).is_file():
            raise DataSourceError(f"The {view} source file {spec.path!r} does not exist.")
        key = str(Path(spec.path).resolve())
        alias = self._attached.get(key)
        if alias is None:
            alias = f"src_{len(self._attached)}"
            self.con.execute(queries.attach_read_only(key, alias).text)
            self._attached[key] = alias
        tables = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = $db "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = $db",
            {"db": alias},
        ).fetchall()
        names = {row[0]: "TABLE" for row in tables}
        if (spec.table or "") not in names:
            close = difflib.get_close_matches(spec.table or "", list(names), n=3, cutoff=0.5)
            hint = f" Close matches: {', '.join(close)}." if close else ""
            raise DataSourceError(
                f"The DuckDB file {spec.path!r} has no table {spec.table!r}.{hint} Tables: "
                f"{', '.join(sorted(names)) or 'none'}. Fix the 'file.duckdb:table' source.")
        return self.con.sql(queries.attached_table(alias, spec.table or "").text)

    def schema(self, view: str) -> dict[str, str]:
        rows = self.con.execute(queries.view_query("describe", view).text).fetchall()
        return {r[0]: str(r[1]) for r in rows}

    def run(self, q: Sql) -> pd.DataFrame:
        return self.con.execute(q.text, q.params).df()

    def execute(self, q: Sql) -> None:
        self.con.execute(q.text, q.params or None)

    def set_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        assert table == queries.POSITIVE_TABLE  # a fixed name, never user text
        create, insert = queries.positive_table(columns)
        # A table of the in-memory database, not TEMP: the cursors `batches` opens see it too.
        self.con.execute(create.text)
        for row in rows:
            self.con.execute(insert.text, {f"v{i}": v for i, v in enumerate(row)})

    def batches(self, q: Sql, batch_rows: int) -> Iterator[pd.DataFrame]:
        cursor = self.con.cursor()  # a cursor of its own: the store stays usable meanwhile
        try:
            reader = cursor.sql(q.text, params=q.params).to_arrow_reader(int(batch_rows))
            for batch in reader:
                yield batch.to_pandas()
        finally:
            cursor.close()

    def metadata_connection(self) -> duckdb.DuckDBPyConnection:
        return self.con

    def close(self) -> None:
        self.con.close()


def data_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """The exception types of `engine` that mean the data (not the query) is at fault."""
    if engine.kind == "duckdb":
        return DUCKDB_DATA_ERRORS
    from workbench.data.spark import SPARK_DATA_ERRORS

    return SPARK_DATA_ERRORS


def connect(incident: Incident, *, threads: int | None = None,
            memory_limit: str | None = None, **options: Any) -> Engine:
    """The engine the incident's [engine] section asks for."""
    section: EngineSection = incident.engine
    if section.kind == "spark":
        from workbench.data.spark import SparkEngine

        return SparkEngine(master=section.master, conf=dict(section.conf), **options)
    return DuckDBEngine(threads=threads, memory_limit=memory_limit)
