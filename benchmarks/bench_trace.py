"""Benchmark: bisecting the sample's 12 commits against re-running every commit.

On the sample scenario (built into a temporary folder unless --root names one), in one process:
1. the delta experiments of v1.1 -> v1.2 (noise band from --repeats seeds), fresh cache;
2. bisection of the commits in between, reusing the endpoints the experiments measured;
3. the naive baseline: the bad run re-run at every commit in between (fresh cache), the first
   commit worse than the good reference by more than the noise band taken as the culprit;
4. the whole trace again with the warm cache (a repeated trace).
Printed: re-runs and wall seconds of each, and the ratios bisect/naive.
Usage: python benchmarks/bench_trace.py [--root DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from pathlib import Path

from sample_data.pipeline import BAD_CODE, GOOD, build_sample
from workbench.lineage import load_manifest
from workbench.lineage.bisect import bisect_commits
from workbench.lineage.cache import RunCache
from workbench.lineage.diff import diff_manifests
from workbench.lineage.experiments import delta_experiments, setup
from workbench.lineage.runner import Runner
from workbench.lineage.trace import trace


def naive_scan(good, bad, commits, band: float, cache: RunCache) -> tuple[str | None, int, float]:
    """Re-run the bad run at every commit; the first one beyond the band is the culprit.

    Timed after the good reference ran, so both sides start with a warm fork server.
    """
    with Runner(cache=cache) as runner:
        s = setup(good, bad)
        good_ref = runner.run(s.good).metrics[s.metric]
        reruns_before = runner.reruns
        began = time.perf_counter()
        values = [runner.run(s.bad.replace(commit=c.sha, label=f"naive {c.short}"))
                  .metrics[s.metric] for c in commits]
        culprit = next((c.sha for c, v in zip(commits, values, strict=True)
                        if s.improvement(v, good_ref) > band), None)
        return culprit, runner.reruns - reruns_before, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="sample folder (built when missing)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench-trace-"))
    try:
        run(root, args.repeats)
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, repeats: int) -> None:
    """Build (or reuse) the sample in root and print the figures."""
    began = time.perf_counter()
    sample = build_sample(root)
    print(f"sample: {root} ({time.perf_counter() - began:.1f} s to build or reuse)")
    good, bad = load_manifest(sample.manifest(GOOD)), load_manifest(sample.manifest(BAD_CODE))
    with tempfile.TemporaryDirectory(prefix="bench-trace-cache-") as tmp:
        measure(sample, good, bad, Path(tmp), repeats)


def measure(sample, good, bad, scratch: Path, repeats: int) -> None:
    """Time the delta experiments, the bisection, the naive scan and a repeated trace."""
    diff = diff_manifests(good, bad)
    commits = list(diff.commits)
    n = len(commits)

    cache = RunCache(root=scratch / "trace")
    with Runner(cache=cache) as runner:
        t0 = time.perf_counter()
        exp = delta_experiments(good, bad, diff, runner, repeats=repeats)
        t_exp, r_exp = time.perf_counter() - t0, runner.reruns
        t0 = time.perf_counter()
        bis = bisect_commits(commits, runner, setup(good, bad), exp)
        t_bis = time.perf_counter() - t0
    band = exp.noise.half_width
    culprit_ok = bis.culprit == sample.culprit_commit
    naive_culprit, r_naive, t_naive = naive_scan(good, bad, commits, band,
                                                 RunCache(root=scratch / "naive"))

    t0 = time.perf_counter()
    again = trace(good, bad, cache=cache, repeats=repeats)
    t_again = time.perf_counter() - t0

    print(f"metric {exp.metric}: good {exp.good_value:.4f}, bad {exp.bad_value:.4f}, gap "
          f"{exp.gap:+.4f}, noise band ±{band:.4f} (std {exp.noise.std:.4f}, "
          f"{len(exp.noise.seeds)} seeds); culprit factor: {exp.culprit}")
    print(f"delta experiments          {r_exp:>3} re-runs  {t_exp:6.1f} s")
    print(f"bisect over {n} commits     {bis.reruns:>3} re-runs  {t_bis:6.1f} s  "
          f"(budget ceil(log2 {n}) + 1 = {math.ceil(math.log2(n)) + 1}; culprit "
          f"{bis.culprit[:10] if bis.culprit else None}, correct: {culprit_ok})")
    print(f"naive: every commit        {r_naive:>3} re-runs  {t_naive:6.1f} s  (culprit "
          f"{naive_culprit[:10] if naive_culprit else None}, correct: "
          f"{naive_culprit == sample.culprit_commit})")
    print(f"bisect / naive             {bis.reruns / max(r_naive, 1):.2f}x re-runs  "
          f"{t_bis / max(t_naive, 1e-9):.2f}x seconds")
    print(f"repeated trace (cached)    {again.reruns:>3} re-runs  {t_again:6.2f} s  "
          f"({again.cached} runs from cache)")


if __name__ == "__main__":
    main()
