"""Failing records explained: model adapters, SHAP drill-down, attribution drift and what-if.

Typical use::

    from workbench.explain import adapter_for, explain_failing
    with LogStore(incident) as store:
        result = explain_failing(store, "fp", start=..., end=..., limit=50)

The model comes from the incident's [model] section through an adapter (skops, trusted pickle,
LightGBM text, XGBoost JSON/UBJSON); records are selected in SQL; SHAP runs on explicit seeded
samples only.

Result types and errors import at once; everything that needs scikit-learn or SHAP is imported
on first use, so reading a result (or a diagnosis without a model) does not load them.
"""

from __future__ import annotations

import importlib
from typing import Any

from workbench.explain.errors import (
    ExplanationError,
    FeatureMismatchError,
    MissingExtraError,
    ModelLoadError,
    UnsupportedModelError,
    UntrustedModelError,
)
from workbench.explain.results import (
    AttributionDrift,
    AttributionShift,
    AttributionStatus,
    ExplainerInfo,
    FailingRecords,
    FeatureContribution,
    Neighbour,
    RecordExplanation,
    WhatIf,
    WhatIfRecord,
)

# Public names defined in modules that import scikit-learn or SHAP, by module.
_LAZY = {
    "workbench.explain.adapters": ("LightGBMAdapter", "ModelAdapter", "SklearnAdapter",
                                   "XGBoostAdapter", "adapter_for", "load_model"),
    "workbench.explain.attribution": ("BudgetedAttribution", "attribution_drift",
                                      "attribution_evidence", "budgeted_attribution"),
    "workbench.explain.budget": ("DEFAULT_BUDGET_SECONDS",),
    "workbench.explain.records": ("ReferenceProfile", "explain_failing", "nearest_correct",
                                  "parse_segment", "select_failing"),
    "workbench.explain.sampling": ("reference_background", "window_sample"),
    "workbench.explain.shap_values": ("ShapValues", "clear_cache", "explain_rows"),
    "workbench.explain.whatif": ("what_if",),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "AttributionDrift",
    "AttributionShift",
    "AttributionStatus",
    "BudgetedAttribution",
    "DEFAULT_BUDGET_SECONDS",
    "ExplainerInfo",
    "ExplanationError",
    "FailingRecords",
    "FeatureContribution",
    "FeatureMismatchError",
    "LightGBMAdapter",
    "MissingExtraError",
    "ModelAdapter",
    "ModelLoadError",
    "Neighbour",
    "RecordExplanation",
    "ReferenceProfile",
    "ShapValues",
    "SklearnAdapter",
    "UnsupportedModelError",
    "UntrustedModelError",
    "WhatIf",
    "WhatIfRecord",
    "XGBoostAdapter",
    "adapter_for",
    "attribution_drift",
    "attribution_evidence",
    "budgeted_attribution",
    "clear_cache",
    "explain_failing",
    "explain_rows",
    "load_model",
    "nearest_correct",
    "parse_segment",
    "reference_background",
    "select_failing",
    "what_if",
    "window_sample",
]


def __getattr__(name: str) -> Any:
    """Import the module defining a public name on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.explain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
