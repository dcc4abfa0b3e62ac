"""One local Spark session for the engine tests, and the incidents both engines diagnose."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Small scenarios of other shapes than the sample: a regression with daily buckets and a model,
# and a classifier without one whose upstream unit change shows in the data-quality stage.
SCENARIOS = ("healthy_housing_daily", "upstream_churn_charge_in_cents")
SAMPLE_ROWS = 60_000
# Local mode for tests: two threads, two shuffle partitions, no UI, quiet logs; adaptive
# execution off, which on results this small only adds planning rounds.
TEST_CONF = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
             "spark.ui.enabled": "false", "spark.driver.memory": "1g",
             "spark.log.level": "ERROR", "spark.sql.adaptive.enabled": "false"}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The process's SparkSession in local mode, stopped after the last engine test."""
    pytest.importorskip("pyspark")
    pytest.importorskip("sqlglot")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime on the PATH (.ci/run installs one)")
    from workbench.data.spark import spark_session

    session = spark_session("local[2]", TEST_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_sample_incident(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample incident (same generator, seed and story) at 60,000 rows, which keeps
    the two-engine runs short on a 2-core machine."""
    from sample_data.fraud import generate

    return generate(tmp_path_factory.mktemp("fraud_weekend_small"), rows=SAMPLE_ROWS)


@pytest.fixture(scope="session")
def scenario_incidents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two scenarios, generated once: name -> incident.toml."""
    from sample_data.scenarios import generate_all

    return generate_all(tmp_path_factory.mktemp("engine_scenarios"), names=SCENARIOS)
