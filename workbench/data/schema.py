"""Column roles of a prediction log, resolved and validated against the sources' real schemas."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from workbench.exceptions import ColumnNotFoundError

NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL",
)
TIME_TYPES = (
    "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS",
    "TIMESTAMP_S", "TIMESTAMPTZ_NS", "TIMESTAMP_NS WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE_NS",
)
INTEGER_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT",
)
TEXT_TYPES = ("VARCHAR", "STRING", "TEXT")


class ColumnKind(StrEnum):
    """How a feature is binned and compared."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


def is_numeric(duck_type: str) -> bool:
    """True for DuckDB numeric types (DECIMAL(p,s) included)."""
    return duck_type.upper().split("(")[0] in NUMERIC_TYPES


def is_time(duck_type: str) -> bool:
    """True for DuckDB timestamp and date types."""
    return duck_type.upper() in TIME_TYPES


def is_integer(duck_type: str) -> bool:
    """True for DuckDB integer types."""
    return duck_type.upper() in INTEGER_TYPES


def is_text(duck_type: str) -> bool:
    """True for DuckDB string types."""
    return duck_type.upper() in TEXT_TYPES


def is_nested(duck_type: str) -> bool:
    """True for DuckDB types that hold several values per row (LIST, ARRAY, STRUCT, MAP, UNION):
    they cannot be binned, compared or used as a role."""
    upper = duck_type.upper()
    return upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION"))


def is_binnable(duck_type: str) -> bool:
    """True for types a feature can have: numbers, booleans, text, categories and times."""
    upper = duck_type.upper()
    return not is_nested(upper) and not upper.startswith(("BLOB", "BIT", "INTERVAL", "UUID"))


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL; only ever called on names checked against a real schema."""
    return '"' + name.replace('"', '""') + '"'


def check_column(name: str, schema: dict[str, str], role: str, source: str,
                 fix: str = "Fix the column name in the incident config.") -> str:
    """Return the quoted identifier for name, or raise naming the role, source and close matches."""
    if name in schema:
        return quote_ident(name)
    close = difflib.get_close_matches(name, list(schema), n=3, cutoff=0.5)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    raise ColumnNotFoundError(
        f"Column {name!r} (the {role}) is not in {source}.{hint} "
        f"Available columns: {', '.join(list(schema)[:30])}"
        f"{' ...' if len(schema) > 30 else ''}. {fix}"
    )


@dataclass(frozen=True)
class FeatureSpec:
    """A model input compared between production and reference."""

    name: str
    kind: ColumnKind
    production_type: str
    reference_type: str | None

    @property
    def in_reference(self) -> bool:
        """Whether the reference data has this column."""
        return self.reference_type is not None


@dataclass(frozen=True)
class Roles:
    """Resolved column roles of the production log (names as in the source)."""

    timestamp: str
    prediction: str
    task: str
    decision: str | None
    label: str | None
    model_version: str | None
    id: str | None
    latency: str | None
    status: str | None
    segments: tuple[str, ...]
    features: tuple[FeatureSpec, ...]
    reference_label: str | None

    def feature(self, name: str) -> FeatureSpec:
        """Look up a feature by name, with a helpful error."""
        for spec in self.features:
            if spec.name == name:
                return spec
        schema = {f.name: f.production_type for f in self.features}
        check_column(name, schema, "feature", "the incident's features")
        raise AssertionError("unreachable")

    @property
    def has_labels(self) -> bool:
        """Whether ground truth is logged."""
        return self.label is not None
