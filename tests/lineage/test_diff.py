"""Diffing data versions and configs: drift per column, label balance, segments, DVC records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.lineage.diff import compare_summaries, compare_values, flatten
from workbench.lineage.dvc import _outs
from workbench.lineage.profile import summarize


@pytest.fixture
def versions(tmp_path):
    """A good table, and a bad one with a shifted column and one relabeled segment."""
    rng = np.random.default_rng(1)
    n = 4000
    good = pd.DataFrame({"id": [f"r{i}" for i in range(n)],
                         "stable": rng.normal(0, 1, n), "shifted": rng.normal(0, 1, n),
                         "count": rng.poisson(3, n),
                         "region": rng.choice(["north", "south", "east", "west"], n),
                         "label": (rng.random(n) < 0.2).astype(int)})
    bad = good.copy()
    bad["stable"] = rng.normal(0, 1, n)
    bad["shifted"] = rng.normal(0.8, 1, n)
    bad.loc[bad["region"] == "east", "label"] = 0
    good.to_parquet(tmp_path / "good.parquet")
    bad.to_parquet(tmp_path / "bad.parquet")
    return tmp_path / "good.parquet", tmp_path / "bad.parquet"


@pytest.mark.parametrize("exact", [True, False], ids=["data-files", "summaries-only"])
def test_shifted_column_and_relabeled_segment_are_found(versions, exact):
    g, b = versions
    out = compare_summaries(summarize(g, "label"), summarize(b, "label"),
                            (str(g), str(b)) if exact else None)
    psi = {s.column: s for s in out["shifts"]}
    assert out["shifts"][0].column == "shifted" and psi["shifted"].severity == "major"
    assert psi["stable"].severity == "stable" and psi["count"].severity == "stable"
    assert psi["region"].psi < 1e-9 and psi["region"].chi2_pvalue > 0.99
    assert "id" not in psi  # one row per value: an identifier, not a feature
    top = out["segments"][0]
    assert (top.column, top.level, top.significant) == ("region", "east", True)
    assert top.label_rate_bad == 0.0 and top.label_rate_good == pytest.approx(0.2, abs=0.03)
    assert [s for s in out["segments"] if s.significant] == [top]
    assert out["label_rate_bad"] < out["label_rate_good"] and out["label_z"] < -4


def test_identical_versions_show_no_change(versions):
    g, _ = versions
    out = compare_summaries(summarize(g, "label"), summarize(g, "label"), (str(g), str(g)))
    assert all(s.psi < 1e-9 for s in out["shifts"])
    assert not any(s.significant for s in out["segments"]) and out["label_z"] == 0.0


def test_schema_changes_are_listed(tmp_path):
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}).to_parquet(tmp_path / "g.parquet")
    pd.DataFrame({"a": ["1", "2"], "c": [1, 2]}).to_parquet(tmp_path / "b.parquet")
    out = compare_summaries(summarize(tmp_path / "g.parquet"), summarize(tmp_path / "b.parquet"))
    assert out["columns_added"] == ("c",) and out["columns_removed"] == ("b",)
    assert [(t.key, t.good, t.bad) for t in out["types_changed"]] == [("a", "DOUBLE", "VARCHAR")]


def test_config_diff_uses_dotted_keys():
    good = {"lr": 0.1, "model": {"depth": 3, "leaves": 15}, "tags": ["a"]}
    bad = {"lr": 0.1, "model": {"depth": 5, "leaves": 15}, "seed_split": 2}
    changes = compare_values(flatten(good), flatten(bad))
    assert [(c.key, c.good, c.bad) for c in changes] == [
        ("model.depth", 3, 5), ("seed_split", None, 2), ("tags", ["a"], None)]


def test_dvc_records_are_read_in_both_layouts():
    single = "outs:\n- md5: abc123\n  size: 42\n  hash: md5\n  path: data.parquet\n"
    assert _outs(single) == [{"md5": "abc123", "size": "42", "hash": "md5",
                              "path": "data.parquet"}]
    lock = ("schema: '2.0'\nstages:\n  prep:\n    cmd: python prep.py\n    deps:\n"
            "    - path: raw.csv\n      md5: d1\n    outs:\n    - path: out/a.parquet\n"
            "      md5: a1\n    - path: out/b.parquet\n      md5: b1\n"
            "  train:\n    cmd: python train.py\n    outs:\n      - path: model.pkl\n"
            "        md5: m1\n")
    assert [(o["path"], o["md5"]) for o in _outs(lock)] == [
        ("out/a.parquet", "a1"), ("out/b.parquet", "b1"), ("model.pkl", "m1")]
