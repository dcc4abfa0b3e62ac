"""The small fits of the diagnosis (domain classifier, loss model) run on one OpenMP thread, so
a busy machine does not slow them several times over; the limit is lifted afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info

from workbench.data import ColumnKind, FeatureSpec
from workbench.estimate import dle
from workbench.stages import multivariate
from workbench.threads import SMALL_FIT_THREADS


def openmp_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"}


def spy_fits(monkeypatch, cls) -> list[set[int]]:
    seen: list[set[int]] = []
    fit = cls.fit

    def recording(self, *args, **kwargs):
        seen.append(openmp_threads())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(cls, "fit", recording)
    return seen


def test_the_domain_classifier_fits_on_one_thread(monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier

    before = openmp_threads()
    seen = spy_fits(monkeypatch, HistGradientBoostingClassifier)
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, (600, 3)), rng.normal(0.5, 1, (600, 3))]
    y = np.r_[np.zeros(600), np.ones(600)]
    aucs, _ = multivariate._cross_validated(x, y, seed=0)
    assert seen and all(threads == {SMALL_FIT_THREADS} for threads in seen)
    assert 0.6 < np.mean(aucs) < 0.8  # a real fit: the half-sd shift is seen
    assert openmp_threads() == before  # lifted again


def test_the_loss_model_fits_on_one_thread(monkeypatch):
    from sklearn.ensemble import HistGradientBoostingRegressor

    seen = spy_fits(monkeypatch, HistGradientBoostingRegressor)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=800)})
    frame["_wb_label"] = frame["x"] * 2 + rng.normal(scale=0.1, size=800)
    frame["_wb_score"] = frame["x"] * 2
    features = (FeatureSpec("x", ColumnKind.NUMERIC, "DOUBLE", "DOUBLE"),)
    model = dle.train(frame, features, seed=0)
    assert model is not None and model.rows == 800
    assert len(seen) == dle.FOLDS + 1 and all(t == {SMALL_FIT_THREADS} for t in seen)
