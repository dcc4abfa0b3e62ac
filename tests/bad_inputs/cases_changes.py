"""Cases of a bad change log: missing columns, unknown kinds, unparseable times, empty files."""

from __future__ import annotations

from tests.bad_inputs.base import Builder, base_changes
from tests.bad_inputs.case import case

DATA_LAYER = "data layer"


@case(error=("changes.csv", "kind"))
def changes_missing_a_column(b: Builder) -> None:
    """A change log without its `kind` column."""
    b.files["changes.csv"] = base_changes().drop(columns="kind")


@case(error=("changes.csv", "deploy", "upstream"))
def changes_unknown_kind(b: Builder) -> None:
    """A change of a kind outside the vocabulary."""
    changes = base_changes()
    changes.loc[1, "kind"] = "deploy"
    b.files["changes.csv"] = changes


@case(error=("changes.csv", "kind", "CHG-2"), absent=("nan", "None"))
def changes_kind_missing_in_a_row(b: Builder) -> None:
    """A change whose kind is left empty."""
    changes = base_changes()
    changes.loc[1, "kind"] = None
    b.files["changes.csv"] = changes


@case(error=("changes.csv", "time", "last tuesday"))
def changes_unparseable_time(b: Builder) -> None:
    """A change whose time is written in words (a cast error escapes as a traceback today)."""
    changes = base_changes()
    changes.loc[1, "time"] = "last tuesday"
    b.files["changes.csv"] = changes


@case(error=("changes", "gone.csv", "matches no file"))
def changes_file_missing(b: Builder) -> None:
    """A change log that does not exist."""
    b.config["changes"]["source"] = "gone.csv"


@case(exit=0, json={"changes": []})
def changes_header_only(b: Builder) -> None:
    """A change log with its header and no change: nothing changed."""
    b.files["changes.csv"] = "time,id,kind,description\n"


@case(error=("changes.csv", "empty"), absent=("column0",))
def changes_empty_file(b: Builder) -> None:
    """A zero-byte change log."""
    b.files["changes.csv"] = ""


@case(exit=0, check=lambda doc: _change_times(doc, "2026-03-03T08:00:00Z"))
def changes_time_with_an_offset(b: Builder) -> None:
    """Change times with a UTC offset are converted to UTC."""
    changes = base_changes()
    changes.loc[0, "time"] = "2026-03-03T10:00:00+02:00"
    b.files["changes.csv"] = changes


def _change_times(doc: dict, expected: str) -> None:
    """The change log's first change is at `expected`."""
    times = sorted(c["time"] for c in doc["changes"])
    assert times and times[0] == expected, doc["changes"]
