"""Cases of a broken incident config: TOML syntax, encodings, unknown, missing and mistyped keys,
values out of range and values far too long to quote."""

from __future__ import annotations

from tests.bad_inputs.base import Builder
from tests.bad_inputs.case import case
from tests.core.conftest import toml_dumps

TEN_MB = 10 * 1024 * 1024
LONG = "@@long value@@"


# ---- syntax and encoding ------------------------------------------------------------------------

@case(error=("incident.toml", "not valid TOML", "line 1"))
def toml_unclosed_string(b: Builder) -> None:
    """A string value that is never closed."""
    b.files["incident.toml"] = 'title = "never closed\n' + toml_dumps(b.config)


@case(error=("incident.toml", "not valid TOML", "line 2"))
def toml_missing_value(b: Builder) -> None:
    """A key with `=` and no value."""
    b.files["incident.toml"] = 'title = "x"\nbucket =\n'


@case(error=("incident.toml", "not valid TOML"))
def toml_duplicate_key(b: Builder) -> None:
    """The same key twice in one table."""
    b.files["incident.toml"] = 'title = "a"\ntitle = "b"\n' + toml_dumps(b.config)


@case(error=("incident.toml", "not valid TOML"))
def toml_duplicate_section(b: Builder) -> None:
    """The [reference] section written twice."""
    b.files["incident.toml"] = toml_dumps(b.config) + '\n[reference]\nsource = "x.parquet"\n'


@case(error=("incident.toml", "not valid TOML"))
def toml_prose(b: Builder) -> None:
    """A file of prose, not TOML."""
    b.files["incident.toml"] = "The fraud model is broken again, please look.\n"


@case(error=("incident.toml", "[production] section is required"))
def config_empty_file(b: Builder) -> None:
    """An empty config file."""
    b.files["incident.toml"] = ""


@case(error=("incident.toml", "UTF-8"), absent=("codec",))
def config_latin1(b: Builder) -> None:
    """A config saved as Latin-1 with an umlaut in the title."""
    b.config["title"] = "Betrugsmodell für Überweisungen"
    b.files["incident.toml"] = toml_dumps(b.config).encode("latin-1")


@case(error=("incident.toml", "UTF-8"))
def config_utf16(b: Builder) -> None:
    """A config saved as UTF-16 (as some Windows editors do)."""
    b.files["incident.toml"] = toml_dumps(b.config).encode("utf-16")


@case(error=("incident.toml", "UTF-8"))
def config_binary(b: Builder) -> None:
    """A binary file (a PNG) given as the config."""
    b.files["incident.toml"] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@case(exit=0, json={"incident": "Bad-input corpus base incident", "rows": 2160})
def config_utf8_bom(b: Builder) -> None:
    """A UTF-8 config starting with a byte-order mark: read as if it had none."""
    b.files["incident.toml"] = "\ufeff" + toml_dumps(b.config)


@case(argv=("diagnose", "logs", "--json"), error=("logs", "not a file"))
def config_is_a_directory(b: Builder) -> None:
    """A folder given where the config file is expected."""


@case(argv=("diagnose", "no-such-incident.toml", "--json"),
      error=("no-such-incident.toml", "does not exist"))
def config_missing(b: Builder) -> None:
    """A config path that does not exist."""


# ---- unknown and missing keys -------------------------------------------------------------------

@case(error=("unknown key 'titel'", "did you mean 'title'"))
def unknown_top_level_key(b: Builder) -> None:
    """A misspelt top-level key."""
    b.config["titel"] = b.config.pop("title")


@case(error=("unknown key 'predicton'", "[production]", "did you mean 'prediction'"))
def unknown_production_key(b: Builder) -> None:
    """A misspelt required key: named as unknown, not reported missing."""
    b.config["production"]["predicton"] = b.config["production"].pop("prediction")


