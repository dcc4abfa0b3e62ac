"""`workbench journal CONFIG [--note TEXT | --confirm ID | ...] [--json]`: the investigation log.

Without an action it lists the entries with their outcomes; each action appends one entry.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.timeutil import iso

if TYPE_CHECKING:
    from workbench.journal import Journal

ACTIONS = ("note", "hypothesis", "mitigation", "conclusion", "confirm", "refute")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    j = sub.add_parser("journal", help="list or add to the incident's investigation journal")
    j.add_argument("config", type=Path, help="incident config (TOML)")
    group = j.add_mutually_exclusive_group()
    group.add_argument("--note", metavar="TEXT", help="add a free-text note")
    group.add_argument("--hypothesis", metavar="TEXT", help="open a hypothesis")
    group.add_argument("--mitigation", metavar="TEXT", help="record a mitigation put in place")
    group.add_argument("--conclusion", metavar="TEXT", help="record the conclusion")
    group.add_argument("--confirm", metavar="ID", help="mark an entry confirmed")
    group.add_argument("--refute", metavar="ID", help="mark an entry refuted")
    j.add_argument("--reason", default="", help="why (with --confirm/--refute)")
    j.add_argument("--author", help="author (default: $WORKBENCH_AUTHOR or the OS user)")
    j.add_argument("--json", action="store_true", help="print as JSON")
    j.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Append the requested entry, or list the journal."""
    from workbench.journal import Journal

    journal = Journal.for_incident(args.config, author=args.author)
    action = next((a for a in ACTIONS if getattr(args, a)), None)
    if action is not None:
        value = getattr(args, action)
        if action in ("confirm", "refute"):
            entry = journal.mark(value, "confirmed" if action == "confirm" else "refuted",
                                 args.reason)
        else:
            entry = journal.record(action, value)
        print(json.dumps(entry.to_dict(), indent=2) if args.json else
              f"Recorded {entry.kind} {entry.id} in {journal.path}")
        return 0
    if args.json:
        read = journal.read()
        outcome = {s.entry.id: s.outcome for s in journal.states()}
        print(json.dumps({
            "path": str(journal.path), "torn_tail": read.torn_tail,
            "bad_lines": list(read.bad_lines),
            "entries": [{**e.to_dict(), "outcome": outcome.get(e.id)} for e in read.entries],
        }, indent=2))
    else:
        print(render_text(journal))
    return 0


def render_text(journal: Journal) -> str:
    """Entries oldest first: time, author, kind, id, outcome and text."""
    read = journal.read()
    lines = [f"Journal {journal.path} ({len(read.entries)} entries)"]
    outcome = {s.entry.id: s.outcome for s in journal.states()}
    for e in read.entries:
        state = outcome.get(e.id)
        tag = e.status or ""
        if state and state != "open":
            tag = f"{tag}, {state}" if tag else state
        ref = f" -> {e.ref}" if e.ref else ""
        lines.append(f"{iso(e.time)}  {e.author:<12} {e.kind:<10} {e.id}{ref}"
                     f"{f' [{tag}]' if tag else ''}  {e.text}")
    if read.torn_tail:
        lines.append("(an unfinished last line was skipped: a writer crashed mid-entry)")
    if read.bad_lines:
        lines.append(f"(damaged lines skipped: {', '.join(map(str, read.bad_lines))})")
    return "\n".join(lines)
