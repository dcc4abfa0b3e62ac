"""Data-quality faults are named with their numbers: missing-rate jumps, unseen categories,
numbers arriving as text, repeated ids; and summaries describe the shift that happened."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tests.core.conftest import LOG_START, generate, write_table
from workbench.cli import main
from workbench.stages.quality import is_jump

SHIFT_AT = LOG_START + timedelta(days=5, hours=14)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("quality"), task="classification", rows=16_000,
                    days=8, shift_at=None)


def _diagnose(base, tmp_path, production: pd.DataFrame, capsys) -> dict:
    write_table(tmp_path / "logs" / "part-0.parquet", production)
    text = base.config.read_text().replace(
        'source = "training.parquet"',
        f'source = {json.dumps(str(base.config.parent / "training.parquet"))}')
    (tmp_path / "incident.toml").write_text(text)
    assert main(["diagnose", str(tmp_path / "incident.toml"), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_jump_test_fires_on_ten_to_twenty_two_percent_but_not_on_noise():
    assert is_jump(0.10, 8_000, 0.22, 4_000)[0]
    assert not is_jump(0.10, 8_000, 0.104, 4_000)[0]
    assert not is_jump(0.10, 30, 0.22, 20)[0]  # too few rows to tell


def test_missing_rate_jumps_and_a_new_category_are_named(base, tmp_path, capsys):
    """NannyML's car-loan data-quality pattern: missing values of two features go from about
    10 % to 22 % and a category never seen in training appears; the label relation is
    unchanged, so the metric moves because the model mishandles the faults."""
    rng = np.random.default_rng(3)
    prod = base.production.copy()
    after = (prod["ts"] >= SHIFT_AT).to_numpy()
    for col in ("tenure", "noise"):
        rate = np.where(after, 0.22, 0.10)
        prod.loc[rng.random(len(prod)) < rate, col] = np.nan
    new = after & (rng.random(len(prod)) < 0.08)
    prod.loc[new, "region"] = "latam"
    # The serving side imputes 0 for a missing tenure: the score degrades after the onset.
    missing = prod["tenure"].isna().to_numpy() & after
    prod.loc[missing, "score"] = np.clip(prod.loc[missing, "score"] + 0.35, 0, 1)
    result = _diagnose(base, tmp_path, prod, capsys)
    faults = {(f["kind"], f["feature"]): f for f in result["quality"]}
    assert faults[("null_rate", "tenure")]["current"] == pytest.approx(0.22, abs=0.02)
    assert faults[("null_rate", "tenure")]["baseline"] == pytest.approx(0.10, abs=0.02)
    assert ("null_rate", "noise") in faults
    assert "'latam'" in faults[("unseen_categories", "region")]["detail"]
    layers = {v["layer"]: v for v in result["layers"]}
    assert layers["feature_pipeline"]["verdict"] == "failing"
    assert "missing rate" in layers["feature_pipeline"]["headline"]
    assert layers["input_data"]["verdict"] == "failing"
    named = {(h["signature"], h["feature"]) for h in result["hypotheses"]}
    assert ("silent_pipeline_failure", "tenure") in named
    assert any(f == "region" and "latam" in h["summary"]
               for h in result["hypotheses"] for f in [h["feature"]])
    top = result["hypotheses"][0]
    assert top["feature"] == "tenure"


def test_numbers_arriving_as_text_and_repeated_ids_are_named(base, tmp_path, capsys):
    prod = base.production.copy()
    after = prod["ts"] >= SHIFT_AT
    prod["noise"] = prod["noise"].map(lambda v: f"{v:.4f}").astype(object)
    broken = after & (prod.index % 10 == 0)
    prod.loc[broken, "noise"] = "N/A"
    prod.loc[broken, "score"] = np.clip(prod.loc[broken, "score"] + 0.5, 0, 1)  # misread input
    repeated = prod[after].iloc[::8]
    prod = pd.concat([prod, repeated], ignore_index=True).sort_values("ts")
    result = _diagnose(base, tmp_path, prod, capsys)
    faults = {f["kind"]: f for f in result["quality"]}
    assert faults["type_drift"]["feature"] == "noise"
    assert faults["type_drift"]["current"] == pytest.approx(0.1, abs=0.02)
    assert "'N/A'" in faults["type_drift"]["detail"]
    assert faults["duplicate_ids"]["current"] == pytest.approx(1 / 9, abs=0.02)
    assert faults["duplicate_ids"]["baseline"] == 0.0


def test_a_healthy_log_has_no_quality_fault(base, tmp_path, capsys):
    result = _diagnose(base, tmp_path, base.production, capsys)
    assert result["quality"] == []
