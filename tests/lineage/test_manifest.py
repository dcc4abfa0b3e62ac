"""Run manifests: capture from a real git repository, schema round-trip, DVC, version mapping."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.lineage.conftest import git, init_repo
from workbench.config import parse_incident
from workbench.lineage import capture_manifest, load_manifest, manifests_for_versions
from workbench.lineage.dvc import file_md5
from workbench.lineage.errors import ManifestError
from workbench.lineage.manifest import SCHEMA, SCHEMA_VERSION, Manifest, save_manifest

PIPELINE = '''
def run(data, config, seed):
    import pandas as pd
    frame = pd.read_parquet(data["train"])
    return {"mean_x": float(frame["x"].mean()) * config.get("scale", 1.0) + seed}
'''


@pytest.fixture
def project(tmp_path) -> Path:
    """A repository with a one-function pipeline and a data file outside it."""
    init_repo(tmp_path / "repo", {"toy/__init__.py": "", "toy/pipe.py": PIPELINE,
                                  ".gitignore": "__pycache__/\n"})
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(5.0, 2.0, 500), "segment": rng.choice(["a", "b"], 500),
                          "label": rng.integers(0, 2, 500)})
    frame.loc[:9, "x"] = np.nan
    data = tmp_path / "data"
    data.mkdir()
    frame.to_parquet(data / "train.parquet")
    frame.iloc[:100].to_parquet(data / "eval.parquet")
    return tmp_path


def capture(project: Path, out: Path, **extra) -> Manifest:
    return capture_manifest(
        out, entry_point="toy.pipe:run", repo=project / "repo",
        data={"train": project / "data/train.parquet", "eval": project / "data/eval.parquet"},
        config={"scale": 2.0, "nested": {"depth": 3}}, seeds=11, metrics={"mean_x": 1.5},
        model_version="v1", label="label", features=["x", "segment"], **extra)


def test_capture_records_code_data_config_and_environment(project, tmp_path):
    m = capture(project, tmp_path / "models/v1")
    head = git(project / "repo", "rev-parse", "HEAD").strip()
    assert m.code.commit == head and m.code.dirty is False and m.code.diff_sha256 is None
    assert m.code.repo == str((project / "repo").resolve())
    assert m.entry_point.callable == "toy.pipe:run" and m.entry_point.workdir == "."
    assert m.config == {"scale": 2.0, "nested": {"depth": 3}} and m.seeds == {"seed": 11}
    assert m.seed == 11 and m.metric == "mean_x" and m.higher_is_better()
    train = m.input("train")
    raw = (project / "data/train.parquet").read_bytes()
    assert train.sha256 == hashlib.sha256(raw).hexdigest() and train.bytes == len(raw)
    frame = pd.read_parquet(project / "data/train.parquet")
    s = train.summary
    assert s.rows == 500 and s.schema["x"] == "DOUBLE" and s.schema["segment"] == "VARCHAR"
    x = s.column("x")
    assert x.nulls == 10 and x.non_null == 490
    assert x.mean == pytest.approx(frame["x"].mean()) and x.max == pytest.approx(frame["x"].max())
    assert x.quantiles[10] == pytest.approx(frame["x"].median())
    seg = {lv.level: lv for lv in s.column("segment").levels}
    for level in ("a", "b"):
        part = frame[frame["segment"] == level]
        assert seg[level].rows == len(part)
        assert seg[level].label_rate == pytest.approx(part["label"].mean())
    assert s.label_rate == pytest.approx(frame["label"].mean())
    assert m.libraries["numpy"] == np.__version__ and m.libraries["pandas"] == pd.__version__
    assert {"system", "machine", "python"} <= set(m.platform)
    assert (tmp_path / "models/v1/manifest.json").is_file()


def test_dirty_tree_records_the_diff_hash_and_the_patch(project, tmp_path):
    pipe = project / "repo/toy/pipe.py"
    pipe.write_text(PIPELINE.replace("+ seed", "+ seed + 100"))
    m = capture(project, tmp_path / "v2.json")
    diff = subprocess.run(["git", "-C", str(project / "repo"), "diff", "HEAD", "--binary"],
                          capture_output=True, check=True).stdout
    assert m.code.dirty is True
    assert m.code.diff_sha256 == hashlib.sha256(diff).hexdigest()
    assert m.patch_path == tmp_path / "v2.patch" and m.patch_path.read_bytes() == diff


def test_schema_round_trip(project, tmp_path):
    m = capture(project, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["schema"] == SCHEMA and doc["schema_version"] == SCHEMA_VERSION
    assert list(doc)[:2] == ["schema", "schema_version"]
    again = load_manifest(tmp_path / "m.json")
    assert again == m and again.to_dict() == m.to_dict()
    assert Manifest.from_dict(m.to_dict()) == m
    save_manifest(again, tmp_path / "copy.json")
    assert json.loads((tmp_path / "copy.json").read_text()) == doc


@pytest.mark.parametrize(("change", "message"), [
    ({"schema_version": SCHEMA_VERSION + 1}, "reads up to"),
    ({"schema": "something/else"}, "is not a run manifest"),
    ({"metrics": None}, "lacks the required key 'metrics'"),
])
def test_unreadable_manifests_are_refused_with_a_reason(project, tmp_path, change, message):
    doc = capture(project, tmp_path / "m.json").to_dict()
    doc.update(change)
    doc = {k: v for k, v in doc.items() if v is not None}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path / "bad.json")


def test_capture_validates_its_inputs(project, tmp_path):
    with pytest.raises(ManifestError, match="evaluation role 'holdout'"):
        capture(project, tmp_path / "m.json", evaluation="holdout")
    with pytest.raises(ManifestError, match="primary_metric 'auc'"):
        capture(project, tmp_path / "m.json", primary_metric="auc")


def test_dvc_tracked_input_is_recognised(project, tmp_path):
    data = project / "data/train.parquet"
    md5 = file_md5(data)
    (project / "data/train.parquet.dvc").write_text(
        f"outs:\n- md5: {md5}\n  size: {data.stat().st_size}\n  hash: md5\n"
        f"  path: train.parquet\n")
    m = capture(project, tmp_path / "m.json")
    dvc = m.input("train").dvc
    assert dvc is not None and dvc.md5 == md5 and dvc.size == data.stat().st_size
    assert dvc.matches_workspace is True and dvc.rev is None  # the .dvc file is not committed
    assert m.input("eval").dvc is None
    assert load_manifest(tmp_path / "m.json").input("train").dvc == dvc


def test_dvc_lock_and_revision_are_read_from_a_data_repository(tmp_path):
    repo = init_repo(tmp_path / "data_repo", {"README": "data\n"})
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    (repo / "out").mkdir()
    frame.to_parquet(repo / "out/features.parquet")
    (repo / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  featurize:\n    cmd: python featurize.py\n    deps:\n"
        "    - path: raw.csv\n      md5: 0123\n    outs:\n    - path: out/features.parquet\n"
        "      hash: md5\n      md5: 00000000000000000000000000000000\n      size: 3\n")
    git(repo, "add", "dvc.lock")
    git(repo, "commit", "-q", "-m", "lock")
    rev = git(repo, "rev-parse", "HEAD").strip()
    from workbench.lineage.manifest import data_input

    found = data_input("train", repo / "out/features.parquet").dvc
    assert found is not None and found.file.endswith("dvc.lock")
    assert found.md5 == "0" * 32 and found.rev == rev
    assert found.matches_workspace is False  # the file on disk is not the locked version


def test_manifests_map_model_versions(project, tmp_path):
    capture(project, tmp_path / "models/v1")
    capture_manifest(tmp_path / "models/v2", entry_point="toy.pipe:run", repo=project / "repo",
                     data={"train": project / "data/train.parquet"}, evaluation=None,
                     config={}, seeds=1, metrics={"mean_x": 2.0}, model_version="v2")
    (tmp_path / "models/notes.json").write_text('{"not": "a manifest"}')
    incident = parse_incident({
        "production": {"source": "logs.parquet", "timestamp": "t", "prediction": "p"},
        "reference": {"source": "train.parquet"}, "lineage": {"manifests": "models"}},
        tmp_path / "incident.toml")
    found = manifests_for_versions(incident)
    assert sorted(found) == ["v1", "v2"] and found["v2"].metrics == {"mean_x": 2.0}
    capture(project, tmp_path / "models/v1-again")
    with pytest.raises(ManifestError, match="Two manifests claim model version 'v1'"):
        manifests_for_versions(incident)


def test_cli_capture_runs_the_entry_point_and_show_prints_it(project, tmp_path, capsys):
    from workbench.cli import main

    repo = project / "repo"
    (tmp_path / "params.json").write_text('{"scale": 3.0}')
    code = main(["manifest", "capture", "--out", str(tmp_path / "models/v9"), "--entry",
                 "toy.pipe:run", "--repo", str(repo), "--data",
                 f"train={project / 'data/train.parquet'}", "--evaluation", "",
                 "--config", str(tmp_path / "params.json"), "--seed", "2", "--run",
                 "--model-version", "v9", "--features", "x,segment"])
    assert code == 0
    path = Path(capsys.readouterr().out.strip())
    m = load_manifest(path)
    expected = pd.read_parquet(project / "data/train.parquet")["x"].mean() * 3.0 + 2
    assert m.metrics == {"mean_x": pytest.approx(expected)}
    assert m.model_version == "v9" and m.config == {"scale": 3.0} and m.evaluation is None
    assert m.features == ("x", "segment") and m.code.dirty is False
    assert not list(repo.rglob("__pycache__"))  # running it left the working tree clean
    assert main(["manifest", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "Run v9" in shown and "mean_x=" in shown and "toy.pipe:run" in shown
    assert main(["manifest", "capture", "--out", str(tmp_path / "x"), "--entry", "toy.pipe:run",
                 "--data", "train", "--metric", "a=1"]) == 2
    assert "--data must look like NAME=VALUE" in capsys.readouterr().err
