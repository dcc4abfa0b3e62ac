"""A model file that cannot be used is a clear error naming the file, in every format; pickles
load only when the incident trusts them (the wrappers skops cannot read included)."""

from __future__ import annotations

import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from workbench.explain import ModelLoadError, UntrustedModelError, load_model


def _xy(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 9, n).astype(float)})
    return x, (x["a"] + rng.normal(0, 0.5, n)) > 0


def _truncated_skops(tmp_path):
    x, y = _xy()
    whole = tmp_path / "whole.skops"
    sio.dump(HistGradientBoostingClassifier(max_iter=5).fit(x, y), whole)
    path = tmp_path / "model.skops"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def _skops_without_schema(tmp_path):
    path = tmp_path / "model.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.txt", "no schema here")
    return path


CORRUPT = {
    "truncated skops": (_truncated_skops, {}),
    "skops without schema": (_skops_without_schema, {}),
    "joblib": (lambda p: _write(p / "model.joblib", b"\x80\x04not a pickle"), {"trusted": True}),
    "lightgbm text": (lambda p: _write(p / "model.txt", b"tree\nversion=v4\nnonsense"), {}),
    "xgboost json": (lambda p: _write(p / "model.json", b'{"learner": 1'), {}),
    "xgboost ubj": (lambda p: _write(p / "model.ubj", b"\x00\x01garbage"), {}),
}


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_corrupt_model_file_is_an_error_naming_the_file(kind, tmp_path):
    if kind.startswith("lightgbm"):
        pytest.importorskip("lightgbm")
    if kind.startswith("xgboost"):
        pytest.importorskip("xgboost")
    make, options = CORRUPT[kind]
    path = make(tmp_path)
    with pytest.raises(ModelLoadError) as err:
        load_model(path, **options)
    assert str(path) in str(err.value)


def test_pipeline_with_a_lightgbm_wrapper_loads_only_when_trusted(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    x, y = _xy()
    pipe = Pipeline([("scale", StandardScaler()),
                     ("model", lgb.LGBMClassifier(n_estimators=10, verbose=-1))]).fit(x, y)
    path = tmp_path / "model.joblib"
    joblib.dump(pipe, path)
    with pytest.raises(UntrustedModelError, match="trusted = true"):
        load_model(path)
    adapter = load_model(path, trusted=True)
    np.testing.assert_allclose(adapter.predict_score(x), pipe.predict_proba(x)[:, 1])

    # skops refuses the LightGBM types rather than running them
    skops_path = tmp_path / "model.skops"
    sio.dump(pipe, skops_path)
    with pytest.raises(UntrustedModelError, match="lightgbm"):
        load_model(skops_path)
