"""Run manifests: what a training run was made of, recorded next to the model it produced.

A manifest names the data inputs (path, content hash, rows, schema, per-column summary, DVC
record), the code (git commit, dirty flag, hash of the uncommitted diff), config, seeds, library
versions, platform, evaluation metrics on a named evaluation set with the direction each
improves in, and the pipeline's entry point, so the run can be compared with another and re-run
with any factor swapped. The JSON layout is documented in docs/manifest-schema.md;
`schema_version` only grows, and readers refuse versions newer than they know.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import json
import math
import os
import platform
import sys
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.lineage import directions, dvc, gitutil
from workbench.lineage import libraries as libs
from workbench.lineage.dvc import DvcInfo
from workbench.lineage.errors import ManifestError
from workbench.lineage.profile import (
    DataSummary,
    content_hash,
    file_sha256,
    resolve_files,
    summarize,
)
from workbench.results import Serialisable, jsonable

SCHEMA = "workbench/run-manifest"
SCHEMA_VERSION = 2  # 2: metric_directions, directions_declared, label kinds and moments
MANIFEST_NAME = "manifest.json"
MANIFEST_SUFFIX = ".json"  # an `out` ending in it is the manifest file; anything else a folder
EVAL_ROLE = "eval"


@dataclass(frozen=True)
class EntryPoint(Serialisable):
    """How to run the pipeline: a callable or a command template (see docs/manifest-schema.md).

    callable: "package.module:function", called as function(data={role: path}, config={...},
    seed=int) and returning {metric: value}. command: a template with {data[ROLE]}, {config}
    (a JSON file), {seed}, {metrics} (a JSON file the command writes) and {python}.
    workdir: the folder, relative to the repository root, runs start in (put on sys.path).
    drop_key: config key the pipeline reads a list of features to leave out from (ablations).
    """

    callable: str | None = None
    command: str | None = None
    workdir: str = "."
    drop_key: str | None = None

    def describe(self) -> str:
        """The callable or the command, for messages."""
        return self.callable or self.command or "<none>"


@dataclass(frozen=True)
class CodeState(Serialisable):
    """The pipeline's code at training time."""

    repo: str | None
    commit: str | None
    branch: str | None = None
    dirty: bool = False
    diff_sha256: str | None = None
    patch: str | None = None  # file next to the manifest holding the uncommitted diff
    subject: str | None = None
    commit_time: str | None = None
    remote: str | None = None
    untracked: int = 0


@dataclass(frozen=True)
class DataInput(Serialisable):
    """One data input of the run: a role (train, eval, ...) and the exact version used."""

    role: str
    path: str
    format: str
    sha256: str
    bytes: int
    files: int
    summary: DataSummary | None = None
    dvc: DvcInfo | None = None

    @property
    def version_id(self) -> str:
        """Short identity of the data version."""
        return "sha256:" + self.sha256[:12]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInput:
        """Inverse of to_dict()."""
        return cls(**{**d, "summary": DataSummary.from_dict(d["summary"]) if d.get("summary")
                      else None, "dvc": DvcInfo(**d["dvc"]) if d.get("dvc") else None})


