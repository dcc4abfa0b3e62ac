"""The incident config (TOML): a stable contract loaded into a frozen, validated `Incident`.

Paths are relative to the config file. Unknown keys are an error naming the key, so a typo never
silently disables an analysis.
"""

from __future__ import annotations

import codecs
import difflib
import math
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError
from workbench.messages import quote
from workbench.timeutil import parse_duration

TASKS = ("classification", "regression")
CHANGE_KINDS = ("model", "code", "data", "schema", "config", "infra", "upstream")
FIX_KINDS = ("model", "feature_correction", "threshold", "rollback")


# CSV reader options a config may set under `csv = {...}`, with the TOML type each takes.
CSV_OPTIONS: dict[str, tuple[type, ...]] = {
    "delim": (str,), "quote": (str,), "escape": (str,), "header": (bool,),
    "decimal_separator": (str,), "nullstr": (str, list), "dateformat": (str,),
    "timestampformat": (str,), "skip": (int,), "comment": (str,), "encoding": (str,),
}
TIMESTAMP_UNITS = ("s", "ms", "us", "ns")


# A source addressed by URL (s3://bucket/logs/*.parquet) rather than by a path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str) -> bool:
    """Whether a source path is a URL (an object store), which no config folder prefixes."""
    return bool(_URL.match(path))


@dataclass(frozen=True)
class SourceSpec:
    """Where a table lives: a Parquet/CSV file, glob or folder, or a table inside a DuckDB file.

    A folder is read recursively (Hive-style `key=value/` partitions become columns);
    csv_options are passed to DuckDB's CSV reader, overriding what its sniffer detects.
    """

    path: str
    kind: str  # "parquet", "csv" or "duckdb"
    table: str | None = None
    csv_options: tuple[tuple[str, Any], ...] = ()
    folder: str | None = None  # the folder given in the config, when the source is one

    @property
    def remote(self) -> bool:
        """Whether the source is addressed by URL (an object store: s3://, gs://, ...)."""
        return is_url(self.path)

    def describe(self) -> str:
        """Human form used in messages."""
        if self.folder is not None:
            return self.folder
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
    positive: str | None = None  # the label (and decision) value that means "positive"
    task: str | None = None  # "classification" or "regression"; default: [model] or inferred
    timestamp_unit: str | None = None  # unit of integer epoch timestamps; default: by magnitude


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
    explain_budget: float | None = None  # seconds SHAP attribution may take inside diagnose


@dataclass(frozen=True)
class ChangesSection:
    """The change log: columns time, id, kind, description."""

    source: SourceSpec


@dataclass(frozen=True)
class PipelineSection:
    """The feature computation, to recompute served features from logged raw columns."""

    callable: str  # "path/to/file.py:function" (relative to the config) or "module:function"
    columns: tuple[str, ...] = ()  # raw columns the callable reads; empty: all log columns
    tolerance: float = 1e-6  # relative difference above which a served value counts as skewed


@dataclass(frozen=True)
class FixSpec:
    """A candidate fix to replay the failing window through."""

    name: str
    kind: str  # one of FIX_KINDS
    description: str = ""
    path: Path | None = None  # model file (kind "model", or the old version's for "rollback")
    callable: str | None = None  # feature correction "file.py:function" or "module:function"
    threshold: float | None = None  # kind "threshold"
    version: str | None = None  # kind "rollback": a model version present in the log


@dataclass(frozen=True)
class JournalSection:
    """Where the investigation journal is kept and who writes it."""

    path: Path | None = None  # default: outside the data folder (see workbench.journal)
    author: str | None = None


@dataclass(frozen=True)
class LineageSection:
    """Run manifests of the models, mapped to the versions in the log."""

    manifests: str  # folder or glob of manifest JSON files (relative to the config)


ENGINE_KINDS = ("duckdb", "spark")


@dataclass(frozen=True)
class EngineSection:
    """Which engine runs the queries: DuckDB in process (the default) or Spark.

    master: the Spark master URL ("local[2]", "spark://host:7077", "yarn", ...); conf: extra
    Spark settings (name -> value). Both are ignored by DuckDB.
    """

    kind: str = "duckdb"
    master: str | None = None
    conf: tuple[tuple[str, str], ...] = ()


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
    pipeline: PipelineSection | None = None
    fixes: tuple[FixSpec, ...] = ()
    journal: JournalSection | None = None
    lineage: LineageSection | None = None
    engine: EngineSection = field(default_factory=EngineSection)
    extra: dict[str, Any] = field(default_factory=dict)

    def fix(self, name: str) -> FixSpec:
        """The declared fix of that name, or a ConfigError listing the declared ones."""
        for fix in self.fixes:
            if fix.name == name:
                return fix
        names = ", ".join(f.name for f in self.fixes) or "none declared"
        raise ConfigError(f"No fix named {name!r} in [[fixes]] of the incident config "
                          f"(declared: {names}).")

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the config are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def task(self) -> str | None:
        """The configured task: [production] task, else [model] task, else None (inferred)."""
        if self.production.task is not None:
            return self.production.task
        return self.model.task if self.model is not None else None

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

