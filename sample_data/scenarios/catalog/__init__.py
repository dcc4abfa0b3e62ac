"""The scenario set: one incident per signature in at least two variants, plus healthy controls."""

from __future__ import annotations

from ..spec import Scenario
from . import data_quality, feature_pipeline, healthy, input_data, mixed, model_serving

SCENARIOS: tuple[Scenario, ...] = (
    *input_data.SCENARIOS, *feature_pipeline.SCENARIOS, *model_serving.SCENARIOS,
    *data_quality.SCENARIOS, *mixed.SCENARIOS, *healthy.SCENARIOS,
)


def by_name(name: str) -> Scenario:
    """The scenario of that name (KeyError listing the names otherwise)."""
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(f"No scenario {name!r}; known: {', '.join(s.name for s in SCENARIOS)}")