@dataclass(frozen=True)
class Manifest(Serialisable):
    """A training run: inputs, code, config, environment and results."""

    run_id: str
    created: str
    entry_point: EntryPoint
    code: CodeState
    data: tuple[DataInput, ...]
    config: dict[str, Any]
    seeds: dict[str, int]
    metrics: dict[str, float]
    evaluation: str | None = EVAL_ROLE
    primary_metric: str | None = None
    lower_is_better: tuple[str, ...] = ()
    model_version: str | None = None
    model: dict[str, Any] | None = None
    features: tuple[str, ...] = ()
    label: str | None = None
    libraries: dict[str, str] = field(default_factory=dict)
    platform: dict[str, Any] = field(default_factory=dict)
    metric_directions: dict[str, str] = field(default_factory=dict)  # metric -> lower|higher
    directions_declared: tuple[str, ...] = ()  # metrics whose direction was declared
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION
    path: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (schema keys first; the load path is not part of it)."""
        out = {"schema": self.schema, "schema_version": self.schema_version}
        out.update({f.name: jsonable(getattr(self, f.name)) for f in fields(self)
                    if f.name not in ("schema", "schema_version", "path")})
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: Path | None = None) -> Manifest:
        """Validate a manifest document and build the object."""
        where = str(path) if path else "<manifest>"
        if d.get("schema") != SCHEMA:
            raise ManifestError(f"{where} is not a run manifest (its 'schema' is "
                                f"{d.get('schema')!r}, expected {SCHEMA!r}).")
        version = d.get("schema_version")
        if not isinstance(version, int) or version < 1:
            raise ManifestError(f"{where}: 'schema_version' must be a positive integer. "
                                f"Got {version!r}.")
        if version > SCHEMA_VERSION:
            raise ManifestError(f"{where} uses manifest schema version {version}; this workbench "
                                f"reads up to {SCHEMA_VERSION}. Upgrade the workbench.")
        for key in ("run_id", "created", "entry_point", "code", "data", "metrics"):
            if key not in d:
                raise ManifestError(f"{where} lacks the required key {key!r}.")
        known = {f.name for f in fields(cls)} - {"path"}
        try:
            return cls(**{
                **{k: v for k, v in d.items() if k in known},
                "entry_point": EntryPoint(**d["entry_point"]),
                "code": CodeState(**d["code"]),
                "data": tuple(DataInput.from_dict(x) for x in d["data"]),
                "config": dict(d.get("config") or {}),
                "seeds": {k: int(v) for k, v in (d.get("seeds") or {}).items()},
                "metrics": {k: float(v) for k, v in d["metrics"].items() if v is not None},
                "lower_is_better": tuple(d.get("lower_is_better") or ()),
                "features": tuple(d.get("features") or ()),
                "metric_directions": {str(k): directions.check(v, f"{where}: direction of {k!r}")
                                      for k, v in (d.get("metric_directions") or {}).items()},
                "directions_declared": tuple(d.get("directions_declared") or ()),
                "path": path,
            })
        except (TypeError, ValueError, KeyError) as exc:
            raise ManifestError(f"{where} is malformed: {exc}.") from exc

    # ---- derived ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The model version, else the manifest's file name, else the run id."""
        return self.model_version or (self.path.parent.name if self.path else self.run_id[:8])

    @property
    def seed(self) -> int:
        """The seed the entry point receives (`seeds['seed']`, else the first, else 0)."""
        if "seed" in self.seeds:
            return self.seeds["seed"]
        return next(iter(self.seeds.values()), 0)

    @property
    def metric(self) -> str:
        """The primary metric's name."""
        return self.primary_metric or next(iter(self.metrics), "")

    def higher_is_better(self, metric: str | None = None) -> bool:
        """Direction of a metric: as recorded, else listed lower-is-better, else from its name."""
        name = metric or self.metric
        if name in self.metric_directions:
            return self.metric_directions[name] == directions.HIGHER
        if name in self.lower_is_better:
            return False
        return directions.guess(name)[0] == directions.HIGHER

    def direction_declared(self, metric: str | None = None) -> bool:
        """Whether the metric's direction was declared at capture rather than guessed."""
        name = metric or self.metric
        if self.metric_directions:
            return name in self.directions_declared
        return name in self.lower_is_better

    def input(self, role: str) -> DataInput | None:
        """The data input with that role."""
        return next((d for d in self.data if d.role == role), None)

    @property
    def patch_path(self) -> Path | None:
        """The file holding the uncommitted diff of a dirty run, if recorded."""
        if not self.code.patch:
            return None
        return (self.path.parent if self.path else Path.cwd()) / self.code.patch


