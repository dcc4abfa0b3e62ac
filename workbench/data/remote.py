"""Sources in object stores (`s3://`, `gs://`, ...), read by DuckDB's httpfs extension.

Credentials come from the usual environment variables, never from the incident config:
S3 (and S3-compatible servers) from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION (or AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL, for a server
other than AWS: path-style addresses then); Google Cloud Storage from the HMAC key in
GCS_ACCESS_KEY_ID and GCS_SECRET_ACCESS_KEY. Without a key, buckets are read anonymously.

httpfs is loaded from DuckDB's extension folder (`INSTALL httpfs` once, with internet access)
or from the `duckdb-extension-httpfs` package of the same version as duckdb. Files are listed
and fingerprinted (size and modification time) from the store's listing, without downloading
them. Other schemes (abfss://, hdfs://) are for the Spark engine, which reads them itself.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb

from workbench.data import queries
from workbench.exceptions import DataSourceError

# Schemes DuckDB's httpfs reads.
DUCKDB_SCHEMES = ("s3", "gs", "gcs", "r2", "http", "https")
SECRET_NAMES = {"s3": "workbench_s3", "gcs": "workbench_gcs"}


def scheme(path: str) -> str:
    """The URL's scheme, lower-case ("s3" of "s3://bucket/key")."""
    return path.split("://", 1)[0].lower()


def secrets(env: Mapping[str, str] | None = None) -> list[queries.Sql]:
    """CREATE SECRET statements for the credentials found in the environment."""
    env = os.environ if env is None else env
    out = []
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    options: list[tuple[str, Any]] = []
    if key and secret:
        options += [("KEY_ID", key), ("SECRET", secret)]
        if env.get("AWS_SESSION_TOKEN"):
            options.append(("SESSION_TOKEN", env["AWS_SESSION_TOKEN"]))
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        options.append(("REGION", region))
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        options += [("ENDPOINT", parsed.netloc), ("URL_STYLE", "path"),
                    ("USE_SSL", parsed.scheme == "https")]
    if options:
        out.append(queries.create_secret(SECRET_NAMES["s3"], "s3", options))
    gcs_key, gcs_secret = env.get("GCS_ACCESS_KEY_ID"), env.get("GCS_SECRET_ACCESS_KEY")
    if gcs_key and gcs_secret:
        out.append(queries.create_secret(SECRET_NAMES["gcs"], "gcs",
                                         [("KEY_ID", gcs_key), ("SECRET", gcs_secret)]))
    return out


def readable(path: str) -> bool:
    """Whether DuckDB's httpfs reads this URL's scheme."""
    return scheme(path) in DUCKDB_SCHEMES


def prepare(con: duckdb.DuckDBPyConnection, path: str, what: str) -> None:
    """Make `con` able to read `path`: httpfs loaded, the environment's credentials set."""
    if not readable(path):
        raise DataSourceError(
            f"The {what} {path!r} is in a store DuckDB cannot read ({scheme(path)}://; it "
            f"reads {', '.join(s + '://' for s in DUCKDB_SCHEMES)}). Run it on Spark "
            f"([engine] kind = \"spark\", or --engine spark), or copy the files.")
    _load_httpfs(con, what, path)
    for statement in secrets():
        con.execute(statement.text)


def usable(con: duckdb.DuckDBPyConnection, path: str, what: str) -> bool:
    """`prepare`, saying whether it could (False: httpfs is missing or the scheme is not
    DuckDB's)."""
    try:
        prepare(con, path, what)
    except DataSourceError:
        return False
    return True


def _load_httpfs(con: duckdb.DuckDBPyConnection, what: str, path: str) -> None:
    try:
        con.execute(queries.load_extension("httpfs").text)
        return
    except duckdb.Error:
        pass
    packaged = _packaged_httpfs()
    if packaged is not None:
        try:
            con.execute(queries.load_extension(str(packaged)).text)
            return
        except duckdb.Error:
            pass
    raise DataSourceError(
        f"Reading the {what} {path!r} needs DuckDB's httpfs extension, which is not installed "
        f"for duckdb {duckdb.__version__}. Install it once with internet access "
        f"(python -c \"import duckdb; duckdb.connect().install_extension('httpfs')\"), or "
        f"pip install duckdb-extension-httpfs=={duckdb.__version__}.")


def _packaged_httpfs() -> Path | None:
    """The extension file of the `duckdb-extension-httpfs` package, when installed for this
    duckdb version."""
    try:
        import duckdb_extension_httpfs  # type: ignore[import-not-found]
    except ImportError:
        return None
    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    version = duckdb.__version__.split("-")[0]
    found = glob.glob(str(base / f"v{version}" / "**" / "httpfs.duckdb_extension"),
                      recursive=True)
    return Path(found[0]) if found else None


@contextmanager
def connection(path: str, what: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived DuckDB connection able to list and read `path`."""
    con = duckdb.connect(":memory:")
    try:
        prepare(con, path, what)
        yield con
    finally:
        con.close()


def list_files(pattern: str, what: str) -> list[tuple[str, int, int]]:
    """(path, size, modification time in microseconds) of the objects a URL or URL glob names,
    sorted by path, from the store's listing."""
    with connection(pattern, what) as con:
        try:
            rows = con.execute(queries.remote_listing().text, {"pattern": pattern}).fetchall()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise DataSourceError(
                f"Listing the {what} {pattern!r} failed: {first}. Check the address and the "
                f"credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                f"AWS_REGION, AWS_ENDPOINT_URL for S3; GCS_ACCESS_KEY_ID and "
                f"GCS_SECRET_ACCESS_KEY for Google Cloud Storage).") from exc
    return [(str(p), int(size), int(mtime)) for p, size, mtime in rows]
