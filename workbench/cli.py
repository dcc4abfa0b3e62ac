"""The `workbench` command: the same core as the notebooks, for terminals and scripts.

Exit codes: 0 done, 2 bad config or input (one line on stderr naming what and where),
1 unexpected error. Subcommands live in `workbench/commands/`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from workbench.commands import COMMANDS
from workbench.exceptions import InvalidInputError, WorkbenchError
from workbench.messages import one_line, quote


class UsageError(InvalidInputError):
    """The command line itself is malformed: unknown option, missing or unparseable argument."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage block and exiting."""
        raise UsageError(f"{message.rstrip('.')}. See '{self.prog} --help'.")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return args.func(args)
    except WorkbenchError as exc:
        return _fail(str(exc))
    except OSError as exc:  # a path the user gave cannot be used (too long, no permission, ...)
        if isinstance(exc, BrokenPipeError):  # output piped into `head` and closed early
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return _fail(_os_message(exc))
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = Parser(prog="workbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def _fail(message: str) -> int:
    """Print the one-line error (long values shortened) and return the input-error code."""
    print(f"workbench: error: {one_line(message)}", file=sys.stderr)
    return 2


def _os_message(exc: OSError) -> str:
    """An operating-system error on a user-given path, said as what to check."""
    what = exc.strerror or type(exc).__name__
    where = f" {quote(str(exc.filename))}" if exc.filename is not None else ""
    return (f"Cannot use the path{where}: {what}. Check the paths in the incident config and "
            f"on the command line, and their permissions.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
