"""The `workbench` command: the same core as the notebooks, for terminals and scripts.

Exit codes: 0 done, 2 bad config or input (one line on stderr naming what and where),
1 unexpected error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.exceptions import WorkbenchError
from workbench.results import Diagnosis
from workbench.timeutil import iso, parse_window


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")

    d = sub.add_parser("diagnose", help="triage an incident and rank what caused it")
    d.add_argument("config", type=Path, help="incident config (TOML)")
    d.add_argument("--json", action="store_true", help="print the result as JSON")
    d.add_argument("--window", help="analyse only START..END (ISO-8601, either side optional)")
    d.add_argument("--bucket", help="time bucket, e.g. 1h, 15min, 1d (default: from the config)")
    d.add_argument("--metric", help="monitored metric, e.g. false_positive_rate, mae")
    d.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    d.set_defaults(func=_diagnose)

    s = sub.add_parser("sample", help="generate the bundled sample incident")
    s.add_argument("--rows", type=int, default=300_000, help="production log rows")
    s.add_argument("--out", type=Path, default=None, help="output folder")
    s.add_argument("--seed", type=int, default=7, help="random seed")
    s.set_defaults(func=_sample)

    e = sub.add_parser("explain", help="explain failing records with SHAP against training data")
    e.add_argument("config", type=Path, help="incident config (TOML) with a [model] section")
    e.add_argument("--failing", choices=("fp", "fn", "error"), default="fp",
                   help="false positives, false negatives or largest errors (default: fp)")
    e.add_argument("--limit", type=int, default=50, help="records to explain (default: 50)")
    e.add_argument("--window", help="START..END (ISO-8601); default: the incident window")
    e.add_argument("--segment", help="only records with column=value, e.g. country=US")
    e.add_argument("--background", type=int, default=100,
                   help="reference rows in the SHAP background sample (default: 100)")
    e.add_argument("--seed", type=int, default=0, help="seed of the background sample")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    e.set_defaults(func=_explain)
    return parser


def _progress(quiet: bool):
    if quiet:
        return None
    return lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)


def _diagnose(args: argparse.Namespace) -> int:
    from workbench.diagnose import diagnose

    start, end = parse_window(args.window) if args.window else (None, None)
    result = diagnose(args.config, start=start, end=end, bucket=args.bucket, metric=args.metric,
                      progress=_progress(args.quiet or args.json))
    if args.json:
        print(json.dumps(contract(result), indent=2))
    else:
        print(render_text(result))
    return 0


def contract(result: Diagnosis) -> dict:
    """The stable `--json` document: contract keys first, extras after."""
    data = result.to_dict()
    keys = ["incident", "bucket", "window", "onset", "metric", "trend", "hypotheses"]
    out = {k: data[k] for k in keys}
    out.update({k: v for k, v in data.items() if k not in keys and k not in ("series",
                                                                            "histograms")})
    return out


def render_text(result: Diagnosis, limit: int = 5) -> str:
    """A readable summary for the terminal."""
    m = result.metric
    lines = [f"Incident: {result.incident}",
             f"Window:   {iso(result.window['start'])} .. {iso(result.window['end'])} "
             f"({result.rows:,} rows, bucket {result.bucket})"]
    if result.onset is None:
        lines.append(f"No regression found: {m.name} is stable "
                     f"({_fmt(m.baseline)} before vs {_fmt(m.current)} recently).")
        return "\n".join(lines)
    lines += [
        f"Onset:    {iso(result.onset)}",
        f"Metric:   {m.name} {_fmt(m.baseline)} -> {_fmt(m.current)}"
        + (f" ({m.current / m.baseline:.1f}x)" if m.baseline and m.current else ""),
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
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _sample(args: argparse.Namespace) -> int:
    from sample_data.fraud import DEFAULT_OUT, generate

    out = args.out or DEFAULT_OUT
    path = generate(out, rows=args.rows, seed=args.seed,
                    progress=lambda msg: print(f"... {msg}", file=sys.stderr, flush=True))
    print(path)
    return 0


def _explain(args: argparse.Namespace) -> int:
    from workbench.explain.report import explain_incident, render_failing

    start, end = parse_window(args.window) if args.window else (None, None)
    result = explain_incident(
        args.config, args.failing, limit=args.limit, start=start, end=end,
        window_given=bool(args.window), segment=args.segment, background_rows=args.background,
        seed=args.seed, progress=_progress(args.quiet or args.json))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render_failing(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
