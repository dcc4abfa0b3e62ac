"""Sources in an object store: an S3-compatible server (moto) started here, read by DuckDB's
httpfs with credentials from the environment, give the diagnosis the local files give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.conftest import free_port
from tests.engines.compare import differences
from workbench.config import load_incident
from workbench.data import remote
from workbench.exceptions import DataSourceError

pytestmark = pytest.mark.slow

BUCKET = "lake"
KEYS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_REGION": "us-east-1"}
# The duckdb release with a PyPI build of httpfs, installed beside the venv by `make venv`.
OVERLAY = Path(sys.prefix) / "overlays" / "duckdb-httpfs"


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    """A moto S3 server on loopback with an empty bucket; yields a boto3 client."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                          aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
                          region_name=KEYS["AWS_REGION"])
    client.create_bucket(Bucket=BUCKET)
    client.endpoint = f"http://127.0.0.1:{port}"
    yield client
    server.stop()


def _incident(base: Path, rows: int = 6_000, shift: float = 0.8) -> None:
    """A classifier log over three days in Hive folders (day=...), x shifted on the last day,
    and its reference."""
    rng = np.random.default_rng(4)
    t = pd.Timestamp("2026-06-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 3 * 86_400, rows)), unit="s")
    x = rng.normal(0.0, 1.0, rows) + np.where(t >= pd.Timestamp("2026-06-03", tz="UTC"),
                                                shift, 0.0)
    score = 1 / (1 + np.exp(-(x - 1.0)))
    log = pd.DataFrame({"t": t, "x": x, "c": rng.choice(["a", "b", "c"], rows),
                        "score": score, "label": (rng.random(rows) < score * 0.6).astype(int)})
    for day, part in log.groupby(log["t"].dt.strftime("%Y-%m-%d")):
        folder = base / "logs" / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        part.to_parquet(folder / "part-0.parquet", index=False)
    ref = pd.DataFrame({"x": rng.normal(0.0, 1.0, 4_000), "c": rng.choice(["a", "b", "c"], 4_000)})
    (base / "train").mkdir(exist_ok=True)
    ref.to_parquet(base / "train" / "reference.parquet", index=False)


def _config(path: Path, log: str, reference: str) -> Path:
    path.write_text(f'title = "x drifts"\nbucket = "1h"\n[production]\nsource = "{log}"\n'
                    f'timestamp = "t"\nprediction = "score"\nlabel = "label"\n'
                    f'features = ["x", "c"]\n[reference]\nsource = "{reference}"\n')
    return path


def _upload(client: Any, base: Path, prefix: str) -> None:
    for file in sorted(base.rglob("*.parquet")):
        client.upload_file(str(file), BUCKET, f"{prefix}/{file.relative_to(base).as_posix()}")


def _workbench(args: list[str], home: Path, endpoint: str) -> subprocess.CompletedProcess:
    """`workbench ARGS` in a process whose duckdb has httpfs, with the server's credentials."""
    if not (OVERLAY / "duckdb_extension_httpfs").is_dir():
        pytest.fail(f"{OVERLAY} holds no duckdb with httpfs: run `make venv` (it installs "
                    f"duckdb-extension-httpfs there).")
    env = {**os.environ, **KEYS, "AWS_ENDPOINT_URL": endpoint, "WORKBENCH_HOME": str(home),
           "PYTHONPATH": os.pathsep.join([str(OVERLAY), str(Path(__file__).parents[2])])}
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def _diagnose(config: Path, home: Path, endpoint: str) -> dict[str, Any]:
    """`workbench diagnose --json` of `config`, which must succeed."""
    out = _workbench(["diagnose", str(config), "--json"], home, endpoint)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_a_log_and_reference_in_s3_diagnose_as_the_local_files(s3: Any, tmp_path: Path) -> None:
    base = tmp_path / "data"
    _incident(base)
    _upload(s3, base, "v1")
    local = _diagnose(_config(base / "incident.toml", "logs", "train/reference.parquet"),
                      tmp_path / "home-local", s3.endpoint)
    config = _config(tmp_path / "s3.toml", f"s3://{BUCKET}/v1/logs/",
                     f"s3://{BUCKET}/v1/train/reference.parquet")
    home = tmp_path / "home-s3"
    first = _diagnose(config, home, s3.endpoint)
    assert differences(first, local, skip=frozenset({"elapsed_seconds", "cache"})) == []
    x = next(d for d in first["drift"] if d["feature"] == "x")
    assert x["psi"] > 0.1 and first["rows"] == 6_000  # the shift is there to find

    # The same objects: a cache hit. A rewritten reference object: a new key and new drift.
    again = _diagnose(config, home, s3.endpoint)
    assert again["cache"]["hit"] and again["cache"]["key"] == first["cache"]["key"]
    shifted = pd.read_parquet(base / "train" / "reference.parquet").assign(
        x=lambda f: f["x"] + 0.5)
    shifted.to_parquet(tmp_path / "shifted.parquet", index=False)
    s3.upload_file(str(tmp_path / "shifted.parquet"), BUCKET, "v1/train/reference.parquet")
    changed = _diagnose(config, home, s3.endpoint)
    assert not changed["cache"]["hit"] and changed["cache"]["key"] != first["cache"]["key"]
    x_after = next(d for d in changed["drift"] if d["feature"] == "x")
    assert x_after["mean_reference"] == pytest.approx(x["mean_reference"] + 0.5, rel=1e-9)


def test_a_missing_object_or_bucket_is_named(s3: Any, tmp_path: Path) -> None:
    config = _config(tmp_path / "s3.toml", f"s3://{BUCKET}/nothing/*.parquet",
                     f"s3://{BUCKET}/nothing/reference.parquet")
    out = _workbench(["diagnose", str(config)], tmp_path / "home", s3.endpoint)
    assert out.returncode != 0
    assert f"s3://{BUCKET}/nothing/*.parquet" in out.stderr and "matches no object" in out.stderr
    assert "Traceback" not in out.stderr


# ---- without a server ------------------------------------------------------------------------

def test_url_sources_are_not_joined_to_the_config_folder(tmp_path: Path) -> None:
    config = _config(tmp_path / "incident.toml", "s3://lake/logs/",
                     "gs://models/train/*.csv")
    incident = load_incident(config)
    log, ref = incident.production.source, incident.reference.source
    assert (log.path, log.kind, log.folder) == ("s3://lake/logs/**/*.parquet", "parquet",
                                                "s3://lake/logs")
    assert (ref.path, ref.kind, ref.folder) == ("gs://models/train/*.csv", "csv", None)
    assert log.remote and ref.remote
    assert not load_incident(_config(tmp_path / "local.toml", "log.parquet", "r.parquet")) \
        .production.source.remote


def test_credentials_come_from_the_environment_as_escaped_literals() -> None:
    env = {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "se'cret",
           "AWS_SESSION_TOKEN": "tok", "AWS_DEFAULT_REGION": "eu-west-1",
           "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
           "GCS_ACCESS_KEY_ID": "GOOG", "GCS_SECRET_ACCESS_KEY": "g"}
    s3_secret, gcs_secret = (q.text for q in remote.secrets(env))
    assert s3_secret == ("CREATE OR REPLACE SECRET workbench_s3 (TYPE s3, KEY_ID 'AKIA', "
                         "SECRET 'se''cret', SESSION_TOKEN 'tok', REGION 'eu-west-1', "
                         "ENDPOINT '127.0.0.1:9000', URL_STYLE 'path', USE_SSL false)")
    assert gcs_secret == ("CREATE OR REPLACE SECRET workbench_gcs (TYPE gcs, KEY_ID 'GOOG', "
                          "SECRET 'g')")
    assert remote.secrets({}) == []


def test_without_httpfs_the_error_says_how_to_get_it(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "_packaged_httpfs", lambda: None)
    con = duckdb.connect(config={"extension_directory": str(tmp_path),
                                 "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    with pytest.raises(DataSourceError) as err:
        remote.prepare(con, "s3://lake/logs/*.parquet", "production log")
    assert "httpfs" in str(err.value)
    assert f"duckdb-extension-httpfs=={duckdb.__version__}" in str(err.value)
    with pytest.raises(DataSourceError, match="Spark"):
        remote.prepare(con, "abfss://c@acct.dfs.core.windows.net/logs", "production log")
    con.close()
