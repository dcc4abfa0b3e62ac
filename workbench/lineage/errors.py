"""Errors of the lineage package, as subclasses of the project's exception types."""

from __future__ import annotations

from workbench.exceptions import DataSourceError, InvalidInputError, WorkbenchError


class ManifestError(InvalidInputError):
    """A run manifest is missing, malformed, or of a schema version this workbench cannot read."""


class DataVersionError(DataSourceError):
    """A data input of a manifest is gone or no longer holds the recorded version."""


class GitError(WorkbenchError):
    """A git command on the pipeline's repository failed (missing commit, not a repository)."""


class RunFailedError(WorkbenchError):
    """A re-run of the training pipeline raised or produced no metrics."""
