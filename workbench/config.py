"""The incident config (TOML): a stable contract loaded into a frozen, validated `Incident`.

Paths are relative to the config file. Unknown keys are an error naming the key, so a typo never
silently disables an analysis.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError
from workbench.timeutil import parse_duration

TASKS = ("classification", "regression")
CHANGE_KINDS = ("model", "code", "data", "schema", "config", "infra", "upstream")


@dataclass(frozen=True)
class SourceSpec:
    """Where a table lives: a Parquet/CSV file or glob, or a table inside a DuckDB file."""

    path: str
    kind: str  # "parquet", "csv" or "duckdb"
    table: str | None = None

    def describe(self) -> str:
        """Human form used in messages."""
        return f"{self.path}:{self.table}" if self.table else self.path


@dataclass(frozen=True)
class ProductionSection:
    """The production prediction log and the roles of its columns."""

    source: SourceSpec
    timestamp: str
    prediction: str
    decision: str | None = None
    label: str | None = None
    model_version: str | None = None
    id: str | None = None
    segments: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None
    latency: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class ReferenceSection:
    """The training (reference) data."""

    source: SourceSpec
    label: str | None = None


@dataclass(frozen=True)
class ModelSection:
    """The model that produced the predictions (optional)."""

    path: Path
    task: str | None = None
    threshold: float | None = None
    trusted: bool = False


@dataclass(frozen=True)
class ChangesSection:
    """The change log: columns time, id, kind, description."""

    source: SourceSpec


@dataclass(frozen=True)
class Incident:
    """A validated incident config."""

    path: Path | None
    title: str
    production: ProductionSection
    reference: ReferenceSection
    bucket: str | None = None
    metric: str | None = None
    model: ModelSection | None = None
    changes: ChangesSection | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the config are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def threshold(self) -> float:
        """Decision threshold on the score when no decision column is logged."""
        if self.model is not None and self.model.threshold is not None:
            return self.model.threshold
        return 0.5

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (paths as strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# ---- parsing -----------------------------------------------------------------------------------

_TOP_KEYS = {"title", "bucket", "metric", "production", "reference", "model", "changes"}
_SECTION_KEYS = {
    "production": {
        "source", "timestamp", "prediction", "decision", "label", "model_version", "id",
        "segments", "features", "latency", "status",
    },
    "reference": {"source", "label"},
    "model": {"path", "task", "threshold", "trusted"},
    "changes": {"source"},
}
_REQUIRED = {"production": ("source", "timestamp", "prediction"), "reference": ("source",)}


def load_incident(path: str | Path) -> Incident:
    """Read and validate an incident config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Incident config {str(path)!r} does not exist or is not a file.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Incident config {str(path)!r} is not valid TOML: {exc}.") from exc
    return parse_incident(data, path.resolve())


def parse_incident(data: dict[str, Any], path: Path | None = None) -> Incident:
    """Validate a config mapping (as read from TOML) into an Incident."""
    where = str(path) if path else "<config>"
    _check_keys(data, _TOP_KEYS, "the top level", where)
    base = path.parent if path else Path.cwd()
    for section, keys in _SECTION_KEYS.items():
        if section in data:
            _check_table(data[section], section, where)
            _check_keys(data[section], keys, f"[{section}]", where)
    for section, required in _REQUIRED.items():
        if section not in data:
            raise ConfigError(f"{where}: the [{section}] section is required.")
        for key in required:
            if key not in data[section]:
                raise ConfigError(f"{where}: [{section}] needs the key {key!r}.")

    bucket = _opt_str(data, "bucket", "the top level", where)
    if bucket is not None:
        try:
            parse_duration(bucket)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    return Incident(
        path=path,
        title=_opt_str(data, "title", "the top level", where) or (
            path.stem if path else "incident"),
        bucket=bucket,
        metric=_opt_str(data, "metric", "the top level", where),
        production=_production(data["production"], base, where),
        reference=ReferenceSection(
            source=_source(data["reference"], "reference", base, where),
            label=_opt_str(data["reference"], "label", "[reference]", where),
        ),
        model=_model(data["model"], base, where) if "model" in data else None,
        changes=(
            ChangesSection(source=_source(data["changes"], "changes", base, where))
            if "changes" in data
            else None
        ),
    )


def _production(sec: dict[str, Any], base: Path, where: str) -> ProductionSection:
    name = "[production]"
    features = sec.get("features")
    return ProductionSection(
        source=_source(sec, "production", base, where),
        timestamp=_req_str(sec, "timestamp", name, where),
        prediction=_req_str(sec, "prediction", name, where),
        decision=_opt_str(sec, "decision", name, where),
        label=_opt_str(sec, "label", name, where),
        model_version=_opt_str(sec, "model_version", name, where),
        id=_opt_str(sec, "id", name, where),
        segments=_str_list(sec.get("segments", []), "segments", name, where),
        features=None if features is None else _str_list(features, "features", name, where),
        latency=_opt_str(sec, "latency", name, where),
        status=_opt_str(sec, "status", name, where),
    )


def _model(sec: dict[str, Any], base: Path, where: str) -> ModelSection:
    name = "[model]"
    task = _opt_str(sec, "task", name, where)
    if task is not None and task not in TASKS:
        raise ConfigError(f"{where}: {name} task must be one of {', '.join(TASKS)}. Got {task!r}.")
    threshold = sec.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float)
    ):
        raise ConfigError(f"{where}: {name} threshold must be a number. Got {threshold!r}.")
    trusted = sec.get("trusted", False)
    if not isinstance(trusted, bool):
        raise ConfigError(f"{where}: {name} trusted must be true or false. Got {trusted!r}.")
    return ModelSection(
        path=base / _req_str(sec, "path", name, where),
        task=task,
        threshold=None if threshold is None else float(threshold),
        trusted=trusted,
    )


def _source(sec: dict[str, Any], section: str, base: Path, where: str) -> SourceSpec:
    """Parse a source string: 'x.parquet', 'dir/*.parquet', 'x.csv' or 'x.duckdb:table'."""
    text = _req_str(sec, "source", f"[{section}]", where)
    head, sep, table = text.rpartition(":")
    if sep and head.lower().endswith((".duckdb", ".db")) and table:
        return SourceSpec(path=str(base / head), kind="duckdb", table=table)
    lower = text.lower()
    for suffix, kind in ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv"),
                         (".csv.gz", "csv"), (".tsv", "csv")):
        if lower.endswith(suffix):
            return SourceSpec(path=str(base / text), kind=kind)
    raise ConfigError(
        f"{where}: [{section}] source {text!r} must be a Parquet or CSV file or glob "
        f"(ending in .parquet or .csv) or 'file.duckdb:table'."
    )


def _check_table(value: Any, section: str, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{section}] must be a table (a section), not {value!r}.")


def _check_keys(table: dict[str, Any], allowed: set[str], name: str, where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{where}: unknown key {key!r} in {name}.{hint} "
                f"Allowed keys: {', '.join(sorted(allowed))}."
            )


def _req_str(table: dict[str, Any], key: str, name: str, where: str) -> str:
    value = _opt_str(table, key, name, where)
    if not value:
        raise ConfigError(f"{where}: {name} needs a non-empty string {key!r}.")
    return value


def _opt_str(table: dict[str, Any], key: str, name: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {name} {key} must be a string. Got {value!r}.")
    return value


def _str_list(value: Any, key: str, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {name} {key} must be a list of column names. Got {value!r}.")
    return tuple(value)
