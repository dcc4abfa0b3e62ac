"""The whole diagnosis on DuckDB and on Spark: every number of `Diagnosis.to_dict()` (the
`--json` document plus the bucket series and histograms) within 1e-9 relative.

Run on the bundled sample incident (generated at 60,000 rows: a model, a change log, segments,
serving columns) and on two small scenarios (a regression with daily buckets, a classifier whose
upstream unit change the data-quality stage names). What is allowed to differ, and why:

- `elapsed_seconds` and `attribution.seconds`: wall-clock times.
- Nothing else. Seeded samples (the domain classifier, the repair test, SHAP rows, the
  estimation's loss samples) are ordered by DuckDB's own 64-bit hash on both engines (Spark
  computes it in an Arrow UDF), quantiles are exact on both (`percentile` on Spark), and the
  attribution budget is set far above what SHAP needs here, so a slower engine cannot leave it
  fewer rows to explain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engines.compare import differences
from tests.engines.conftest import SCENARIOS

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]

TIMINGS = frozenset({"elapsed_seconds", "seconds"})
BUDGET = 600.0  # seconds of SHAP: never the limit on these incidents


def _both(config: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from workbench.config import load_incident, with_engine
    from workbench.diagnose import diagnose

    incident = load_incident(config)
    duck = diagnose(incident, attribution_budget=BUDGET).to_dict()
    spark = diagnose(with_engine(incident, "spark"), attribution_budget=BUDGET).to_dict()
    return duck, spark


def test_sample_incident_same_on_both_engines(spark: Any, small_sample_incident: Path) -> None:
    duck, on_spark = _both(small_sample_incident)
    assert duck["hypotheses"], "the sample incident has suspects to compare"
    assert differences(duck, on_spark, skip=TIMINGS) == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_same_on_both_engines(spark: Any, scenario_incidents: dict[str, Path],
                                       name: str) -> None:
    duck, on_spark = _both(scenario_incidents[name])
    assert duck["series"], "a diagnosis with a bucket series"
    assert differences(duck, on_spark, skip=TIMINGS) == []
