"""`workbench ablate BAD [--against GOOD] [--json]`: metric change per ablated feature."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workbench.commands import at_least, progress


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    a = sub.add_parser("ablate", help="re-run without one feature at a time (or with one column "
                       "from the good data) and report the metric change per feature")
    a.add_argument("bad", help="manifest (or model version with --incident) of the run to ablate")
    a.add_argument("--against", help="manifest of the good run: ablate both and rank features "
                   "by the share of the gap they explain")
    a.add_argument("--incident", type=Path, help="incident config: resolves model versions and "
                   "records the ablation in its journal")
    a.add_argument("--mode", choices=("drop", "swap"), default="drop",
                   help="drop a feature, or swap a column in from the good data (default: drop)")
    a.add_argument("--key", help="row key matching the two data versions (swap)")
    a.add_argument("--features", default="", help="comma-separated features (default: the "
                   "manifest's features; for swap every column)")
    a.add_argument("--role", default="train", help="data role to ablate (default: train)")
    a.add_argument("--repo", type=Path, help="clone of the pipeline's repository")
    a.add_argument("--metric", help="metric (default: the primary metric)")
    a.add_argument("--repeats", type=int, default=5, help="seeds for the noise band (default 5)")
    a.add_argument("--no-cache", action="store_true", help="re-run even when cached")
    a.add_argument("--jobs", type=at_least(1), default=1, help="parallel re-runs (default: 1)")
    a.add_argument("--json", action="store_true", help="print the result as JSON")
    a.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    a.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ablate and print."""
    from workbench.commands.trace import resolve_run
    from workbench.lineage.ablate import ablate, record_ablation
    from workbench.lineage.cache import RunCache
    from workbench.lineage.runner import Runner

    bad = resolve_run(args.bad, args.incident)
    good = resolve_run(args.against, args.incident) if args.against else None
    features = [f.strip() for f in args.features.split(",") if f.strip()] or None
    with Runner(cache=RunCache(enabled=not args.no_cache), jobs=args.jobs,
                progress=progress(args.quiet or args.json)) as runner:
        result = ablate(bad, runner, good=good, features=features, mode=args.mode, key=args.key,
                        role=args.role, repo=str(args.repo) if args.repo else None,
                        metric=args.metric, repeats=args.repeats)
    if args.incident is not None:
        from workbench.journal import Journal

        record_ablation(Journal.for_incident(args.incident), result, bad, good)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    head = (f"Ablation ({result.mode}) of {bad.name}, {result.metric}: baseline "
            f"{result.baseline_bad:.4f}" + (f", good {result.baseline_good:.4f}"
                                            if result.baseline_good is not None else "")
            + f"; noise ±{result.band:.4f}; ranked by {result.ranked_by}")
    by_gap = result.ranked_by == "gap_explained"
    lines = [head, f"  {'feature':<24} {'bad w/o':>8} {'change':>8} {'good w/o':>8} "
                   f"{'gap explained':>14}"]
    for r in result.rows:
        mark = "*" if r.beyond_noise else " "
        good = "" if r.metric_good is None else f"{r.metric_good:.4f}"
        explained = "" if r.gap_explained is None else f"{r.gap_explained:.0%}"
        lines.append(f"  {r.feature:<24} {r.metric_bad:>8.4f} {r.delta_bad:>+8.4f}"
                     f"{' ' if by_gap else mark}{good:>8} {explained:>13}{mark if by_gap else ''}")
    lines.append(f"(* beyond the noise band; {result.reruns} re-runs, {result.cached} from "
                 f"cache)")
    lines += [f"Note: {n}" for n in result.notes]
    print("\n".join(lines))
    return 0
