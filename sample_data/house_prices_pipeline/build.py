"""Build the house price lineage scenario: a scratch git repository, CSV snapshots, run manifests.

    root/repo/                          git repository of the pipeline (HISTORY, 10 commits)
    root/data/snapshots/house_sales_vN.csv  four snapshots (v3 and v4 carry the export bug)
    root/data/eval.csv                  the fixed evaluation set
    root/models/<version>/manifest.json recorded with `workbench manifest capture --run`
    root/sample.json                    what was built, and the ground truth

Runs: v1.0 (commit 2, snapshot 1; the good run), v1.1 (commit 10, snapshot 1; a code-only
regression), v1.0.1 (commit 2, snapshot 4; a data-only regression) and v1.2 (commit 10,
snapshot 4; code and data changed together, as when retraining at HEAD on new data). Manifests
are captured the way a user would, from the command line (`--out models/v1.2` is a folder),
with the numeric label `sale_price` and the primary metric's direction declared.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from sample_data.house_prices_pipeline import snapshots as snap
from sample_data.house_prices_pipeline.history import CULPRIT, HISTORY
from sample_data.lineage_sample import LineageSample, Scenario, git, identity

SEED = 7
GOOD, BAD_CODE, BAD_DATA, BAD_BOTH = "v1.0", "v1.1", "v1.0.1", "v1.2"
# version -> (commit number, snapshot number), both 1-based
MODELS = {GOOD: (2, 1), BAD_CODE: (len(HISTORY), 1), BAD_DATA: (2, snap.SNAPSHOTS),
          BAD_BOTH: (len(HISTORY), snap.SNAPSHOTS)}
PRIMARY, DIRECTION, LABEL = "rmse", "lower", "sale_price"
FEATURES = ("living_area_m2", "lot_area_m2", "bedrooms", "bathrooms", "overall_quality",
            "year_built", "neighbourhood")
GIT_ENV = identity("Pricing Team", "pricing@example.com")


class HouseSample(LineageSample):
    """Paths of a built house price sample and its ground truth."""

    culprit = CULPRIT  # rounds the living area
    bad_from = snap.IN_THOUSANDS_FROM  # prices in thousands
    bad_segment = snap.IN_THOUSANDS
    runs = (("good", GOOD), ("bad_code", BAD_CODE), ("bad_data", BAD_DATA),
            ("bad_both", BAD_BOTH))


def build_house_sample(root: str | Path, versions: tuple[str, ...] = tuple(MODELS)) -> HouseSample:
    """Build (or reuse, when root/sample.json exists) the house price scenario in root."""
    return SCENARIO.build(root, versions)


def load_house_sample(root: str | Path) -> HouseSample:
    """A sample built earlier in root."""
    return HouseSample.load(root)


def capture(repo: Path, commit: str, train: Path, evaluation: Path, version: str,
            out: Path) -> Path:
    """Check out commit and record its run with `workbench manifest capture --run`."""
    from workbench.cli import main

    git(repo, "checkout", "-q", commit, env=GIT_ENV)
    argv = ["manifest", "capture", "--out", str(out), "--entry", "housepipe.train:run",
            "--repo", str(repo), "--data", f"train={train}", "--data", f"eval={evaluation}",
            "--config", str(repo / "params.json"), "--seed", str(SEED), "--run",
            "--primary-metric", PRIMARY, "--metric-direction", DIRECTION, "--label", LABEL,
            "--model-version", version, "--features", ",".join(FEATURES)]
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"Recording {version} at {commit[:8]} failed: {errors.getvalue()}")
    return Path(printed.getvalue().strip())


SCENARIO = Scenario(sample=HouseSample, generate=snap.generate, history=HISTORY, env=GIT_ENV,
                    dates="2026-10-{:02d}T09:00:00+00:00", models=MODELS, record=capture,
                    verb="recording")
