"""Benchmark: `workbench diagnose` vs Evidently's DataDriftPreset and NannyML's univariate drift.

The same two Parquet files for all three: 1 M reference rows and 1 M current rows, 20 numeric and
5 categorical features (generated here with numpy into benchmarks/out/peers/, not committed). The
current log spans 14 days; from day 8 on an upstream fault shifts a few served features (f00 by
+0.6 sd, which also raises the scores and so the false positives; f01 spread x1.6; f02 by
+0.25 sd; c0's level mix), the other 21 features keep the reference's distributions. Each tool
runs as a fresh process (start-up, imports and reading the files count), and wall seconds and
peak RSS are measured the way `bench_diagnose.py` measures them:

- workbench: `workbench diagnose CONFIG --json --no-cache` (no model, so no attribution); it
  finds the onset itself and compares the window after it with the reference (and with the
  baseline before it); a feature counts as flagged when its severity is not "stable".
- Evidently: `Report([DataDriftPreset(columns=...)])` over the whole current file against the
  reference, default methods and thresholds; flagged = the column's ValueDrift crosses its
  threshold (the preset's own drift test).
- NannyML: `UnivariateDriftCalculator` with its default methods (Jensen-Shannon), 10 chunks;
  flagged = an alert in any analysis chunk.

Evidently needs pandas < 3 and the project runs pandas 3, so the peers run in their own virtual
environment, created on first use (pip needs to reach the package registry):

    python3 -m venv benchmarks/out/peers-venv
    benchmarks/out/peers-venv/bin/pip install "evidently==0.7.23" "nannyml==0.13.1" "pandas<3"

Usage: python benchmarks/bench_peers.py [--rows 1000000] [--repeat 1] [--stages] [--skip-peers]
A peer that cannot be installed or fails is reported as such, with its error, not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_diagnose import load, measured, stage_times  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "peers"
VENV = ROOT / "benchmarks" / "out" / "peers-venv"
PEER_PACKAGES = ["evidently==0.7.23", "nannyml==0.13.1", "pandas<3"]

NUMERIC = [f"f{i:02d}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED = ["f00", "f01", "f02", "c0"]
START = np.datetime64("2026-11-01T00:00:00", "us")
DAYS = 14
ONSET_DAY = 7

CONFIG = """title  = "Scores up after an upstream feature change (peer benchmark)"
bucket = "1h"

[production]
source     = "current.parquet"
timestamp  = "event_time"
prediction = "score"
decision   = "flagged"
label      = "label"
id         = "id"
segments   = ["c1", "c2"]
features   = [{features}]

[reference]
source = "reference.parquet"
label  = "label"
"""

EVIDENTLY = """
import json, sys, time
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
num, cat = json.loads(sys.argv[3]), json.loads(sys.argv[4])
cols = num + cat
ref = pd.read_parquet(sys.argv[1], columns=cols)
cur = pd.read_parquet(sys.argv[2], columns=cols)
definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
snapshot = Report([DataDriftPreset(columns=cols)]).run(
    Dataset.from_pandas(cur, data_definition=definition),
    Dataset.from_pandas(ref, data_definition=definition))
flagged, scores, count = [], {}, None
for metric in snapshot.dict()["metrics"]:
    config = metric.get("config", {})
    if config.get("type", "").endswith("DriftedColumnsCount"):
        count = metric["value"]["count"]
    if config.get("type", "").endswith("ValueDrift"):
        column, value = config["column"], metric["value"]
        scores[column] = value
        threshold = config.get("threshold")
        method = str(config.get("method", ""))
        # p-value tests drift below their threshold, distances above it
        p_value = "p_value" in method or method in ("ks", "chisquare", "z", "fisher_exact")
        if threshold is not None and (value < threshold if p_value else value >= threshold):
            flagged.append(column)
print(json.dumps({"flagged": sorted(flagged), "scores": scores, "count": count}))
"""

NANNYML = """
import json, sys
import pandas as pd
import nannyml as nml
num, cat = json.loads(sys.argv[3]), json.loads(sys.argv[4])
cols = num + cat
ref = pd.read_parquet(sys.argv[1], columns=cols)
cur = pd.read_parquet(sys.argv[2], columns=cols)
calc = nml.UnivariateDriftCalculator(column_names=cols, treat_as_categorical=cat, chunk_number=10)
calc.fit(ref)
table = calc.calculate(cur).filter(period="analysis").to_df()
flagged = sorted({c for c in cols
                  for key in table.columns if key[0] == c and key[-1] == "alert"
                  if table[key].any()})
