"""Benchmark: `workbench diagnose` against one plain DuckDB full scan of the same Parquet log.

Both run as fresh processes in the same session (so Python start-up and imports count for both,
as a user would see them); the figures printed are wall seconds, peak RSS, and their ratios.
Usage: python benchmarks/bench_diagnose.py [--rows 10000000] [--out benchmarks/out/fraud_10m]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import duckdb, glob, sys
con = duckdb.connect()
files = sorted(glob.glob(sys.argv[1]))
print(con.execute(
    "SELECT count(*), sum(fraud_score), sum(amount), sum(ratio), sum(latency_ms) "
    "FROM read_parquet($f)", {"f": files}).fetchone())
"""


def measured(code_or_args: list[str]) -> tuple[float, float, str]:
    """Run a command in a wrapper process that reports its own child's peak RSS."""
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "t=time.perf_counter(); p=subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "w=time.perf_counter()-t;"
        "m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024;"
        "print(json.dumps({'wall': w, 'rss': m, 'rc': p.returncode, 'out': p.stdout,"
        " 'err': p.stderr[-2000:]}))"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *code_or_args], capture_output=True,
                          text=True, check=True)
    data = json.loads(proc.stdout)
    if data["rc"] != 0:
        raise SystemExit(f"command failed: {code_or_args}\n{data['err']}")
    return data["wall"], data["rss"], data["out"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; best is reported")
    args = parser.parse_args()
    out = args.out or ROOT / "benchmarks" / "out" / f"fraud_{args.rows}"
    config = out / "incident.toml"
    if not config.is_file():
        print(f"generating {args.rows:,} rows into {out} ...", flush=True)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "workbench.cli", "sample", "--rows",
                        str(args.rows), "--out", str(out)], check=True,
                       stderr=subprocess.DEVNULL)
        print(f"  generated in {time.perf_counter() - began:.1f} s")
    size = sum(f.stat().st_size for f in (out / "logs").glob("*.parquet")) / 2**20
    glob_ = str(out / "logs" / "*.parquet")

    scans = [measured([sys.executable, "-c", BASELINE, glob_]) for _ in range(args.repeat)]
    diags = [measured([sys.executable, "-m", "workbench.cli", "diagnose", str(config), "--json",
                       "--no-cache"]) for _ in range(args.repeat)]  # computed, not loaded
    scan = min(scans, key=lambda r: r[0])
    diag = min(diags, key=lambda r: r[0])
    result = json.loads(diag[2][diag[2].index("{"):]) if diag[2].strip().startswith("{") else {}
    print(f"log: {args.rows:,} rows, {size:.0f} MiB of Parquet")
    print(f"{'':28}{'wall s':>10}{'peak MiB':>12}")
    print(f"{'DuckDB full scan (baseline)':28}{scan[0]:>10.2f}{scan[1]:>12.0f}")
    print(f"{'workbench diagnose':28}{diag[0]:>10.2f}{diag[1]:>12.0f}")
    print(f"ratio diagnose / scan: time {diag[0] / scan[0]:.2f}x, memory {diag[1] / scan[1]:.2f}x "
          f"(targets: time <= 3x, peak <= 1024 MiB)")
    if result:
        top = result["hypotheses"][0] if result["hypotheses"] else {}
        print(f"onset {result['onset']}, top: {top.get('signature')} {top.get('feature')} "
              f"{top.get('change_id')}")


if __name__ == "__main__":
    main()
