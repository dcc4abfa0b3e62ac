"""Errors of the explain package, each a subclass of the project's exception types.

A model that cannot be loaded is a config problem (`ConfigError`, exit code 2 in the CLI); a model
whose inputs do not match the log is a data-source problem; a model an exact SHAP algorithm cannot
read is an explanation problem the adapters handle by choosing another explainer.
"""

from __future__ import annotations

from workbench.exceptions import ConfigError, DataSourceError, WorkbenchError


class ModelLoadError(ConfigError):
    """The [model] file is missing, of an unknown format, corrupt or not a usable model."""


class UntrustedModelError(ModelLoadError):
    """Loading the file could run code the user has not said they trust (pickle, odd types)."""


class MissingExtraError(ModelLoadError):
    """The model format needs an optional package that is not installed."""


class FeatureMismatchError(DataSourceError):
    """The model's input features and the production log's columns disagree."""


class ExplanationError(WorkbenchError, RuntimeError):
    """SHAP values cannot be computed as asked for this model."""


class UnsupportedModelError(ExplanationError):
    """An exact SHAP algorithm cannot read this model; the caller picks another explainer."""
