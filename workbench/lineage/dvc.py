"""Recognising DVC-tracked data inputs from `.dvc` files and `dvc.lock`, without DVC installed.

DVC records each tracked output's hash (`md5`, for a folder `<md5>.dir`) and size in a small YAML
file committed to git: `<file>.dvc` next to the data, or the `outs` of a stage in `dvc.lock`.
The data version of an input is then that hash plus the git revision of the file recording it.
Only the simple, machine-written subset of YAML these files use is read here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from workbench.lineage import gitutil
from workbench.results import Serialisable


@dataclass(frozen=True)
class DvcInfo(Serialisable):
    """What DVC records about one data input."""

    file: str  # the .dvc file or dvc.lock that records the output
    path: str  # the output's path as written there
    md5: str | None
    size: int | None
    rev: str | None  # last git commit of `file` (None when it is not committed)
    matches_workspace: bool | None  # md5 of the file on disk equals the recorded one


def find(path: Path) -> DvcInfo | None:
    """DVC's record of a data file: `<path>.dvc`, else a `dvc.lock` in a parent folder."""
    path = path.resolve()
    sidecar = path.with_name(path.name + ".dvc")
    if sidecar.is_file():
        for out in _outs(sidecar.read_text(encoding="utf-8")):
            if (sidecar.parent / out.get("path", "")).resolve() == path:
                return _info(sidecar, out, path)
    for folder in path.parents:
        lock = folder / "dvc.lock"
        if lock.is_file():
            for out in _outs(lock.read_text(encoding="utf-8")):
                if (folder / out.get("path", "")).resolve() == path:
                    return _info(lock, out, path)
        if (folder / ".git").exists() or (folder / ".dvc").is_dir():
            break
    return None


def _info(record: Path, out: dict[str, str], data: Path) -> DvcInfo:
    md5 = out.get("md5")
    size = out.get("size")
    root = gitutil.repo_root(record)
    rev = gitutil.last_commit_touching(root, record) if root else None
    matches = None
    if md5 and not md5.endswith(".dir") and data.is_file():
        matches = file_md5(data) == md5
    return DvcInfo(file=str(record), path=out.get("path", ""), md5=md5,
                   size=int(size) if size and size.isdigit() else None, rev=rev,
                   matches_workspace=matches)


def file_md5(path: Path) -> str:
    """MD5 of a file's bytes, as DVC computes it for files."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _outs(text: str) -> list[dict[str, str]]:
    """Every item of every `outs:` list in a .dvc or dvc.lock document (scalar keys only)."""
    found: list[dict[str, str]] = []
    outs_indent: int | None = None  # indentation of the current `outs:` key
    item: dict[str, str] | None = None
    item_indent = 0
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if outs_indent is not None:
            if body.startswith("- ") and indent >= outs_indent:
                item = {}
                found.append(item)
                item_indent = indent + 2
                body = body[2:]
                indent = item_indent
            elif indent <= outs_indent and not body.startswith("- "):
                outs_indent, item = None, None
        if outs_indent is None:
            if body.rstrip(":") == "outs" and body.endswith(":"):
                outs_indent = indent
            continue
        if item is not None and indent == item_indent and ":" in body:
            key, _, value = body.partition(":")
            item[key.strip()] = value.strip().strip("'\"")
    return found
