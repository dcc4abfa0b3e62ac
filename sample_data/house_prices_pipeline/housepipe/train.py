"""Train the house price model on one sales snapshot and evaluate it on the fixed evaluation set.

Entry point for re-runs: `run(data={"train": path, "eval": path}, config={...}, seed=n)`
returns the evaluation metrics (errors in the currency of `sale_price`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, r2_score

from .features import LABEL, make_features


def load(path: str) -> pd.DataFrame:
    """One snapshot of the house sales table (CSV)."""
    return pd.read_csv(path)


def fit(train: pd.DataFrame, config: dict, seed: int) -> HistGradientBoostingRegressor:
    """Gradient-boosted trees on the log price; the seed picks the early-stopping rows."""
    model = HistGradientBoostingRegressor(
        learning_rate=config["learning_rate"], max_iter=config["max_iter"],
        max_leaf_nodes=config["max_leaf_nodes"], early_stopping=True,
        validation_fraction=config["validation_fraction"], n_iter_no_change=10,
        random_state=seed, categorical_features="from_dtype")
    return model.fit(make_features(train), np.log(train[LABEL]))


def evaluate(model: HistGradientBoostingRegressor, frame: pd.DataFrame) -> dict:
    """Errors of the predicted price on the evaluation set."""
    price = np.exp(model.predict(make_features(frame)))
    truth = frame[LABEL].to_numpy(dtype=float)
    return {"rmse": float(np.sqrt(np.mean((price - truth) ** 2))),
            "mae": float(mean_absolute_error(truth, price)),
            "mape": float(mean_absolute_percentage_error(truth, price)),
            "r2": float(r2_score(truth, price))}


def run(data: dict, config: dict, seed: int) -> dict:
    """Train on data['train'], evaluate on data['eval'], return the metrics."""
    model = fit(load(data["train"]), config, seed)
    return evaluate(model, load(data["eval"]))
