"""Segment filters as the app passes them to the core: any column name or value, however odd
(quotes, semicolons, SQL keywords, unicode, very long), is either a column of the log, with
correct and possibly empty results, or a ColumnNotFoundError; the value is always a parameter,
so no SQL error ever leaks out of a filter.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.bad_inputs.base import Builder, base_log
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.exceptions import ColumnNotFoundError, InvalidInputError, WorkbenchError
from workbench.stages import summary

ODD = 'note "x"; DROP TABLE production; --'  # a segment column whose name is itself hostile
ODD_VALUES = ("O'Brien", '"; DROP TABLE production; --', "日本語", "é", "a=b", "NULL", "SELECT",
              "%", "_", "\\", "1; 2", "🙂", "x" * 500, "' OR '1'='1", "Ünïcödé ")
SEGMENTS = ("country", ODD)
HOUR = 3600
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

values = st.one_of(
    st.sampled_from(ODD_VALUES + ("DE", "FR", "US")),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000),
    st.sampled_from(("SELECT * FROM production", "'; --", '"', "''", "$p0", "?", ":name",
                     "nul\x00byte", "line\nbreak", "\t")),
)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    """The production log, with the hostile segment column cycling through its odd values."""
    frame = base_log()
    frame[ODD] = [ODD_VALUES[i % len(ODD_VALUES)] for i in range(len(frame))]
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, log: pd.DataFrame):
    """One small store shared by every example."""
    b = Builder()
    b.set_log(log)
    b.config["production"]["segments"] = list(SEGMENTS)
    config = b.write(Path(tmp_path_factory.mktemp("filters")))
    with LogStore(load_incident(config)) as opened:
        yield opened


@pytest.fixture(scope="module")
def diagnosis(store: LogStore):
    """The diagnosis the app's figures accompany (no model: no attribution)."""
    return diagnose(store.incident, store=store, attribution=False)


def _matching(log: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    return log[log[column].astype(str) == value]


@SETTINGS
@given(column=st.sampled_from(SEGMENTS), value=values)
@example(column="country", value="DE")
@example(column=ODD, value=ODD_VALUES[1])
@example(column=ODD, value="x" * 500)
@example(column="country", value="nul\x00byte")
@example(column="country", value="DE' OR '1'='1" * 10_000)
def test_bucket_counts_of_any_value_are_exact(store, log, column, value):
    counts = store.bucket_counts(HOUR, segment=(column, value))
    assert int(counts["n"].sum()) == len(_matching(log, column, value))


@SETTINGS
@given(column=st.sampled_from(SEGMENTS), value=values)
def test_failing_records_of_any_value_belong_to_it(store, log, column, value):
    found = store.failing_records("fp", [column], segment=(column, value), limit=5)
    rows = _matching(log, column, value)
    expected = int(((rows["is_fraud"] == 0) & (rows["fraud_score"] >= 0.5)).sum())
    assert len(found) == min(5, expected)
    assert (found[column] == value).all()
    if expected:
        assert int(found["_wb_total"].iloc[0]) == expected


@SETTINGS
@given(column=st.text(min_size=1, max_size=300), value=values)
def test_unknown_columns_are_named_never_queried(store, column, value):
    if column in store.production_schema:
        return
    for call in (lambda: store.bucket_counts(HOUR, segment=(column, value)),
                 lambda: store.failing_records("fp", [], segment=(column, value))):
        with pytest.raises(ColumnNotFoundError) as info:
            call()
        assert "segment" in str(info.value)


@settings(SETTINGS, max_examples=20)
@given(column=st.sampled_from(SEGMENTS), value=values)
def test_the_app_filter_text_gives_that_segment(store, log, diagnosis, column, value):
    found = summary.impact(store, diagnosis, f"{column}={value}")
    rows = _matching(log, column, value.strip())
    assert found.segment is not None
    assert found.segment.rows_baseline + found.segment.rows_current == len(rows)
    assert found.segment.segment == f"{column}={value.strip()}"


@settings(SETTINGS, max_examples=20)
@given(column=st.text(min_size=1, max_size=100).filter(lambda c: "=" not in c), value=values)
def test_the_app_filter_text_on_an_unknown_column(store, diagnosis, column, value):
    if column.strip() in store.production_schema or not column.strip():
        return
    with pytest.raises(ColumnNotFoundError):
        summary.impact(store, diagnosis, f"{column}={value}")


@settings(SETTINGS, max_examples=200)
@given(text=st.text(max_size=200))
def test_parsing_a_filter_never_fails_unexpectedly(text):
    try:
        parsed = summary.parse_segment_filter(text)
    except InvalidInputError as exc:
        assert isinstance(exc, WorkbenchError) and "column=value" in str(exc)
        return
    head, _, tail = text.partition("=")
    assert parsed is None if not text else parsed == (head.strip(), tail.strip())
