"""The project's exception types: each message names what was wrong, where, and what to do."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class InvalidInputError(ValueError, WorkbenchError):
    """A value given by the user (argument, window, option) is not acceptable."""


class ConfigError(InvalidInputError):
    """The incident config is malformed: unknown key, missing key, wrong type or bad value."""


class DataSourceError(InvalidInputError):
    """A data source cannot be used: missing file, missing column, wrong type or no rows."""


class DataVersionError(DataSourceError):
    """A data input of a manifest is gone or no longer holds the recorded version."""


class ColumnNotFoundError(DataSourceError):
    """A configured column does not exist in its source."""


class EmptyDataError(DataSourceError):
    """A source or a window holds no rows to analyse."""


class CacheError(WorkbenchError, OSError):
    """The diagnosis cache under $WORKBENCH_HOME cannot be read, written or cleared."""
