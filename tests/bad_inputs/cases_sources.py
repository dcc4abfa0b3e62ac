"""Cases of unreadable or unexpected data files: empty, corrupt and truncated Parquet, header-only
and empty CSV, globs, folders and symlinks, DuckDB files, schema drift across files and nested
column types."""

from __future__ import annotations

import gzip

import pyarrow as pa

from tests.bad_inputs.base import (
    Builder,
    DuckTable,
    Link,
    base_log,
    base_reference,
    parquet_bytes,
)
from tests.bad_inputs.case import case

DATA_LAYER = "data layer"


def _log_as_csv_text(b: Builder, text: str) -> None:
    """Replace the production log by one CSV file of that text."""
    b.set_log(base_log().iloc[:0], parts=1, ext="csv")
    b.files["logs/part-0.csv"] = text


# ---- paths --------------------------------------------------------------------------------------

@case(error=("production log source", "missing/*.parquet", "matches no file"))
def glob_matches_nothing(b: Builder) -> None:
    """A glob that matches no file."""
    b.config["production"]["source"] = "missing/*.parquet"


@case(error=("reference data source", "train.parquet", "matches no file"))
def reference_file_missing(b: Builder) -> None:
    """A reference file that does not exist."""
    b.config["reference"]["source"] = "train.parquet"


@case(error=("logs.parquet", "folder"))
def source_is_a_directory(b: Builder) -> None:
    """A folder named like a Parquet file given as the source."""
    b.files["logs.parquet/part-0.parquet"] = base_log()
    b.config["production"]["source"] = "logs.parquet"


@case(error=("loop-a.parquet", "symbolic link"))
def source_is_a_symlink_loop(b: Builder) -> None:
    """A source that is a symlink loop (a -> b -> a)."""
    b.files["logs/loop-a.parquet"] = Link("loop-b.parquet")
    b.files["logs/loop-b.parquet"] = Link("loop-a.parquet")
    b.config["production"]["source"] = "logs/loop-a.parquet"


@case(error=("gone.parquet",))
def source_is_a_dangling_symlink(b: Builder) -> None:
    """A source that is a symlink to a missing file."""
    b.files["logs/gone.parquet"] = Link("deleted.parquet")
    b.config["production"]["source"] = "logs/gone.parquet"


# ---- Parquet ------------------------------------------------------------------------------------

@case(error=("part-1.parquet", "parquet"))
def parquet_empty_file(b: Builder) -> None:
    """A zero-byte Parquet file among the log's files."""
    b.files["logs/part-1.parquet"] = b""


@case(error=("part-1.parquet", "parquet"))
def parquet_corrupt(b: Builder) -> None:
    """A file with Parquet's magic bytes around garbage."""
    b.files["logs/part-1.parquet"] = b"PAR1" + bytes(range(256)) * 8 + b"PAR1"


