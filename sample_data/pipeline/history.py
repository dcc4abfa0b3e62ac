"""The pipeline's commit history: fourteen commits, one of which quietly breaks the model.

Commit 1 is the template package in `sample_data/pipeline/fraudpipe/`; every later commit edits
files as a developer would. Commit 8 caps the `ratio` feature at 1.5 "so rare huge purchases do
not dominate": it reads like hygiene, but fraud lives in the ratio's tail, so average precision
drops by several noise bands. Every other commit leaves the model's predictions unchanged.
"""

from __future__ import annotations

from pathlib import Path

from sample_data.lineage_sample import Commit, both, edit, from_template, write

TEMPLATE = Path(__file__).parent / "fraudpipe"
PARAMS = {"learning_rate": 0.1, "max_iter": 80, "max_leaf_nodes": 15,
          "validation_fraction": 0.2}
CULPRIT = 8  # 1-based number of the commit introducing the bug


README = """# fraudpipe

Trains the card-fraud model on one snapshot of the transactions table and evaluates it on the
fixed evaluation set.

    python -m fraudpipe.train --train data/transactions_vN.parquet --eval data/eval.parquet \\
        --params params.json --seed 7 --model-version vX --out models/vX
"""

HISTORY: tuple[Commit, ...] = (
    Commit("Fraud pipeline: snapshot loading, ratio feature, gradient boosting",
           from_template(TEMPLATE, PARAMS)),
    Commit("Add README with how to train and evaluate", write("README.md", README)),
    Commit("Validate required columns when loading a snapshot", edit(
        "fraudpipe/train.py",
        '    return pd.read_parquet(path)\n',
        '    frame = pd.read_parquet(path)\n'
        '    missing = sorted({"amount", "avg_amount", LABEL} - set(frame.columns))\n'
        '    if missing:\n'
        '        raise ValueError(f"{path} lacks the columns {missing}")\n'
        '    return frame\n')),
    Commit("features: document the ratio feature", edit(
        "fraudpipe/features.py",
        '    """The model\'s input columns, in FEATURES order."""\n',
        '    """The model\'s input columns, in FEATURES order.\n\n'
        '    ratio: the amount relative to the account\'s usual spend; fraud lives in its tail.\n'
        '    """\n')),
    Commit("train: report rows and fraud rate on stderr", both(edit(
        "fraudpipe/train.py",
        '    return model.fit(inputs(train, config), train[LABEL])\n',
        '    print(f"training on {len(train)} rows, fraud rate {train[LABEL].mean():.3f}",\n'
        '          file=sys.stderr)\n'
        '    return model.fit(inputs(train, config), train[LABEL])\n'), edit(
        "fraudpipe/train.py", "import json\n", "import json\nimport sys\n"))),
    Commit("train: name the early-stopping patience", both(edit(
        "fraudpipe/train.py", "n_iter_no_change=10,", "n_iter_no_change=PATIENCE,"), edit(
        "fraudpipe/train.py", "\n\n\ndef load(",
        "\n\nPATIENCE = 10  # rounds without improvement\n\n\ndef load("))),
    Commit("Add the positive rate of the evaluation set to the metrics", edit(
        "fraudpipe/train.py",
        '            "roc_auc": float(roc_auc_score(frame[LABEL], score))}\n',
        '            "roc_auc": float(roc_auc_score(frame[LABEL], score)),\n'
        '            "positive_rate": float(frame[LABEL].mean())}\n')),
    Commit("features: cap ratio at 1.5 so rare huge purchases do not dominate", edit(
        "fraudpipe/features.py",
        '    out["ratio"] = frame["amount"] / frame["avg_amount"]\n',
        '    out["ratio"] = (frame["amount"] / frame["avg_amount"]).clip(upper=1.5)\n')),
    Commit("README: mention the manifest written next to the model", edit(
        "README.md", "fixed evaluation set.\n",
        "fixed evaluation set. Each run writes `manifest.json` next to its model.\n")),
    Commit("load: accept CSV snapshots as well as Parquet", edit(
        "fraudpipe/train.py",
        '    frame = pd.read_parquet(path)\n',
        '    frame = pd.read_csv(path) if str(path).endswith(".csv") '
        'else pd.read_parquet(path)\n')),
    Commit("train: fail early when a snapshot has no fraud labels", edit(
        "fraudpipe/train.py",
        '    print(f"training on',
        '    if not train[LABEL].any():\n'
        '        raise ValueError("the training snapshot has no positive labels")\n'
        '    print(f"training on')),
    Commit("features: keep the numeric columns as float64", edit(
        "fraudpipe/features.py",
        "        out[name] = frame[name].astype(float)\n",
        '        out[name] = frame[name].astype("float64")\n')),
    Commit("train: type the metrics returned by evaluate", edit(
        "fraudpipe/train.py",
        "config: dict) -> dict:\n",
        "config: dict) -> dict[str, float]:\n")),
    Commit("Release 1.2", edit("fraudpipe/__init__.py", '__version__ = "1.0"',
                               '__version__ = "1.2"')),
)
