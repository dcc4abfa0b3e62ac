"""`python -m sample_data`: write the seeded fraud sample incident and list what was written."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .fraud import DEFAULT_OUT, generate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options: rows, output directory and seed."""
    parser = argparse.ArgumentParser(
        prog="python -m sample_data",
        description="Generate the 'fraud false positives tripled over the weekend' incident.",
    )
    parser.add_argument("--rows", type=int, default=300_000, help="prediction-log rows")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--seed", type=int, default=7, help="random seed (non-negative)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate the sample, report progress on stderr and the written files on stdout."""
    args = parse_args(argv)
    started = time.perf_counter()
    incident = generate(
        args.out, rows=args.rows, seed=args.seed, progress=lambda m: print(m, file=sys.stderr)
    )
    root = incident.parent
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        print(f"{path.stat().st_size:>12,}  {path.relative_to(root)}")
    seconds = time.perf_counter() - started
    print(f"wrote {args.rows:,} log rows to {root} in {seconds:.1f}s; open {incident}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
