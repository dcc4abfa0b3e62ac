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

from workbench.commands import COMMANDS
from workbench.exceptions import WorkbenchError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except WorkbenchError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message holds
        print(f"workbench: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
