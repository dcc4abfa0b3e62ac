"""`python -m sample_data.scenarios [--out DIR] [--only NAME ...]`: write the scenario set."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import SCENARIOS, generate_all

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "out" / "scenarios"


def main(argv: list[str] | None = None) -> int:
    """Generate the scenarios, report progress on stderr and the configs on stdout."""
    parser = argparse.ArgumentParser(prog="python -m sample_data.scenarios",
                                     description="Write the seeded incident scenario set.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        choices=[s.name for s in SCENARIOS], help="generate only these")
    parser.add_argument("--all-models", action="store_true",
                        help="attach the model files to every scenario")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    configs = generate_all(args.out, args.only, progress=lambda m: print(m, file=sys.stderr),
                           all_models=args.all_models)
    for config in configs.values():
        print(config)
    print(f"{len(configs)} scenarios in {time.perf_counter() - began:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
