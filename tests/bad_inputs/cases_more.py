"""Controls (the base incident, healthy and broken) and further inputs a log can arrive in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.bad_inputs.base import Builder, base_log, with_regression
from tests.bad_inputs.case import case
from tests.core.conftest import toml_dumps

DATA_LAYER = "data layer"


def _healthy(doc: dict) -> None:
    """No onset and no suspect: a quiet incident stays quiet."""
    assert doc["onset"] is None and doc["hypotheses"] == [], (doc["onset"], doc["hypotheses"])


def _regression_found(doc: dict) -> None:
    """The onset lies within two hours of the injected change, the metric tripled or more."""
    onset = pd.Timestamp(doc["onset"].rstrip("Z"))
    assert abs(onset - pd.Timestamp("2026-03-04T00:00:00")) <= pd.Timedelta(hours=2), onset
    assert doc["metric"]["current"] >= 3 * doc["metric"]["baseline"], doc["metric"]


# ---- controls -----------------------------------------------------------------------------------

@case(exit=0, json={"rows": 2160, "metric.name": "false_positive_rate"}, check=_healthy)
def control_base_incident(b: Builder) -> None:
    """The unchanged base incident: valid, and healthy."""


@case(exit=0, json={"metric.name": "false_positive_rate"}, check=_regression_found)
def control_incident_with_a_regression(b: Builder) -> None:
    """The base incident with a false-positive step: found where it was put."""
    with_regression(b)


@case(exit=0, check=_regression_found)
def control_regression_in_a_shuffled_csv(b: Builder) -> None:
    """The regression in one CSV file whose rows are in random order."""
    with_regression(b)
    log = pd.concat([b.files.pop(n) for n in b.log_parts()])
    b.set_log(log.sample(frac=1.0, random_state=5), parts=1, ext="csv")


# ---- more config mistakes -----------------------------------------------------------------------

@case(error=("[[fixes]] #1", "threshold", "between 0 and 1", "2"))
def fix_threshold_above_one(b: Builder) -> None:
    """A threshold fix moving a classifier's threshold to 2."""
    b.files["incident.toml"] = toml_dumps(b.config) + (
        '\n[[fixes]]\nname = "stricter"\nkind = "threshold"\nthreshold = 2\n')


@case(exit=0, json={"metric.name": "mae"})
def threshold_on_a_regression_model(b: Builder) -> None:
    """A threshold above 1 is accepted for a model declared a regression."""
    b.config["model"] = {"path": "model.skops", "task": "regression", "threshold": 50}


@case(argv=("verify", "incident.toml", "--fix", "x", "--window", "2026-03-04..2026-03-01"),
      error=("window", "start must come first"))
def verify_window_reversed(b: Builder) -> None:
    """A reversed replay window for verify, refused before any work."""


@case(argv=("journal", "missing.toml"), error=("missing.toml", "does not exist"))
def journal_config_missing(b: Builder) -> None:
    """The journal of a config that does not exist."""


@case(argv=("trace", "good.json", "bad.json", "--jobs", "0"), error=("--jobs", "positive"))
def trace_jobs_zero(b: Builder) -> None:
    """Zero parallel re-runs."""


@case(argv=("report", "incident.toml", "--out", "/dev/null"),
      error=("--out", "/dev/null", "not a folder"))
def report_out_is_a_device(b: Builder) -> None:
    """A report folder that is an existing non-folder outside the incident."""


@case(argv=("sample", "--seed", "-3", "--out", "sample"), error=("--seed", "-3"))
def sample_negative_seed(b: Builder) -> None:
    """A negative sample seed (nothing may be written)."""


# ---- more shapes of the log ---------------------------------------------------------------------

@case(exit=0, json={"rows": 2160})
def csv_windows_line_endings(b: Builder) -> None:
    """A CSV log with CRLF line endings."""
    b.set_log(base_log().iloc[:0], parts=1, ext="csv")
    b.files["logs/part-0.csv"] = base_log().to_csv(index=False, lineterminator="\r\n").encode()


@case(exit=0, json={"rows": 2160})
def csv_with_a_byte_order_mark(b: Builder) -> None:
    """A CSV log starting with a UTF-8 byte-order mark (as Excel writes it)."""
    b.set_log(base_log().iloc[:0], parts=1, ext="csv")
    b.files["logs/part-0.csv"] = "\ufeff" + base_log().to_csv(index=False)


@case(exit=0, json={"rows": 2160})
def csv_with_latin1_segment_values(b: Builder) -> None:
    """A CSV log in Latin-1 declared with `csv = {encoding = "latin-1"}`."""
    log = base_log()
    log["country"] = log["country"].map({"DE": "Österreich", "FR": "Française", "US": "US"})
    b.set_log(log.iloc[:0], parts=1, ext="csv")
    b.files["logs/part-0.csv"] = log.to_csv(index=False).encode("latin-1")
    b.files["incident.toml"] = toml_dumps(b.config).replace(
        "[production]\n", '[production]\ncsv = {encoding = "latin-1"}\n')


@case(error=("part-0.csv", "encoding"))
def csv_latin1_without_saying_so(b: Builder) -> None:
    """A CSV log in Latin-1 read as UTF-8: an error naming the file and the encoding option."""
    csv_with_latin1_segment_values(b)
    del b.files["incident.toml"]


@case(error=("part-1.parquet", "amount"))
def glob_column_type_changes_in_the_last_file(b: Builder) -> None:
    """The last file stores `amount` as text: read silently as a category today."""
    part = b.files["logs/part-1.parquet"].copy()
    part["amount"] = part["amount"].map("{:.2f}".format)
    b.files["logs/part-1.parquet"] = part


@case(exit=0, json={"rows": 2160})
def duplicate_rows(b: Builder) -> None:
    """Every row logged twice in a second file (a replayed batch) is still a log."""
    b.set_log(pd.concat([base_log(), base_log()]).iloc[:0], parts=1)
    b.files["logs/part-0.parquet"] = base_log()
    b.files["logs/part-0-replay.parquet"] = base_log().iloc[:0]


@case(exit=0, json={"rows": 2160})
def feature_with_huge_values(b: Builder) -> None:
    """A feature holding values near the largest double."""
    log = base_log()
    log.loc[log.index[::97], "amount"] = 1.7e308
    b.set_log(log)


@case(exit=0, json={"rows": 2160})
def segment_all_null(b: Builder) -> None:
    """A segment column with no value."""
    log = base_log()
    log["country"] = None
    b.set_log(log)


@case(exit=0, json={"rows": 2160})
def labels_all_positive(b: Builder) -> None:
    """Every label positive: rates without negatives stay defined or absent, never NaN."""
    log = base_log()
    log["is_fraud"] = 1
    b.set_log(log)


@case(exit=0, json={"rows": 2160}, check=_healthy)
def scores_constant(b: Builder) -> None:
    """Every score the same value."""
    log = base_log()
    log["fraud_score"] = 0.25
    b.set_log(log)


@case(exit=0, json={"rows": 2160})
def latency_negative_and_nan(b: Builder) -> None:
    """Latency values that are negative or NaN."""
    log = base_log()
    log.loc[log.index[::7], "latency_ms"] = -1.0
    log.loc[log.index[3::7], "latency_ms"] = np.nan
    b.set_log(log)
