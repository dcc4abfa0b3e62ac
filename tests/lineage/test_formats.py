"""Ablations and swaps hand the pipeline its own format: CSV stays CSV (same delimiter, values as
written), Parquet stays Parquet, a folder stays a folder, a glob a glob; other formats are
errors naming them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.lineage.conftest import init_repo
from workbench.data.formats import FileFormat, Layout, file_format, resolve
from workbench.data.queries import Sql
from workbench.data.snapshots import Snapshots
from workbench.lineage import capture_manifest
from workbench.lineage.ablate import ablate
from workbench.lineage.cache import RunCache
from workbench.lineage.errors import DataVersionError
from workbench.lineage.runner import Runner

PIPELINE = '''
import glob
import os

import pandas as pd


def read(path, kind):
    if kind == "parquet":
        return pd.read_parquet(path)
    if kind == "semicolon":
        return pd.read_csv(path, sep=";", dtype={"zip": str})
    if kind == "gzip":
        if not path.endswith(".csv.gz"):
            raise ValueError(f"expected a .csv.gz file, got {path}")
        return pd.read_csv(path)
    if kind == "folder":
        return pd.concat([pd.read_parquet(os.path.join(path, f)) for f in os.listdir(path)])
    if kind == "glob":
        return pd.concat([pd.read_csv(p) for p in sorted(glob.glob(path))])
    raise ValueError(kind)


def run(data, config, seed):
    frame = read(data["train"], config["kind"])
    return {"score": float(frame["x"].mean()) * 2 + float(frame["y"].mean())}
'''

FRAME = pd.DataFrame({"id": [f"r{i}" for i in range(10)],
                      "x": [1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                      "y": np.arange(10, dtype=float) * 10,
                      "zip": ["01234", "02000", "10115", "01234", "80331", "01234", "20095",
                              "50667", "01234", "70173"]})
ABLATED = 2 * 1.0 + FRAME["y"].mean()  # x replaced by its most frequent value, 1.0


def write(kind: str, root: Path, frame: pd.DataFrame = FRAME) -> Path:
    """The training data in one of the layouts the pipeline reads."""
    root.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.to_parquet(root / "train.parquet")
        return root / "train.parquet"
    if kind == "semicolon":
        frame.to_csv(root / "train.csv", sep=";", index=False)
        return root / "train.csv"
    if kind == "gzip":
        frame.to_csv(root / "train.csv.gz", index=False)
        return root / "train.csv.gz"
    if kind == "folder":
        (root / "train").mkdir()
        frame.iloc[:5].to_parquet(root / "train" / "a.parquet")
        frame.iloc[5:].to_parquet(root / "train" / "b.parquet")
        return root / "train"
    (root / "parts").mkdir()
    frame.iloc[:5].to_csv(root / "parts" / "part-1.csv", index=False)
    frame.iloc[5:].to_csv(root / "parts" / "part-2.csv", index=False)
    return root / "parts" / "part-*.csv"


@pytest.fixture
def repo(tmp_path) -> Path:
    return init_repo(tmp_path / "repo", {"pipe.py": PIPELINE, ".gitignore": "__pycache__/\n"})


def manifest(repo: Path, data: Path, kind: str, out: Path):
    return capture_manifest(out, entry_point="pipe:run", repo=repo, data={"train": data},
                            evaluation=None, config={"kind": kind}, seeds=0,
                            metrics={"score": 0.0}, metric_direction="higher")


@pytest.mark.parametrize("kind", ["semicolon", "gzip", "parquet", "folder", "glob"])
def test_drop_ablation_writes_the_pipelines_own_format(repo, tmp_path, kind):
    data = write(kind, tmp_path / "data")
    m = manifest(repo, data, kind, tmp_path / "m.json")
    with Runner(cache=RunCache(tmp_path / "cache"), fork=False) as runner:
        result = ablate(m, runner, features=["x"], repeats=2)
        (derived,) = (runner.scratch / "derived").iterdir()
        assert derived.is_dir() == (kind in ("folder", "glob"))
        written = [p for p in derived.rglob("*") if p.is_file()] if derived.is_dir() \
            else [derived]
        suffix = {"semicolon": ".csv", "gzip": ".csv.gz", "parquet": ".parquet",
                  "folder": ".parquet", "glob": ".csv"}[kind]
        assert [p.name.endswith(suffix) for p in written] == [True]
        if kind == "semicolon":  # the dialect and every untouched value as written
            lines = written[0].read_text().splitlines()
            assert lines[0] == "id;x;y;zip" and lines[1].endswith(";01234")
    (row,) = result.rows
    assert result.baseline_bad == pytest.approx(2 * FRAME["x"].mean() + FRAME["y"].mean())
    assert row.metric_bad == pytest.approx(ABLATED)


def test_swap_keeps_csv_text_and_takes_the_donors_values(repo, tmp_path):
    good = write("semicolon", tmp_path / "good")
    bad = write("semicolon", tmp_path / "bad", FRAME.assign(x=FRAME["x"] - 5))
    m_good = manifest(repo, good, "semicolon", tmp_path / "good.json")
    m_bad = manifest(repo, bad, "semicolon", tmp_path / "bad.json")
    with Runner(cache=RunCache(tmp_path / "cache"), fork=False) as runner:
        result = ablate(m_bad, runner, good=m_good, mode="swap", key="id", features=["x"],
                        repeats=2)
    (row,) = result.rows
    assert row.metric_bad == pytest.approx(result.baseline_good) and row.gap_explained == 1.0


@pytest.mark.parametrize("name", ["train.csv.bz2", "train.feather", "train.jsonl"])
def test_formats_the_workbench_cannot_read_are_named(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00")
    with pytest.raises(DataVersionError, match=rf"is {name.split('.', 1)[1]}; the workbench "
                                               r"reads and writes .*csv\.gz"):
        resolve(tmp_path / name)


def test_a_format_it_cannot_write_is_an_error_naming_it(tmp_path):
    like = Layout("file", FileFormat("csv", "bz2", ".csv.bz2"), (tmp_path / "x.csv.bz2",))
    with pytest.raises(DataVersionError, match="Cannot write csv.bz2 files"):
        with Snapshots() as snap:
            snap.write_like(Sql(["SELECT 1 AS a"]), like, tmp_path / "out")


def test_a_derived_table_never_overwrites_its_input(tmp_path):
    FRAME.to_parquet(tmp_path / "train.parquet")
    with Snapshots() as snap:
        like = snap.layout(tmp_path / "train.parquet")
        with pytest.raises(DataVersionError, match="Refusing to overwrite the data input"):
            snap.write_like(Sql(["SELECT 1 AS a"]), like, tmp_path / "train")
    assert pd.read_parquet(tmp_path / "train.parquet").equals(FRAME)


def test_folders_prefer_parquet_and_refuse_mixed_csv(tmp_path):
    (tmp_path / "mixed").mkdir()
    FRAME.to_parquet(tmp_path / "mixed" / "a.parquet")
    FRAME.to_csv(tmp_path / "mixed" / "export.csv", index=False)
    files, fmt, shape = resolve(tmp_path / "mixed")
    assert [f.name for f in files] == ["a.parquet"] and fmt.kind == "parquet"
    assert shape == "folder"
    (tmp_path / "csv").mkdir()
    FRAME.to_csv(tmp_path / "csv" / "a.csv", index=False)
    FRAME.to_csv(tmp_path / "csv" / "b.csv.gz", index=False)
    with pytest.raises(DataVersionError, match=r"mixes formats \(csv, csv.gz\)"):
        resolve(tmp_path / "csv")
    assert file_format(Path("x.TSV.GZ")) == FileFormat("csv", "gzip", ".tsv.gz")
