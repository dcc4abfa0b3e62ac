"""The house price pipeline's history: ten commits, one of which quietly degrades the model.

Commit 1 is the template package in `housepipe/`; every later commit edits files as a developer
would. Commit 6 rounds the living area to the nearest 50 m² "so listings from different agents
match": it reads like hygiene, but the living area is the strongest feature, so the price error
grows by many noise bands. Every other commit leaves the model's predictions unchanged.
"""

from __future__ import annotations

from pathlib import Path

from sample_data.lineage_sample import Commit, both, edit, from_template, write

TEMPLATE = Path(__file__).parent / "housepipe"
PARAMS = {"learning_rate": 0.1, "max_iter": 200, "max_leaf_nodes": 15,
          "validation_fraction": 0.2}
CULPRIT = 6  # 1-based number of the commit introducing the bug


README = """# housepipe

Trains the house price model on one CSV snapshot of the sales table and evaluates it on the
fixed evaluation set:

    workbench manifest capture --out models/vX --entry housepipe.train:run \\
        --data train=data/house_sales_vN.csv --data eval=data/eval.csv --config params.json \\
        --seed 7 --run --primary-metric rmse --metric-direction lower --label sale_price
"""

HISTORY: tuple[Commit, ...] = (
    Commit("House price pipeline: CSV loading, features, gradient boosting on the log price",
           from_template(TEMPLATE, PARAMS)),
    Commit("Add README with how to train and record a run", write("README.md", README)),
    Commit("Validate required columns when loading a snapshot", both(edit(
        "housepipe/train.py",
        '    return pd.read_csv(path)\n',
        '    frame = pd.read_csv(path)\n'
        '    missing = sorted({*FEATURES, LABEL} - set(frame.columns))\n'
        '    if missing:\n'
        '        raise ValueError(f"{path} lacks the columns {missing}")\n'
        '    return frame\n'), edit(
        "housepipe/train.py", "from .features import LABEL, make_features\n",
        "from .features import FEATURES, LABEL, make_features\n"))),
    Commit("features: document the input columns", edit(
        "housepipe/features.py",
        '    """The model\'s input columns, in FEATURES order."""\n',
        '    """The model\'s input columns, in FEATURES order.\n\n'
        '    living_area_m2 drives the price most; neighbourhood sets its level.\n'
        '    """\n')),
    Commit("train: report rows and median price on stderr", both(edit(
        "housepipe/train.py",
        '    return model.fit(make_features(train), np.log(train[LABEL]))\n',
        '    print(f"training on {len(train)} rows, median price "\n'
        '          f"{train[LABEL].median():,.0f}", file=sys.stderr)\n'
        '    return model.fit(make_features(train), np.log(train[LABEL]))\n'), edit(
        "housepipe/train.py", "import numpy as np\n", "import sys\n\nimport numpy as np\n"))),
    Commit("features: round living area to the nearest 50 m2 so listings from different "
           "agents match", edit(
               "housepipe/features.py",
               "    for name in NUMERIC:\n        out[name] = frame[name].astype(float)\n",
               "    for name in NUMERIC:\n        out[name] = frame[name].astype(float)\n"
               '    out["living_area_m2"] = (out["living_area_m2"] / 50).round() * 50\n')),
    Commit("README: list the evaluation metrics", edit(
        "README.md", "fixed evaluation set:\n",
        "fixed evaluation set (rmse, mae, mape and r2 of the predicted price):\n")),
    Commit("train: name the early-stopping patience", both(edit(
        "housepipe/train.py", "n_iter_no_change=10,", "n_iter_no_change=PATIENCE,"), edit(
        "housepipe/train.py", "\n\n\ndef load(",
        "\n\nPATIENCE = 10  # rounds without improvement\n\n\ndef load("))),
    Commit("Add the median absolute error to the metrics", edit(
        "housepipe/train.py",
        '            "r2": float(r2_score(truth, price))}\n',
        '            "r2": float(r2_score(truth, price)),\n'
        '            "medae": float(np.median(np.abs(price - truth)))}\n')),
    Commit("Release 1.1", edit("housepipe/__init__.py", '__version__ = "1.0"',
                               '__version__ = "1.1"')),
)
