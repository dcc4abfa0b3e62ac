"""Train the fraud model on one data snapshot and evaluate it on the fixed evaluation set.

Entry point for re-runs: `run(data={"train": path, "eval": path}, config={...}, seed=n)`
returns the evaluation metrics. `python -m fraudpipe.train ...` also saves the model and writes
the run manifest next to it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

from .features import FEATURES, LABEL, make_features


def load(path: str) -> pd.DataFrame:
    """One snapshot of the transactions table."""
    return pd.read_parquet(path)


def inputs(frame: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Features minus those the config leaves out."""
    return make_features(frame).drop(columns=list(config.get("drop_features") or []))


def fit(train: pd.DataFrame, config: dict, seed: int) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees; the seed picks the early-stopping validation rows."""
    model = HistGradientBoostingClassifier(
        learning_rate=config["learning_rate"], max_iter=config["max_iter"],
        max_leaf_nodes=config["max_leaf_nodes"], early_stopping=True,
        validation_fraction=config["validation_fraction"], n_iter_no_change=10,
        random_state=seed, categorical_features="from_dtype")
    return model.fit(inputs(train, config), train[LABEL])


def evaluate(model: HistGradientBoostingClassifier, frame: pd.DataFrame, config: dict) -> dict:
    """Average precision and ROC AUC of the fraud score on the evaluation set."""
    score = model.predict_proba(inputs(frame, config))[:, 1]
    return {"avg_precision": float(average_precision_score(frame[LABEL], score)),
            "roc_auc": float(roc_auc_score(frame[LABEL], score))}


def run(data: dict, config: dict, seed: int) -> dict:
    """Train on data['train'], evaluate on data['eval'], return the metrics."""
    model = fit(load(data["train"]), config, seed)
    return evaluate(model, load(data["eval"]), config)


def main(argv: list[str] | None = None) -> None:
    """Train, save the model and record the run manifest in --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--params", default="params.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-version", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    config = json.loads(Path(args.params).read_text())
    model = fit(load(args.train), config, args.seed)
    metrics = evaluate(model, load(args.eval), config)
    args.out.mkdir(parents=True, exist_ok=True)
    import skops.io

    skops.io.dump(model, args.out / "model.skops")
    from workbench.lineage import capture_manifest

    capture_manifest(
        args.out, entry_point="fraudpipe.train:run", data={"train": args.train, "eval": args.eval},
        config=config, seeds=args.seed, metrics=metrics, primary_metric="avg_precision",
        metric_direction="higher", model_version=args.model_version,
        model_path=args.out / "model.skops", label=LABEL, features=FEATURES,
        drop_key="drop_features")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
