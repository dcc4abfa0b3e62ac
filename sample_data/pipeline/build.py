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

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sample_data.pipeline import snapshots as snap
from sample_data.pipeline.history import CULPRIT, HISTORY, Files
from workbench.exceptions import InvalidInputError

SEED = 7
GOOD, BAD_CODE, BAD_DATA = "v1.1", "v1.2", "v1.1.1"
# version -> (commit number, snapshot number), both 1-based, in training order
MODELS = {"v1.0": (1, 1), GOOD: (2, 2), BAD_CODE: (len(HISTORY), 2), BAD_DATA: (2, 6)}
GIT_ENV = {"GIT_AUTHOR_NAME": "Fraud Team", "GIT_AUTHOR_EMAIL": "fraud-team@example.com",
           "GIT_COMMITTER_NAME": "Fraud Team", "GIT_COMMITTER_EMAIL": "fraud-team@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


@dataclass(frozen=True)
class SampleRepo:
    """Paths of a built sample and its ground truth."""

    root: Path
    repo: Path
    commits: tuple[str, ...]  # oldest first
    snapshots: tuple[Path, ...]  # oldest first
    evaluation: Path
    manifests: dict[str, Path]  # model version -> manifest.json

    @property
    def culprit_commit(self) -> str:
        """The commit that introduced the bug."""
        return self.commits[CULPRIT - 1]

    @property
    def bad_snapshot(self) -> Path:
        """The first snapshot with mislabeled rows."""
        return self.snapshots[snap.MISLABELED_FROM - 1]

    @property
    def segment(self) -> str:
        """The mislabeled segment as column=level."""
        return "=".join(snap.MISLABELED_SEGMENT)

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
                "bad_data": BAD_DATA}


def build_sample(root: str | Path, progress: Callable[[str], None] | None = None,
                 versions: tuple[str, ...] = tuple(MODELS)) -> SampleRepo:
    """Build (or reuse, when root/sample.json exists) the sample scenario in root."""
    say = progress or (lambda _msg: None)
    root = Path(root).resolve()
    done = root / "sample.json"
    if done.is_file():
        return load_sample(root)
    if root.exists() and any(root.iterdir()):
        raise InvalidInputError(f"{root} is not empty and holds no sample.json; build the "
                                f"sample into an empty or new folder.")
    say("writing data snapshots")
    paths, evaluation = snap.generate(root / "data")
    say(f"committing {len(HISTORY)} commits of the pipeline")
    repo = root / "repo"
    commits = build_repo(repo)
    manifests = {}
    for version in versions:
        commit_no, snapshot_no = MODELS[version]
        say(f"training {version} (commit {commit_no}, snapshot v{snapshot_no})")
        manifests[version] = train(repo, commits[commit_no - 1], paths[snapshot_no - 1],
                                   evaluation, version, root / "models" / version)
    _git(repo, "checkout", "-q", "main")
    sample = SampleRepo(root=root, repo=repo, commits=tuple(commits), snapshots=tuple(paths),
                        evaluation=evaluation, manifests=manifests)
    done.write_text(json.dumps(sample.to_dict(), indent=2) + "\n", encoding="utf-8")
    return sample


def load_sample(root: str | Path) -> SampleRepo:
    """A sample built earlier in root."""
    root = Path(root).resolve()
    d = json.loads((root / "sample.json").read_text(encoding="utf-8"))
    return SampleRepo(root=root, repo=Path(d["repo"]), commits=tuple(d["commits"]),
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
        date = f"2026-09-{number:02d}T10:00:00+00:00"
        _git(repo, "commit", "-q", "-m", commit.message,
             env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        shas.append(_git(repo, "rev-parse", "HEAD").strip())
    return shas


def train(repo: Path, commit: str, train_data: Path, evaluation: Path, version: str,
          out: Path) -> Path:
    """Check out commit in the scratch repository and run its training script."""
    _git(repo, "checkout", "-q", commit)
    cmd = [sys.executable, "-m", "fraudpipe.train", "--train", str(train_data), "--eval",
           str(evaluation), "--params", "params.json", "--seed", str(SEED), "--model-version",
           version, "--out", str(out)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"Training {version} at {commit[:8]} failed:\n{proc.stderr[-2000:]}")
    return out / "manifest.json"


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout
