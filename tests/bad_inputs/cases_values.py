"""Cases of bad values in usable files: scores, labels, timestamps and column names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.bad_inputs.base import Builder, base_log, base_reference
from tests.bad_inputs.case import case

DATA_LAYER = "data layer"


def _log(b: Builder, frame: pd.DataFrame) -> None:
    b.set_log(frame)


def _serving_failing(doc: dict) -> None:
    """The serving layer is judged failing."""
    layers = {layer["layer"]: layer for layer in doc["layers"]}
    assert layers["serving"]["verdict"] == "failing", layers["serving"]


def _label_free_metric(doc: dict) -> None:
    """The monitored metric is one that needs no label (not an error metric over no labels)."""
    assert doc["metric"]["name"] in ("positive_rate", "score_mean"), doc["metric"]


# ---- scores -------------------------------------------------------------------------------------

@case(error=("fraud_score", "VARCHAR", "number"))
def scores_as_text(b: Builder) -> None:
    """Scores stored as text."""
    log = base_log()
    log["fraud_score"] = log["fraud_score"].map("{:.3f}".format)
    _log(b, log)


@case(exit=0, json={"rows": 2160, "metric.name": "false_positive_rate"})
def scores_some_nan(b: Builder) -> None:
    """A few NaN scores among valid ones."""
    log = base_log()
    log.loc[log.index[::200], "fraud_score"] = np.nan
    _log(b, log)


@case(exit=0, json={"rows": 2160, "metric.name": "false_positive_rate"})
def scores_some_infinite(b: Builder) -> None:
    """A few infinite scores among valid ones."""
    log = base_log()
    log.loc[log.index[::200], "fraud_score"] = np.inf
    log.loc[log.index[100::200], "fraud_score"] = -np.inf
    _log(b, log)


@case(error=("fraud_score", "no finite value", "serving"), absent=("no regression",))
def scores_all_nan(b: Builder) -> None:
    """Every score NaN: an error pointing at serving, never a healthy verdict."""
    log = base_log()
    log["fraud_score"] = np.nan
    _log(b, log)


@case(exit=0, check=_serving_failing)
def scores_nan_from_day_two(b: Builder) -> None:
    """Scores turn NaN from the second day on: a serving failure."""
    log = base_log()
    log.loc[log["event_time"] >= pd.Timestamp("2026-03-03"), "fraud_score"] = np.nan
    _log(b, log)


@case(error=("fraud_score", "probability", "task"))
def scores_on_a_0_to_100_scale(b: Builder) -> None:
    """Classifier scores on a 0-100 scale with a 0/1 label."""
    log = base_log()
    log["fraud_score"] *= 100
    _log(b, log)


@case(exit=0, json={"metric.name": "mae"})
def scores_on_a_0_to_100_scale_as_regression(b: Builder) -> None:
    """0-100 scores of a model declared a regression: analysed as such."""
    log = base_log()
    log["fraud_score"] *= 100
    _log(b, log)
    b.config["model"] = {"path": "model.skops", "task": "regression"}


@case(error=("fraud_score", "probability"))
def scores_negative_for_a_classifier(b: Builder) -> None:
    """Classifier scores in [-1, 1] (a margin, not a probability) with a 0/1 label."""
    log = base_log()
    log["fraud_score"] = 2 * log["fraud_score"] - 1
    _log(b, log)


# ---- labels -------------------------------------------------------------------------------------

@case(error=("is_fraud", "-1", "2"), absent=("mae",))
def labels_outside_zero_and_one(b: Builder) -> None:
    """Labels -1 and 2 among 0/1 labels: an error, not a silent switch to regression."""
    log = base_log()
    log.loc[log.index[::50], "is_fraud"] = -1
    log.loc[log.index[25::50], "is_fraud"] = 2
    _log(b, log)


@case(exit=0, json={"metric.name": "false_positive_rate", "rows": 2160})
def labels_as_booleans(b: Builder) -> None:
    """A boolean label column."""
    log = base_log()
    log["is_fraud"] = log["is_fraud"].astype(bool)
    _log(b, log)


@case(exit=0, check=_label_free_metric)
def labels_all_null(b: Builder) -> None:
    """A label column with no value yet (ground truth not arrived): label-free metrics."""
    log = base_log()
    log["is_fraud"] = pd.array([pd.NA] * len(log), dtype="Int64")
    _log(b, log)


@case(error=("is_fraud", "positive = "))
def labels_as_strings_without_positive(b: Builder) -> None:
    """Labels 'fraud'/'legit' and no `positive` key saying which is the positive class."""
    log = base_log()
    log["is_fraud"] = log["is_fraud"].map({0: "legit", 1: "fraud"})
    _log(b, log)


@case(exit=0, json={"metric.name": "false_positive_rate", "rows": 2160})
def labels_as_strings_with_positive(b: Builder) -> None:
    """Labels 'fraud'/'legit' with `[production] positive = "fraud"`."""
    labels_as_strings_without_positive(b)
    b.config["production"]["positive"] = "fraud"


# ---- timestamps ---------------------------------------------------------------------------------

@case(exit=0, json={"rows": 2155}, notes=("5",))
def timestamps_some_null(b: Builder) -> None:
    """Five rows without a timestamp: left out, and said so in the notes."""
    log = base_log()
    log.loc[log.index[[3, 500, 1000, 1500, 2000]], "event_time"] = pd.NaT
    _log(b, log)


@case(error=("event_time", "null"))
def timestamps_all_null(b: Builder) -> None:
    """No row has a timestamp."""
    log = base_log()
    log["event_time"] = pd.NaT
    _log(b, log)


@case(exit=0, json={"rows": 2160, "window.start": "2026-03-02T00:00:18Z"})
def timestamps_unsorted(b: Builder) -> None:
    """Rows in random order."""
    _log(b, base_log().sample(frac=1.0, random_state=3))


@case(exit=0, json={"rows": 2160, "window.start": "2026-03-02T00:00:18Z"})
def timestamps_with_a_time_zone(b: Builder) -> None:
    """Timestamps stored with a time zone (UTC+1): analysed in UTC."""
    log = base_log()
    log["event_time"] = log["event_time"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    _log(b, log)


@case(exit=0, json={"rows": 2160, "window.start": "2026-03-02T00:00:18Z"})
def timestamps_as_epoch_seconds(b: Builder) -> None:
    """Timestamps stored as integer epoch seconds (the unit told by their magnitude)."""
    log = base_log()
    log["event_time"] = log["event_time"].astype("int64") // 1_000_000
    _log(b, log)


@case(error=("event_time", "yesterday"))
def timestamps_as_words(b: Builder) -> None:
    """A CSV log with one timestamp written as a word."""
    log = base_log()
    log["event_time"] = log["event_time"].astype(str)
    log.loc[log.index[700], "event_time"] = "yesterday"
    b.set_log(log, ext="csv")


# ---- columns ------------------------------------------------------------------------------------

@case(error=("fraud_score", "prediction", "not in", "score"))
def prediction_column_missing(b: Builder) -> None:
    """The prediction column is called differently in the log."""
    _log(b, base_log().rename(columns={"fraud_score": "score"}))


@case(error=("is_fraud", "label", "reference"))
def reference_label_missing(b: Builder) -> None:
    """The reference lacks its configured label."""
    b.files["training.parquet"] = base_reference().drop(columns="is_fraud")


@case(error=("channel", "segment", "not in"))
def segment_column_missing(b: Builder) -> None:
    """A segment column the log lacks."""
    b.config["production"]["segments"] = ["country", "channel"]


@case(error=("merchant", "feature", "not in"))
def feature_column_missing(b: Builder) -> None:
    """A configured feature the log lacks."""
    b.config["production"]["features"] = ["amount", "merchant"]


@case(error=("not in", "the prediction"))
def column_name_with_sql(b: Builder) -> None:
    """A prediction column name carrying SQL: treated as a name, which does not exist."""
    b.config["production"]["prediction"] = 'fraud_score"; DROP TABLE production; --'


@case(exit=0, json={"rows": 2160})
def column_names_unicode_and_quotes(b: Builder) -> None:
    """Column names with accents, emoji, spaces and quotes work as segments and features."""
    names = {"country": "país 🌍", "amount": 'amount "eur"', "ratio": "ratio; it's"}
    _log(b, base_log().rename(columns=names))
    b.files["training.parquet"] = base_reference().rename(columns=names)
    b.config["production"]["segments"] = ["país 🌍"]


@case(error=("latency_ms", "number"))
def latency_as_text(b: Builder) -> None:
    """Latency stored as text with units."""
    log = base_log()
    log["latency_ms"] = log["latency_ms"].map("{:.0f} ms".format)
    _log(b, log)


@case(error=("blocked", "decision", "positive"))
def decision_as_text(b: Builder) -> None:
    """A decision column of words."""
    log = base_log()
    log["blocked"] = np.where(log["fraud_score"] > 0.5, "block", "allow")
    _log(b, log)
    b.config["production"]["decision"] = "blocked"


@case(exit=0, json={"rows": 2160})
def reference_shares_no_feature(b: Builder) -> None:
    """A reference without any column in common with the log but its label."""
    b.files["training.parquet"] = base_reference().rename(
        columns={"amount": "amt", "ratio": "r", "country": "cc"})
