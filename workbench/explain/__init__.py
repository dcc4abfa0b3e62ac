"""Failing records explained: model adapters, SHAP drill-down, attribution drift and what-if.

Typical use::

    from workbench.explain import adapter_for, explain_failing
    with LogStore(incident) as store:
        result = explain_failing(store, "fp", start=..., end=..., limit=50)

The model comes from the incident's [model] section through an adapter (skops, trusted pickle,
LightGBM text, XGBoost JSON/UBJSON); records are selected in SQL; SHAP runs on explicit seeded
samples only.
"""

from workbench.explain.adapters import (
    LightGBMAdapter,
    ModelAdapter,
    SklearnAdapter,
    XGBoostAdapter,
    adapter_for,
    load_model,
)
from workbench.explain.attribution import attribution_drift, attribution_evidence
from workbench.explain.errors import (
    ExplanationError,
    FeatureMismatchError,
    MissingExtraError,
    ModelLoadError,
    UntrustedModelError,
)
from workbench.explain.records import (
    ReferenceProfile,
    explain_failing,
    nearest_correct,
    parse_segment,
    select_failing,
)
from workbench.explain.results import (
    AttributionDrift,
    AttributionShift,
    ExplainerInfo,
    FailingRecords,
    FeatureContribution,
    Neighbour,
    RecordExplanation,
    WhatIf,
    WhatIfRecord,
)
from workbench.explain.sampling import reference_background, window_sample
from workbench.explain.shap_values import ShapValues, clear_cache, explain_rows
from workbench.explain.whatif import what_if

__all__ = [
    "AttributionDrift",
    "AttributionShift",
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
    "UntrustedModelError",
    "WhatIf",
    "WhatIfRecord",
    "XGBoostAdapter",
    "adapter_for",
    "attribution_drift",
    "attribution_evidence",
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
