"""`workbench report CONFIG --out DIR [--fix NAME]`: write the post-mortem (HTML, MD, JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.commands import add_engine_options, load_with_engine, progress
from workbench.exceptions import InvalidInputError
from workbench.messages import quote

if TYPE_CHECKING:
    from workbench.config import Incident


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    r = sub.add_parser("report", help="write the incident's post-mortem report")
    r.add_argument("config", type=Path, help="incident config (TOML)")
    r.add_argument("--out", type=Path, required=True, help="folder to write the report into")
    r.add_argument("--fix", help="verify this [[fixes]] entry and include its figures")
    r.add_argument("--author", help="journal author (default: $WORKBENCH_AUTHOR or the OS user)")
    r.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    add_engine_options(r)
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report and print where its files are."""
    from workbench.journal import Journal

    incident = load_with_engine(args)
    if args.fix:
        incident.fix(args.fix)  # fails early, listing the declared fixes
    check_out_folder(args.out, incident)
    from workbench.report import write_report

    journal = Journal.for_incident(incident, author=args.author)
    _, files = write_report(incident, args.out, fix=args.fix, journal=journal,
                            progress=progress(args.quiet))
    print(f"HTML:     {files.html}\nMarkdown: {files.markdown}\nJSON:     {files.json}")
    return 0


def check_out_folder(out: Path, incident: Incident) -> None:
    """Refuse an --out that is not a folder or lies among the incident's data, before any work."""
    from workbench.journal import check_writable_location

    check_writable_location(out, incident, "report")
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {quote(str(out))} is a file, not a folder. Name a folder "
                                f"for the report (it is created when missing).")
