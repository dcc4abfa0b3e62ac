"""Label statistics in the diff: 0/1 labels by rate, numeric labels by mean, median and KS, with
segment detection for both; numeric labels through `manifest capture` and `trace --diff-only`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.lineage.conftest import init_repo
from workbench.cli import main
from workbench.lineage.diff import compare_summaries
from workbench.lineage.labels import Moments, two_proportion_z, welch_t
from workbench.lineage.profile import DataSummary, summarize


def prices(n: int, seed: int, thousands: str | None = None) -> pd.DataFrame:
    """House prices by district; `thousands` names a district recorded in thousands."""
    rng = np.random.default_rng(seed)
    district = rng.choice(["north", "south", "east", "west"], n)
    area = rng.gamma(6.0, 18.0, n) + 35
    price = np.round(area * 3500 * np.exp(rng.normal(0, 0.1, n)), -2)
    frame = pd.DataFrame({"district": district, "area": area, "price": price})
    if thousands:
        frame.loc[frame["district"] == thousands, "price"] /= 1000
    return frame


@pytest.fixture
def versions(tmp_path):
    good, bad = prices(3000, 1), prices(3000, 2, thousands="east")
    good.to_csv(tmp_path / "good.csv", index=False)
    bad.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path / "good.csv", tmp_path / "bad.csv", good, bad


def test_statistics_match_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 2, 400), rng.normal(10.5, 3, 300)
    moments = [Moments(len(x), float(x.sum()), float((x * x).sum())) for x in (a, b)]
    assert welch_t(*moments) == pytest.approx(stats.ttest_ind(b, a, equal_var=False).statistic)
    g, k = Moments(1000, 200.0), Moments(800, 120.0)
    pooled = 320 / 1800
    expected = (0.15 - 0.2) / np.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 800))
    assert two_proportion_z(g, k) == pytest.approx(expected)
    assert two_proportion_z(Moments(10, 5000.0), Moments(10, 4000.0)) is None  # not a rate
    assert welch_t(Moments(5, 10.0, 20.0), Moments(5, 5.0, 5.0)) < -1e6  # constant, different


@pytest.mark.parametrize("exact", [True, False], ids=["data-files", "summaries-only"])
def test_numeric_label_is_compared_by_mean_and_its_segments_by_welch_t(versions, exact):
    g, b, good, bad = versions
    sg, sb = summarize(g, "price"), summarize(b, "price")
    assert sg.label_kind == sb.label_kind == "numeric" and sg.label_rate is None
    out = compare_summaries(sg, sb, (str(g), str(b)) if exact else None)
    assert out["label_kind"] == "numeric" and out["label_test"] == "Welch t"
    assert "label_rate_good" not in out
    assert out["label_mean_good"] == pytest.approx(good["price"].mean())
    assert out["label_mean_bad"] == pytest.approx(bad["price"].mean())
    assert out["label_median_good"] == pytest.approx(good["price"].median(), rel=0.01)
    assert out["label_z"] < -10 and out["label_ks"] > 0.2
    flagged = [s for s in out["segments"] if s.significant]
    assert [s.name for s in flagged] == ["district=east"]
    east = flagged[0]
    assert east.test == "Welch t" and east.label_rate_good is None
    assert east.label_mean_bad == pytest.approx(east.label_mean_good / 1000, rel=0.1)
    assert "mean price" in east.describe("price") and "t = " in east.describe("price")


def test_identical_numeric_versions_show_no_label_change(versions):
    g, _, _, _ = versions
    out = compare_summaries(summarize(g, "price"), summarize(g, "price"), (str(g), str(g)))
    assert out["label_z"] == 0.0 and not any(s.significant for s in out["segments"])


def test_binary_labels_keep_the_proportion_test(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"region": rng.choice(["a", "b"], 2000),
                          "flag": rng.random(2000) < 0.3})  # boolean
    frame.to_parquet(tmp_path / "g.parquet")
    frame.assign(flag=frame["flag"].astype(int)).to_csv(tmp_path / "b.csv", index=False)
    sg, sb = summarize(tmp_path / "g.parquet", "flag"), summarize(tmp_path / "b.csv", "flag")
    assert sg.label_kind == sb.label_kind == "binary"
    out = compare_summaries(sg, sb)
    assert out["label_test"] == "two-proportion z" and out["label_z"] == pytest.approx(0.0)
    assert out["label_rate_good"] == pytest.approx(frame["flag"].mean())


def test_manifests_from_before_label_kinds_still_diff(versions):
    g, b, _, _ = versions
    docs = [summarize(p, "price").to_dict() for p in (g, b)]
    for doc in docs:  # as written by workbench versions without label kinds
        doc.pop("label_kind"), doc.pop("label_sumsq")
        for column in doc["columns"]:
            for level in column["levels"]:
                level.pop("label_sumsq")
    old = [DataSummary.from_dict(d) for d in docs]
    assert old[0].label_type == "numeric"  # the mean is no rate
    out = compare_summaries(*old)
    assert out["label_kind"] == "numeric" and out["label_z"] is None
    assert out["segments"] == ()  # no spread recorded: nothing to test, nothing crashes


PIPELINE = '''
import pandas as pd


def run(data, config, seed):
    frame = pd.read_csv(data["train"])
    return {"mae": float((frame["price"] - frame["price"].mean()).abs().mean())}
'''


def test_capture_with_a_numeric_label_then_trace_diff_only(versions, tmp_path, capsys):
    g, b, _, _ = versions
    repo = init_repo(tmp_path / "repo", {"pipe.py": PIPELINE, ".gitignore": "__pycache__/\n"})
    for name, data in (("v1", g), ("v2", b)):
        assert main(["manifest", "capture", "--out", str(tmp_path / "models" / name),
                     "--entry", "pipe:run", "--repo", str(repo), "--data", f"train={data}",
                     "--evaluation", "", "--metric", "mae=1.0", "--label", "price",
                     "--metric-direction", "lower"]) == 0
    capsys.readouterr()
    assert main(["trace", str(tmp_path / "models/v1"), str(tmp_path / "models/v2"),
                 "--diff-only", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (train,) = doc["diff"]["data"]
    assert train["label_kind"] == "numeric" and train["label_z"] < -10
    assert train["segments"][0]["level"] == "east" and train["segments"][0]["significant"]
    assert main(["trace", str(tmp_path / "models/v1"), str(tmp_path / "models/v1"),
                 "--diff-only", "--quiet"]) == 0  # identical data: no change, no crash
    assert "none recorded" in capsys.readouterr().out
