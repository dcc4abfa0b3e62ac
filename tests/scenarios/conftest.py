"""The scenario set, generated once per session, and the diagnosis of each scenario (cached)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sample_data.scenarios import generate_all
from workbench.results import Diagnosis


@pytest.fixture(scope="session")
def scenario_configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every scenario generated into a session temp folder: name -> incident.toml."""
    return generate_all(tmp_path_factory.mktemp("scenarios"))


@pytest.fixture(scope="session")
def diagnosis_of(scenario_configs: dict[str, Path]) -> Callable[[str], Diagnosis]:
    """`diagnosis_of(name)`: the `Diagnosis` of that scenario (computed once per session)."""
    from workbench.diagnose import diagnose

    cache: dict[str, Diagnosis] = {}

    def get(name: str) -> Diagnosis:
        if name not in cache:
            cache[name] = diagnose(scenario_configs[name])
        return cache[name]

    return get


@pytest.fixture(scope="session")
def diagnosed(diagnosis_of: Callable[[str], Diagnosis]) -> Callable[[str], dict[str, Any]]:
    """`diagnosed(name)`: the `--json` document of diagnosing that scenario (once per session)."""
    cache: dict[str, dict[str, Any]] = {}

    def get(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = diagnosis_of(name).to_dict()
        return cache[name]

    return get