_TOP_KEYS = {"title", "bucket", "metric", "production", "reference", "model", "changes",
             "pipeline", "fixes", "journal", "lineage", "engine"}
_SECTION_KEYS = {
    "production": {
        "source", "timestamp", "prediction", "decision", "label", "model_version", "id",
        "segments", "features", "latency", "status", "positive", "timestamp_unit", "csv",
        "task",
    },
    "reference": {"source", "label", "csv"},
    "model": {"path", "task", "threshold", "trusted", "explain_budget"},
    "changes": {"source"},
    "pipeline": {"callable", "columns", "tolerance"},
    "journal": {"path", "author"},
    "lineage": {"manifests"},
    "engine": {"kind", "master", "conf"},
}
_FIX_KEYS = {"name", "kind", "description", "path", "callable", "threshold", "version"}
_REQUIRED = {"production": ("source", "timestamp", "prediction"), "reference": ("source",)}


def load_incident(path: str | Path) -> Incident:
    """Read and validate an incident config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Incident config {str(path)!r} does not exist or is not a file.")
    try:
        data = tomllib.loads(_config_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Incident config {str(path)!r} is not valid TOML: {exc}.") from exc
    return parse_incident(data, path.resolve())


def _config_text(path: Path) -> str:
    """The config file's text: UTF-8 as TOML requires, a leading byte-order mark ignored."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Incident config {str(path)!r} cannot be read: {exc.strerror}. "
                          f"Check its permissions.") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(f"Incident config {str(path)!r} is UTF-16 text, but TOML is UTF-8. "
                          f"Save it as UTF-8.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"Incident config {str(path)!r} is not UTF-8 text: byte 0x{data[exc.start]:02x} on "
            f"line {line} is not UTF-8 (saved as Latin-1 or Windows-1252?). Save it as UTF-8."
        ) from exc


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
        model=_model(data["model"], base, where, _production_task(data))
        if "model" in data else None,
        changes=(
            ChangesSection(source=_source(data["changes"], "changes", base, where))
            if "changes" in data
            else None
        ),
        pipeline=_pipeline(data["pipeline"], where) if "pipeline" in data else None,
        fixes=_fixes(data.get("fixes", []), base, where),
        journal=_journal(data["journal"], base, where) if "journal" in data else None,
        lineage=(LineageSection(_req_str(data["lineage"], "manifests", "[lineage]", where))
                 if "lineage" in data else None),
        engine=_engine(data["engine"], where) if "engine" in data else EngineSection(),
    )


