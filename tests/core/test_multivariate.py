"""The classifier two-sample test sees a joint shift that no single input shows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.core.conftest import LOG_START, write_table
from workbench.cli import main


def _incident(tmp_path, flip: bool):
    """Two inputs whose correlation flips sign at the onset (marginals unchanged); the score
    leans on their product, so the decision rate moves with the flip."""
    rng = np.random.default_rng(11)
    n = 30_000
    seconds = np.sort(rng.integers(0, 8 * 86_400, n))
    ts = pd.Timestamp(LOG_START) + pd.to_timedelta(seconds, unit="s")
    after = np.asarray(ts >= pd.Timestamp(LOG_START) + pd.Timedelta(days=5))
    x1 = rng.normal(size=n)
    x2 = 0.9 * x1 + np.sqrt(1 - 0.81) * rng.normal(size=n)
    if flip:
        x2 = np.where(after, -x2, x2)
    other = rng.normal(size=n)
    score = 1 / (1 + np.exp(-(1.5 * x1 * x2 - 1.0)))
    write_table(tmp_path / "log.parquet", pd.DataFrame({
        "ts": ts.astype("datetime64[us]"), "x1": x1, "x2": x2, "other": other, "p": score}))
    r1 = rng.normal(size=10_000)
    write_table(tmp_path / "ref.parquet", pd.DataFrame({
        "x1": r1, "x2": 0.9 * r1 + np.sqrt(0.19) * rng.normal(size=10_000),
        "other": rng.normal(size=10_000)}))
    (tmp_path / "incident.toml").write_text(
        'title = "joint"\nbucket = "1h"\n[production]\nsource = "log.parquet"\n'
        'timestamp = "ts"\nprediction = "p"\n[reference]\nsource = "ref.parquet"\n')
    return tmp_path / "incident.toml"


def test_a_flipped_correlation_is_a_joint_shift_of_the_two_inputs(tmp_path, capsys):
    assert main(["diagnose", str(_incident(tmp_path, flip=True)), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["onset"] is not None
    psi = {d["feature"]: d["psi_onset"] for d in result["drift"]}
    assert max(psi.values()) < 0.05  # no input moved on its own
    joint = result["multivariate"]
    assert joint["shifted"] and joint["auc"] > 0.8
    assert set(list(joint["top_features"])[:2]) == {"x1", "x2"}
    layer = next(v for v in result["layers"] if v["layer"] == "input_data")
    assert layer["verdict"] == "suspect" and "differ jointly" in layer["headline"]


def test_roc_auc_equals_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    from workbench.stages.multivariate import roc_auc
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(20, 400))
        y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(float)
        y[:2] = [0.0, 1.0]
        score = np.round(rng.random(n) + 0.3 * y, int(rng.integers(1, 4)))  # many ties
        assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
