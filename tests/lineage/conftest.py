"""Fixtures of the lineage tests: the sample scenarios (built once) and small git repositories.

The samples are built by actually training (about 15 s each): the fraud pipeline and the house
price regression (CSV snapshots, numeric label). Every test that re-runs a pipeline gets its
own empty run cache unless it asks for a shared warm one, so re-run counts are exact.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sample_data.house_prices_pipeline import HouseSample, build_house_sample
from sample_data.pipeline import SampleRepo, build_sample
from workbench.lineage.cache import RunCache

GIT_ENV = {"GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Iterator[Path]:
    """WORKBENCH_HOME pointed at a temporary folder for the whole session."""
    path = tmp_path_factory.mktemp("workbench_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(path))
        yield path


@pytest.fixture(scope="session")
def sample(tmp_path_factory, home) -> SampleRepo:
    """The sample scenario: scratch repository, snapshots and four trained models."""
    return build_sample(tmp_path_factory.mktemp("trace_sample"))


@pytest.fixture(scope="session")
def house(tmp_path_factory, home) -> HouseSample:
    """The house price scenario: scratch repository, CSV snapshots and four recorded runs."""
    return build_house_sample(tmp_path_factory.mktemp("house_sample"))


@pytest.fixture
def fresh_cache(tmp_path) -> RunCache:
    """An empty run cache of this test alone."""
    return RunCache(root=tmp_path / "cache")


def git(repo: Path, *args: str) -> str:
    """Run git in a test repository with a fixed identity."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return proc.stdout


def init_repo(path: Path, files: dict[str, str]) -> Path:
    """A git repository holding files, committed once."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path
