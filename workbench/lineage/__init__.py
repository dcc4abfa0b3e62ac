"""Tracing a regression to the data version or code commit that caused it.

Training scripts record a run manifest next to each model (`capture_manifest`); two manifests
are diffed (`diff_manifests`), then controlled re-runs swap factors from the good run into the
bad one (`trace`), bisect commits, data snapshots or config keys, and ablate features. The
names below are imported on first use, so the re-run worker (`workbench.lineage.driver`) starts
without loading DuckDB or pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "EntryPoint",
    "Manifest",
    "capture_manifest",
    "find_manifests",
    "load_manifest",
    "manifests_for_versions",
]


def __getattr__(name: str) -> Any:
    """The public names of the manifest module, imported when first asked for."""
    if name in __all__:
        return getattr(importlib.import_module("workbench.lineage.manifest"), name)
    raise AttributeError(f"module 'workbench.lineage' has no attribute {name!r}")
