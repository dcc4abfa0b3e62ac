"""Tracing the house price scenario: regression, CSV snapshots, a numeric label, and code and data
changed together.

The ground truth: commit 6 of 10 rounds the living area (code-only regression v1.0 -> v1.1);
from snapshot 3 of 4 one neighbourhood's prices are in thousands (data-only v1.0 -> v1.0.1);
v1.2 has both (retrained at HEAD on the newest snapshot). The primary metric is rmse, declared
lower-is-better. Every case starts from an empty cache, so its re-run count is exact; one
runner (one fork server, one export per commit) serves them all to keep the module fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from sample_data.house_prices_pipeline import BAD_BOTH, BAD_CODE, BAD_DATA, GOOD
from workbench.cli import main
from workbench.commands.trace import render_text
from workbench.lineage import load_manifest
from workbench.lineage.ablate import ablate
from workbench.lineage.bisect import bisect_snapshots
from workbench.lineage.cache import RunCache
from workbench.lineage.diff import diff_manifests
from workbench.lineage.experiments import run_factorial
from workbench.lineage.runner import Runner
from workbench.lineage.trace import trace

pytestmark = pytest.mark.slow
REPEATS = 5


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, Path]:
    """One WORKBENCH_HOME per case; each run cache is empty before its case's trace."""
    root = tmp_path_factory.mktemp("house_homes")
    return {case: root / case for case in ("code", "data", "both")}


@pytest.fixture(scope="module")
def caches(homes) -> dict[str, RunCache]:
    """The run cache of each case, where the CLI with that home looks too."""
    return {case: RunCache(root=home / "cache" / "lineage") for case, home in homes.items()}


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    """The module's runner; each case points it at its own cache."""
    with Runner() as shared:
        yield shared


@contextlib.contextmanager
def using(runner: Runner, cache: RunCache) -> Iterator[Runner]:
    """The runner reading and writing `cache` for a while."""
    before, runner.cache = runner.cache, cache
    try:
        yield runner
    finally:
        runner.cache = before


def _trace(house, runner: Runner, cache: RunCache, bad: str):
    with using(runner, cache):
        return trace(house.manifest(GOOD), house.manifest(bad), snapshots=house.snapshots,
                     runner=runner, repeats=REPEATS)


@pytest.fixture(scope="module")
def code_trace(house, runner, caches):
    """v1.0 -> v1.1: the rounding commit only."""
    return _trace(house, runner, caches["code"], BAD_CODE)


@pytest.fixture(scope="module")
def data_trace(house, runner, caches):
    """v1.0 -> v1.0.1: the snapshots with one neighbourhood in thousands only."""
    return _trace(house, runner, caches["data"], BAD_DATA)


@pytest.fixture(scope="module")
def both_trace(house, runner, caches):
    """v1.0 -> v1.2: code and data changed together; the repository's bytes around it."""
    before = _hashes(house.repo), _hashes(house.root / "data")
    result = _trace(house, runner, caches["both"], BAD_BOTH)
    return result, before, (_hashes(house.repo), _hashes(house.root / "data"))


def test_manifests_record_the_numeric_label_the_direction_and_scikit_learn(house):
    m = load_manifest(house.manifest(BAD_BOTH))
    assert m.path == house.root / "models" / BAD_BOTH / "manifest.json"  # v1.2 is a folder
    assert m.metric == "rmse" and m.higher_is_better() is False and m.direction_declared()
    assert m.metric_directions["mape"] == "lower" and m.metric_directions["r2"] == "higher"
    assert {"scikit-learn", "numpy", "pandas", "scipy"} <= set(m.libraries)
    train = m.input("train").summary
    assert train.label_kind == "numeric" and train.label_rate is None
    assert train.label_mean == pytest.approx(train.label_positives / train.rows)


