"""The runner: callable and command entry points, recorded patches, failures, fork vs spawn."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from tests.lineage.conftest import init_repo
from workbench.lineage import EntryPoint, capture_manifest
from workbench.lineage.cache import RunCache
from workbench.lineage.errors import RunFailedError
from workbench.lineage.runner import Runner, spec_from_manifest

PIPELINE = '''
import time

import pandas as pd


def run(data, config, seed):
    frame = pd.read_parquet(data["train"])
    time.sleep(config.get("sleep", 0))
    if config.get("fail"):
        raise ValueError("the snapshot has no rows for segment b")
    return {"score": float(frame["x"].mean()) * config.get("scale", 1.0) + seed}
'''

SCRIPT = '''
import argparse, json
import pandas as pd
p = argparse.ArgumentParser()
p.add_argument("--train"); p.add_argument("--config"); p.add_argument("--seed", type=int)
p.add_argument("--metrics")
a = p.parse_args()
scale = json.load(open(a.config)).get("scale", 1.0)
json.dump({"score": float(pd.read_parquet(a.train)["x"].mean()) * scale + a.seed},
          open(a.metrics, "w"))
'''


@pytest.fixture
def project(tmp_path):
    repo = init_repo(tmp_path / "repo", {"toy/__init__.py": "", "toy/pipe.py": PIPELINE,
                                         "train.py": SCRIPT, ".gitignore": "__pycache__/\n"})
    frame = pd.DataFrame({"x": np.arange(10, dtype=float)})  # mean 4.5
    frame.to_parquet(tmp_path / "train.parquet")
    return repo


def manifest(project, out, entry="toy.pipe:run", config=None, seed=3):
    return capture_manifest(out, entry_point=entry, repo=project,
                            data={"train": project.parent / "train.parquet"}, evaluation=None,
                            config=config or {"scale": 2.0}, seeds=seed, metrics={"score": 0.0})


@pytest.mark.parametrize("fork", [True, False], ids=["fork-server", "fresh-interpreter"])
def test_callable_entry_point_runs_in_an_exported_tree(project, tmp_path, fork):
    m = manifest(project, tmp_path / "m.json")
    with Runner(cache=RunCache(tmp_path / "cache"), fork=fork) as runner:
        spec = spec_from_manifest(m, "toy")
        first = runner.run(spec)
        other = runner.run(spec.replace(seed=10, config={"scale": 1.0}))
        again = runner.run(spec)
        tree = next(iter(runner._trees.values()))
        assert (tree / "toy/pipe.py").read_text() == PIPELINE
    assert first.metrics == {"score": 4.5 * 2 + 3} and not first.cached
    assert other.metrics == {"score": 4.5 + 10}
    assert again.cached and again.metrics == first.metrics
    assert runner.reruns == 2 and runner.cache_hits == 1
    assert not tree.exists()  # closing the runner removes the exported trees


def test_command_entry_point(project, tmp_path):
    entry = EntryPoint(command="{python} train.py --train {data[train]} --config {config} "
                               "--seed {seed} --metrics {metrics}")
    m = manifest(project, tmp_path / "m.json", entry=entry, seed=1)
    assert m.entry_point.command == entry.command
    with Runner(cache=RunCache(enabled=False)) as runner:
        assert runner.run(spec_from_manifest(m, "cmd")).metrics == {"score": 4.5 * 2 + 1}


def test_uncommitted_changes_are_replayed_from_the_recorded_patch(project, tmp_path):
    pipe = project / "toy/pipe.py"
    pipe.write_text(PIPELINE.replace("+ seed}", "+ seed + 100}"))
    m = manifest(project, tmp_path / "dirty.json")
    assert m.code.dirty and m.patch_path.is_file()
    with Runner(cache=RunCache(enabled=False)) as runner:
        assert runner.run(spec_from_manifest(m, "dirty")).metrics == {"score": 112.0}
    assert "+ 100" in pipe.read_text()  # the working tree is left as it was


def test_pipeline_errors_name_the_run_and_the_cause(project, tmp_path):
    m = manifest(project, tmp_path / "m.json", config={"fail": True})
    with Runner(cache=RunCache(enabled=False)) as runner, \
            pytest.raises(RunFailedError, match="ValueError: the snapshot has no rows"):
        runner.run(spec_from_manifest(m, "failing run"))


def test_a_hanging_run_is_killed_at_the_timeout(project, tmp_path):
    m = manifest(project, tmp_path / "m.json", config={"sleep": 60})
    with Runner(cache=RunCache(enabled=False), timeout=3) as runner, \
            pytest.raises(RunFailedError, match="ended"):
        runner.run(spec_from_manifest(m, "hanging run"))


def test_worker_answers_stay_parseable_when_the_pipeline_prints(project, tmp_path):
    (project / "toy/pipe.py").write_text(PIPELINE.replace("    frame =", "    print('hi')\n"
                                                           "    frame ="))
    from tests.lineage.conftest import git

    git(project, "commit", "-qam", "print")
    m = manifest(project, tmp_path / "m.json")
    with Runner(cache=RunCache(enabled=False)) as runner:
        assert runner.run(spec_from_manifest(m, "chatty")).metrics == {"score": 12.0}
    assert sys.executable  # the runner used this interpreter for the workers
    assert json.loads(m.path.read_text())["code"]["commit"] == m.code.commit


def test_ablation_without_a_drop_key_neutralises_the_column_in_a_copy(project, tmp_path):
    from workbench.lineage.ablate import ablate

    m = manifest(project, tmp_path / "m.json")
    assert m.entry_point.drop_key is None
    before = (project.parent / "train.parquet").read_bytes()
    with Runner(cache=RunCache(tmp_path / "cache")) as runner:
        result = ablate(m, runner, features=["x"], repeats=2)
    (row,) = result.rows
    # x replaced by its most frequent value (all tie: the smallest, 0.0): score = 0 * 2 + 3
    assert result.baseline_bad == 4.5 * 2 + 3 and row.metric_bad == 3.0
    assert row.delta_bad == -9.0 and row.beyond_noise
    assert "neutralised" in result.notes[0]
    assert (project.parent / "train.parquet").read_bytes() == before
