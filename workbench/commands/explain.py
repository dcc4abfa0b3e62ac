"""`workbench explain CONFIG --failing fp --limit 50 [--json]`: SHAP on failing records."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workbench.commands import add_engine_options, at_least, load_with_engine, progress
from workbench.timeutil import parse_window


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    e = sub.add_parser("explain", help="explain failing records with SHAP against training data")
    e.add_argument("config", type=Path, help="incident config (TOML) with a [model] section")
    e.add_argument("--failing", choices=("fp", "fn", "error"), default="fp",
                   help="false positives, false negatives or largest errors (default: fp)")
    e.add_argument("--limit", type=at_least(1), default=50,
                   help="records to explain (default: 50)")
    e.add_argument("--window", help="START..END (ISO-8601); default: the incident window")
    e.add_argument("--segment", help="only records with column=value, e.g. country=US")
    e.add_argument("--background", type=at_least(1), default=100,
                   help="reference rows in the SHAP background sample (default: 100)")
    e.add_argument("--seed", type=int, default=0, help="seed of the background sample")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    add_engine_options(e)
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Explain the failing records and print them."""
    from workbench.commands.explain_report import explain_incident, render_failing

    start, end = parse_window(args.window) if args.window else (None, None)
    result = explain_incident(
        load_with_engine(args), args.failing, limit=args.limit, start=start, end=end,
        window_given=bool(args.window), segment=args.segment, background_rows=args.background,
        seed=args.seed, progress=progress(args.quiet or args.json))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_failing(result))
    return 0