def _engine(sec: dict[str, Any], where: str) -> EngineSection:
    """[engine]: kind (duckdb or spark), the Spark master and extra Spark conf."""
    kind = _opt_str(sec, "kind", "[engine]", where) or "duckdb"
    if kind not in ENGINE_KINDS:
        raise ConfigError(f"{where}: [engine] kind must be one of {', '.join(ENGINE_KINDS)}. "
                          f"Got {kind!r}.")
    master = _opt_str(sec, "master", "[engine]", where)
    conf = sec.get("conf", {})
    if not isinstance(conf, dict) or not all(
            isinstance(v, str | int | float | bool) for v in conf.values()):
        raise ConfigError(f"{where}: [engine] conf must be a table of Spark settings such as "
                          f"{{\"spark.sql.shuffle.partitions\" = \"8\"}}. Got {conf!r}.")
    return EngineSection(kind, master, tuple(
        (str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in conf.items()))


def with_engine(incident: Incident, kind: str | None, master: str | None = None) -> Incident:
    """The incident with its [engine] kind (and master) overridden, e.g. by `--engine`."""
    if kind is None and master is None:
        return incident
    kind = kind or incident.engine.kind
    if kind not in ENGINE_KINDS:
        raise ConfigError(f"The engine must be one of {', '.join(ENGINE_KINDS)}. Got {kind!r}.")
    return replace(incident, engine=replace(incident.engine, kind=kind,
                                            master=master or incident.engine.master))


def _pipeline(sec: dict[str, Any], where: str) -> PipelineSection:
    name = "[pipeline]"
    tol = sec.get("tolerance", 1e-6)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or tol < 0:
        raise ConfigError(f"{where}: {name} tolerance must be a number >= 0. Got {tol!r}.")
    return PipelineSection(callable=_callable_str(sec, name, where),
                           columns=_str_list(sec.get("columns", []), "columns", name, where),
                           tolerance=float(tol))


def _fixes(items: Any, base: Path, where: str) -> tuple[FixSpec, ...]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{where}: fixes must be written as [[fixes]] tables.")
    out, seen = [], set()
    for i, item in enumerate(items):
        name = f"[[fixes]] #{i + 1}"
        _check_keys(item, _FIX_KEYS, name, where)
        fix_name = _req_str(item, "name", name, where)
        if fix_name in seen:
            raise ConfigError(f"{where}: two [[fixes]] are named {fix_name!r}; names must differ.")
        seen.add(fix_name)
        kind = _req_str(item, "kind", name, where)
        if kind not in FIX_KINDS:
            raise ConfigError(f"{where}: {name} kind must be one of {', '.join(FIX_KINDS)}. "
                              f"Got {kind!r}.")
        need = {"model": "path", "feature_correction": "callable", "threshold": "threshold",
                "rollback": "version"}[kind]
        if need not in item:
            raise ConfigError(f"{where}: {name} ({fix_name!r}, kind {kind}) needs {need!r}.")
        threshold = item.get("threshold")
        if threshold is not None and (isinstance(threshold, bool)
                                      or not isinstance(threshold, int | float)):
            raise ConfigError(f"{where}: {name} threshold must be a number. Got {threshold!r}.")
        _check_threshold(threshold, None, name, where)
        path = _opt_str(item, "path", name, where)
        out.append(FixSpec(
            name=fix_name, kind=kind, description=_opt_str(item, "description", name, where) or "",
            path=base / path if path else None,
            callable=_callable_str(item, name, where) if "callable" in item else None,
            threshold=None if threshold is None else float(threshold),
            version=_opt_str(item, "version", name, where),
        ))
    return tuple(out)


def _journal(sec: dict[str, Any], base: Path, where: str) -> JournalSection:
    path = _opt_str(sec, "path", "[journal]", where)
    return JournalSection(path=base / path if path else None,
                          author=_opt_str(sec, "author", "[journal]", where))


def _callable_str(sec: dict[str, Any], name: str, where: str) -> str:
    value = _req_str(sec, "callable", name, where)
    if value.count(":") != 1 or not all(value.split(":")):
        raise ConfigError(f"{where}: {name} callable must look like 'file.py:function' or "
                          f"'package.module:function'. Got {value!r}.")
    return value


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
        positive=_positive(sec, name, where),
        task=_task(sec, name, where),
        timestamp_unit=_timestamp_unit(sec, name, where),
    )


def _positive(sec: dict[str, Any], name: str, where: str) -> str | None:
    """The positive label value, kept as text (labels are compared as text when not numeric)."""
    value = sec.get("positive")
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int) or (isinstance(value, str) and not value):
        raise ConfigError(f"{where}: {name} positive must be the label value that means "
                          f"positive, as a string or integer (e.g. \"fraud\" or 1). "
                          f"Got {value!r}.")
    return str(value)


def _task(sec: dict[str, Any], name: str, where: str) -> str | None:
    task = _opt_str(sec, "task", name, where)
    if task is not None and task not in TASKS:
        raise ConfigError(f"{where}: {name} task must be one of {', '.join(TASKS)}. Got {task!r}.")
    return task


def _timestamp_unit(sec: dict[str, Any], name: str, where: str) -> str | None:
    unit = _opt_str(sec, "timestamp_unit", name, where)
    if unit is not None and unit not in TIMESTAMP_UNITS:
        raise ConfigError(f"{where}: {name} timestamp_unit must be one of "
                          f"{', '.join(TIMESTAMP_UNITS)} (the unit of integer epoch "
                          f"timestamps). Got {unit!r}.")
    return unit


