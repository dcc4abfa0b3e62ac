"""Library versions of a run: the distributions its code imports, and what those need in turn.

Three sources are unioned: the imports written in the entry point's code (read with `ast`, never
executed, following the pipeline's own local modules), so a manifest captured from the command
line lists scikit-learn although the workbench never imports it; the modules a run actually
loaded (the training process's `sys.modules` when the script calls `capture_manifest`, or what
the entry point imported in the worker of `manifest capture --run`); and the installed
requirements of the distributions found from the source (the libraries they import).
"""

from __future__ import annotations

import ast
import importlib.metadata
import platform
import re
import shlex
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
_OPTIONAL = re.compile(r"extra\s*==")  # a requirement of an optional extra only
# Local modules followed through the pipeline's imports, at most (a guard on huge trees).
MAX_LOCAL_MODULES = 500


@cache
def _providers() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in importlib.metadata.packages_distributions().items()}


def distributions_of(modules: Iterable[str]) -> set[str]:
    """Installed distributions providing the top-level packages of some module names."""
    providers = _providers()
    out: set[str] = set()
    for module in modules:
        top = module.split(".")[0]
        if top and top not in sys.stdlib_module_names:
            out.update(providers.get(top, ()))
    return out


def source_imports(workdir: Path, modules: Iterable[str] = (),
                   scripts: Iterable[Path] = ()) -> set[str]:
    """Top-level names the code imports: modules (dotted, under workdir) and script files.

    Local modules (a folder or .py file of that name in workdir) are read in turn instead of
    being returned; relative imports stay inside the package and are not followed separately.
    """
    found: set[str] = set()
    seen: set[str] = set()
    queue = [m.split(".")[0] for m in modules]
    files = [Path(p) for p in scripts]
    while (queue or files) and len(seen) < MAX_LOCAL_MODULES:
        if files:
            path = files.pop()
            for name in _imports(path):
                if name not in seen and name not in found:
                    queue.append(name)
            continue
        name = queue.pop()
        if name in seen:
            continue
        local = _local_files(workdir, name)
        if local:
            seen.add(name)
            files.extend(local)
        elif name not in sys.stdlib_module_names:
            found.add(name)
    return found


def _local_files(workdir: Path, name: str) -> list[Path]:
    package, module = workdir / name, workdir / f"{name}.py"
    if package.is_dir():
        return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    return [module] if module.is_file() else []


def _imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in one file (empty if it does not parse)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def entry_sources(callable_spec: str | None, command: str | None,
                  workdir: Path) -> tuple[list[str], list[Path]]:
    """The modules and script files an entry point runs: its module, or the command's files."""
    if callable_spec:
        return [callable_spec.split(":")[0]], []
    modules, scripts = [], []
    try:
        tokens = shlex.split(command or "")
    except ValueError:
        tokens = []
    for i, token in enumerate(tokens):
        if token == "-m" and i + 1 < len(tokens):
            modules.append(tokens[i + 1])
        elif token.endswith(".py") and (workdir / token).is_file():
            scripts.append(workdir / token)
    return modules, scripts


def with_requirements(names: Iterable[str]) -> set[str]:
    """The distributions and, recursively, their installed non-optional requirements."""
    out: set[str] = set()
    queue = list(names)
    while queue:
        name = queue.pop()
        key = _canonical(name)
        if key in {_canonical(n) for n in out}:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        out.add(dist.metadata["Name"] or name)
        for requirement in dist.requires or ():
            if _OPTIONAL.search(requirement):
                continue
            match = _NAME.match(requirement.strip())
            if match:
                queue.append(match.group(0))
    return out


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def versions(names: Iterable[str]) -> dict[str, str]:
    """`python` and the installed version of each distribution, by name (case-insensitive)."""
    out = {"python": platform.python_version()}
    seen: set[str] = set()
    for name in sorted(set(names), key=str.lower):
        key = _canonical(name)
        if key in seen:
            continue
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen.add(key)
    return out


def loaded_distributions() -> set[str]:
    """Distributions providing the modules this process has imported so far."""
    return distributions_of(list(sys.modules))
