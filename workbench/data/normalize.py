"""How a log's raw columns become the normalised `production` view every query reads.

Logs arrive in many flavours: timestamps as Parquet TIMESTAMP in s/ms/µs/ns, tz-aware in any
zone, INT96, DATE, ISO-8601 text with or without offsets, or integer epochs; labels as 0/1,
booleans or strings such as "fraud"/"legit". The store profiles the raw columns once and picks a
rule per role here (pure decisions, no SQL); `queries.normalised_view` turns the rules into one
view whose timestamp is a naive-UTC TIMESTAMP and whose label and decision are 0/1 numbers, so
every later query, whatever the flavour, sees the same values and gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from workbench.data.schema import is_numeric, is_text, is_time
from workbench.exceptions import DataSourceError

# Integer epochs: the unit whose reading of the largest |value| lands in a plausible year.
EPOCH_SCALE = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}  # to microseconds
PLAUSIBLE_YEARS = (1990, 2100)
# Text label pairs understood without a `positive` key (lower-cased): (positive, negative).
KNOWN_PAIRS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"), ("1", "0"),
               ("positive", "negative"), ("pos", "neg"))


@dataclass(frozen=True)
class TimeRule:
    """How the timestamp column becomes a naive-UTC TIMESTAMP.

    kind: "timestamp" (already one), "cast" (another precision, or DATE), "tz" / "tz_ns"
    (tz-aware: the instant is kept, the zone dropped), "text" (ISO-8601 strings; without an
    offset taken as UTC) or "epoch" (integer or fractional epoch in `unit`).
    """

    kind: str
    unit: str | None = None


@dataclass(frozen=True)
class BinaryRule:
    """How a label or decision column becomes 0/1 (NULL stays NULL: not known yet).

    kind: "number" (numeric values; 1 when equal to `positive`, or > 0.5 when positive is None),
    "boolean" or "text" (1 when the text equals `positive`, compared case-sensitively unless
    `fold_case`).
    """

    kind: str
    positive: str | None = None
    fold_case: bool = False


def time_kind(duck_type: str) -> str | None:
    """The TimeRule kind for a column type, "epoch" for numbers, None when unusable."""
    upper = duck_type.upper()
    if upper in ("TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE"):
        return "timestamp"
    if upper in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return "tz"
    if upper.startswith("TIMESTAMPTZ_NS") or upper.startswith("TIMESTAMP_NS WITH"):
        return "tz_ns"
    if is_time(upper):
        return "cast"
    if is_text(upper):
        return "text"
    if is_numeric(upper):
        return "epoch"
    return None


def epoch_unit(column: str, low: float | None, high: float | None, configured: str | None,
               where: str) -> str:
    """The unit of an epoch column: the configured one, else the one under which every value
    falls in a plausible year; raise naming the column when none or several fit."""
    if configured is not None:
        return configured
    if low is None or high is None:
        raise DataSourceError(
            f"Column {column!r} (the timestamp) in {where} holds no values. Point "
            f"[production] timestamp at the column with the event times.")
    fits = [unit for unit, scale in EPOCH_SCALE.items()
            if all(_plausible(value * scale) for value in (low, high))]
    if len(fits) == 1:
        return fits[0]
    seen = f"{low:.0f} .. {high:.0f}"
    raise DataSourceError(
        f"Column {column!r} (the timestamp) in {where} holds numbers ({seen}) whose epoch unit "
        f"cannot be told from their size. Set [production] timestamp_unit to one of "
        f"{', '.join(EPOCH_SCALE)}.")


def _plausible(micros: float) -> bool:
    low, high = (datetime(year, 1, 1) for year in PLAUSIBLE_YEARS)
    epoch = datetime(1970, 1, 1)
    return (low - epoch).total_seconds() * 1e6 <= micros <= (high - epoch).total_seconds() * 1e6


def binary_rule(column: str, role: str, duck_type: str, values: Sequence[str],
                positive: str | None, where: str) -> BinaryRule:
    """The 0/1 mapping of a label or decision column from its distinct non-null values (as
    text; at most a few beyond two are enough to refuse)."""
    if duck_type.upper() == "BOOLEAN":
        return BinaryRule("boolean")
    shown = ", ".join(repr(v) for v in list(values)[:6])
    if positive is not None:
        if len(values) > 2 or (values and positive not in values and len(values) == 2):
            raise DataSourceError(
                f"Column {column!r} (the {role}) in {where} holds values {shown}; a binary "
                f"{role} has two (positive = {positive!r} and one other). Map the others to "
                f"one of the two upstream, or to null where the outcome is not known yet.")
        return BinaryRule("number" if is_numeric(duck_type) else "text", positive)
    if is_numeric(duck_type):
        return BinaryRule("number")
    lowered = {v.lower() for v in values}
    for pos, neg in KNOWN_PAIRS:
        if lowered <= {pos, neg} and lowered:
            return BinaryRule("text", pos, fold_case=True)
    raise DataSourceError(
        f"Column {column!r} (the {role}) in {where} holds text values ({shown}). Say which one "
        f"means positive with [production] positive = \"{values[-1] if values else '…'}\" "
        f"(or log the {role} as 0/1 or a boolean).")


def numeric_label_problem(column: str, values: Sequence[float], counts: Sequence[int],
                          where: str) -> str:
    """Why numeric classification labels cannot be read as 0/1.

    values/counts: the most frequent distinct labels and how often each appears.
    """
    bad = [(v, n) for v, n in zip(values, counts, strict=True) if v not in (0, 1)]
    shown = ", ".join(f"{_number(v)} ({n} rows)" for v, n in bad[:5])
    return (f"Column {column!r} (the label) in {where} is a classification label but holds "
            f"values other than 0 and 1: {shown}. Fix them upstream (null means not known "
            f"yet), set [production] positive to the value that means positive, or set "
            f"[production] task = \"regression\" if the model predicts a number.")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)

