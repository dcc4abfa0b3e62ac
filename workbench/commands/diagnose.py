"""`workbench diagnose CONFIG [--json] [--window START..END] [--no-cache]`: rank the suspects."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.commands import add_engine_options, duration, load_with_engine, stage_progress
from workbench.results import Diagnosis, round_floats
from workbench.timeutil import iso, parse_time, parse_window

if TYPE_CHECKING:
    from workbench.cache import CachedDiagnosis


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    d = sub.add_parser("diagnose", help="triage an incident and rank what caused it")
    d.add_argument("config", type=Path, help="incident config (TOML)")
    d.add_argument("--json", action="store_true", help="print the result as JSON")
    d.add_argument("--window", help="analyse only START..END (ISO-8601, either side optional)")
    d.add_argument("--bucket", type=duration,
                   help="time bucket, e.g. 1h, 15min, 1d (default: from the config)")
    d.add_argument("--metric", help="monitored metric, e.g. false_positive_rate, mae")
    d.add_argument("--split", help="compare before/after this ISO-8601 time instead of the "
                   "detected onset")
    d.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    d.add_argument("--no-cache", action="store_true",
                   help="compute the diagnosis again instead of loading it from the diagnosis "
                        "cache under $WORKBENCH_HOME (and do not store it)")
    add_engine_options(d)
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the diagnosis and print it."""
    from workbench.cache import cached_diagnose
    from workbench.diagnose import STAGES

    start, end = parse_window(args.window) if args.window else (None, None)
    split = parse_time(args.split, "split time") if args.split else None
    incident = load_with_engine(args)
    say = stage_progress(args.quiet or args.json, STAGES)
    with say or contextlib.nullcontext():
        found = cached_diagnose(incident, start=start, end=end, bucket=args.bucket,
                                metric=args.metric, split=split, use_cache=not args.no_cache,
                                progress=say)
    if args.json:
        print(json.dumps(contract(found.diagnosis, found), indent=2))
    else:
        print(render_text(found.diagnosis, cache=found))
    return 0


def contract(result: Diagnosis, cache: CachedDiagnosis | None = None) -> dict:
    """The stable `--json` document: contract keys first, extras after (with `cache`: whether
    it came from the diagnosis cache, and its key)."""
    data = result.to_dict()
    keys = ["incident", "bucket", "window", "onset", "metric", "trend", "hypotheses"]
    out = {k: data[k] for k in keys}
    out.update({k: v for k, v in data.items()
                if k not in keys and k not in ("series", "histograms")})
    if cache is not None:
        out["cache"] = cache.to_dict()
    return round_floats(out)


def render_text(result: Diagnosis, limit: int = 5, cache: CachedDiagnosis | None = None) -> str:
    """A readable summary for the terminal."""
    m = result.metric
    lines = [f"Incident: {result.incident}",
             f"Window:   {iso(result.window.start)} .. {iso(result.window.end)} "
             f"({result.rows:,} rows, bucket {result.bucket})"]
    if cache is not None and cache.hit:
        lines.append(f"Cache:    loaded the finished diagnosis (key {cache.key}; "
                     f"--no-cache computes it again)")
    lines += [f"Note:     {note}" for note in result.notes]
    lines += _label_lines(result)
    if result.onset is None:
        lines.append(f"No regression found: {m.name} is stable "
                     f"({_fmt(m.baseline)} before vs {_fmt(m.current)} recently).")
        return "\n".join(lines)
    lines += [
        f"Onset:    {iso(result.onset)}",
        f"Metric:   {m.name} {_fmt(m.baseline)} -> {_fmt(m.current)}"
        + (f" ({m.current / m.baseline:.1f}x)" if m.baseline and m.current else "")
        + (" (estimated: too few labels yet)" if m.estimated else ""),
        f"Trend:    {result.trend}",
        "",
        "Suspects (most likely first):",
    ]
    for h in result.hypotheses[:limit]:
        target = h.feature or h.segment or h.model_version or h.change_id or ""
        lines.append(f"  {h.rank}. [{h.score:.2f}] {h.signature} ({h.layer}) {target}")
        lines.append(f"     {h.summary}")
    if len(result.hypotheses) > limit:
        lines.append(f"  ... {len(result.hypotheses) - limit} more (use --json for all)")
    if result.attribution is not None and result.attribution.status in ("skipped", "failed"):
        lines.append(f"Note:     SHAP attribution {result.attribution.status}: "
                     f"{result.attribution.reason}")
    return "\n".join(lines)


def _label_lines(result: Diagnosis) -> list[str]:
    """How many labels are still missing and since when, and the estimate standing in."""
    arrival, est = result.labels, result.estimation
    if arrival is None or arrival.complete:
        return []
    since = f" since {iso(arrival.pending_since)}" if arrival.pending_since else ""
    lines = [f"Labels:   {arrival.pending_rows:,} rows{since} still have no label "
             f"({arrival.pending_buckets} buckets; {_pct(arrival.current)} of the current "
             f"window labelled, {_pct(arrival.usual)} usually)"]
    current = next((e for e in est.current if e.name == est.metric), None) if est else None
    if est is not None and current is not None and result.metric.estimated_buckets:
        cal = est.calibration
        error = f", calibration error {cal.error:.2g}" if cal.error is not None and \
            est.method == "cbpe" else ""
        lines.append(
            f"Estimate: {est.metric} {_fmt(current.estimated)} (95% {_fmt(current.lower)}.."
            f"{_fmt(current.upper)}) over the current window by {est.method.upper()} "
            f"({cal.method} on {cal.rows:,} labelled rows{error}); realised on its labelled "
            f"rows: {_fmt(current.realised)}")
    return lines


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