print(json.dumps({"flagged": flagged}))
"""


def generate(rows: int, out: Path, seed: int = 12) -> None:
    """Write reference.parquet, current.parquet and incident.toml into ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    levels = [[f"L{j}" for j in range(k)] for k in (4, 6, 8, 12, 20)]
    mixes = [rng.dirichlet(np.full(len(names), 2.0)) for names in levels]

    def draw(n: int, after: np.ndarray | None) -> dict[str, np.ndarray]:
        cols: dict[str, np.ndarray] = {}
        for i, name in enumerate(NUMERIC):
            kind = i % 4
            if kind == 0:
                x = rng.normal(10 * i, 1 + i, n)
            elif kind == 1:
                x = rng.lognormal(1 + i / 10, 0.5, n)
            elif kind == 2:
                x = rng.exponential(2 + i, n)
            else:
                x = rng.poisson(1 + i / 3, n).astype(float)
            cols[name] = x
        for i, name in enumerate(CATEGORICAL):
            cols[name] = np.asarray(levels[i], dtype=object)[
                rng.choice(len(levels[i]), n, p=mixes[i])]
        logit = -3.5 + 1.2 * cols["f00"] + 0.4 * (cols["f03"] > 12)
        cols["label"] = rng.random(n) < 1 / (1 + np.exp(-logit))
        if after is not None:  # the upstream fault, from the onset on
            f00, f01, f02 = cols["f00"], cols["f01"], cols["f02"]
            f00[after] += 0.6
            f01[after] = f01[after].mean() + (f01[after] - f01[after].mean()) * 1.6
            f02[after] += 0.25 * f02.std()
            c0 = cols["c0"]
            c0[after] = np.asarray(levels[0], dtype=object)[
                rng.choice(len(levels[0]), int(after.sum()), p=[0.1, 0.2, 0.3, 0.4])]
        served = -3.5 + 1.2 * cols["f00"] + 0.4 * (cols["f03"] > 12)
        cols["score"] = np.round(1 / (1 + np.exp(-served)), 6)
        cols["flagged"] = cols["score"] >= 0.5
        return cols

    ref = draw(rows, None)
    del ref["score"], ref["flagged"]
    pq.write_table(pa.table(ref), out / "reference.parquet")
    offsets = np.sort(rng.integers(0, DAYS * 86_400 * 10**6, rows))
    after = offsets >= ONSET_DAY * 86_400 * 10**6
    cur = draw(rows, after)
    table = pa.table({"id": np.arange(rows), "event_time": START + offsets.astype("m8[us]"),
                      **cur})
    table = table.set_column(1, "event_time", table["event_time"].cast(pa.timestamp("us", "UTC")))
    pq.write_table(table, out / "current.parquet", row_group_size=128 * 1024)
    features = ", ".join(f'"{c}"' for c in NUMERIC + CATEGORICAL)
    (out / "incident.toml").write_text(CONFIG.format(features=features))


