"""Benchmark: diagnosis accuracy on the seeded scenario set (one incident per signature, in
several variants, plus healthy controls), with generation and diagnosis times.

For every scenario: is the top hypothesis' signature right, does it name the culprit (feature,
segment, change id, model version as the truth sets them), is the culprit in the top three, how
far is the onset from the truth (in buckets); healthy controls must report no onset and no
hypothesis scoring 0.3 or more. The timing baseline, measured in the same run, is one DuckDB
full scan of each scenario's log.
Usage: python benchmarks/bench_scenarios.py [--out DIR] [--only NAME ...] [--reuse] [--json]
       [--all-models]
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
import traceback
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sample_data.scenarios import SCENARIOS, by_name, generate, load_truth  # noqa: E402
from sample_data.scenarios.grading import QUIET_SCORE, grade  # noqa: E402
from workbench.diagnose import diagnose  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "out" / "scenarios"


def scan_seconds(config: Path) -> float:
    """Baseline: one DuckDB full scan of the scenario's log (count and a sum per column)."""
    files = sorted(glob.glob(str(config.parent / "logs" / "*.parquet")))
    began = time.perf_counter()
    con = duckdb.connect()
    con.execute("SELECT count(*), max(COLUMNS(*)) FROM read_parquet($f)",
                {"f": files}).fetchall()
    con.close()
    return time.perf_counter() - began


def run_one(name: str, out: Path, reuse: bool, all_models: bool = False) -> dict[str, Any]:
    """Generate (unless reused), diagnose and grade one scenario."""
    scenario = by_name(name)
    if all_models:
        scenario = replace(scenario, with_model=True)
    config = out / name / "incident.toml"
    began = time.perf_counter()
    if not (reuse and config.is_file()):
        config = generate(scenario, out / name)
    generated = time.perf_counter() - began
    truth = load_truth(config)
    began = time.perf_counter()
    try:
        document = diagnose(config).to_dict()
        error = None
    except Exception as exc:  # noqa: BLE001 - a crash is a result to report, not to hide
        document = {"onset": None, "hypotheses": []}
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        traceback.print_exc(file=sys.stderr)
    diagnosed = time.perf_counter() - began
    return {"grade": grade(document, truth), "error": error, "generate_s": generated,
            "diagnose_s": diagnosed, "scan_s": scan_seconds(config),
            "metric": (document.get("metric") or {}).get("name"), "truth": truth}


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-signature and total counts."""
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        g = r["grade"]
        key = g.signature or "healthy"
        row = per[key]
        row["n"] += 1
        if g.healthy:
            row["quiet"] += g.quiet
            row["no_onset"] += g.onset_found is None
            continue
        for field in ("top1_signature", "top1_culprit", "top3", "onset_ok", "passed"):
            row[field] += bool(getattr(g, field))
    incidents = [r["grade"] for r in results if not r["grade"].healthy]
    healthy = [r["grade"] for r in results if r["grade"].healthy]
    totals = {
        "incidents": len(incidents),
        "top1_signature": sum(g.top1_signature for g in incidents),
        "top1_culprit": sum(g.top1_culprit for g in incidents),
        "top3": sum(g.top3 for g in incidents),
        "onset_ok": sum(g.onset_ok for g in incidents),
        "passed": sum(g.passed for g in incidents),
        "healthy": len(healthy),
        "healthy_quiet": sum(g.quiet for g in healthy),
        "generate_s": round(sum(r["generate_s"] for r in results), 2),
        "diagnose_s": round(sum(r["diagnose_s"] for r in results), 2),
        "scan_s": round(sum(r["scan_s"] for r in results), 3),
    }
    totals["diagnose_vs_scan"] = round(totals["diagnose_s"] / max(totals["scan_s"], 1e-9), 1)
    return {"per_signature": {k: dict(v) for k, v in per.items()}, "totals": totals}


def _mark(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_table(results: list[dict[str, Any]], summ: dict[str, Any]) -> None:
    """The human-readable accuracy table."""
    print(f"{'scenario':38} {'signature':24} {'sig':>4} {'culp':>5} {'top3':>5} "
          f"{'onset err':>9} {'explained':>9} {'diag s':>7}")
    for r in results:
        g = r["grade"]
        if g.healthy:
            continue
        err = "none" if g.onset_error_buckets is None else f"{g.onset_error_buckets:.1f}"
        share = "-" if g.culprit_share is None else f"{g.culprit_share:.0%}"
        print(f"{g.scenario:38} {g.signature:24} {_mark(g.top1_signature):>4} "
              f"{_mark(g.top1_culprit):>5} {_mark(g.top3):>5} {err:>9} {share:>9} "
              f"{r['diagnose_s']:7.1f}")
    print(f"\n{'healthy control':38} {'onset':24} {'max score':>10} {'quiet':>6} {'diag s':>7}")
    for r in results:
        g = r["grade"]
        if g.healthy:
            print(f"{g.scenario:38} {str(g.onset_found):24} {g.max_score:10.3f} "
                  f"{_mark(g.quiet):>6} {r['diagnose_s']:7.1f}")
    print(f"\n{'signature':26} {'n':>2} {'top1 sig':>9} {'culprit':>8} {'top3':>5} "
          f"{'onset':>6}")
    for key, row in summ["per_signature"].items():
        if key == "healthy":
            continue
        print(f"{key:26} {row['n']:>2} {row['top1_signature']:>9} {row['top1_culprit']:>8} "
              f"{row['top3']:>5} {row['onset_ok']:>6}")
    t = summ["totals"]
    print(f"\ntotal: {t['incidents']} incidents: top-1 signature {t['top1_signature']}, "
          f"top-1 culprit {t['top1_culprit']}, top-3 {t['top3']}, onset within tolerance "
          f"{t['onset_ok']}, fully right {t['passed']}; healthy controls quiet "
          f"{t['healthy_quiet']}/{t['healthy']} (no onset, no score >= {QUIET_SCORE})")
    print(f"time: generate {t['generate_s']:.1f}s, diagnose {t['diagnose_s']:.1f}s "
          f"= {t['diagnose_vs_scan']}x the DuckDB full scans ({t['scan_s']:.2f}s)")
    failed = [r for r in results if not r["grade"].passed]
    if failed:
        print("\nwhat the diagnosis said where it was wrong:")
        for r in failed:
            what = r["error"] or r["grade"].describe()
            print(f"- {r['grade'].scenario} [{r['metric']}]: {what}")


def main(argv: list[str] | None = None) -> int:
    """Generate, diagnose, grade; print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="scenario folder")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        choices=[s.name for s in SCENARIOS])
    parser.add_argument("--reuse", action="store_true",
                        help="diagnose scenarios already generated under --out")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--all-models", action="store_true",
                        help="attach the model files (and [model]) to every scenario")
    args = parser.parse_args(argv)
    names = args.only or [s.name for s in SCENARIOS]
    results = []
    for name in names:
        results.append(run_one(name, args.out, args.reuse, args.all_models))
        if not args.json:
            r = results[-1]
            print(f"{name}: generated {r['generate_s']:.1f}s, diagnosed {r['diagnose_s']:.1f}s",
                  file=sys.stderr)
    summ = summary(results)
    if args.json:
        print(json.dumps({
            "scenarios": [{**r["grade"].to_dict(), "error": r["error"], "metric": r["metric"],
                           "generate_s": round(r["generate_s"], 3),
                           "diagnose_s": round(r["diagnose_s"], 3),
                           "scan_s": round(r["scan_s"], 4)} for r in results],
            **summ}, indent=2))
    else:
        print_table(results, summ)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
