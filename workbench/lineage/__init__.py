"""Tracing a regression to the data version or code commit that caused it.

Training scripts record a run manifest next to each model (`capture_manifest`); two manifests
are diffed (`diff_manifests`), then controlled re-runs swap one factor at a time from the good
run into the bad one (`trace`), bisect commits or data snapshots, and ablate features.
"""

from workbench.lineage.manifest import (
    EntryPoint,
    Manifest,
    capture_manifest,
    find_manifests,
    load_manifest,
    manifests_for_versions,
)

__all__ = [
    "EntryPoint",
    "Manifest",
    "capture_manifest",
    "find_manifests",
    "load_manifest",
    "manifests_for_versions",
]
