"""Subcommands of the `workbench` CLI, one module each with `register(subparsers)`.

A new command is a new module here plus one entry in COMMANDS; modules import their core code
lazily inside the handler so `workbench --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from workbench.messages import quote

if TYPE_CHECKING:
    from workbench.config import Incident
    from workbench.progress import StageProgress

COMMANDS = (
    "workbench.commands.diagnose",
    "workbench.commands.explain",
    "workbench.commands.sample",
    "workbench.commands.verify",
    "workbench.commands.report",
    "workbench.commands.journal",
    "workbench.commands.manifest",
    "workbench.commands.trace",
    "workbench.commands.ablate",
    "workbench.commands.cache",
)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """--engine and --master, which override the config's [engine] for this run."""
    parser.add_argument("--engine", choices=("duckdb", "spark"),
                        help="query engine (default: [engine] kind in the config, else duckdb)")
    parser.add_argument("--master", help="Spark master URL with --engine spark, e.g. local[2] "
                        "or spark://host:7077 (default: [engine] master, else local[*])")


def load_with_engine(args: argparse.Namespace) -> Incident:
    """The incident of `args.config` with the engine options applied."""
    from workbench.config import load_incident, with_engine

    return with_engine(load_incident(args.config), getattr(args, "engine", None),
                       getattr(args, "master", None))


def progress(quiet: bool) -> Callable[[str], None] | None:
    """A progress printer to stderr (one line per message), or None when quiet."""
    if quiet:
        return None
    from workbench.progress import StageProgress

    return StageProgress(stream=sys.stderr, live=False)


def stage_progress(quiet: bool, stages: tuple[str, ...]) -> StageProgress | None:
    """A progress printer numbering `stages` (a bar on a terminal), or None when quiet; use it
    as a context manager."""
    if quiet:
        return None
    from workbench.progress import StageProgress

    return StageProgress(stages, stream=sys.stderr)


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer no smaller than `minimum`, refused with a one-line reason."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number. Got {quote(text)}.") from None
        if value < minimum:
            what = "a positive number" if minimum == 1 else f"at least {minimum:,}"
            raise argparse.ArgumentTypeError(f"must be {what}. Got {quote(text)}.")
        return value

    return parse


def duration(text: str) -> str:
    """An argparse type: a bucket duration such as '1h' or '15min', checked before any work."""
    from workbench.timeutil import DURATION_HINT, parse_duration

    try:
        parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {DURATION_HINT}. Got {quote(text)}.") from None
    return text
