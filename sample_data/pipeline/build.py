"""Build the sample lineage scenario: a scratch git repository, data snapshots, trained models.

    root/repo/                    git repository of the pipeline (HISTORY, 14 commits)
    root/data/snapshots/*.parquet transactions_v1 .. v6 (v5 and v6 carry the mislabeled segment)
    root/data/eval.parquet        the fixed evaluation set
    root/models/<version>/        model.skops + manifest.json, from actually training
    root/sample.json              what was built, and the ground truth

Models: v1.0 (commit 1, snapshot 1), v1.1 (commit 2, snapshot 2; the good run), v1.2 (commit 14,
snapshot 2; a code-only regression) and v1.1.1 (commit 2, snapshot 6; a data-only regression).
Commits carry fixed authors and dates, so their hashes are the same on every build.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from sample_data.lineage_sample import LineageSample, Scenario, git, identity
from sample_data.pipeline import snapshots as snap
from sample_data.pipeline.history import CULPRIT, HISTORY

SEED = 7
ENV_REPO = "WORKBENCH_TRACE_REPO"  # where the trace app builds the sample (default: a temp folder)
GOOD, BAD_CODE, BAD_DATA = "v1.1", "v1.2", "v1.1.1"
# version -> (commit number, snapshot number), both 1-based, in training order
MODELS = {"v1.0": (1, 1), GOOD: (2, 2), BAD_CODE: (len(HISTORY), 2), BAD_DATA: (2, 6)}
GIT_ENV = identity("Fraud Team", "fraud-team@example.com")


class SampleRepo(LineageSample):
    """Paths of a built sample and its ground truth."""

    culprit = CULPRIT
    bad_from = snap.MISLABELED_FROM  # the first snapshot with mislabeled rows
    bad_segment = snap.MISLABELED_SEGMENT
    runs = (("good", GOOD), ("bad_code", BAD_CODE), ("bad_data", BAD_DATA))


def build_sample(root: str | Path, progress: Callable[[str], None] | None = None,
                 versions: tuple[str, ...] = tuple(MODELS)) -> SampleRepo:
    """Build (or reuse, when root/sample.json exists) the sample scenario in root."""
    return SCENARIO.build(root, versions, progress)


def load_sample(root: str | Path) -> SampleRepo:
    """A sample built earlier in root."""
    return SampleRepo.load(root)


def app_runs() -> tuple[Path, tuple[Path, ...]]:
    """The sample's manifest folder and data snapshots for the trace app, built into
    $WORKBENCH_TRACE_REPO (reused when already built there) or a temporary folder removed at
    exit (see `widgets.trace.TraceState.from_build`)."""
    target = os.environ.get(ENV_REPO)
    if not target:
        target = tempfile.mkdtemp(prefix="trace-sample-")
        atexit.register(shutil.rmtree, target, True)  # a temporary sample lives with its process
    sample = build_sample(target)
    return sample.root / "models", sample.snapshots


def train(repo: Path, commit: str, train_data: Path, evaluation: Path, version: str,
          out: Path) -> Path:
    """Check out commit in the scratch repository and run its training script."""
    git(repo, "checkout", "-q", commit, env=GIT_ENV)
    cmd = [sys.executable, "-m", "fraudpipe.train", "--train", str(train_data), "--eval",
           str(evaluation), "--params", "params.json", "--seed", str(SEED), "--model-version",
           version, "--out", str(out)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Training {version} at {commit[:8]} failed:\n{proc.stderr[-2000:]}")
    return out / "manifest.json"


SCENARIO = Scenario(sample=SampleRepo, generate=snap.generate, history=HISTORY, env=GIT_ENV,
                    dates="2026-09-{:02d}T10:00:00+00:00", models=MODELS, record=train,
                    verb="training")