@case(error=("part-1.parquet", "parquet"))
def parquet_truncated(b: Builder) -> None:
    """A Parquet file cut off half-way (a copy interrupted)."""
    data = parquet_bytes(base_log().iloc[1080:])
    b.files["logs/part-1.parquet"] = data[: len(data) // 2]


@case(error=("production log", "no rows"))
def parquet_without_rows(b: Builder) -> None:
    """Parquet files with a schema and no rows."""
    b.set_log(base_log().iloc[:0])


@case(exit=0, json={"rows": 1080})
def parquet_one_part_without_rows(b: Builder) -> None:
    """One of two log files holds no rows: the other is analysed."""
    log = base_log()
    b.files["logs/part-1.parquet"] = log.iloc[:0]


@case(error=("reference", "no rows"), absent=("psi",))
def reference_without_rows(b: Builder) -> None:
    """An empty reference: no skew can be ranked against nothing."""
    b.files["training.parquet"] = base_reference().iloc[:0]


# ---- CSV ----------------------------------------------------------------------------------------

@case(exit=0, json={"rows": 2160, "metric.name": "false_positive_rate"})
def csv_log(b: Builder) -> None:
    """The same log as CSV files."""
    b.set_log(base_log(), ext="csv")


@case(exit=0, json={"rows": 2160})
def csv_with_semicolons(b: Builder) -> None:
    """A CSV log separated by semicolons."""
    b.set_log(base_log().iloc[:0], parts=1, ext="csv")
    b.files["logs/part-0.csv"] = base_log().to_csv(index=False, sep=";")


@case(exit=0, json={"rows": 2160})
def csv_gzip(b: Builder) -> None:
    """A gzip-compressed CSV log."""
    b.set_log(base_log().iloc[:0], parts=1, ext="csv")
    del b.files["logs/part-0.csv"]
    b.files["logs/part-0.csv.gz"] = gzip.compress(base_log().to_csv(index=False).encode())
    b.config["production"]["source"] = "logs/*.csv.gz"


@case(error=("production log", "no rows"), absent=("VARCHAR", "not a timestamp"))
def csv_header_only(b: Builder) -> None:
    """A CSV log with its header and no rows."""
    _log_as_csv_text(b, ",".join(base_log().columns) + "\n")


@case(error=("part-0.csv", "empty"), absent=("column0",))
def csv_empty_file(b: Builder) -> None:
    """A zero-byte CSV log."""
    _log_as_csv_text(b, "")


@case(error=("reference", "no rows"), absent=("VARCHAR",))
def csv_reference_header_only(b: Builder) -> None:
    """A CSV reference with its header and no rows."""
    b.files["training.csv"] = ",".join(base_reference().columns) + "\n"
    del b.files["training.parquet"]
    b.config["reference"]["source"] = "training.csv"


@case(error=("part-0.csv", "amount", "duplicate"))
def csv_duplicate_column_names(b: Builder) -> None:
    """A CSV log with two columns named `amount`."""
    log = base_log()
    log.insert(3, "amount_2", log["amount"] * 2)
    text = log.to_csv(index=False).replace("amount_2", "amount", 1)
    _log_as_csv_text(b, text)


@case(exit=0, json={"metric.name": "false_positive_rate", "rows": 2160})
def csv_boolean_label(b: Builder) -> None:
    """A CSV log whose label is written true/false."""
    log = base_log()
    log["is_fraud"] = log["is_fraud"].map({0: "false", 1: "true"})
    b.set_log(log, ext="csv")


# ---- DuckDB -------------------------------------------------------------------------------------

@case(exit=0, json={"rows": 2160})
def duckdb_table(b: Builder) -> None:
    """The log as a table of a DuckDB file."""
    b.set_log(base_log().iloc[:0], parts=1)
    del b.files["logs/part-0.parquet"]
    b.files["warehouse.duckdb"] = DuckTable("predictions", base_log())
    b.config["production"]["source"] = "warehouse.duckdb:predictions"


@case(error=("table 'predicitons'", "warehouse.duckdb", "predictions"),
      absent=("column 'predicitons'",))
def duckdb_missing_table(b: Builder) -> None:
    """A DuckDB source naming a table the file lacks."""
    duckdb_table(b)
    b.config["production"]["source"] = "warehouse.duckdb:predicitons"


@case(error=("warehouse.duckdb",))
def duckdb_not_a_database(b: Builder) -> None:
    """A text file named like a DuckDB database."""
    duckdb_table(b)
    b.files["warehouse.duckdb"] = "this is not a database\n"


# ---- schema drift across files ------------------------------------------------------------------

@case(error=("part-2.parquet", "amount"))
def glob_column_renamed_in_the_last_file(b: Builder) -> None:
    """The last file of the glob renames `amount` (read silently as nulls today)."""
    b.set_log(base_log(), parts=3)
    b.files["logs/part-2.parquet"] = b.files["logs/part-2.parquet"].rename(
        columns={"amount": "amount_eur"})


@case(error=("part-1.parquet", "fraud_score"))
def glob_prediction_missing_in_the_last_file(b: Builder) -> None:
    """The last file of the glob lacks the prediction column."""
    b.files["logs/part-1.parquet"] = b.files["logs/part-1.parquet"].drop(columns="fraud_score")


# ---- nested types -------------------------------------------------------------------------------

def _with_nested(frame, kind: str) -> pa.Table:
    """The frame as Arrow plus a nested column: LIST `tags`, STRUCT `meta` or MAP `attrs`."""
    n = len(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if kind == "list":
        return table.append_column("tags", pa.array([["a", "b"][: i % 3] for i in range(n)],
                                                    pa.list_(pa.string())))
    if kind == "struct":
        return table.append_column("meta", pa.array([{"src": "web", "n": i % 5} for i in range(n)]))
    return table.append_column("attrs", pa.array([[("k", str(i % 4))] for i in range(n)],
                                                 pa.map_(pa.string(), pa.string())))


@case(error=("tags", "feature", "type"))
def list_column_configured_as_a_feature(b: Builder) -> None:
    """A LIST column named among the features."""
    b.set_log(_with_nested(base_log(), "list"), parts=1)
    b.files["training.parquet"] = _with_nested(base_reference(), "list")
    b.config["production"]["features"] = ["amount", "tags"]


@case(error=("attrs", "segment", "type"))
def map_column_configured_as_a_segment(b: Builder) -> None:
    """A MAP column named as a segment."""
    b.set_log(_with_nested(base_log(), "map"), parts=1)
    b.config["production"]["segments"] = ["country", "attrs"]


@case(error=("meta", "prediction", "STRUCT"))
def struct_column_as_the_prediction(b: Builder) -> None:
    """A STRUCT column named as the prediction."""
    b.set_log(_with_nested(base_log(), "struct"), parts=1)
    b.config["production"]["prediction"] = "meta"


@case(exit=0, notes=("meta",), json={"rows": 2160})
def struct_column_shared_with_the_reference(b: Builder) -> None:
    """A STRUCT column in log and reference, not configured as a feature: skipped with a note."""
    b.set_log(_with_nested(base_log(), "struct"), parts=1)
    b.files["training.parquet"] = _with_nested(base_reference(), "struct")


@case(exit=0, json={"rows": 2160})
def list_column_only_in_the_log(b: Builder) -> None:
    """A LIST column the reference lacks is not a feature and does not get in the way."""
    b.set_log(_with_nested(base_log(), "list"), parts=1)
