"""Fixes that cannot be replayed fail with actionable messages naming what to fix."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.config import load_incident
from workbench.data import LogStore
from workbench.exceptions import ConfigError, InvalidInputError
from workbench.verify import CandidateFix, verify_fix

pytestmark = pytest.mark.slow


def test_an_unknown_fix_lists_the_declared_ones(replayer):
    with pytest.raises(ConfigError,
                       match="No fix named 'revert'.*recompute-ratio, rollback-v1.3.0"):
        replayer.run("revert")


def test_a_rollback_to_a_version_never_served_names_the_versions_seen(replayer, sample):
    fix = CandidateFix.rollback("old", "v0.9", sample.config.parent / "models" /
                                "fraud_v1_3_0.skops")
    with pytest.raises(InvalidInputError, match=r"v0\.9.*versions seen: v1\.3\.0, v1\.3\.1"):
        replayer.run(fix)


def test_a_correction_must_return_every_row(replayer):
    fix = CandidateFix.feature_correction("drops", lambda rows: rows.head(10))
    with pytest.raises(InvalidInputError, match="returned 10 rows for .*every row"):
        replayer.run(fix)
    fix = CandidateFix.feature_correction("series", lambda rows: rows["ratio"])
    with pytest.raises(InvalidInputError, match="must return a pandas DataFrame.*Series"):
        replayer.run(fix)


def test_a_model_missing_a_feature_names_it(replayer, sample, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    train = pd.read_parquet(sample.config.parent / "training" / "train.parquet")
    model = LogisticRegression().fit(train[["amount"]].assign(refunds=1.0), train["is_fraud"])
    dump(model, tmp_path / "other.skops")
    with pytest.raises(InvalidInputError, match="refunds"):
        replayer.run(CandidateFix.other_model("other", tmp_path / "other.skops"))


def test_a_bad_threshold_and_a_kind_that_does_not_exist(replayer):
    with pytest.raises(InvalidInputError, match=r"threshold must lie in \[0, 1\]"):
        replayer.run(CandidateFix.new_threshold("t", 7.0))
    with pytest.raises(InvalidInputError, match="kind must be one of"):
        CandidateFix("x", "magic")


def test_a_rollback_declared_without_its_model_file(sample, tmp_path):
    root = sample.config.parent
    text = sample.config.read_text().replace('path        = "models/fraud_v1_3_0.skops"\n', "")
    for rel in ("logs/*.parquet", "training/train.parquet", "changes.csv",
                "models/fraud_v1_3_1.skops"):
        text = text.replace(f'"{rel}"', f'"{root / rel}"')
    config = tmp_path / "incident.toml"
    config.write_text(text)
    incident = load_incident(config)
    with LogStore(incident) as store:
        with pytest.raises(ConfigError, match="needs 'path': the old version's model file"):
            verify_fix(incident, "rollback-v1.3.0", store=store)
