"""Loading user callables named in the incident config ('file.py:function' or 'module:function').

The incident config is written by the team investigating the incident, so its callables are
trusted code, like a notebook cell; they are loaded, never evaluated from strings.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError


def load_callable(spec: str, base_dir: Path) -> Callable[..., Any]:
    """Import the function named by spec; file paths are relative to the config's folder."""
    target, _, func_name = spec.partition(":")
    if target.endswith(".py"):
        path = (base_dir / target).resolve()
        if not path.is_file():
            raise ConfigError(f"The file {str(path)!r} named in {spec!r} does not exist.")
        module_name = f"workbench_user_{path.stem}_{abs(hash(str(path)))}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ConfigError(f"Cannot load {str(path)!r} as Python code.")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ConfigError(f"Cannot import module {target!r} named in {spec!r}: {exc}.") from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigError(f"{spec!r}: {target!r} has no function {func_name!r}.")
    return func
