"""Model adapters: skops with a restricted trust list, pickles only when trusted, optional
LightGBM/XGBoost, feature mismatches, and SHAP through pipelines with other encoders."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sample_data.fraud_model import load_model as load_sample_model
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.exceptions import ConfigError, DataSourceError, InvalidInputError
from workbench.explain import (
    FeatureMismatchError,
    MissingExtraError,
    ModelLoadError,
    SklearnAdapter,
    UntrustedModelError,
    adapter_for,
    explain_rows,
    load_model,
)
from workbench.explain.adapters import _extra


def _double(x):
    """A user function: skops does not trust it, so the workbench must refuse the file."""
    return x * 2


def _copy_sample(fraud_sample, tmp_path: Path, model: Path, **model_keys) -> Path:
    """An incident config over the sample's data with another [model] section."""
    text = fraud_sample.config.read_text()
    head = text.split("[model]")[0]
    tail = "[changes]" + text.split("[changes]")[1]
    keys = "".join(f"{k} = {v}\n" for k, v in model_keys.items())
    config = tmp_path / "incident.toml"
    root = fraud_sample.root
    head = head.replace('"logs/', f'"{root}/logs/').replace('"training/', f'"{root}/training/')
    tail = tail.replace('"changes.csv"', f'"{root}/changes.csv"')
    config.write_text(f'{head}[model]\npath = "{model}"\nthreshold = 0.5\n{keys}\n{tail}')
    return config


def _toy(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": rng.choice(["u", "v", "w"], n)})
    y = ((x["a"] + (x["c"] == "w") + rng.normal(0, 0.5, n)) > 0.5).to_numpy()
    return x, y


# ---- skops -------------------------------------------------------------------------------------

def test_skops_model_loads_with_names_task_and_scores(fraud_sample, fraud_adapter,
                                                      fraud_store):
    path = fraud_sample.root / "models" / "fraud_v1_3_1.skops"
    assert fraud_adapter.path == path
    assert fraud_adapter.task == "classification"
    assert fraud_adapter.feature_names == tuple(load_sample_model(path).feature_names_in_)
    rows = fraud_store.seeded_sample(list(fraud_adapter.feature_names), 50, seed=1)
    expected = load_sample_model(path).predict_proba(rows)[:, 1]
    np.testing.assert_allclose(fraud_adapter.predict_score(rows), expected)
    assert load_model(path) is load_model(path)  # cached per file content


def test_skops_file_with_untrusted_types_is_refused(tmp_path):
    x, y = _toy()
    pipe = Pipeline([("f", FunctionTransformer(_double)), ("m", LogisticRegression())])
    pipe.fit(x[["a", "b"]], y)
    path = tmp_path / "custom.skops"
    sio.dump(pipe, path)
    with pytest.raises(UntrustedModelError, match="_double") as err:
        load_model(path)
    assert isinstance(err.value, ConfigError)


def test_corrupt_or_unknown_files_are_config_errors(tmp_path):
    bad = tmp_path / "broken.skops"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelLoadError, match="skops"):
        load_model(bad)
    odd = tmp_path / "model.onnx"
    odd.write_bytes(b"\x00")
    with pytest.raises(ModelLoadError, match="unknown format"):
        load_model(odd)
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "missing.skops")


# ---- pickle ------------------------------------------------------------------------------------

def test_pickle_refused_unless_incident_trusts_it(fraud_sample, tmp_path):
    model = load_sample_model(fraud_sample.root / "models" / "fraud_v1_3_1.skops")
    path = tmp_path / "fraud.joblib"
    joblib.dump(model, path)

    untrusted = load_incident(_copy_sample(fraud_sample, tmp_path, path))
    assert untrusted.model.trusted is False
    with LogStore(untrusted) as store, pytest.raises(UntrustedModelError) as err:
        adapter_for(store)
    message = str(err.value)
    assert "arbitrary code" in message and "trusted = true" in message and ".skops" in message
    assert isinstance(err.value, ConfigError)

    trusted = load_incident(_copy_sample(fraud_sample, tmp_path, path, trusted="true"))
    with LogStore(trusted) as store:
        adapter = adapter_for(store)
        rows = store.seeded_sample(list(adapter.feature_names), 20, seed=2)
        np.testing.assert_allclose(adapter.predict_score(rows), model.predict_proba(rows)[:, 1])


# ---- feature mismatch --------------------------------------------------------------------------

def test_model_with_other_feature_names_gets_a_clear_error(fraud_sample, tmp_path):
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"amount": rng.normal(size=200), "ratio": rng.normal(size=200),
                      "merchant_risk": rng.normal(size=200)})
    model = GradientBoostingClassifier(n_estimators=5).fit(x, x["ratio"] > 0)
    path = tmp_path / "other.skops"
    sio.dump(model, path)
    incident = load_incident(_copy_sample(fraud_sample, tmp_path, path))
    with LogStore(incident) as store, pytest.raises(FeatureMismatchError) as err:
        adapter_for(store)
    message = str(err.value)
    assert "Missing" in message and "merchant_risk" in message
    assert "not used by the model" in message and "avg_amount" in message
    assert isinstance(err.value, DataSourceError)


# ---- pipelines and explainers ------------------------------------------------------------------

