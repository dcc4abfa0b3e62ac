"""The incident config: a valid file loads into a frozen Incident; any mistake is a ConfigError."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from workbench.config import Incident, load_incident, parse_incident
from workbench.exceptions import ConfigError, InvalidInputError, WorkbenchError


def valid_config() -> dict:
    return {
        "title": "Checkout scores drifted",
        "bucket": "15min",
        "metric": "false_positive_rate",
        "production": {
            "source": "logs/*.parquet",
            "timestamp": "event_time",
            "prediction": "score",
            "decision": "blocked",
            "label": "is_fraud",
            "model_version": "model_version",
            "id": "request_id",
            "segments": ["country", "channel"],
            "features": ["amount", "ratio"],
            "latency": "latency_ms",
            "status": "status",
        },
        "reference": {"source": "training/train.csv", "label": "is_fraud"},
        "model": {"path": "models/m.skops", "task": "classification", "threshold": 0.35,
                  "trusted": True},
        "changes": {"source": "history/changes.duckdb:change_log"},
    }


def with_changes(section: str | None, **changes) -> dict:
    """The valid config with keys of one section (None: the top level) replaced or removed."""
    data = valid_config()
    table = data if section is None else data[section]
    for key, value in changes.items():
        if value is ...:
            table.pop(key, None)
        else:
            table[key] = value
    return data


def config_error(write_toml, data: dict) -> str:
    path = write_toml(data)
    with pytest.raises(ConfigError) as info:
        load_incident(path)
    return str(info.value)


# ---- a valid config -----------------------------------------------------------------------------


def test_valid_config_loads_every_field(write_toml, tmp_path):
    path = write_toml(valid_config(), directory=tmp_path / "incidents")
    inc = load_incident(path)
    base = (tmp_path / "incidents").resolve()

    assert isinstance(inc, Incident)
    assert inc.path == path.resolve()
    assert inc.base_dir == base
    assert inc.title == "Checkout scores drifted"
    assert inc.bucket == "15min"
    assert inc.metric == "false_positive_rate"
    prod = inc.production
    assert prod.source.kind == "parquet"
    assert prod.source.path == str(base / "logs/*.parquet")
    assert prod.source.table is None
    assert (prod.timestamp, prod.prediction, prod.decision, prod.label) == (
        "event_time", "score", "blocked", "is_fraud")
    assert (prod.model_version, prod.id, prod.latency, prod.status) == (
        "model_version", "request_id", "latency_ms", "status")
    assert prod.segments == ("country", "channel")
    assert isinstance(prod.segments, tuple)
    assert prod.features == ("amount", "ratio")
    assert inc.reference.source.kind == "csv"
    assert inc.reference.source.path == str(base / "training/train.csv")
    assert inc.reference.label == "is_fraud"
    assert inc.model is not None
    assert inc.model.path == base / "models/m.skops"
    assert inc.model.task == "classification"
    assert inc.model.threshold == 0.35
    assert inc.model.trusted is True
    assert inc.threshold == 0.35
    assert inc.changes is not None
    changes = inc.changes.source
    assert (changes.kind, changes.table) == ("duckdb", "change_log")
    assert changes.path == str(base / "history/changes.duckdb")
    assert changes.describe() == f"{base / 'history/changes.duckdb'}:change_log"


def test_incident_is_frozen_and_json_ready(write_toml):
    inc = load_incident(write_toml(valid_config()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        inc.title = "other"  # type: ignore[misc]
    data = json.loads(json.dumps(inc.to_dict()))
    assert data["production"]["segments"] == ["country", "channel"]
    assert data["model"]["path"] == str(inc.model.path)
    assert data["changes"]["source"]["table"] == "change_log"


def test_paths_resolve_against_the_config_file_not_the_cwd(write_toml, tmp_path, monkeypatch):
    path = write_toml(valid_config(), directory=tmp_path / "cfg")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    inc = load_incident(Path("..") / "cfg" / path.name)
    assert inc.production.source.path == str((tmp_path / "cfg").resolve() / "logs/*.parquet")
    assert not inc.production.source.path.startswith(str(elsewhere.resolve()))


def test_minimal_config_has_defaults(write_toml):
    data = {"production": {"source": "log.parquet", "timestamp": "t", "prediction": "p"},
            "reference": {"source": "ref.parquet"}}
    inc = load_incident(write_toml(data, name="night-shift.toml"))
    assert inc.title == "night-shift"
    assert inc.bucket is None and inc.metric is None
    assert inc.model is None and inc.changes is None
    assert inc.threshold == 0.5
    assert inc.production.segments == ()
    assert inc.production.features is None
    assert inc.production.label is None


@pytest.mark.parametrize(
    ("source", "kind", "path", "table"),
    [
        ("logs/*.parquet", "parquet", "logs/*.parquet", None),
        ("one.PQ", "parquet", "one.PQ", None),
        ("log.csv", "csv", "log.csv", None),
        ("log.csv.gz", "csv", "log.csv.gz", None),
        ("log.tsv", "csv", "log.tsv", None),
        ("store.duckdb:predictions", "duckdb", "store.duckdb", "predictions"),
        ("store.db:predictions", "duckdb", "store.db", "predictions"),
    ],
)
def test_source_kinds(write_toml, source, kind, path, table):
    data = with_changes("production", source=source)
    inc = load_incident(write_toml(data))
    spec = inc.production.source
    assert (spec.kind, spec.table) == (kind, table)
    assert spec.path == str(inc.base_dir / path)


def test_integer_threshold_becomes_float(write_toml):
    inc = load_incident(write_toml(with_changes("model", threshold=1)))
    assert inc.threshold == 1.0
    assert isinstance(inc.threshold, float)


# ---- unknown keys -------------------------------------------------------------------------------


def test_unknown_top_level_key_is_named_with_its_close_match(write_toml):
    message = config_error(write_toml, with_changes(None, buckt="1h"))
    assert "'buckt'" in message
    assert "the top level" in message
    assert "Did you mean 'bucket'?" in message


def test_unknown_key_in_a_section_is_named_with_its_close_match(write_toml):
    message = config_error(write_toml, with_changes("production", lable="is_fraud"))
    assert "'lable'" in message
    assert "[production]" in message
    assert "Did you mean 'label'?" in message


def test_misspelt_required_key_is_named_not_reported_missing(write_toml):
    # A typo of a required key must point at the typo, like any other unknown key.
    message = config_error(write_toml, with_changes("production", prediction=...,
                                                     predicton="score"))
    assert "'predicton'" in message
    assert "Did you mean 'prediction'?" in message


def test_unknown_key_without_close_match_lists_allowed_keys(write_toml):
    message = config_error(write_toml, with_changes("model", zzz=1))
    assert "'zzz'" in message
    assert "Did you mean" not in message
    assert "Allowed keys: explain_budget, path, task, threshold, trusted." in message


def test_unknown_section_is_an_unknown_key(write_toml):
    data = valid_config()
    data["chnages"] = {"source": "c.csv"}
    message = config_error(write_toml, data)
    assert "'chnages'" in message
    assert "Did you mean 'changes'?" in message


# ---- missing sections and keys ------------------------------------------------------------------


@pytest.mark.parametrize("section", ["production", "reference"])
def test_missing_required_section(write_toml, section):
    data = valid_config()
    del data[section]
    message = config_error(write_toml, data)
    assert f"[{section}] section is required" in message


@pytest.mark.parametrize(
    ("section", "key"),
    [("production", "source"), ("production", "timestamp"), ("production", "prediction"),
     ("reference", "source")],
)
def test_missing_required_key(write_toml, section, key):
    message = config_error(write_toml, with_changes(section, **{key: ...}))
    assert f"[{section}] needs the key {key!r}" in message


def test_model_section_needs_a_path(write_toml):
    message = config_error(write_toml, with_changes("model", path=...))
    assert "[model] needs a non-empty string 'path'" in message


def test_empty_required_string_is_rejected(write_toml):
    message = config_error(write_toml, with_changes("production", timestamp=""))
    assert "'timestamp'" in message


# ---- wrong types and values ---------------------------------------------------------------------


@pytest.mark.parametrize("threshold", ["0.5", True])
def test_threshold_must_be_a_number(write_toml, threshold):
    message = config_error(write_toml, with_changes("model", threshold=threshold))
    assert "threshold must be a number" in message
    assert repr(threshold) in message


@pytest.mark.parametrize("segments", ["country", ["country", 3], ["country", ""]])
def test_segments_must_be_a_list_of_names(write_toml, segments):
    message = config_error(write_toml, with_changes("production", segments=segments))
    assert "segments must be a list of column names" in message


def test_features_must_be_a_list_of_names(write_toml):
    message = config_error(write_toml, with_changes("production", features="amount"))
    assert "features must be a list of column names" in message


def test_task_must_be_classification_or_regression(write_toml):
    message = config_error(write_toml, with_changes("model", task="ranking"))
    assert "task must be one of classification, regression" in message
    assert "'ranking'" in message


def test_trusted_must_be_a_boolean(write_toml):
    message = config_error(write_toml, with_changes("model", trusted="yes"))
    assert "trusted must be true or false" in message


def test_column_role_must_be_a_string(write_toml):
    message = config_error(write_toml, with_changes("production", label=1))
    assert "[production] label must be a string" in message


def test_section_must_be_a_table(write_toml):
    data = valid_config()
    data["reference"] = "training/train.csv"
    message = config_error(write_toml, data)
    assert "[reference] must be a table" in message


@pytest.mark.parametrize("bucket", ["1 hour", "0h", "90", "1.5h", "h"])
def test_bad_bucket_names_the_value_and_the_format(write_toml, bucket):
    message = config_error(write_toml, with_changes(None, bucket=bucket))
    assert repr(bucket) in message
    assert "duration like '1h'" in message
    assert "units: s, min, h, d, w" in message


@pytest.mark.parametrize("bucket", ["1h", "15min", "1d", "2w", "30s", "1 h"])
def test_good_buckets_are_accepted(write_toml, bucket):
    assert load_incident(write_toml(with_changes(None, bucket=bucket))).bucket == bucket


@pytest.mark.parametrize("source", ["logs.json", "logs/", "store.duckdb", "store.duckdb:",
                                    "logs.parquet.bak"])
def test_unsupported_source_is_rejected_naming_it(write_toml, source):
    message = config_error(write_toml, with_changes("production", source=source))
    assert repr(source) in message
    assert "[production] source" in message
    assert "file.duckdb:table" in message


def test_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[production]\nsource = "x.parquet\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_incident(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_incident(tmp_path / "nope.toml")


def test_config_error_is_a_value_error(write_toml):
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, InvalidInputError)
    assert issubclass(ConfigError, WorkbenchError)
    with pytest.raises(ValueError, match="unknown key 'buckt'"):
        load_incident(write_toml(with_changes(None, buckt="1h")))


def test_parse_incident_without_a_file_resolves_against_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inc = parse_incident(valid_config())
    assert inc.path is None
    assert inc.title == "Checkout scores drifted"
    assert inc.production.source.path == str(Path.cwd() / "logs/*.parquet")
    with pytest.raises(ConfigError, match=r"<config>: unknown key 'x'"):
        parse_incident({**valid_config(), "x": 1})


# ---- keys for logs and models as people bring them --------------------------------------------

def test_production_task_positive_timestamp_unit_and_csv_options(write_toml):
    data = with_changes("production", task="classification", positive="fraud",
                        timestamp_unit="ms")
    inc = load_incident(write_toml(data))
    assert (inc.task, inc.production.positive, inc.production.timestamp_unit) == (
        "classification", "fraud", "ms")
    assert load_incident(write_toml(with_changes("production", positive=1))).production.positive \
        == "1"


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"timestamp_unit": "days"}, "timestamp_unit must be one of s, ms, us, ns"),
    ({"task": "ranking"}, "task must be one of classification, regression"),
    ({"positive": 1.5}, "positive must be the label value that means positive"),
])
def test_bad_production_keys_are_named(write_toml, changes, fragment):
    assert fragment in config_error(write_toml, with_changes("production", **changes))


def test_explain_budget_is_a_positive_number_of_seconds(write_toml):
    inc = load_incident(write_toml(with_changes("model", explain_budget=4)))
    assert inc.model.explain_budget == 4.0
    message = config_error(write_toml, with_changes("model", explain_budget=0))
    assert "explain_budget must be a positive number of seconds" in message


def test_a_regression_declared_in_production_allows_any_threshold(write_toml):
    data = with_changes("model", threshold=250.0, task=...)
    data["production"]["task"] = "regression"
    assert load_incident(write_toml(data)).threshold == 250.0
