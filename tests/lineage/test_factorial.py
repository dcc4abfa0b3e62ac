"""The 2^k factorial on a deterministic toy pipeline whose effects are known exactly.

score = scale * mean(x) - offset, higher is better. The good run: scale 2 (commit 1), mean(x) 10,
offset 0, so 20. The bad run changes all three: commit 2 halves the scale, the data's mean(x)
is 6, the config's offset is 3 (and an inert key changes too): 6 - 3 = 3. Code and data
multiply, so they interact by exactly (2 - 1) * (10 - 6) = 4; config adds, so it interacts with
nothing. The seed is ignored, so the noise band is zero and every contrast is exact.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.lineage.conftest import git, init_repo
from workbench.lineage import capture_manifest
from workbench.lineage.cache import RunCache
from workbench.lineage.runner import Runner
from workbench.lineage.trace import trace

PIPELINE = '''
import pandas as pd

SCALE = 2.0


def run(data, config, seed):
    frame = pd.read_parquet(data["train"])
    return {"score": SCALE * float(frame["x"].mean()) - config["offset"]}
'''


@pytest.fixture
def runs(tmp_path):
    """Manifests of the good run (commit 1) and the bad run (commit 3, bad data and config)."""
    repo = init_repo(tmp_path / "repo", {"toy/__init__.py": "", "toy/pipe.py": PIPELINE,
                                         ".gitignore": "__pycache__/\n"})
    good_commit = git(repo, "rev-parse", "HEAD").strip()
    (repo / "toy/pipe.py").write_text(PIPELINE.replace("SCALE = 2.0", "SCALE = 1.0"))
    git(repo, "commit", "-qam", "scale: simplify")
    culprit = git(repo, "rev-parse", "HEAD").strip()
    (repo / "README").write_text("toy\n")
    git(repo, "add", "README")
    git(repo, "commit", "-qm", "README")
    pd.DataFrame({"x": [8.0, 12.0]}).to_parquet(tmp_path / "good.parquet")
    pd.DataFrame({"x": [4.0, 8.0]}).to_parquet(tmp_path / "bad.parquet")

    def record(name, data, config, commit):
        git(repo, "checkout", "-q", commit)
        return capture_manifest(tmp_path / f"{name}.json", entry_point="toy.pipe:run",
                                repo=repo, data={"train": data}, evaluation=None,
                                config=config, seeds=0, metrics={"score": 0.0},
                                metric_direction="higher")

    good = record("good", tmp_path / "good.parquet", {"offset": 0.0, "note": "a"}, good_commit)
    bad = record("bad", tmp_path / "bad.parquet", {"offset": 3.0, "note": "b"}, "main")
    return good, bad, culprit


def test_factorial_effects_interactions_and_every_culprit(runs, tmp_path):
    good, bad, culprit = runs
    with Runner(cache=RunCache(tmp_path / "cache"), fork=False) as runner:
        result = trace(good, bad, runner=runner, repeats=2)
    exp = result.experiments
    assert exp.factors == ("data", "code", "config") and len(exp.cells) == 8
    assert (exp.bad_value, exp.good_value, exp.gap) == (3.0, 20.0, 17.0)
    assert exp.noise.std == 0.0 and exp.noise.good_std == 0.0
    value = {frozenset(c.from_good): c.metric_value for c in exp.cells}
    assert value[frozenset({"code"})] == 9.0 and value[frozenset({"data", "code"})] == 17.0
    effects = {e.factor: e for e in exp.effects}
    assert {f: e.recovery for f, e in effects.items()} == {"data": 4.0, "code": 6.0,
                                                           "config": 3.0}
    assert {f: e.damage for f, e in effects.items()} == {"data": 8.0, "code": 10.0,
                                                         "config": 3.0}
    assert sum(e.shapley for e in effects.values()) == pytest.approx(exp.gap)
    assert effects["config"].shapley == pytest.approx(3.0)  # additive: its one effect
    interactions = {i.factors: i for i in exp.interactions}
    assert set(interactions) == {("data", "code"), ("data", "config"), ("code", "config"),
                                 ("data", "code", "config")}
    assert interactions[("data", "code")].value == pytest.approx(4.0)
    assert [i.factors for i in exp.real_interactions] == [("data", "code")]
    assert set(exp.culprits) == {"data", "code", "config"} and exp.culprit == "code"
    bisects = {b.factor: b for b in result.bisects}
    assert set(bisects) == {"code", "config"}  # no snapshot series for the data
    assert bisects["code"].context == "good" and bisects["code"].culprit == culprit
    assert bisects["config"].culprit == "offset" and len(bisects["config"].steps) == 1
    assert "It changed 0.0 -> 3.0" in result.verdict
    # 2 seeds of the bad run, the good reference and its second seed, the 6 other cells, and
    # one probe each for code and config
    assert result.reruns == 2 + 1 + 1 + 6 + 1 + 1
