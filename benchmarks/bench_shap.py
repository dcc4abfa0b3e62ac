"""Benchmark: SHAP for 1,000 records of the sample model, adapter path vs shap called directly.

Both run in this process on the same rows with the same 100-row reference background: the
adapter path (`workbench.explain.explain_rows`, cache cleared: preprocessing, explainer
construction, tree SHAP, mapping to original features and the additivity check) and the bare
`shap.TreeExplainer(final_estimator, encoded_background, feature_perturbation="interventional")`
on the pipeline-encoded rows. Printed: seconds and records/s of each (best of --repeat runs,
alternating), the overhead ratio (target < 10 %) and the time of a cached repeat request.
Usage: python benchmarks/bench_shap.py [--rows 300000] [--out benchmarks/out/fraud_300000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import shap

from workbench.config import load_incident
from workbench.data import LogStore
from workbench.explain import adapter_for, explain_rows, reference_background, select_failing
from workbench.explain.shap_values import clear_cache

ROOT = Path(__file__).resolve().parents[1]
RECORDS = 1_000
BACKGROUND = 100


def records(store: LogStore, adapter, n: int) -> pd.DataFrame:
    """Up to n false positives of the whole log, topped up with a seeded sample of the log."""
    fps = select_failing(store, adapter, "fp", limit=n)[list(adapter.feature_names)]
    if len(fps) >= n:
        return fps.reset_index(drop=True)
    more = store.seeded_sample(list(adapter.feature_names), n - len(fps), seed=1)
    return pd.concat([fps, more], ignore_index=True)


def adapter_path(adapter, frame: pd.DataFrame, background: pd.DataFrame) -> float:
    clear_cache()
    adapter._explainers.clear()  # count explainer construction, as the direct path does
    began = time.perf_counter()
    values = explain_rows(adapter, frame, background)
    elapsed = time.perf_counter() - began
    assert values.kind == "tree" and values.values.shape == (len(frame), len(frame.columns))
    return elapsed


def direct_path(adapter, frame: pd.DataFrame, background: pd.DataFrame) -> float:
    pipe = adapter.estimator
    began = time.perf_counter()
    encode = pipe[:-1]
    explainer = shap.TreeExplainer(pipe[-1], encode.transform(background),
                                   feature_perturbation="interventional",
                                   model_output="probability")
    phi = explainer.shap_values(encode.transform(frame), check_additivity=False)
    elapsed = time.perf_counter() - began
    assert phi.shape[0] == len(frame)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000, help="log rows of the sample")
    parser.add_argument("--out", type=Path, default=None, help="sample folder (reused)")
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; best is reported")
    args = parser.parse_args()
    out = args.out or ROOT / "benchmarks" / "out" / f"fraud_{args.rows}"
    config = out / "incident.toml"
    if not config.is_file():
        print(f"generating {args.rows:,} rows into {out} ...", flush=True)
        subprocess.run([sys.executable, "-m", "workbench.cli", "sample", "--rows",
                        str(args.rows), "--out", str(out)], check=True,
                       stderr=subprocess.DEVNULL)
    with LogStore(load_incident(config)) as store:
        adapter = adapter_for(store)
        frame = records(store, adapter, args.records)
        background = reference_background(store, adapter, BACKGROUND, seed=0)
    n = len(frame)
    ours, theirs = [], []
    for _ in range(args.repeat):  # alternate, so both see the same machine load
        ours.append(adapter_path(adapter, frame, background))
        theirs.append(direct_path(adapter, frame, background))
    began = time.perf_counter()
    explain_rows(adapter, frame, background)
    cached = time.perf_counter() - began
    a, d = min(ours), min(theirs)
    print(f"records: {n:,}  background: {len(background)} rows  model: {adapter.name} "
          f"({adapter.description})")
    print(f"adapter path:  {a:8.3f} s  {n / a:10,.0f} records/s")
    print(f"shap directly: {d:8.3f} s  {n / d:10,.0f} records/s")
    print(f"overhead:      {a / d - 1:+8.1%}  (adapter / direct = {a / d:.3f}; target < 10 %)")
    print(f"cached repeat: {cached * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
