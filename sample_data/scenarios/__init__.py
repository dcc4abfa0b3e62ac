"""Seeded incident scenarios with known answers: the yardstick for diagnosis accuracy.

`generate_all(out_dir)` writes one folder per scenario (logs, training data, models, change log,
incident.toml, truth.json). See README.md in this folder for the list and the truth format.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .build import generate
from .catalog import SCENARIOS, by_name
from .spec import LAYER_OF, Scenario

__all__ = ["LAYER_OF", "SCENARIOS", "Scenario", "by_name", "generate", "generate_all",
           "load_truth"]

Progress = Callable[[str], None]


def generate_all(out_dir: Path, names: Iterable[str] | None = None,
                 progress: Progress | None = None, all_models: bool = False) -> dict[str, Path]:
    """Generate the scenarios (all, or those named) under out_dir; name -> incident.toml path.

    all_models: attach the model file(s) and a [model] section to every scenario, not only to
    those that ship one.
    """
    say = progress or (lambda _msg: None)
    chosen = [by_name(n) for n in names] if names is not None else list(SCENARIOS)
    if all_models:
        chosen = [replace(s, with_model=True) for s in chosen]
    out = {}
    for scenario in chosen:
        began = time.perf_counter()
        out[scenario.name] = generate(scenario, Path(out_dir) / scenario.name)
        say(f"{scenario.name}: {scenario.rows:,} rows in {time.perf_counter() - began:.1f}s")
    return out


def load_truth(config: Path) -> dict[str, Any]:
    """The truth.json next to an incident config."""
    return json.loads((Path(config).parent / "truth.json").read_text(encoding="utf-8"))