@case(error=("unknown key 'modle'", "did you mean 'model'"))
def unknown_section(b: Builder) -> None:
    """A misspelt section name."""
    b.config["modle"] = {"path": "model.skops"}


@case(error=("unknown key 'treshold'", "[[fixes]] #1", "did you mean 'threshold'"))
def unknown_fix_key(b: Builder) -> None:
    """A misspelt key in a [[fixes]] entry."""
    b.files["incident.toml"] = toml_dumps(b.config) + (
        '\n[[fixes]]\nname = "lower"\nkind = "threshold"\ntreshold = 0.4\n')


@case(error=("[production] section is required",))
def missing_production_section(b: Builder) -> None:
    """No [production] section."""
    del b.config["production"]


@case(error=("[reference] section is required",))
def missing_reference_section(b: Builder) -> None:
    """No [reference] section."""
    del b.config["reference"]


@case(error=("[production] needs the key 'timestamp'",))
def missing_timestamp_key(b: Builder) -> None:
    """[production] without its timestamp column."""
    del b.config["production"]["timestamp"]


@case(error=("[reference] needs the key 'source'",))
def missing_reference_source(b: Builder) -> None:
    """[reference] without a source."""
    del b.config["reference"]["source"]


# ---- wrong types --------------------------------------------------------------------------------

@case(error=("[production] timestamp must be a string", "5"))
def timestamp_key_is_a_number(b: Builder) -> None:
    """A column name given as a number."""
    b.config["production"]["timestamp"] = 5


@case(error=("[production] segments must be a list of column names", "country"))
def segments_is_a_string(b: Builder) -> None:
    """`segments` given as one string instead of a list."""
    b.config["production"]["segments"] = "country"


@case(error=("[production] segments must be a list of column names",))
def segments_with_an_empty_name(b: Builder) -> None:
    """An empty string among the segment columns."""
    b.config["production"]["segments"] = ["country", ""]


@case(error=("[production] features must be a list of column names",))
def features_are_numbers(b: Builder) -> None:
    """Feature columns given as numbers."""
    b.config["production"]["features"] = [1, 2]


@case(error=("title must be a string", "3"))
def title_is_a_number(b: Builder) -> None:
    """A numeric title."""
    b.config["title"] = 3


@case(error=("[production] must be a table",))
def production_is_a_string(b: Builder) -> None:
    """[production] written as a key holding a path, not a section."""
    source = b.config.pop("production")["source"]
    b.config = {"production": source, **b.config}


@case(error=("[model] threshold must be a number", "0.5"))
def threshold_is_a_string(b: Builder) -> None:
    """A threshold written as a string."""
    b.config["model"] = {"path": "model.skops", "threshold": "0.5"}


@case(error=("[model] threshold must be a number", "true"))
def threshold_is_a_boolean(b: Builder) -> None:
    """A threshold written as a boolean."""
    b.config["model"] = {"path": "model.skops", "threshold": True}


@case(error=("[model] trusted must be true or false", "yes"))
def trusted_is_a_string(b: Builder) -> None:
    """`trusted` written as a string."""
    b.config["model"] = {"path": "model.skops", "trusted": "yes"}


@case(error=("[[fixes]]",))
def fixes_is_a_number(b: Builder) -> None:
    """`fixes` written as a number, not [[fixes]] tables."""
    b.config["fixes"] = 3


# ---- values out of range ------------------------------------------------------------------------

@case(error=("[model] threshold", "-0.1", "between 0 and 1"))
def threshold_negative(b: Builder) -> None:
    """A negative decision threshold for a classifier."""
    b.config["model"] = {"path": "model.skops", "threshold": -0.1}


@case(error=("[model] threshold", "1.5", "between 0 and 1"))
def threshold_above_one(b: Builder) -> None:
    """A decision threshold above 1 for a classifier's probability."""
    b.config["model"] = {"path": "model.skops", "task": "classification", "threshold": 1.5}