def test_one_hot_columns_are_summed_back_per_feature():
    x, y = _toy()
    encode = ColumnTransformer([("c", OneHotEncoder(), ["c"])], remainder=StandardScaler())
    pipe = Pipeline([("e", encode), ("m", GradientBoostingClassifier(n_estimators=20))])
    pipe.fit(x, y)
    adapter = SklearnAdapter(pipe)
    values = explain_rows(adapter, x.iloc[:30], x.iloc[100:140])
    assert values.kind == "tree" and values.values.shape == (30, 3)
    assert adapter.feature_names == ("a", "b", "c")
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               pipe.predict_proba(x.iloc[:30])[:, 1], atol=1e-6)


def test_untraceable_pipelines_and_other_models_use_the_bounded_permutation_explainer():
    x, y = _toy()
    num = x[["a", "b"]]
    for model in (Pipeline([("p", PCA(2)), ("m", GradientBoostingClassifier(n_estimators=10))]),
                  GaussianNB()):
        model.fit(num, y)
        adapter = SklearnAdapter(model)
        explainer = adapter.explainer(num.iloc[:20], max_evals=50)
        assert explainer.kind == "permutation" and explainer.max_evals == 50
        values = explain_rows(adapter, num.iloc[:10], num.iloc[:20], max_evals=50)
        np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                                   model.predict_proba(num.iloc[:10])[:, 1], atol=1e-6)


def test_regression_models_are_explained_in_raw_units():
    x, _ = _toy()
    target = x["a"] * 3 + x["b"]
    model = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0)
    model.fit(x[["a", "b"]], target)
    adapter = SklearnAdapter(model)
    assert adapter.task == "regression"
    values = explain_rows(adapter, x[["a", "b"]].iloc[:10], x[["a", "b"]].iloc[50:80])
    assert values.output == "raw" and values.kind == "tree"
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               model.predict(x[["a", "b"]].iloc[:10]), atol=1e-6)
    with pytest.raises(InvalidInputError, match="raw"):
        adapter.explainer(x[["a", "b"]].iloc[:10], output="probability")


def test_log_odds_output_adds_up_in_log_odds(fraud_adapter, fraud_store):
    rows = fraud_store.seeded_sample(list(fraud_adapter.feature_names), 20, seed=4)
    background = rows.iloc[:10]
    values = explain_rows(fraud_adapter, rows, background, output="log_odds")
    p = fraud_adapter.predict_score(rows)
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               np.log(p / (1 - p)), atol=1e-5)


# ---- optional extras ---------------------------------------------------------------------------

def test_missing_optional_package_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import now fails as if not installed
    with pytest.raises(MissingExtraError, match=r"ml-incident-workbench\[lightgbm\]"):
        _extra("lightgbm", tmp_path / "m.txt", "LightGBM")
    path = tmp_path / "m.txt"
    path.write_text("tree\nversion=v4\n")
    with pytest.raises(MissingExtraError, match="pip install"):
        load_model(path)


def test_lightgbm_text_model(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    x, y = _toy()
    num = x[["a", "b"]]
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7},
                        lgb.Dataset(num, label=y.astype(int)), num_boost_round=20)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    adapter = load_model(path)
    assert adapter.task == "classification" and adapter.feature_names == ("a", "b")
    np.testing.assert_allclose(adapter.predict_score(num.iloc[:10]),
                               booster.predict(num.iloc[:10]), atol=1e-9)
    values = explain_rows(adapter, num.iloc[:10], num.iloc[50:100])
    assert values.kind == "tree"
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               booster.predict(num.iloc[:10]), atol=1e-6)

    # pandas categoricals: the stored categories map strings from the log; SHAP's tree
    # algorithm does not take categorical splits, so the permutation explainer takes over
    coded = x.assign(c=x["c"].astype("category"))
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7},
                        lgb.Dataset(coded, label=y.astype(int)), num_boost_round=20)
    booster.save_model(str(path))
    adapter = load_model(path)
    np.testing.assert_allclose(adapter.predict_score(x.iloc[:10]),
                               booster.predict(coded.iloc[:10]), atol=1e-9)
    values = explain_rows(adapter, x.iloc[:10], x.iloc[50:80], max_evals=50)
    assert values.kind == "permutation" and values.values.shape == (10, 3)


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost_native_model(tmp_path, suffix):
    xgb = pytest.importorskip("xgboost")
    x, y = _toy()
    num = x[["a", "b"]]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(num, label=y.astype(int)), num_boost_round=20)
    path = tmp_path / f"model{suffix}"
    booster.save_model(str(path))
    adapter = load_model(path)
    assert adapter.task == "classification" and adapter.feature_names == ("a", "b")
    expected = booster.predict(xgb.DMatrix(num.iloc[:10]))
    np.testing.assert_allclose(adapter.predict_score(num.iloc[:10]), expected, atol=1e-6)
    values = explain_rows(adapter, num.iloc[:10], num.iloc[50:100])
    assert values.kind == "tree"
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1), expected,
                               atol=1e-5)


def test_lightgbm_json_dump_is_explained_not_misread(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text('{"name": "tree", "version": "v4", "tree_info": []}')
    with pytest.raises(ModelLoadError, match="save_model"):
        load_model(path)

