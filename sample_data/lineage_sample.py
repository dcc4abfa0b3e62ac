"""What the lineage samples share: scripted commit histories, scratch repositories, snapshots."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, Self, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.exceptions import InvalidInputError

Files = dict[str, str]
Change = Callable[[Files], None]
# (repo, commit, train snapshot, evaluation set, model version, out folder) -> manifest.json
Record = Callable[[Path, str, Path, Path, str, Path], Path]
PARQUET_OPTIONS = {"compression": "snappy", "use_dictionary": True, "write_statistics": True}


# ---- commit histories -----------------------------------------------------------------------

@dataclass(frozen=True)
class Commit:
    """A commit: its message and how it changes the files."""

    message: str
    change: Change


def from_template(folder: Path, params: dict) -> Change:
    """The template package in folder, hyperparameters and ignore rules."""
    def change(files: Files) -> None:
        for path in sorted(folder.glob("*.py")):
            files[f"{folder.name}/{path.name}"] = path.read_text(encoding="utf-8")
        files["params.json"] = json.dumps(params, indent=2) + "\n"
        files[".gitignore"] = "__pycache__/\n*.pyc\nmodels/\n"
    return change


def edit(path: str, old: str, new: str) -> Change:
    """Replace one exact, unique piece of text in a file."""
    def change(files: Files) -> None:
        text = files[path]
        if text.count(old) != 1:
            raise AssertionError(f"{path}: expected one occurrence of {old!r}")
        files[path] = text.replace(old, new)
    return change


def both(*changes: Change) -> Change:
    """Several changes in one commit."""
    def change(files: Files) -> None:
        for one in changes:
            one(files)
    return change


def write(path: str, text: str) -> Change:
    """Create or overwrite a file."""
    def change(files: Files) -> None:
        files[path] = text
    return change


# ---- scratch repositories -------------------------------------------------------------------

def identity(name: str, email: str) -> dict[str, str]:
    """Git environment committing as name <email>, blind to the user's and system's config."""
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email, "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def git(repo: Path, *args: str, env: dict[str, str]) -> str:
    """Run git in repo with env over the process environment; its output."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **env})
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def commit_history(repo: Path, history: tuple[Commit, ...], env: dict[str, str],
                   dates: str) -> list[str]:
    """Create repo and commit history, commit n dated dates.format(n); the hashes, oldest first."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main", env=env)
    files: Files = {}
    shas = []
    for number, commit in enumerate(history, start=1):
        commit.change(files)
        for name, text in files.items():
            path = repo / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        git(repo, "add", "-A", env=env)
        date = dates.format(number)
        git(repo, "commit", "-q", "-m", commit.message,
            env={**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        shas.append(git(repo, "rev-parse", "HEAD", env=env).strip())
    return shas


# ---- data snapshots -------------------------------------------------------------------------

def growing_snapshots(draw: Callable[[int, int], pd.DataFrame], first_rows: int, more_rows: int,
                      count: int, bad_from: int,
                      corrupt: Callable[[pd.DataFrame], pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Snapshots 1..count of a table that grows by draw(rows, first id), corrupted from bad_from."""
    table = draw(first_rows, 0)
    for k in range(1, count + 1):
        if k > 1:
            table = pd.concat([table, draw(more_rows, len(table))], ignore_index=True)
        yield corrupt(table) if k >= bad_from else table


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write CSV or Parquet (by suffix) with fixed settings: the same frame, the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, lineterminator="\n")
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, **PARQUET_OPTIONS)
    return path


# ---- built samples --------------------------------------------------------------------------