# ---- reading and writing -----------------------------------------------------------------------


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file (or the manifest.json inside a folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"No run manifest at {str(path)!r}. Pass the manifest.json written "
                            f"next to the model (by capture_manifest or `workbench manifest "
                            f"capture`).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ManifestError(f"{str(path)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{str(path)!r} holds {type(data).__name__}, not a manifest object.")
    return Manifest.from_dict(data, path.resolve())


def manifest_path(out: str | Path) -> Path:
    """The manifest file for `out`: out itself when it ends in .json, else out/manifest.json.

    `models/v1.2` is a folder (its '.2' is no file suffix); an existing file there is an error.
    """
    path = Path(out)
    if path.is_dir():
        return path / MANIFEST_NAME
    if path.suffix.lower() == MANIFEST_SUFFIX:
        return path
    if path.exists():
        raise ManifestError(f"{str(path)!r} is a file, not a folder: pass the model's folder "
                            f"(the manifest is written inside it as {MANIFEST_NAME}) or a path "
                            f"ending in {MANIFEST_SUFFIX}.")
    return path / MANIFEST_NAME


def save_manifest(manifest: Manifest, path: str | Path) -> Path:
    """Write the manifest as indented JSON; returns the file written."""
    path = manifest_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest.to_dict(), indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


# ---- capture -------------------------------------------------------------------------------


def capture_manifest(
    out: str | Path, *, entry_point: str | EntryPoint, data: Mapping[str, str | Path],
    config: Mapping[str, Any] | str | Path | None, seeds: int | Mapping[str, int],
    metrics: Mapping[str, float], evaluation: str | None = EVAL_ROLE,
    primary_metric: str | None = None, lower_is_better: Iterable[str] = (),
    model_version: str | None = None, model_path: str | Path | None = None,
    label: str | None = None, features: Iterable[str] = (), drop_key: str | None = None,
    repo: str | Path | None = None, libraries: Iterable[str] = (),
    metric_direction: str | None = None, loaded_modules: bool = True,
) -> Manifest:
    """Record a manifest of the run that just trained; returns it (written to `out`).

    Call it from the training script after evaluating. `out` is the model's folder (then
    `manifest.json` inside; created when missing) or a path ending in `.json`. `data` maps roles
    to paths (the evaluation set's role is `evaluation`); `entry_point` is "module:function" or
    an EntryPoint. `metric_direction` ("lower"/"higher") declares the primary metric's; without
    it the direction is taken from the name with a MetricDirectionWarning. `libraries`: extra
    distribution names; `loaded_modules` adds those of the modules this process imported.
    Data inputs are hashed and summarised with DuckDB; git state is read without modifying the
    repository.
    """
    out_path = manifest_path(out)
    lower_is_better = tuple(lower_is_better)
    entry = _entry_point(entry_point, drop_key)
    metrics = _metrics(metrics)
    if evaluation is not None and evaluation not in data:
        raise ManifestError(f"The evaluation role {evaluation!r} is not among the data inputs "
                            f"({', '.join(data)}). Pass the evaluation set as data[{evaluation!r}] "
                            f"or evaluation=None.")
    primary = primary_metric or next(iter(metrics), None)
    if primary is not None and primary not in metrics:
        raise ManifestError(f"primary_metric {primary!r} is not among the metrics "
                            f"({', '.join(metrics)}).")
    root = Path(repo).resolve() if repo else entry_repo(entry)
    code, patch = _code_state(root)
    if patch is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        patch_name = out_path.stem + ".patch"
        (out_path.parent / patch_name).write_bytes(patch)
        code = CodeState(**{**code.__dict__, "patch": patch_name})
    if entry.callable and root is not None and entry.workdir == ".":
        entry = EntryPoint(**{**entry.__dict__, "workdir": entry_workdir(entry.callable, root)})
    found, declared = metric_directions(metrics, primary, metric_direction, lower_is_better)
    names = set(libraries) | entry_libraries(entry, root)
    if loaded_modules:
        names |= libs.loaded_distributions()
    manifest = Manifest(
        run_id=uuid.uuid4().hex, created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        entry_point=entry, code=code,
        data=tuple(data_input(role, path, label=label) for role, path in data.items()),
        config=read_config(config), seeds=_seeds(seeds), metrics=metrics, evaluation=evaluation,
        primary_metric=primary,
        lower_is_better=tuple(k for k, v in found.items() if v == directions.LOWER),
        model_version=model_version, model=_model(model_path), features=tuple(features),
        label=label, libraries=libs.versions(names), platform=platform_info(),
        metric_directions=found, directions_declared=declared,
    )
    save_manifest(manifest, out_path)
    return Manifest(**{**manifest.__dict__, "path": out_path.resolve()})


def data_input(role: str, path: str | Path, label: str | None = None) -> DataInput:
    """Hash, summarise and look up the DVC record of one data input."""
    files, kind = resolve_files(path)
    resolved = str(Path(path).resolve()) if not any(c in str(path) for c in "*?[") \
        else str(Path(path).absolute())
    version = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    digest, summary = _profile(resolved, version, label)
    return DataInput(role=role, path=resolved, format=kind, sha256=digest,
                     bytes=sum(f.stat().st_size for f in files), files=len(files),
                     summary=summary, dvc=dvc.find(files[0]) if len(files) == 1 else None)


@functools.lru_cache(maxsize=64)
def _profile(path: str, version: tuple[tuple[str, int, int], ...],
             label: str | None) -> tuple[str, DataSummary]:
    """Content hash and summary of one version of an input (the evaluation set of several runs
    captured in one process is read once); `version` holds each file's size and mtime."""
    return content_hash(path), summarize(path, label=label, require_label=False)


def _entry_point(value: str | EntryPoint, drop_key: str | None) -> EntryPoint:
    if isinstance(value, EntryPoint):
        return value if drop_key is None else EntryPoint(**{**value.__dict__,
                                                             "drop_key": drop_key})
    if not isinstance(value, str) or value.count(":") != 1 or not all(value.split(":")):
        raise ManifestError(f"entry_point must be 'package.module:function' (or an EntryPoint "
                            f"with a command template). Got {value!r}.")
    return EntryPoint(callable=value, drop_key=drop_key)


def _module_origin(module: str) -> Path | None:
    """The file a module would be imported from here, or None when it is not importable."""
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__file__", None):
        return Path(loaded.__file__).resolve()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).resolve() if spec is not None and spec.origin else None


def entry_repo(entry: EntryPoint) -> Path | None:
    """The repository holding the entry point's module, else the current folder's."""
    if entry.callable:
        origin = _module_origin(entry.callable.split(":")[0])
        root = gitutil.repo_root(origin) if origin is not None else None
        if root is not None:
            return root
    return gitutil.repo_root(Path.cwd())


def entry_workdir(callable_spec: str, root: Path) -> str:
    """Folder (relative to root) from which the entry point's module imports by its name.

    Found from where the module imports here, else by looking for its file in the repository.
    """
    module = callable_spec.split(":")[0]
    parts = module.split(".")
    origin = _module_origin(module)
    if origin is not None:
        depth = len(parts) - 1 + (1 if origin.name == "__init__.py" else 0)
        candidates = [origin.parents[depth]]
    else:
        tail = Path(*parts)
        found = sorted(list(root.rglob(str(tail) + ".py"))
                       + list(root.rglob(str(tail / "__init__.py"))),
                       key=lambda p: len(p.parts))
        candidates = [p.parents[len(parts) - 1 + (p.name == "__init__.py")] for p in found]
    for base in candidates:
        try:
            return str(base.resolve().relative_to(root.resolve())) or "."
        except ValueError:
            continue
    return "."


def _code_state(root: Path | None) -> tuple[CodeState, bytes | None]:
    if root is None:
        return CodeState(repo=None, commit=None), None
    state = gitutil.status(root)
    patch = state.pop("patch")
    return CodeState(repo=str(root), **state), (patch if state["dirty"] and patch else None)


def read_config(config: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """The config as a dict: a mapping as is, else read from a JSON or TOML file."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        out = jsonable(dict(config))
    else:
        path = Path(config)
        if not path.is_file():
            raise ManifestError(f"The config file {str(path)!r} does not exist.")
        text = path.read_text(encoding="utf-8")
        try:
            out = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except ValueError as exc:
            raise ManifestError(f"The config file {str(path)!r} is not valid "
                                f"{'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}.") from exc
    if not isinstance(out, dict):
        raise ManifestError(f"config must be a mapping of names to values. Got {out!r}.")
    return out


def _seeds(seeds: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(seeds, bool) or not isinstance(seeds, int | Mapping):
        raise ManifestError(f"seeds must be an int or a mapping of names to ints. Got {seeds!r}.")
    items = {"seed": seeds} if isinstance(seeds, int) else dict(seeds)
    for name, value in items.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ManifestError(f"Seed {name!r} must be an integer. Got {value!r}.")
    return items


def _metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    out = {}
    for name, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ManifestError(f"Metric {name!r} must be a number. Got {value!r}.") from None
        if not math.isfinite(number):
            raise ManifestError(f"Metric {name!r} is {number}; a finite number is needed.")
        out[str(name)] = number
    if not out:
        raise ManifestError("metrics is empty: record at least one evaluation metric.")
    return out


def _model(path: str | Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise ManifestError(f"The model file {str(p)!r} does not exist.")
    return {"path": str(p.resolve()), "sha256": file_sha256(p), "bytes": p.stat().st_size}


def entry_libraries(entry: EntryPoint, root: Path | None) -> set[str]:
    """Distributions the entry point's code imports (read from its source) and what they need."""
    workdir = (root or Path.cwd()) / entry.workdir
    modules, scripts = libs.entry_sources(entry.callable, entry.command, workdir)
    return libs.with_requirements(
        libs.distributions_of(libs.source_imports(workdir, modules, scripts)))


def metric_directions(metrics: Mapping[str, float], primary: str | None,
                      declared: str | None, lower: Iterable[str]) -> tuple[dict[str, str],
                                                                           tuple[str, ...]]:
    """Every metric's direction and the metrics whose direction was declared.

    The primary metric's comes from `declared`, listed names are lower-is-better, the rest are
    taken from their names; guessing the primary metric's direction warns.
    """
    lower = set(lower)
    out: dict[str, str] = {}
    named: list[str] = []
    for name in metrics:
        if name == primary and declared is not None:
            out[name] = directions.check(declared, "metric_direction")
            named.append(name)
        elif name in lower:
            out[name] = directions.LOWER
            named.append(name)
        else:
            out[name], known = directions.guess(name)
            if name == primary:
                directions.warn_guessed(name, out[name], known)
    return out, tuple(named)


def platform_info() -> dict[str, Any]:
    """Operating system, machine, Python implementation and CPU count."""
    return {"system": platform.system(), "release": platform.release(),
            "machine": platform.machine(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "cpus": os.cpu_count()}


# ---- model versions ----------------------------------------------------------------------------


def find_manifests(pattern: str | Path, base: Path | None = None) -> list[Manifest]:
    """Every run manifest under a folder (recursively) or matching a glob, oldest first."""
    text = str(pattern)
    if base is not None and not Path(text).is_absolute():
        text = str(base / text)
    paths = sorted(Path(text).rglob("*.json")) if Path(text).is_dir() else sorted(
        Path(p) for p in glob.glob(text, recursive=True))
    found = []
    for p in paths:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
            found.append(Manifest.from_dict(doc, p.resolve()))
    return sorted(found, key=lambda m: (m.created, str(m.path)))


def manifests_for_versions(incident: Any) -> dict[str, Manifest]:
    """Model version -> manifest, from the incident config's `[lineage] manifests`.

    Manifests are matched by their `model_version` field; those without one are skipped. Two
    manifests claiming the same version is an error naming both files.
    """
    section = getattr(incident, "lineage", None)
    if section is None:
        return {}
    found = find_manifests(section.manifests, base=incident.base_dir)
    out: dict[str, Manifest] = {}
    for m in found:
        if not m.model_version:
            continue
        if m.model_version in out:
            raise ManifestError(
                f"Two manifests claim model version {m.model_version!r}: "
                f"{out[m.model_version].path} and {m.path}. Remove or rename one so each "
                f"version maps to one run.")
        out[m.model_version] = m
    return out
