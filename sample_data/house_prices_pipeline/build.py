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
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sample_data.house_prices_pipeline import snapshots as snap
from sample_data.house_prices_pipeline.history import CULPRIT, HISTORY, Files
from workbench.exceptions import InvalidInputError

SEED = 7
GOOD, BAD_CODE, BAD_DATA, BAD_BOTH = "v1.0", "v1.1", "v1.0.1", "v1.2"
# version -> (commit number, snapshot number), both 1-based
MODELS = {GOOD: (2, 1), BAD_CODE: (len(HISTORY), 1), BAD_DATA: (2, snap.SNAPSHOTS),
          BAD_BOTH: (len(HISTORY), snap.SNAPSHOTS)}
PRIMARY, DIRECTION, LABEL = "rmse", "lower", "sale_price"
FEATURES = ("living_area_m2", "lot_area_m2", "bedrooms", "bathrooms", "overall_quality",
            "year_built", "neighbourhood")
GIT_ENV = {"GIT_AUTHOR_NAME": "Pricing Team", "GIT_AUTHOR_EMAIL": "pricing@example.com",
           "GIT_COMMITTER_NAME": "Pricing Team", "GIT_COMMITTER_EMAIL": "pricing@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


@dataclass(frozen=True)
class HouseSample:
    """Paths of a built house price sample and its ground truth."""

    root: Path
    repo: Path
    commits: tuple[str, ...]  # oldest first
    snapshots: tuple[Path, ...]  # oldest first
    evaluation: Path
    manifests: dict[str, Path]  # model version -> manifest.json

    @property
    def culprit_commit(self) -> str:
        """The commit that rounds the living area."""
        return self.commits[CULPRIT - 1]

    @property
    def bad_snapshot(self) -> Path:
        """The first snapshot with prices in thousands."""
        return self.snapshots[snap.IN_THOUSANDS_FROM - 1]

    @property
    def segment(self) -> str:
        """The segment recorded in thousands, as column=level."""
        return "=".join(snap.IN_THOUSANDS)

    def manifest(self, version: str) -> Path:
        """The manifest of a model version."""
        return self.manifests[version]

    def to_dict(self) -> dict:
        """JSON form, written to sample.json."""
        return {"repo": str(self.repo), "commits": list(self.commits),
                "snapshots": [str(p) for p in self.snapshots], "evaluation": str(self.evaluation),
                "manifests": {k: str(v) for k, v in self.manifests.items()},
                "culprit_commit": self.culprit_commit, "bad_snapshot": str(self.bad_snapshot),
                "segment": self.segment, "good": GOOD, "bad_code": BAD_CODE,
                "bad_data": BAD_DATA, "bad_both": BAD_BOTH}


def build_house_sample(root: str | Path, versions: tuple[str, ...] = tuple(MODELS)) -> HouseSample:
    """Build (or reuse, when root/sample.json exists) the house price scenario in root."""
    root = Path(root).resolve()
    if (root / "sample.json").is_file():
        return load_house_sample(root)
    if root.exists() and any(root.iterdir()):
        raise InvalidInputError(f"{root} is not empty and holds no sample.json; build the "
                                f"sample into an empty or new folder.")
    paths, evaluation = snap.generate(root / "data")
    repo = root / "repo"
    commits = build_repo(repo)
    manifests = {}
    for version in versions:
        commit_no, snapshot_no = MODELS[version]
        manifests[version] = capture(repo, commits[commit_no - 1], paths[snapshot_no - 1],
                                     evaluation, version, root / "models" / version)
    _git(repo, "checkout", "-q", "main")
    sample = HouseSample(root=root, repo=repo, commits=tuple(commits), snapshots=tuple(paths),
                         evaluation=evaluation, manifests=manifests)
    (root / "sample.json").write_text(json.dumps(sample.to_dict(), indent=2) + "\n",
                                      encoding="utf-8")
    return sample


def load_house_sample(root: str | Path) -> HouseSample:
    """A sample built earlier in root."""
    root = Path(root).resolve()
    d = json.loads((root / "sample.json").read_text(encoding="utf-8"))
    return HouseSample(root=root, repo=Path(d["repo"]), commits=tuple(d["commits"]),
                       snapshots=tuple(Path(p) for p in d["snapshots"]),
                       evaluation=Path(d["evaluation"]),
                       manifests={k: Path(v) for k, v in d["manifests"].items()})


def build_repo(repo: Path) -> list[str]:
    """Create the repository and commit HISTORY with fixed authors and dates."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    files: Files = {}
    shas = []
    for number, commit in enumerate(HISTORY, start=1):
        commit.change(files)
        for name, text in files.items():
            path = repo / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        _git(repo, "add", "-A")
        date = f"2026-10-{number:02d}T09:00:00+00:00"
        _git(repo, "commit", "-q", "-m", commit.message,
             env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        shas.append(_git(repo, "rev-parse", "HEAD").strip())
    return shas


def capture(repo: Path, commit: str, train: Path, evaluation: Path, version: str,
            out: Path) -> Path:
    """Check out commit and record its run with `workbench manifest capture --run`."""
    from workbench.cli import main

    _git(repo, "checkout", "-q", commit)
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


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout
