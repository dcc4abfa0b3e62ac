"""The house price lineage scenario: a regression pipeline with a code bug and a data bug.

`build_house_sample(folder)` writes a scratch git repository with 10 commits of the pipeline
(commit 6 rounds the living area), four CSV snapshots of the sales table (from the third on,
one neighbourhood's prices are recorded in thousands), a fixed evaluation set and the manifests
of four runs captured from the command line. See build.py for the layout.
"""

from sample_data.house_prices_pipeline.build import (
    BAD_BOTH,
    BAD_CODE,
    BAD_DATA,
    GOOD,
    HouseSample,
    build_house_sample,
    load_house_sample,
)

__all__ = ["BAD_BOTH", "BAD_CODE", "BAD_DATA", "GOOD", "HouseSample", "build_house_sample",
           "load_house_sample"]
