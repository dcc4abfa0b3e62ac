"""No data-quality fault on the healthy controls, even when a split is forced on them: their
weekly rhythm, bursts, heat spells and benign shifts are not volume drops, frozen values or
values outside training's range."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sample_data.scenarios import SCENARIOS

HEALTHY = [s for s in SCENARIOS if s.healthy]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scenario", HEALTHY, ids=[s.name for s in HEALTHY])
def test_a_healthy_control_split_late_has_no_quality_fault(scenario, scenario_configs):
    from workbench.diagnose import diagnose

    start = datetime.fromisoformat(scenario.start.replace("Z", "+00:00")).replace(tzinfo=None)
    split = start + timedelta(days=scenario.days * 0.7)
    result = diagnose(scenario_configs[scenario.name], split=split, attribution=False)
    assert result.onset is not None
    assert result.quality == (), [(f.kind, f.feature, f.baseline, f.current)
                                  for f in result.quality]
