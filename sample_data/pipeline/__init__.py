"""The sample lineage scenario: a fraud training pipeline with a code bug and a data bug.

`build_sample(folder)` writes a scratch git repository with 14 commits of the pipeline (commit 8
caps the `ratio` feature), six data snapshots (from the fifth on, one segment is mislabeled), a
fixed evaluation set and the manifests of models trained from them. See build.py for the layout.
"""

from sample_data.pipeline.build import (
    BAD_CODE,
    BAD_DATA,
    GOOD,
    SampleRepo,
    app_runs,
    build_sample,
    load_sample,
)

__all__ = ["BAD_CODE", "BAD_DATA", "GOOD", "SampleRepo", "app_runs", "build_sample",
           "load_sample"]
