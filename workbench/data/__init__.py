"""The one query layer over DuckDB: every read of logs, reference data and change logs goes here."""

from workbench.data.schema import ColumnKind, FeatureSpec, Roles
from workbench.data.store import LogStore, TimeSpan, Window

__all__ = ["ColumnKind", "FeatureSpec", "LogStore", "Roles", "TimeSpan", "Window"]