def test_code_only_regression_names_the_rounding_commit(house, code_trace):
    result = code_trace
    assert result.diff.factors == ("code",) and len(result.diff.commits) == 8
    exp = result.experiments
    assert exp.culprit == "code" and exp.culprits == ("code",) and exp.reproduced is True
    assert exp.metric == "rmse" and exp.higher_is_better is False and exp.gap > 0
    assert exp.effect("code").share_of_gap == pytest.approx(1.0)
    bis = result.bisect
    assert bis.culprit == house.culprit_commit and "round living area" in bis.culprit_label
    assert [f.path for f in bis.culprit_files] == ["housepipe/features.py"]
    assert bis.reruns == len(bis.steps) == 3 <= math.ceil(math.log2(8)) + 1
    assert result.bisects == (bis,) and bis.context == "none"
    # 5 seeds of the bad run (its own seed first), the good reference, 3 probes
    assert result.reruns == REPEATS + 1 + 3 and result.cached == 0


def test_data_only_regression_names_the_snapshot_and_the_neighbourhood(house, data_trace):
    result = data_trace
    assert result.diff.factors == ("data",)
    train = next(d for d in result.diff.data if d.role == "train")
    assert train.label_kind == "numeric" and train.label_test == "Welch t"
    assert train.label_rate_good is None and train.label_mean_bad < train.label_mean_good
    assert train.label_median_good > train.label_median_bad and train.label_ks > 0
    top = train.top_segment
    assert top.name == house.segment and top.test == "Welch t" and top.z < -10
    assert top.label_mean_bad == pytest.approx(top.label_mean_good / 1000, rel=0.2)
    assert [s.name for s in train.segments if s.significant] == [house.segment]
    bis = result.bisect
    assert bis.kind == "data" and Path(bis.culprit) == house.bad_snapshot.resolve()
    assert bis.reruns == 2 and bis.culprit_segments[0].name == house.segment
    assert house.segment in result.verdict and "house_sales_v3.csv" in result.verdict
    assert "mean sale_price" in result.verdict
    assert result.reruns == REPEATS + 1 + 2


def test_code_and_data_changed_together_names_both_culprits(house, both_trace):
    result, _, _ = both_trace
    exp = result.experiments
    assert set(result.diff.factors) == {"code", "data"} and len(exp.cells) == 4
    assert exp.culprits == ("data", "code") and exp.culprit == "data"
    data, code = exp.effect("data"), exp.effect("code")
    assert data.carries_effect and code.carries_effect
    # The bad data hides most of the rounding's cost: fixed alone, code recovers a fraction of
    # what it costs the good run.
    assert code.damage > 3 * code.recovery > 0 and code.damage_beyond_noise
    assert data.shapley + code.shapley == pytest.approx(exp.gap)
    (inter,) = exp.interactions
    assert inter.factors == ("data", "code") and inter.real and inter.value > inter.band > 0
    assert inter.value == pytest.approx(exp.gap - data.recovery - code.recovery)
    assert "Data × code interact" in result.verdict
    noise = exp.noise  # both ends of the factorial repeated; the wider spread counts
    assert noise.good_std is not None and noise.std == max(noise.bad_std, noise.good_std)
    by_factor = {b.factor: b for b in result.bisects}
    assert set(by_factor) == {"code", "data"} and result.bisect is by_factor["data"]
    assert by_factor["code"].context == by_factor["data"].context == "good"
    assert by_factor["code"].culprit == house.culprit_commit
    assert Path(by_factor["data"].culprit) == house.bad_snapshot.resolve()
    assert house.culprit_commit[:10] in result.verdict and "house_sales_v3.csv" in result.verdict
    # 5 seeds of the bad run, the good reference and 4 more of its seeds, the 2 one-factor
    # cells, 3 commit probes and 2 snapshot probes
    assert result.reruns == REPEATS + REPEATS + 2 + 3 + 2


def test_every_conclusion_names_the_runs_it_rests_on(both_trace):
    result, _, _ = both_trace
    keys = {r.key for r in result.runs}
    subjects = {c.subject for c in result.conclusions}
    assert {"noise", "gap", "data", "code", "data × code"} <= subjects
    assert any(s.startswith("code: ") for s in subjects)
    for conclusion in result.conclusions:
        assert conclusion.runs and set(conclusion.runs) <= keys
        assert len(conclusion.labels) == len(conclusion.runs) and all(conclusion.labels)
    code_bisect = next(b for b in result.bisects if b.factor == "code")
    assert {s.run for s in code_bisect.steps} <= set(code_bisect.rests_on)
    assert set(code_bisect.rests_on) <= keys


