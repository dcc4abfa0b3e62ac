"""`workbench verify CONFIG --fix NAME [--window START..END] [--json]`: replay a candidate fix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.commands import add_engine_options, load_with_engine, progress
from workbench.timeutil import iso, parse_time, parse_window

if TYPE_CHECKING:
    from workbench.verify import MetricEstimate, Verification


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    v = sub.add_parser("verify", help="replay the incident window through a fix and judge it")
    v.add_argument("config", type=Path, help="incident config (TOML) declaring [[fixes]]")
    v.add_argument("--fix", required=True, help="name of a [[fixes]] entry")
    v.add_argument("--window", help="replay START..END (ISO-8601); default: the incident window")
    v.add_argument("--metric", help="monitored metric (default: the triage's)")
    v.add_argument("--split", help="end of the baseline window (ISO-8601); default: the onset")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    v.add_argument("--no-journal", action="store_true",
                   help="do not record the run in the investigation journal")
    v.add_argument("--author", help="journal author (default: $WORKBENCH_AUTHOR or the OS user)")
    v.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    add_engine_options(v)
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the fix, record it in the journal and print the result."""
    from workbench.journal import Journal
    from workbench.verify import verify_fix

    start, end = parse_window(args.window) if args.window else (None, None)
    split = parse_time(args.split, "split") if args.split else None
    incident = load_with_engine(args)
    spec = incident.fix(args.fix)  # fails early, listing the declared fixes
    journal = None if args.no_journal else Journal.for_incident(incident, author=args.author)
    result = verify_fix(incident, spec, start=start, end=end, metric=args.metric, split=split,
                        progress=progress(args.quiet or args.json), journal=journal)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_text(result, journal.path if journal else None))
    return 0


def render_text(r: Verification, journal: Path | None = None, limit: int = 8) -> str:
    """A readable summary for the terminal."""
    about = f" - {r.fix.description}" if r.fix.description else ""
    lines = [
        f"Incident: {r.incident}",
        f"Fix:      {r.fix.name} ({r.fix.kind}){about}",
        f"Window:   {iso(r.window['start'])} .. {iso(r.window['end'])} ({r.rows:,} rows, "
        f"{r.labelled_rows:,} labelled; {r.rows_per_second:,.0f} rows/s)",
        f"Verdict:  {r.verdict.upper()} - {r.verdict_reason}",
        "",
        f"{'metric':<22} {'baseline (target)':<28} {'as logged':<28} {'after the fix':<28}",
    ]
    for m in r.metrics:
        lines.append(f"{m.name:<22} {_ci(m.baseline):<28} {_ci(m.before):<28} {_ci(m.after):<28}"
                     + ("  WORSE" if m.worse_beyond_ci else ""))
    for c in r.drift:
        lines.append(f"Feature {c.feature!r}: PSI vs training {c.psi_before:.3f} as logged -> "
                     f"{c.psi_after:.3f} after (baseline window {c.psi_baseline:.3f}); "
                     f"{c.changed_rows:,} rows changed")
    if r.side_effects:
        lines.append("Side effects (segments worse than both as logged and baseline):")
        for s in r.side_effects[:limit]:
            lines.append(f"  {s.segment}={s.value}: {s.metric} {_ci(s.after)} "
                         f"(as logged {_ci(s.before)}, baseline {_ci(s.baseline)})")
    else:
        lines.append("Side effects: none (no segment got worse beyond its intervals)")
    if r.model_check is not None:
        lines.append(f"Model check: {r.model_check.detail}")
    lines += [f"Warning: {w}" for w in r.warnings]
    lines.append(f"Intervals: {r.ci_method}.")
    if journal is not None:
        lines.append(f"Recorded in the journal {journal}")
    return "\n".join(lines)


def _ci(e: MetricEstimate) -> str:
    if e.value is None:
        return "n/a"
    return f"{e.value:.4f} [{e.lower:.4f}, {e.upper:.4f}]"