@case(error=("[model] threshold", "nan", "between 0 and 1"))
def threshold_nan(b: Builder) -> None:
    """A threshold of nan (valid TOML, never a usable threshold)."""
    b.files["incident.toml"] = toml_dumps(b.config) + (
        '\n[model]\npath = "model.skops"\nthreshold = nan\n')


@case(error=("[model] task must be one of classification, regression", "binary"))
def task_unknown(b: Builder) -> None:
    """An unknown model task."""
    b.config["model"] = {"path": "model.skops", "task": "binary"}


@case(error=("bucket", "1 hour", "'1h'"))
def bucket_in_words(b: Builder) -> None:
    """A bucket written in words."""
    b.config["bucket"] = "1 hour"


@case(error=("bucket", "0h"))
def bucket_zero(b: Builder) -> None:
    """A bucket of zero length."""
    b.config["bucket"] = "0h"


@case(error=("metric 'accuracy'", "not available", "false_positive_rate"))
def metric_unknown(b: Builder) -> None:
    """A metric the workbench does not compute."""
    b.config["metric"] = "accuracy"


@case(error=("[production] source", "logs.json", "Parquet or CSV"))
def source_unsupported_format(b: Builder) -> None:
    """A JSON file as the production log."""
    b.config["production"]["source"] = "logs.json"


@case(error=("[production] needs a non-empty string 'source'",))
def source_empty_string(b: Builder) -> None:
    """An empty source path."""
    b.config["production"]["source"] = ""


@case(error=("[[fixes]] #1", "kind must be one of", "retrain"))
def fix_kind_unknown(b: Builder) -> None:
    """A fix of an unknown kind."""
    b.files["incident.toml"] = toml_dumps(b.config) + (
        '\n[[fixes]]\nname = "again"\nkind = "retrain"\n')


@case(error=("[pipeline] callable", "file.py:function", "features.py"))
def pipeline_callable_without_function(b: Builder) -> None:
    """A pipeline callable naming a file but no function."""
    b.config["pipeline"] = {"callable": "features.py"}


@case(error=("[pipeline] tolerance must be a number >= 0", "-1"))
def pipeline_tolerance_negative(b: Builder) -> None:
    """A negative skew tolerance."""
    b.config["pipeline"] = {"callable": "features.py:compute", "tolerance": -1}


# ---- values too long to quote -------------------------------------------------------------------

@case(error=("unknown key", "characters"))
def ten_mb_unknown_key(b: Builder) -> None:
    """A 10 MB key name: the error names it without quoting megabytes."""
    b.files["incident.toml"] = f"'{'k' * TEN_MB}' = 1\n" + toml_dumps(b.config)


@case(error=("bucket", "characters"))
def ten_mb_bucket(b: Builder) -> None:
    """A 10 MB bucket value."""
    b.files["incident.toml"] = f"bucket = '{'9' * TEN_MB}h'\n" + toml_dumps(
        {k: v for k, v in b.config.items() if k != "bucket"})


@case(error=("timestamp", "characters", "not in the production log"))
def ten_mb_column_name(b: Builder) -> None:
    """A 10 MB timestamp column name (the column-not-found message quotes it)."""
    b.config["production"]["timestamp"] = LONG
    b.files["incident.toml"] = _with_long_value(b, "t" * TEN_MB)


@case(error=("[production] source", "characters", "Parquet or CSV"))
def ten_mb_source_with_spaces(b: Builder) -> None:
    """A 10 MB source path of words and spaces."""
    b.config["production"]["source"] = LONG
    b.files["incident.toml"] = _with_long_value(b, "log file " * (TEN_MB // 9))


def _with_long_value(b: Builder, value: str) -> str:
    """The config's TOML with the LONG placeholder replaced by value as a literal string (which
    TOML reads in one step, where a basic string is read a character at a time)."""
    return toml_dumps(b.config).replace(f'"{LONG}"', f"'{value}'")
