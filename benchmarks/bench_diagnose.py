"""Benchmark: `workbench diagnose` against one plain DuckDB full scan of the same Parquet log.

Both run as fresh processes in the same session (so Python start-up and imports count for both,
as a user would see them); the figures printed are wall seconds, peak RSS, and their ratios.

Usage: python benchmarks/bench_diagnose.py [--rows 10000000] [--out benchmarks/out/fraud_10m]

Out of core: ``--generator duckdb`` writes the log with one DuckDB SQL statement instead of the
Python sample generator (minutes instead of hours at 100 M rows), with the sample's columns and
its incident (avg_amount redefined upstream, so ratio shifts and false positives rise), plus a
1 M-row training reference drawn the pre-incident way and an incident config without a model
(the generated scores come from a formula, not from the sample's model, so no attribution).
Several sizes run in one go, smallest first, so their ratio is measured in the same run:

    python benchmarks/bench_diagnose.py --generator duckdb --rows 10000000 100000000 \
        --repeat 1 --delete-after --timeout 2400

``--delete-after`` removes each generated log once measured (100 M rows are several GB);
``--timeout`` stops a diagnosis that runs longer and reports the last stage it reached.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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

# The sample's time span, rollout and upstream change (sample_data/fraud_weekend/changes.csv).
START, END = "2026-09-28 00:00:00+00", "2026-10-19 12:00:00+00"
ROLLOUT, ONSET = "2026-10-06 10:00:00+00", "2026-10-16 17:52:00+00"

# Columns of the sample log; {n} rows over the sample's span, {served} the avg_amount the model
# is served (after the onset the upstream table nets refunds: 0.70 of the old value).
ROWS_SQL = """
WITH r AS (
  SELECT i,
    TIMESTAMPTZ '{start}' + to_microseconds(CAST((i + random()) * {step_us} AS BIGINT))
      AS event_time,
    sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z1,
    sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z2,
    sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z3,
    random() AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5,
    random() AS u6, random() AS u7, random() AS u8
  FROM range({n}) t(i)
), f AS (
  SELECT *,
    round(exp(3.3 + 0.8 * z1), 2) AS avg_true,
    round(exp(3.3 + 0.8 * z1) * exp(0.6 * z2), 2) AS amount,
    ['grocery', 'digital_goods', 'travel', 'electronics', 'restaurants', 'fuel', 'fashion',
     'gaming'][1 + floor(u1 * 8)::INT] AS merchant_category,
    ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BR'][1 + floor(u2 * u2 * 8)::INT] AS country,
    ['online', 'pos', 'mobile_app'][1 + floor(u3 * 3)::INT] AS channel,
    floor(u4 * 3650)::INT AS account_age_days,
    floor(-ln(1 - u5) * 0.4)::INT AS txn_count_1h,
    floor(-ln(1 - u6) * 3)::INT AS txn_count_24h,
    round(exp(2 + 1.2 * z3), 1) AS distance_from_home_km
  FROM r
), g AS (
  SELECT *, round({served}, 2) AS avg_amount,
    -- the true risk uses the amount against the account's real average
    -7.2 + 1.6 * ln(greatest(amount, 0.01) / greatest(avg_true, 0.01))
      + 0.5 * txn_count_1h + 0.6 * (channel = 'online')::INT
      - 0.0003 * account_age_days AS true_logit
  FROM f
)
SELECT
  'T' || lpad(i::VARCHAR, 10, '0') AS transaction_id, event_time, amount, avg_amount,
  round(amount / greatest(avg_amount, 0.01), 4) AS ratio, merchant_category, country, channel,
  CASE channel WHEN 'pos' THEN 'terminal' ELSE ['mobile', 'desktop'][1 + floor(u7 * 2)::INT]
  END AS device_type,
  account_age_days, hour(event_time)::INT AS hour, txn_count_1h, txn_count_24h,
  distance_from_home_km,
  {score} AS fraud_score, {score} >= 0.5 AS blocked,
  CASE WHEN event_time < TIMESTAMPTZ '{rollout}' THEN 'v1.3.0' ELSE 'v1.3.1' END
    AS model_version,
  round(40 + 8 * abs(z2) + 4 * u8, 2) AS latency_ms,
  CASE WHEN u8 < 0.0004 THEN 'timeout' WHEN u8 < 0.0007 THEN 'error' ELSE 'ok' END AS status,
  random() < 1 / (1 + exp(-true_logit)) AS is_fraud
