"""`workbench trace GOOD BAD [--json]`: which data change or commit made the bad run worse.

GOOD and BAD are run manifests (files or model folders), or model versions when --incident
names a config whose `[lineage] manifests` maps versions to manifests.
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

from workbench.commands import at_least, progress


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    t = sub.add_parser("trace", help="trace a regression between two runs to data, code or "
                       "config, with delta experiments and bisection")
    t.add_argument("good", help="manifest (or model version with --incident) of the good run")
    t.add_argument("bad", help="manifest (or model version with --incident) of the bad run")
    t.add_argument("--incident", type=Path, help="incident config: resolves versions through "
                   "[lineage] manifests and records the trace in its journal")
    t.add_argument("--repo", type=Path, help="clone of the pipeline's repository "
                   "(default: the one recorded in the manifests)")
    t.add_argument("--metric", help="metric to compare (default: the bad run's primary metric)")
    t.add_argument("--repeats", type=int, default=5,
                   help="seeds of the baseline repeated for the noise band (default: 5)")
    t.add_argument("--snapshots", help="glob of the ordered data snapshots to bisect when data "
                   "carries an effect, e.g. 'data/snapshots/*.csv' (sorted by name)")
    t.add_argument("--diff-only", action="store_true", help="only list differences; no re-runs")
    t.add_argument("--no-bisect", action="store_true", help="skip bisection")
    t.add_argument("--no-cache", action="store_true", help="re-run even when cached")
    t.add_argument("--jobs", type=at_least(1), default=1, help="parallel re-runs (default: 1)")
    t.add_argument("--json", action="store_true", help="print the result as JSON")
    t.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    t.set_defaults(func=run)


def resolve_run(value: str, incident: Path | None):
    """A manifest from a path, or from a model version through the incident config."""
    from workbench.exceptions import InvalidInputError
    from workbench.lineage.manifest import load_manifest, manifests_for_versions

    if Path(value).exists() or incident is None:
        return load_manifest(value)
    from workbench.config import load_incident

    versions = manifests_for_versions(load_incident(incident))
    if value not in versions:
        known = ", ".join(sorted(versions)) or "none"
        raise InvalidInputError(f"{value!r} is neither a manifest file nor a model version "
                                f"known to {incident} (versions: {known}).")
    return versions[value]


def run(args: argparse.Namespace) -> int:
    """Trace and print."""
    from workbench.exceptions import InvalidInputError
    from workbench.lineage.cache import RunCache
    from workbench.lineage.trace import trace

    if args.repeats < 2:
        raise InvalidInputError(f"--repeats must be at least 2 to estimate noise. Got "
                                f"{args.repeats}.")
    snapshots = None
    if args.snapshots:
        snapshots = sorted(glob.glob(args.snapshots))
        if not snapshots:
            raise InvalidInputError(f"--snapshots {args.snapshots!r} matches no file.")
    journal = None
    if args.incident is not None:
        from workbench.journal import Journal

        journal = Journal.for_incident(args.incident)
    result = trace(resolve_run(args.good, args.incident), resolve_run(args.bad, args.incident),
                   repo=args.repo, metric=args.metric, repeats=args.repeats,
                   experiments=not args.diff_only, bisect=not args.no_bisect,
                   snapshots=snapshots, cache=RunCache(enabled=not args.no_cache),
                   jobs=args.jobs, progress=progress(args.quiet or args.json), journal=journal)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render_text(result))
    return 0


def render_text(result) -> str:
    """A readable report for the terminal."""
    from workbench.lineage.results import figure

    d = result.diff
    lines = [f"Trace {d.good} (good) -> {d.bad} (bad), metric {d.metric}: "
             f"{figure(d.metric_good)} -> {figure(d.metric_bad)} as recorded", "",
             "Differences:"]
    for change in d.data:
        if not change.changed:
            continue
        lines.append(f"  data[{change.role}]: {change.rows_good} -> {change.rows_bad} rows, "
                     f"sha256 {str(change.sha256_good)[:10]} -> {str(change.sha256_bad)[:10]}")
        lines += _label_lines(change)
        for shift in change.shifts[:3]:
            lines.append(f"    {shift.column}: PSI {shift.psi:.3f} ({shift.severity})")
        for seg in [s for s in change.segments if s.significant][:3]:
            lines.append(f"    segment {seg.name}: {seg.describe(change.label)}")
    if d.code_changed:
        lines.append(f"  code: {str(d.commit_good)[:10]} -> {str(d.commit_bad)[:10]}, "
                     f"{len(d.commits)} commits, {len(d.files)} files touched")
    for label, items in (("config", d.config), ("libraries", d.libraries),
                         ("platform", d.platform), ("seeds", d.seeds)):
        for item in items:
            lines.append(f"  {label}: {item.key} {item.good!r} -> {item.bad!r}")
    if not d.factors:
        lines.append("  none recorded")
    exp = result.experiments
    if exp is not None:
        lines += _experiment_lines(exp)
    for bis in result.bisects or ((result.bisect,) if result.bisect else ()):
        setting = "" if bis.context in (None, "none") else f", others {bis.context}"
        lines += ["", f"Bisect ({bis.kind}, {len(bis.candidates)} candidates, "
                      f"{len(bis.steps)} probes of at most {bis.max_reruns}, {bis.reruns} "
                      f"re-run{setting}):"]
        for step in bis.steps:
            name = step.candidate[:10] if bis.kind == "code" else Path(step.candidate).name
            lines.append(f"  {name} {figure(step.metric_value)} {step.verdict:<4} "
                         + (step.label if bis.kind == "code" else ""))
        lines += [f"  {n}" for n in bis.notes]
    lines += ["", "Verdict: " + result.verdict,
              f"({result.reruns} re-runs, {result.cached} from cache, {result.seconds:.1f} s)"]
    lines += [f"Note: {n}" for n in (*d.notes, *(exp.notes if exp else ()))]
    return "\n".join(lines)


def _label_lines(change) -> list[str]:
    """The label overall: rate and z for a 0/1 label, mean, median and Welch t otherwise."""
    if change.label_rate_good is not None and change.label_rate_bad is not None:
        return [f"    label rate {change.label_rate_good:.2%} -> {change.label_rate_bad:.2%} "
                f"(z = {_f(change.label_z, 1)})"]
    if change.label_mean_good is None or change.label_mean_bad is None:
        return []
    from workbench.lineage.results import label_value as v

    return [f"    {change.label} mean {v(change.label_mean_good)} -> {v(change.label_mean_bad)}, "
            f"median {v(change.label_median_good)} -> {v(change.label_median_bad)} (Welch t = "
            f"{_f(change.label_z, 1)}, KS {_f(change.label_ks, 3)})"]


def _experiment_lines(exp) -> list[str]:
    """The factorial: every factor's effects and the interactions."""
    from workbench.lineage.results import figure

    noise = exp.noise
    good_noise = "" if noise.good_std is None else " and the good reference"
    lines = ["", f"Delta experiments (seed {exp.seed}; noise ±{figure(noise.half_width)} "
                 f"from seeds {', '.join(map(str, noise.seeds))} of the bad run{good_noise}):",
             f"  bad baseline {figure(exp.bad_value)}, good factors {figure(exp.good_value)}, "
             f"gap {figure(exp.gap, True)}"]
    for e in exp.effects:
        lines.append(f"  {e.factor:<7} {figure(e.metric_value)}  {e.verdict}")
    if len(exp.factors) > 1:
        lines.append(f"  factorial: {len(exp.cells)} runs over {' × '.join(exp.factors)}")
        for e in exp.effects:
            share = "" if e.shapley_share is None else f" ({e.shapley_share:.0%})"
            lines.append(f"    {e.factor:<7} share of the gap {figure(e.shapley, True)}{share}"
                         + ("  <- culprit" if e.factor in exp.culprits else ""))
        for inter in exp.interactions:
            lines.append(f"    {inter.name}: {inter.verdict}")
    return lines


def _f(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
