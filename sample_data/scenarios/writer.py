"""Writing a scenario folder: Parquet logs and reference, changes.csv, incident.toml, truth.json.

Every file is reproducible byte for byte from the seed: fixed Parquet settings, sorted rows,
stable key order.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .spec import Change

PARQUET_OPTIONS = {"compression": "snappy", "use_dictionary": True, "write_statistics": True}
ROW_GROUP_SIZE = 65_536
PIPELINES = Path(__file__).parent / "pipelines"


def write_parquet(table: pa.Table, path: Path) -> None:
    """One Parquet file with the fixed settings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)


def write_log(table: pa.Table, t_us: np.ndarray, log_dir: Path, by_month: bool) -> list[Path]:
    """The log split into one file per UTC day (or month), named after it."""
    unit = "M" if by_month else "D"
    periods = np.asarray(t_us).astype("datetime64[us]").astype(f"datetime64[{unit}]")
    paths = []
    for period in np.unique(periods):
        rows = np.flatnonzero(periods == period)
        path = log_dir / f"{period}.parquet"
        write_parquet(table.take(pa.array(rows)), path)
        paths.append(path)
    return paths


def write_changes(changes: tuple[Change, ...], path: Path) -> None:
    """changes.csv (time,id,kind,description), in time order."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["time", "id", "kind", "description"])
        for c in sorted(changes, key=lambda c: c.time):
            writer.writerow([c.time, c.id, c.kind, c.description])


def write_json(data: dict[str, Any], path: Path) -> None:
    """JSON with stable formatting."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def copy_pipeline(module: str, path: Path) -> None:
    """Copy a training feature module next to the config as pipeline.py."""
    shutil.copyfile(PIPELINES / f"{module}.py", path)


def toml_text(sections: dict[str, Any]) -> str:
    """TOML of top-level scalars followed by one level of tables (the incident config shape)."""
    lines = [f"{key} = {_value(v)}" for key, v in sections.items() if not isinstance(v, dict)]
    for name, table in sections.items():
        if isinstance(table, dict):
            lines.append(f"\n[{name}]")
            width = max(len(k) for k in table)
            lines += [f"{k.ljust(width)} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