def _csv_options(sec: dict[str, Any], section: str, where: str) -> tuple[tuple[str, Any], ...]:
    """Validated `csv = {...}` reader options, as sorted (key, value) pairs."""
    options = sec.get("csv")
    if options is None:
        return ()
    name = f"[{section}] csv"
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: {name} must be a table such as {{delim = \";\"}}. "
                          f"Got {options!r}.")
    out = []
    for key, value in sorted(options.items()):
        types = CSV_OPTIONS.get(key)
        if types is None:
            close = difflib.get_close_matches(key, sorted(CSV_OPTIONS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r} in {name}.{hint} Allowed keys: "
                              f"{', '.join(sorted(CSV_OPTIONS))}.")
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{where}: {name} {key} must be a {wanted}. Got {value!r}.")
        out.append((key, tuple(value) if isinstance(value, list) else value))
    return tuple(out)


def _production_task(data: dict[str, Any]) -> str | None:
    """The [production] task, when it is a valid one (validated with the section)."""
    task = data.get("production", {}).get("task") if isinstance(data.get("production"),
                                                                 dict) else None
    return task if task in TASKS else None


def _model(sec: dict[str, Any], base: Path, where: str,
           production_task: str | None = None) -> ModelSection:
    name = "[model]"
    task = _opt_str(sec, "task", name, where)
    if task is not None and task not in TASKS:
        raise ConfigError(f"{where}: {name} task must be one of {', '.join(TASKS)}. Got {task!r}.")
    threshold = sec.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float)
    ):
        raise ConfigError(f"{where}: {name} threshold must be a number. Got {threshold!r}.")
    _check_threshold(threshold, task or production_task, name, where)
    trusted = sec.get("trusted", False)
    if not isinstance(trusted, bool):
        raise ConfigError(f"{where}: {name} trusted must be true or false. Got {trusted!r}.")
    budget = sec.get("explain_budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | float)
                               or not math.isfinite(budget) or budget <= 0):
        raise ConfigError(f"{where}: {name} explain_budget must be a positive number of "
                          f"seconds (the time SHAP attribution may take inside diagnose). "
                          f"Got {budget!r}.")
    return ModelSection(
        path=base / _req_str(sec, "path", name, where),
        task=task,
        threshold=None if threshold is None else float(threshold),
        trusted=trusted,
        explain_budget=None if budget is None else float(budget),
    )


_SUFFIX_KINDS = ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv"),
                 (".csv.gz", "csv"), (".tsv", "csv"))


def _source(sec: dict[str, Any], section: str, base: Path, where: str) -> SourceSpec:
    """Parse a source string: 'x.parquet', 'dir/*.parquet', 'x.csv', a folder of Parquet or
    CSV files (Hive partitions included), or 'x.duckdb:table'."""
    text = _req_str(sec, "source", f"[{section}]", where)
    options = _csv_options(sec, section, where) if "csv" in sec else ()
    if is_url(text):
        return _url_source(text, options)
    head, sep, table = text.rpartition(":")
    if sep and head.lower().endswith((".duckdb", ".db")) and table:
        return SourceSpec(path=str(base / head), kind="duckdb", table=table)
    lower = text.lower()
    for suffix, kind in _SUFFIX_KINDS:
        if lower.endswith(suffix):
            return SourceSpec(path=str(base / text), kind=kind, csv_options=options)
    folder = base / text
    if _is_dir(folder):
        for suffix, kind in _SUFFIX_KINDS:
            if next(folder.rglob(f"*{suffix}"), None) is not None:
                return SourceSpec(path=str(folder / "**" / f"*{suffix}"), kind=kind,
                                  csv_options=options, folder=str(folder))
        raise ConfigError(
            f"{where}: [{section}] source {text!r} is a folder without .parquet or .csv files. "
            f"Point it at the folder that holds the log's files (or at a file or glob).")
    raise ConfigError(
        f"{where}: [{section}] source {text!r} must be a Parquet or CSV file, glob or folder "
        f"(ending in .parquet or .csv) or 'file.duckdb:table'."
    )


def _url_source(text: str, options: tuple) -> SourceSpec:
    """A source in an object store: a file or glob by its suffix; anything else a folder of
    Parquet files (Hive partitions included), as a store has no folders to look into here."""
    lower = text.lower()
    for suffix, kind in _SUFFIX_KINDS:
        if lower.endswith(suffix):
            return SourceSpec(path=text, kind=kind, csv_options=options)
    folder = text.rstrip("/")
    return SourceSpec(path=f"{folder}/**/*.parquet", kind="parquet", csv_options=options,
                      folder=folder)


def _is_dir(path: Path) -> bool:
    """Whether path is a folder; a name the system refuses (too long, say) is none."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _check_threshold(value: float | None, task: str | None, name: str, where: str) -> None:
    """A decision threshold is finite and, on a classifier's probability, within [0, 1]."""
    if value is None or (math.isfinite(value) and (task == "regression" or 0 <= value <= 1)):
        return
    regression = " For a model that predicts a number, set [model] task = \"regression\"."
    raise ConfigError(
        f"{where}: {name} threshold must be between 0 and 1: it applies to a classifier's score, "
        f"a probability. Got {value!r}.{regression if name == '[model]' else ''}"
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
                f"{where}: unknown key {quote(key)} in {name}.{hint} "
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
