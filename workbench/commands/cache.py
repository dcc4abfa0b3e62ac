"""`workbench cache clear [CONFIG]`: remove finished diagnoses from the diagnosis cache."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    c = sub.add_parser("cache", help="manage the diagnosis cache under $WORKBENCH_HOME")
    actions = c.add_subparsers(dest="action", required=True)
    clear = actions.add_parser("clear", help="remove cached diagnoses (every incident's, or "
                                             "one incident's); without CONFIG also the "
                                             "reference statistics")
    clear.add_argument("config", type=Path, nargs="?",
                       help="incident config (TOML) whose diagnoses to remove; default: all")
    clear.set_defaults(func=run_clear)


def run_clear(args: argparse.Namespace) -> int:
    """Remove cached diagnoses and say how many entries went, and from where."""
    from workbench.cache import DiagnosisCache
    from workbench.config import load_incident

    cache = DiagnosisCache()
    incident = load_incident(args.config) if args.config is not None else None
    removed = cache.clear(incident)
    where = cache.folder(incident) if incident is not None else cache.root
    entries = "1 cached entry" if removed == 1 else f"{removed} cached entries"
    print(f"Removed {entries} (diagnoses and the results derived from them) from {where}")
    if incident is None:
        from workbench.data.refstats import ReferenceStats

        stats = ReferenceStats()
        gone = stats.clear()
        print(f"Removed the reference statistics of {gone} reference version(s) from "
              f"{stats.root}")
    return 0
