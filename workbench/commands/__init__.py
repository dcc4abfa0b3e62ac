"""Subcommands of the `workbench` CLI, one module each with `register(subparsers)`.

A new command is a new module here plus one entry in COMMANDS; modules import their core code
lazily inside the handler so `workbench --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

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
)


def progress(quiet: bool) -> Callable[[str], None] | None:
    """A progress printer to stderr, or None when quiet."""
    if quiet:
        return None
    return lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)
