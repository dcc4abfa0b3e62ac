"""Error lines quote no value in full: long quoted values and unbroken runs are shortened, prose
and short values are left alone."""

from __future__ import annotations

from workbench.messages import LIMIT, one_line, quote


def test_short_messages_are_unchanged_but_for_blank_runs():
    text = "The report location 'out' is inside '/data', which holds the incident's data."
    assert one_line(text) == text
    assert one_line("two\n  lines\tjoined") == "two lines joined"


def test_a_long_quoted_value_is_shortened_with_its_length():
    line = one_line(f"unknown key '{'k' * 100_000}' in [production]. Allowed keys: a, b.")
    assert "(100,000 characters)" in line
    assert line.endswith("in [production]. Allowed keys: a, b.")
    assert len(line) < 300


def test_a_long_value_with_spaces_and_an_apostrophe_nearby():
    value = "log file " * 50_000
    line = one_line(f"The incident's source '{value}' must be a Parquet file.")
    assert line.startswith("The incident's source 'log file")
    assert line.endswith("must be a Parquet file.") and len(line) < 400


def test_an_unbroken_run_is_shortened_keeping_its_end():
    line = one_line("cannot read /tmp/" + "a" * 1000 + "/part-7.parquet now")
    assert "part-7.parquet" in line and "characters)" in line
    assert max(len(t) for t in line.split()) <= LIMIT


def test_a_whole_line_is_capped():
    line = one_line(" ".join(["word"] * 10_000))
    assert len(line) < 1100 and "characters left out" in line


def test_quote_shortens_only_long_strings():
    assert quote("abc") == "'abc'"
    assert quote(5) == "5"
    long = quote("x" * 10_000)
    assert long.endswith("(10,000 characters)") and len(long) < LIMIT + 40
