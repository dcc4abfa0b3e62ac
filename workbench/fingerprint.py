"""Fingerprints of what a diagnosis depends on: the config, the source files, the parameters and
the workbench's own version and code (the files' and code's fingerprints come from
`workbench.data.fingerprints`: new data gives a new key without reading the data).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import workbench
from workbench.config import Incident
from workbench.data.fingerprints import code_digest, file_print, source
from workbench.serial import jsonable

FORMAT = 1  # bump when the cached form of a diagnosis changes meaning


def identity(incident: Incident, params: Mapping[str, Any]) -> dict[str, Any]:
    """Everything a diagnosis of `incident` with `params` depends on, as plain JSON."""
    config = incident.to_dict()
    config.pop("engine", None)  # DuckDB and Spark give the same diagnosis (tests/engines)
    return {"format": FORMAT, "version": workbench.__version__, "code": code_digest(),
            "config": json.loads(json.dumps(config, sort_keys=True, default=str)),
            "sources": sources(incident), "params": jsonable(dict(params))}


def key_of(ident: Mapping[str, Any]) -> str:
    """A short stable hash of an identity (canonical JSON: sorted keys, no whitespace)."""
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def sources(incident: Incident) -> dict[str, list[dict[str, Any]]]:
    """Per input (production, reference, changes, model, pipeline): its files' fingerprints."""
    out = {"production": source(incident.production.source, "production log"),
           "reference": source(incident.reference.source, "reference data")}
    if incident.changes is not None:
        out["changes"] = source(incident.changes.source, "change log")
    if incident.model is not None:
        out["model"] = [file_print(incident.model.path)]
    if incident.pipeline is not None:
        target = incident.pipeline.callable.partition(":")[0]
        if target.endswith(".py"):  # a module callable is counted by the code it imports
            out["pipeline"] = [file_print(incident.base_dir / target)]
    return out
