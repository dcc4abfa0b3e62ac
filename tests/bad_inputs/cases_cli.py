"""Cases of bad command-line arguments: windows, buckets, split times, metrics, options."""

from __future__ import annotations

import pandas as pd

from tests.bad_inputs.base import Builder, base_log
from tests.bad_inputs.case import DIAGNOSE, case


def _in_an_hour(b: Builder) -> None:
    """Keep only the first 40 minutes of the log."""
    log = base_log()
    b.set_log(log[log["event_time"] < log["event_time"].min() + pd.Timedelta(minutes=40)])


# ---- --window -----------------------------------------------------------------------------------

@case(argv=(*DIAGNOSE, "--window", "yesterday"), error=("START..END", "yesterday"))
def window_without_dots(b: Builder) -> None:
    """A window that is not START..END."""


@case(argv=(*DIAGNOSE, "--window", "2026-13-40.."), error=("window start", "ISO-8601"))
def window_impossible_date(b: Builder) -> None:
    """A window start on the 40th day of the 13th month."""


@case(argv=(*DIAGNOSE, "--window", "2026-03-04..2026-03-03"), error=("before its end",))
def window_reversed(b: Builder) -> None:
    """A window whose end comes before its start."""


@case(argv=(*DIAGNOSE, "--window", "2026-03-03T00:00Z..2026-03-03T00:00Z"),
      error=("before its end",))
def window_of_zero_length(b: Builder) -> None:
    """A window whose start equals its end."""


@case(argv=(*DIAGNOSE, "--window", "2027-01-01..2027-02-01"),
      error=("no rows in the window", "2027-01-01"))
def window_outside_the_log(b: Builder) -> None:
    """A window after the last logged row."""


@case(argv=(*DIAGNOSE, "--window", ".."), exit=0, json={"rows": 2160})
def window_open_on_both_sides(b: Builder) -> None:
    """`..` (both sides open) is the whole log."""


@case(argv=(*DIAGNOSE, "--window", "2026-03-03T02:00+02:00.."), exit=0,
      json={"window.start": "2026-03-03T00:00:00Z", "rows": 1440})
def window_with_a_utc_offset(b: Builder) -> None:
    """A window start with a UTC offset is converted to UTC."""


# ---- --bucket -----------------------------------------------------------------------------------

@case(argv=(*DIAGNOSE, "--bucket", "abc"), error=("--bucket", "abc", "'1h'"))
def bucket_arg_not_a_duration(b: Builder) -> None:
    """A bucket that is not a duration."""


@case(argv=(*DIAGNOSE, "--bucket", "0min"), error=("--bucket", "0min"))
def bucket_arg_zero(b: Builder) -> None:
    """A bucket of zero minutes."""


@case(argv=(*DIAGNOSE, "--bucket=-1h"), error=("--bucket", "-1h"))
def bucket_arg_negative(b: Builder) -> None:
    """A negative bucket."""


@case(argv=(*DIAGNOSE, "--bucket", "-1h"), error=("--bucket", "expected one argument"))
def bucket_arg_negative_as_an_option(b: Builder) -> None:
    """A negative bucket after a space, which argparse reads as an option: still one line."""


@case(argv=(*DIAGNOSE, "--bucket", "1.5h"), error=("--bucket", "1.5h"))
def bucket_arg_fractional(b: Builder) -> None:
    """A fractional bucket."""


@case(argv=(*DIAGNOSE, "--bucket", "1w"), error=("too little data to judge", "1w"),
      absent=("no regression",))
def bucket_arg_longer_than_the_log(b: Builder) -> None:
    """A bucket longer than the whole log: one bucket cannot show a change."""


@case(argv=(*DIAGNOSE, "--bucket", "15min"), exit=0, json={"bucket": "15min", "rows": 2160})
def bucket_arg_finer_than_the_config(b: Builder) -> None:
    """--bucket overrides the config's bucket."""


# ---- --split ------------------------------------------------------------------------------------

@case(argv=(*DIAGNOSE, "--split", "soon"), error=("split time", "ISO-8601", "soon"))
def split_not_a_time(b: Builder) -> None:
    """A split that is not a time."""


