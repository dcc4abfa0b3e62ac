"""`manifest capture` as a new user runs it: --out is a folder, the metric's direction is declared
or guessed with a warning, and the libraries are those the entry point imports."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.lineage.conftest import init_repo
from workbench.cli import main
from workbench.lineage import capture_manifest, load_manifest
from workbench.lineage.directions import MetricDirectionWarning, guess
from workbench.lineage.errors import ManifestError

PIPELINE = '''
import importlib

import pandas as pd
from sklearn.linear_model import LinearRegression


def run(data, config, seed):
    importlib.import_module("".join(["sk", "ops"]))  # invisible to a reader of the source
    frame = pd.read_csv(data["train"])
    model = LinearRegression().fit(frame[["x"]], frame["price"])
    return {"mape": float(abs(model.predict(frame[["x"]]) / frame["price"] - 1).mean()),
            "r2": float(model.score(frame[["x"]], frame["price"]))}
'''


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    repo = init_repo(tmp_path / "repo", {"shop/__init__.py": "", "shop/pipe.py": PIPELINE,
                                         ".gitignore": "__pycache__/\n"})
    rng = np.random.default_rng(0)
    x = rng.uniform(50, 200, 300)
    pd.DataFrame({"x": x, "price": x * 3000 + rng.normal(0, 5000, 300)}).to_csv(
        tmp_path / "train.csv", index=False)
    return repo, tmp_path / "train.csv"


def capture(project, out: Path, *extra: str) -> int:
    repo, data = project
    return main(["manifest", "capture", "--out", str(out), "--entry", "shop.pipe:run",
                 "--repo", str(repo), "--data", f"train={data}", "--evaluation", "",
                 "--label", "price", *extra])


def test_out_is_a_folder_created_when_missing(project, tmp_path, capsys):
    out = tmp_path / "models" / "v1.2"
    assert capture(project, out, "--run", "--metric-direction", "lower") == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == out / "manifest.json" and out.is_dir() and (out / "run.log").is_file()
    assert not (tmp_path / "models" / "v1").exists()  # '.2' is no file suffix
    m = load_manifest(out)
    assert m.model_version is None and m.metrics["mape"] < 0.1
    (tmp_path / "taken").write_text("a file")
    assert capture(project, tmp_path / "taken", "--metric", "mape=0.1") == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "--out names the model's folder" in err
    assert (tmp_path / "taken").read_text() == "a file"


def test_the_api_treats_a_dotted_name_as_a_folder(project, tmp_path):
    repo, data = project
    kwargs = dict(entry_point="shop.pipe:run", repo=repo, data={"train": data},
                  evaluation=None, config={}, seeds=1, metrics={"mape": 0.2},
                  metric_direction="lower")
    m = capture_manifest(tmp_path / "models/v2.0", **kwargs)
    assert m.path == tmp_path / "models/v2.0/manifest.json"
    (tmp_path / "v3.bin").write_text("x")
    with pytest.raises(ManifestError, match="is a file, not a folder"):
        capture_manifest(tmp_path / "v3.bin", **kwargs)


def test_undeclared_direction_is_guessed_with_a_warning(project, tmp_path, capsys):
    assert capture(project, tmp_path / "a", "--metric", "mape=0.2", "--metric", "r2=0.9") == 0
    err = capsys.readouterr().err
    assert "workbench: warning: The direction of metric 'mape' was not declared: taken as " \
           "lower-is-better from its name" in err
    m = load_manifest(tmp_path / "a")
    assert m.metric_directions == {"mape": "lower", "r2": "higher"}
    assert m.higher_is_better() is False and not m.direction_declared()
    assert m.lower_is_better == ("mape",)  # what readers of version 1 look at
    assert capture(project, tmp_path / "b", "--metric", "mape=0.2", "--metric-direction",
                   "higher") == 0
    assert "warning" not in capsys.readouterr().err
    declared = load_manifest(tmp_path / "b")
    assert declared.higher_is_better() is True and declared.direction_declared()
    assert main(["manifest", "show", str(tmp_path / "a")]) == 0
    assert "lower is better, guessed from its name" in capsys.readouterr().out
    assert capture(project, tmp_path / "c", "--metric", "uplift_x=1") == 0
    assert "neither documented list" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "direction"), [
    ("mape", "lower"), ("rmsle", "lower"), ("mae", "lower"), ("rmse", "lower"),
    ("log_loss", "lower"), ("val_loss", "lower"), ("false_positive_rate", "lower"),
    ("brier_score", "lower"), ("roc_auc", "higher"), ("avg_precision", "higher"),
    ("r2", "higher"), ("f1_score", "higher"), ("neg_mean_squared_error", "higher"),
])
def test_documented_directions(name, direction):
    assert guess(name) == (direction, True)


def test_libraries_are_the_entry_points_imports(project, tmp_path, capsys):
    assert capture(project, tmp_path / "read", "--metric", "mape=0.1") == 0
    read = load_manifest(tmp_path / "read").libraries
    assert {"python", "pandas", "scikit-learn", "numpy", "scipy", "joblib",
            "threadpoolctl"} <= set(read)
    assert "duckdb" not in read and "skops" not in read  # the workbench's own; dynamic
    assert capture(project, tmp_path / "ran", "--run") == 0
    ran = load_manifest(tmp_path / "ran").libraries
    assert set(read) | {"skops"} <= set(ran)  # what the run imported, dynamic imports too


def test_manifests_of_schema_version_1_are_read_with_the_new_direction_list(project,
                                                                            tmp_path):
    repo, data = project
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricDirectionWarning)
        capture_manifest(tmp_path / "m.json", entry_point="shop.pipe:run", repo=repo,
                         data={"train": data}, evaluation=None, config={}, seeds=1,
                         metrics={"mape": 0.2})
    doc = json.loads((tmp_path / "m.json").read_text())
    doc.update(schema_version=1, lower_is_better=[])
    del doc["metric_directions"], doc["directions_declared"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = load_manifest(tmp_path / "old.json")
    assert old.higher_is_better("mape") is False and not old.direction_declared()
    doc["metric_directions"] = {"mape": "sideways"}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match="must be 'lower' or 'higher'"):
        load_manifest(tmp_path / "bad.json")
