"""`workbench sample [--rows N] [--out DIR] [--seed S]`: generate the bundled sample incident."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.commands import at_least, progress

SAMPLE_MIN_ROWS = 1000  # the generator needs this many to lay out its incident


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    s = sub.add_parser("sample", help="generate the bundled sample incident")
    s.add_argument("--rows", type=at_least(SAMPLE_MIN_ROWS), default=300_000,
                   help=f"production log rows (at least {SAMPLE_MIN_ROWS:,})")
    s.add_argument("--out", type=Path, default=None, help="output folder")
    s.add_argument("--seed", type=at_least(0), default=7, help="random seed (0 or more)")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the sample and print its config path."""
    from sample_data.fraud import DEFAULT_OUT, generate

    path = generate(args.out or DEFAULT_OUT, rows=args.rows, seed=args.seed,
                    progress=progress(False))
    print(path)
    return 0