def test_the_repository_and_the_data_are_left_byte_identical(house, both_trace):
    _, before, after = both_trace
    assert any(name.startswith(".git/") for name in before[0])
    assert after == before


def test_bisecting_the_data_with_the_bad_code_kept_would_blame_the_wrong_snapshot(
        house, runner, caches, both_trace):
    """What the one-factor trace did: every snapshot looks bad next to the bad code."""
    good, bad = load_manifest(house.manifest(GOOD)), load_manifest(house.manifest(BAD_BOTH))
    with using(runner, caches["both"]):
        factorial = run_factorial(good, bad, diff_manifests(good, bad), runner,
                                  repeats=REPEATS)
        old_way = bisect_snapshots(house.snapshots, "train", runner, factorial.setup,
                                   factorial.result, label="sale_price")
    assert Path(old_way.culprit).name == "house_sales_v2.csv" != house.bad_snapshot.name


def test_drop_ablation_rewrites_the_csv_and_finds_the_rounded_feature(house, runner, caches,
                                                                      code_trace):
    with using(runner, caches["code"]):
        result = ablate(load_manifest(house.manifest(BAD_CODE)), runner,
                        good=load_manifest(house.manifest(GOOD)),
                        features=["living_area_m2", "bedrooms"], repeats=REPEATS)
        derived = sorted((runner.scratch / "derived").glob("*.csv"))
        assert len(derived) == 2  # the good and the bad run share snapshot 1
        assert not [p for p in (runner.scratch / "derived").iterdir() if p.suffix != ".csv"]
        header = derived[0].read_text().splitlines()[0]
        assert header == house.snapshots[0].read_text().splitlines()[0]
    assert "neutralised" in result.notes[0]  # the pipeline has no drop_key
    assert result.top.feature == "living_area_m2" and result.top.beyond_noise
    assert result.top.gap_explained > 0.8 and result.reruns == 4


def test_swapping_the_numeric_label_in_from_the_good_data(house, runner, caches, data_trace):
    with using(runner, caches["data"]):
        result = ablate(load_manifest(house.manifest(BAD_DATA)), runner,
                        good=load_manifest(house.manifest(GOOD)), mode="swap", key="house_id",
                        features=["sale_price", "bedrooms"], repeats=REPEATS)
    # The good snapshot holds 1200 of the 2100 rows: the 900 newer ones keep their prices in
    # thousands, so the swap restores part of the gap, and only through the label.
    top, other = result.rows
    assert top.feature == "sale_price" and top.beyond_noise and top.gap_explained > 0.05
    assert other.feature == "bedrooms" and not other.beyond_noise
    assert result.reruns == 2


def test_cli_json_keeps_the_old_keys_and_adds_the_new(house, both_trace, homes, capsys,
                                                      monkeypatch):
    result, _, _ = both_trace
    monkeypatch.setenv("WORKBENCH_HOME", str(homes["both"]))  # the CLI's default cache: warm
    glob = str(house.root / "data" / "snapshots" / "*.csv")
    assert main(["trace", str(house.manifest(GOOD)), str(house.manifest(BAD_BOTH)),
                 "--snapshots", glob, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reruns"] == 0  # every run came from the cache
    assert {"good", "bad", "diff", "experiments", "bisect", "verdict", "runs", "reruns",
            "cached", "seconds"} <= set(doc)
    exp = doc["experiments"]
    assert {"metric", "seed", "bad_value", "good_value", "gap", "noise", "effects", "culprit",
            "reproduced", "notes"} <= set(exp)
    assert exp["culprits"] == ["data", "code"] and exp["interactions"][0]["real"] is True
    assert {"recovery", "share_of_gap", "beyond_noise", "verdict", "run", "damage",
            "shapley", "rests_on"} <= set(exp["effects"][0])
    assert doc["bisect"]["kind"] == "data" and len(doc["bisects"]) == 2
    assert doc["diff"]["data"][0]["segments"][0]["label_mean_bad"] is not None
    text = render_text(result)
    assert "factorial: 4 runs over data × code" in text and "others good" in text
    assert "mean sale_price" in text and "Welch t" in text