def peer_python() -> tuple[Path | None, str]:
    """The peers' interpreter, creating their environment when missing; or why there is none."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import evidently, nannyml, pandas; print(evidently.__version__,"
             " nannyml.__version__, pandas.__version__)"]
    if python.is_file():
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode == 0:
            return python, done.stdout.strip()
    print(f"creating the peers' environment in {VENV} ...", flush=True)
    steps = [["python3", "-m", "venv", str(VENV)],
             [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"],
             [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"{' '.join(step)} failed: {done.stderr.strip()[-800:]}"
    done = subprocess.run(check, capture_output=True, text=True)
    if done.returncode != 0:
        return None, f"installed, but the import fails: {done.stderr.strip()[-800:]}"
    return python, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each file")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; best is reported")
    parser.add_argument("--stages", action="store_true",
                        help="one more workbench run, printing each stage's seconds")
    parser.add_argument("--skip-peers", action="store_true", help="time the workbench only")
    args = parser.parse_args()
    out = OUT if args.rows == 1_000_000 else OUT.with_name(f"peers_{args.rows}")
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores, load {load()}")
    if not (out / "incident.toml").is_file():
        began = time.perf_counter()
        generate(args.rows, out)
        print(f"generated {args.rows:,} + {args.rows:,} rows in {time.perf_counter() - began:.1f}"
              f" s into {out}")
    ref, cur = str(out / "reference.parquet"), str(out / "current.parquet")
    lists = [json.dumps(NUMERIC), json.dumps(CATEGORICAL)]

    results: dict[str, dict] = {}

    def run(name: str, command: list[str]) -> None:
        best = None
        for _ in range(args.repeat):
            wall, rss, stdout, err, cpu = measured(command, allow_failure=True)
            if wall < 0:
                results[name] = {"error": err.strip().splitlines()[-1:] or ["failed"],
                                 "load": load()}
                print(f"{name}: FAILED after {-wall:.1f} s: {err.strip()[-600:]}", flush=True)
                return
            if best is None or wall < best[0]:
                best = (wall, rss, stdout, cpu)
        results[name] = {"wall": best[0], "rss": best[1], "out": best[2], "cpu": best[3],
                         "load": load()}
        print(f"{name}: {best[0]:.2f} s, {best[1]:.0f} MiB, CPU {best[3]:.1f} s (load {load()})",
              flush=True)

    run("workbench diagnose", [sys.executable, "-m", "workbench.cli", "diagnose",
                               str(out / "incident.toml"), "--json", "--no-cache"])
    if args.stages:
        print(f"  workbench stages (a run without --json, load {load()}): started at, took, stage")
        for line in stage_times(out / "incident.toml"):
            print(f"    {line}", flush=True)
    peers_note = ""
    if not args.skip_peers:
        python, note = peer_python()
        if python is None:
            peers_note = f"peers not measured: {note}"
            print(peers_note)
        else:
            print(f"peers' environment: evidently, nannyml, pandas {note}")
            run("Evidently DataDriftPreset", [str(python), "-c", EVIDENTLY, ref, cur, *lists])
            run("NannyML univariate drift", [str(python), "-c", NANNYML, ref, cur, *lists])

    flagged: dict[str, set[str]] = {}
    for name, r in results.items():
        if "out" not in r:
            continue
        text = r["out"]
        data = json.loads(text[text.index("{"):])
        if name.startswith("workbench"):
            flagged[name] = {d["feature"] for d in data["drift"] if d["severity"] != "stable"}
            print(f"workbench onset {data.get('onset')}")
        else:
            flagged[name] = set(data["flagged"])
            if data.get("count") not in (None, len(flagged[name])):
                print(f"{name}: its own count of drifted columns is {data['count']:.0f}, "
                      f"not {len(flagged[name])}")

    print(f"\n{args.rows:,} reference rows vs {args.rows:,} current rows, "
          f"{len(NUMERIC)} numeric + {len(CATEGORICAL)} categorical features; truly shifted: "
          f"{', '.join(SHIFTED)}")
    print(f"{'':28}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}{'load at end':>16}")
    for name, r in results.items():
        if "wall" in r:
            print(f"{name:28}{r['wall']:>9.2f}{r['cpu']:>9.1f}{r['rss']:>10.0f}{r['load']:>16}")
        else:
            print(f"{name:28}{'failed':>9}{'':>19}{r['load']:>16}  {r['error'][0][:80]}")
    if peers_note:
        print(peers_note)
    wb = results.get("workbench diagnose", {})
    targets = {"Evidently DataDriftPreset": 50, "NannyML univariate drift": 10}
    for name, target in targets.items():
        peer = results.get(name, {})
        if "wall" in wb and "wall" in peer:
            speed, memory = peer["wall"] / wb["wall"], wb["rss"] / peer["rss"]
            print(f"workbench vs {name}: {speed:.1f}x faster (target >= {target}x; CPU time "
                  f"{peer['cpu'] / wb['cpu']:.1f}x less), {memory:.2f} of its peak memory "
                  f"(target <= 0.5)")
    if flagged:
        names = list(flagged)
        print(f"\n{'feature':10}{'shifted':>9}" + "".join(f"{n.split()[0]:>12}" for n in names))
        for feature in NUMERIC + CATEGORICAL:
            row = f"{feature:10}{'yes' if feature in SHIFTED else '':>9}"
            row += "".join(f"{'drift' if feature in flagged[n] else '-':>12}" for n in names)
            print(row)
        for n in names:
            false_pos = sorted(flagged[n] - set(SHIFTED))
            missed = sorted(set(SHIFTED) - flagged[n])
            print(f"{n}: flags {len(flagged[n])}, missed {missed or 'none'}, "
                  f"unshifted flagged {false_pos or 'none'}")


if __name__ == "__main__":
    main()