@dataclass(frozen=True)
class LineageSample:
    """Paths of a built sample; a subclass names its code bug, data bug and runs."""

    culprit: ClassVar[int]  # 1-based number of the commit introducing the bug
    bad_from: ClassVar[int]  # 1-based number of the first bad snapshot
    bad_segment: ClassVar[tuple[str, str]]  # the segment the data bug hits: column, level
    runs: ClassVar[tuple[tuple[str, str], ...]]  # (role, model version): ("good", "v1.1"), ...

    root: Path
    repo: Path
    commits: tuple[str, ...]  # oldest first
    snapshots: tuple[Path, ...]  # oldest first
    evaluation: Path
    manifests: dict[str, Path]  # model version -> manifest.json

    @property
    def culprit_commit(self) -> str:
        """The commit that introduced the bug."""
        return self.commits[self.culprit - 1]

    @property
    def bad_snapshot(self) -> Path:
        """The first snapshot the data bug is in."""
        return self.snapshots[self.bad_from - 1]

    @property
    def segment(self) -> str:
        """The segment the data bug hits, as column=level."""
        return "=".join(self.bad_segment)

    def manifest(self, version: str) -> Path:
        """The manifest of a model version."""
        return self.manifests[version]

    def to_dict(self) -> dict:
        """JSON form, written to sample.json."""
        return {"repo": str(self.repo), "commits": list(self.commits),
                "snapshots": [str(p) for p in self.snapshots], "evaluation": str(self.evaluation),
                "manifests": {k: str(v) for k, v in self.manifests.items()},
                "culprit_commit": self.culprit_commit, "bad_snapshot": str(self.bad_snapshot),
                "segment": self.segment, **dict(self.runs)}

    @classmethod
    def load(cls, root: str | Path) -> Self:
        """A sample built earlier in root."""
        root = Path(root).resolve()
        d = json.loads((root / "sample.json").read_text(encoding="utf-8"))
        return cls(root=root, repo=Path(d["repo"]), commits=tuple(d["commits"]),
                   snapshots=tuple(Path(p) for p in d["snapshots"]),
                   evaluation=Path(d["evaluation"]),
                   manifests={k: Path(v) for k, v in d["manifests"].items()})


S = TypeVar("S", bound=LineageSample)


@dataclass(frozen=True)
class Scenario(Generic[S]):
    """How a sample is built: its data, commit history, committer and recorded runs."""

    sample: type[S]
    generate: Callable[[Path], tuple[list[Path], Path]]  # data folder -> snapshots, evaluation
    history: tuple[Commit, ...]
    env: dict[str, str]  # the committer, from identity()
    dates: str  # commit n is dated dates.format(n)
    models: dict[str, tuple[int, int]]  # version -> (commit number, snapshot number), 1-based
    record: Record  # runs a version at its commit on its snapshot
    verb: str  # what record does, for progress messages

    def build(self, root: str | Path, versions: tuple[str, ...],
              progress: Callable[[str], None] | None = None) -> S:
        """Build (or reuse, when root/sample.json exists) the sample in root."""
        say = progress or (lambda _msg: None)
        root = Path(root).resolve()
        done = root / "sample.json"
        if done.is_file():
            return self.sample.load(root)
        if root.exists() and any(root.iterdir()):
            raise InvalidInputError(f"{root} is not empty and holds no sample.json; build the "
                                    f"sample into an empty or new folder.")
        say("writing data snapshots")
        paths, evaluation = self.generate(root / "data")
        say(f"committing {len(self.history)} commits of the pipeline")
        repo = root / "repo"
        commits = commit_history(repo, self.history, self.env, self.dates)
        manifests = {}
        for version in versions:
            commit_no, snapshot_no = self.models[version]
            say(f"{self.verb} {version} (commit {commit_no}, snapshot v{snapshot_no})")
            manifests[version] = self.record(repo, commits[commit_no - 1], paths[snapshot_no - 1],
                                             evaluation, version, root / "models" / version)
        git(repo, "checkout", "-q", "main", env=self.env)
        sample = self.sample(root=root, repo=repo, commits=tuple(commits), snapshots=tuple(paths),
                             evaluation=evaluation, manifests=manifests)
        done.write_text(json.dumps(sample.to_dict(), indent=2) + "\n", encoding="utf-8")
        return sample