@case(argv=(*DIAGNOSE, "--split", "2025-01-01"), error=("split time", "inside the analysed span"))
def split_before_the_log(b: Builder) -> None:
    """A split before the first logged row."""


@case(argv=(*DIAGNOSE, "--split", "2026-03-04T14:00:00+02:00"), exit=0,
      json={"baseline_window.end": "2026-03-04T12:00:00Z",
            "current_window.start": "2026-03-04T12:00:00Z"})
def split_with_a_utc_offset(b: Builder) -> None:
    """A split with a UTC offset is converted to UTC."""


# ---- --metric and options -----------------------------------------------------------------------

@case(argv=(*DIAGNOSE, "--metric", "accuracy"),
      error=("metric 'accuracy'", "choose one of", "false_negative_rate"))
def metric_arg_unknown(b: Builder) -> None:
    """A metric the workbench does not compute."""


@case(argv=(*DIAGNOSE, "--metric", "false_positive_rate"),
      error=("false_positive_rate", "without labels", "positive_rate"))
def metric_arg_needs_labels(b: Builder) -> None:
    """A labelled metric asked of a log without labels."""
    del b.config["production"]["label"]


@case(argv=(*DIAGNOSE, "--windw", ".."), error=("unrecognized arguments", "--windw"))
def option_misspelt(b: Builder) -> None:
    """A misspelt option."""


@case(argv=("diagnose",), error=("required", "config"))
def config_argument_missing(b: Builder) -> None:
    """`diagnose` without a config."""


@case(argv=("diagnoze", "incident.toml"), error=("invalid choice", "diagnoze"))
def command_misspelt(b: Builder) -> None:
    """A misspelt subcommand."""


@case(argv=("explain", "incident.toml", "--json", "--limit", "0"),
      error=("--limit", "0", "positive"))
def explain_limit_zero(b: Builder) -> None:
    """Explaining zero records."""


@case(argv=("explain", "incident.toml", "--json", "--limit", "ten"), error=("--limit", "ten"))
def explain_limit_not_a_number(b: Builder) -> None:
    """A record limit in words."""


@case(argv=("explain", "incident.toml", "--json", "--background", "-5"),
      error=("--background", "-5", "positive"))
def explain_background_negative(b: Builder) -> None:
    """A negative SHAP background size."""


@case(argv=("explain", "incident.toml", "--json", "--segment", "country"),
      error=("column=value", "country"))
def explain_segment_without_a_value(b: Builder) -> None:
    """A segment filter without `=value`."""


@case(argv=("explain", "incident.toml", "--json", "--window", ".."), error=("[model]",))
def explain_without_a_model(b: Builder) -> None:
    """Explaining records of an incident that declares no model."""


@case(argv=("verify", "incident.toml", "--fix", "nope", "--no-journal"),
      error=("no fix named 'nope'", "none declared"))
def verify_unknown_fix(b: Builder) -> None:
    """Verifying a fix the config does not declare."""


@case(argv=("sample", "--rows", "0", "--out", "sample"), error=("--rows", "0", "at least 1,000"))
def sample_zero_rows(b: Builder) -> None:
    """A sample of zero rows (nothing may be written)."""


@case(argv=("report", "incident.toml", "--out", "incident.toml"),
      error=("report location", "incident.toml", "another folder"))
def report_out_is_the_config(b: Builder) -> None:
    """A report folder that is an existing file (it must not be overwritten)."""


# ---- too little data ----------------------------------------------------------------------------

@case(error=("too little data to judge", "event_time"), absent=("no regression",))
def timestamps_all_identical(b: Builder) -> None:
    """Every row logged at the same instant."""
    log = base_log()
    log["event_time"] = log["event_time"].iloc[0]
    b.set_log(log)


@case(error=("too little data to judge",), absent=("no regression",))
def log_shorter_than_two_buckets(b: Builder) -> None:
    """A log spanning 40 minutes with hourly buckets."""
    _in_an_hour(b)


@case(error=("too little data to judge",))
def log_of_one_row(b: Builder) -> None:
    """A log of a single row."""
    b.set_log(base_log().iloc[:1], parts=1)