FROM g
"""

# The model's score: the same formula, but on the ratio it is served (it rises after the onset).
SCORE = ("round(1 / (1 + exp(-(-7.2 + 1.6 * ln(greatest(amount, 0.01) / greatest(avg_amount, "
         "0.01)) + 0.5 * txn_count_1h + 0.6 * (channel = 'online')::INT "
         "- 0.0003 * account_age_days + 2.2 * (amount / greatest(avg_amount, 0.01) > 2.5)::INT)))"
         ", 6)")

TRAINING = ["amount", "avg_amount", "ratio", "merchant_category", "country", "channel",
            "device_type", "account_age_days", "hour", "txn_count_1h", "txn_count_24h",
            "distance_from_home_km", "is_fraud"]

CONFIG = f"""title  = "Fraud false positives over the weekend (generated, {{rows:,}} rows)"
bucket = "1h"

[production]
source        = "logs/*.parquet"
timestamp     = "event_time"
prediction    = "fraud_score"
decision      = "blocked"
label         = "is_fraud"
model_version = "model_version"
id            = "transaction_id"
segments      = ["country", "channel", "merchant_category"]
latency       = "latency_ms"
status        = "status"

[reference]
source = "training/train.parquet"
label  = "is_fraud"

[changes]
source = "{(ROOT / "sample_data" / "fraud_weekend" / "changes.csv").as_posix()}"
"""


def seeded(sql: str, seed: int) -> str:
    """`sql` with each random() replaced by its own uniform draw from a hash of the row number,
    so a size generates the same rows on every run and any thread count (DuckDB's random()
    cannot be seeded across threads)."""
    parts = sql.split("random()")
    out = [parts[0]]
    for k, rest in enumerate(parts[1:]):
        out.append(f"((hash(i, {seed}, {k}) >> 11)::DOUBLE / 9007199254740992.0){rest}")
    return "".join(out)


def generate_duckdb(rows: int, out: Path) -> None:
    """Write the log (Parquet files of about 512 MB), a training reference and the config."""
    import duckdb

    (out / "logs").mkdir(parents=True, exist_ok=True)
    (out / "training").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SET temp_directory = '{(out / 'tmp').as_posix()}'")
    span_us = con.execute(f"SELECT epoch_us(TIMESTAMPTZ '{END}') - epoch_us(TIMESTAMPTZ "
                          f"'{START}')").fetchone()[0]
    served = (f"CASE WHEN event_time >= TIMESTAMPTZ '{ONSET}' THEN avg_true * 0.70 "
              "ELSE avg_true END")
    sql = seeded(ROWS_SQL.format(start=START, step_us=span_us / rows, n=rows, served=served,
                                 score=SCORE, rollout=ROLLOUT), seed=1)
    con.execute(f"COPY ({sql}) TO '{(out / 'logs').as_posix()}' (FORMAT parquet, "
                "FILE_SIZE_BYTES '512MB', FILENAME_PATTERN 'part_{i}', OVERWRITE_OR_IGNORE)")
    train_rows = min(rows, 1_000_000)
    sql = seeded(ROWS_SQL.format(start=START, step_us=span_us / train_rows, n=train_rows,
                                 served="avg_true", score=SCORE, rollout=ROLLOUT), seed=2)
    con.execute(f"COPY (SELECT {', '.join(TRAINING)} FROM ({sql})) TO "
                f"'{(out / 'training' / 'train.parquet').as_posix()}' (FORMAT parquet)")
    con.close()
    shutil.rmtree(out / "tmp", ignore_errors=True)
    (out / "incident.toml").write_text(CONFIG.format(rows=rows))


def measured(code_or_args: list[str], timeout: float | None = None,
             allow_failure: bool = False) -> tuple[float, float, str, str, float]:
    """Run a command in a wrapper process that reports its own child's peak RSS.

    Returns wall seconds, peak MiB, stdout, the tail of stderr and CPU seconds (user + system,
    all threads: on a loaded machine it moves far less than the wall). A command that fails, or
    runs past ``timeout`` seconds (then it is killed), raises SystemExit unless
    ``allow_failure``; with it, the wall is negated so the caller can tell.
    """
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "tmo=float(sys.argv[1]) or None; t=time.perf_counter();"
        "\ntry:\n p=subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=tmo);"
        " rc, out, err = p.returncode, p.stdout, p.stderr"
        "\nexcept subprocess.TimeoutExpired as e:\n"
        " rc='timeout'; out=e.stdout or ''; err=e.stderr or '';"
        " out=out.decode() if isinstance(out, bytes) else out;"
        " err=err.decode() if isinstance(err, bytes) else err"
        "\nw=time.perf_counter()-t;"
        "u=resource.getrusage(resource.RUSAGE_CHILDREN); m=u.ru_maxrss/1024;"
        "print(json.dumps({'wall': w, 'rss': m, 'cpu': u.ru_utime + u.ru_stime, 'rc': rc,"
        " 'out': out, 'err': err[-3000:]}))"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, str(timeout or 0), *code_or_args],
                          capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout)
    if data["rc"] != 0:
        if not allow_failure:
            raise SystemExit(f"command failed ({data['rc']}): {code_or_args}\n{data['err']}")
        return (-data["wall"], data["rss"], data["out"], f"[{data['rc']}] {data['err']}",
                data["cpu"])
    return data["wall"], data["rss"], data["out"], data["err"], data["cpu"]


def stage_times(config: Path, timeout: float | None = None) -> list[str]:
    """Where a diagnosis spends its time: one more run without --json, whose progress lines on
    stderr carry the seconds since start; returned with each stage's own share."""
    command = [sys.executable, "-m", "workbench.cli", "diagnose", str(config), "--no-cache"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        err = done.stderr
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    steps = []
    for line in err.splitlines():
        match = re.match(r"\.\.\. (.*) \[(?:\d+/\d+, )?([\d.]+) s\]$", line)
        if match:
            steps.append((match.group(1), float(match.group(2))))
    out = []
    for (message, at), (_, until) in zip(steps, [*steps[1:], (None, None)], strict=True):
        took = f"{until - at:7.1f} s" if until is not None else "      -  "
        out.append(f"{at:7.1f} s {took}  {message[:90]}")
    return out


def run_size(rows: int, out: Path, generator: str, repeat: int,
             timeout: float | None, stages: bool = False) -> dict:
    """Generate (if needed) and measure one log size; returns its figures."""
    config = out / "incident.toml"
    if not config.is_file():
        print(f"generating {rows:,} rows into {out} ({generator}) ...", flush=True)
        began = time.perf_counter()
        if generator == "duckdb":
            generate_duckdb(rows, out)
        else:
            subprocess.run([sys.executable, "-m", "workbench.cli", "sample", "--rows",
                            str(rows), "--out", str(out)], check=True,
                           stderr=subprocess.DEVNULL)
        print(f"  generated in {time.perf_counter() - began:.1f} s", flush=True)
    size = sum(f.stat().st_size for f in (out / "logs").glob("*.parquet")) / 2**20
    glob_ = str(out / "logs" / "*.parquet")
    print(f"log: {rows:,} rows, {size:,.0f} MiB of Parquet (load {load()})", flush=True)
    scans = [measured([sys.executable, "-c", BASELINE, glob_]) for _ in range(repeat)]
    scan = min(scans, key=lambda r: r[0])
    print(f"  DuckDB full scan {scan[0]:.2f} s, {scan[1]:.0f} MiB, CPU {scan[4]:.1f} s "
          f"(load {load()})", flush=True)
    diags = []
    for _ in range(repeat):
        diags.append(measured([sys.executable, "-m", "workbench.cli", "diagnose", str(config),
                               "--json", "--no-cache"], timeout=timeout,  # computed, not loaded
                              allow_failure=True))
        if diags[-1][0] < 0:
            break
    diag = min(diags, key=lambda r: r[0] if r[0] >= 0 else float("inf"))
    figures = {"rows": rows, "mib": size, "scan": scan[:2], "diag": diag[:2], "cpu": diag[4],
               "load": load()}
    if diag[0] < 0:
        stages = [line for line in diag[3].splitlines() if line.strip()]
        print(f"  workbench diagnose FAILED after {-diag[0]:.1f} s, peak {diag[1]:.0f} MiB; "
              f"last output on stderr:\n    " + "\n    ".join(stages[-8:]), flush=True)
        figures["failed"] = stages[-8:]
        return figures
    print(f"  workbench diagnose {diag[0]:.2f} s, {diag[1]:.0f} MiB, CPU {diag[4]:.1f} s "
          f"(load {load()})", flush=True)
    text = diag[2]
    result = json.loads(text[text.index("{"):]) if text.strip().startswith("{") else {}
    if result:
        top = result["hypotheses"][0] if result["hypotheses"] else {}
        print(f"  onset {result['onset']}, top: {top.get('signature')} {top.get('feature')} "
              f"{top.get('change_id')}", flush=True)
    if stages:
        print(f"  stages (a run without --json, load {load()}): started at, took, stage")
        for line in stage_times(config, timeout):
            print(f"    {line}", flush=True)
    return figures


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as printed next to every figure."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000],
                        help="log sizes, measured in this order")
    parser.add_argument("--out", type=Path, default=None, help="output folder (one size only)")
    parser.add_argument("--generator", choices=["sample", "duckdb"], default="sample")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; best is reported")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one diagnosis may take before it is stopped")
    parser.add_argument("--stages", action="store_true",
                        help="one more diagnosis per size, printing each stage's seconds")
    parser.add_argument("--delete-after", action="store_true",
                        help="remove each generated log once it is measured")
    args = parser.parse_args()
    if args.out and len(args.rows) > 1:
        parser.error("--out takes one size only")
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores, load {load()}")
    runs = []
    for rows in args.rows:
        suffix = "_duckdb" if args.generator == "duckdb" else ""
        out = args.out or ROOT / "benchmarks" / "out" / f"fraud_{rows}{suffix}"
        try:
            runs.append(run_size(rows, out, args.generator, args.repeat, args.timeout,
                                 args.stages))
        finally:
            if args.delete_after:
                shutil.rmtree(out, ignore_errors=True)
    print(f"\n{'log':>14}{'MiB':>8}{'scan s':>8}{'scan MiB':>9}{'diagnose s':>12}"
          f"{'CPU s':>8}{'peak MiB':>9}{'load':>16}")
    for r in runs:
        wall = f"{r['diag'][0]:.1f}" if "failed" not in r else f"fail {-r['diag'][0]:.0f}"
        print(f"{r['rows']:>14,}{r['mib']:>8,.0f}{r['scan'][0]:>8.2f}{r['scan'][1]:>9.0f}"
              f"{wall:>12}{r['cpu']:>8.1f}{r['diag'][1]:>9.0f}{r['load']:>16}")
    for r in runs:
        if "failed" not in r:
            print(f"{r['rows']:,} rows: diagnose / scan: time {r['diag'][0] / r['scan'][0]:.2f}x,"
                  f" peak {r['diag'][1] / 1024:.2f} GiB (target: peak <= 2 GiB)")
    done = [r for r in runs if "failed" not in r]
    if len(done) > 1:
        small, big = done[0], done[-1]
        print(f"{big['rows']:,} / {small['rows']:,} rows: diagnose time "
              f"{big['diag'][0] / small['diag'][0]:.1f}x (CPU {big['cpu'] / small['cpu']:.1f}x) "
              "for "
              f"{big['rows'] / small['rows']:.0f}x the rows (target: <= 12x for 10x)")


if __name__ == "__main__":
    main()
