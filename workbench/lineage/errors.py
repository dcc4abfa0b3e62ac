"""Errors of the lineage package, as subclasses of the project's exception types."""

from __future__ import annotations

from workbench.exceptions import DataVersionError, InvalidInputError, WorkbenchError

__all__ = ["DataVersionError", "GitError", "ManifestError", "RunFailedError"]


class ManifestError(InvalidInputError):
    """A run manifest is missing, malformed, or of a schema version this workbench cannot read."""


class GitError(WorkbenchError):
    """A git command on the pipeline's repository failed (missing commit, not a repository)."""


class RunFailedError(WorkbenchError):
    """A re-run of the training pipeline raised or produced no metrics."""
