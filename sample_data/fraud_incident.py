"""The incident's timeline and the small files that describe it: changes, incident.toml, truth."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def utc_us(iso: str) -> int:
    """Microseconds since the Unix epoch for an ISO-8601 UTC time ending in 'Z'."""
    return int(np.datetime64(iso.removesuffix("Z"), "us").astype(np.int64))


LOG_START = "2026-09-28T00:00:00Z"  # Monday
LOG_END = "2026-10-19T12:00:00Z"  # Monday noon, exclusive
TRAIN_START = "2026-08-31T00:00:00Z"  # training window: the four weeks before the log
ROLLOUT = "2026-10-06T10:00:00Z"  # v1.3.0 -> v1.3.1 (harmless retrain, the decoy)
CHANGE_DEPLOYED = "2026-10-16T17:52:00Z"  # warehouse deploys the new avg_amount definition
ONSET = "2026-10-16T18:00:00Z"  # first hour served with the new avg_amount (Friday evening)
LABELS_UNTIL = "2026-10-19T00:00:00Z"  # chargebacks arrive late: no labels after this
AVG_AMOUNT_MULTIPLIER = 0.70
VERSIONS = ("v1.3.0", "v1.3.1")
CULPRIT_ID = "CHG-1042"
# Features whose distribution is the same before and after the onset (the local-hour mix is
# left out: a weekend window naturally has a slightly different hour profile).
UNCHANGED_FEATURES = ("amount", "account_age_days", "txn_count_24h", "distance_from_home_km")

CHANGES = (
    ("2026-09-29T14:20:00Z", "CHG-1031", "code",
     "Transaction-enrichment service: merchant lookup moved to the shared client library "
     "(refactor, no behaviour change)"),
    ("2026-10-01T09:05:00Z", "CHG-1033", "data",
     "Analytics warehouse: backfill of merchant_category for 2025 transactions "
     "(offline reporting tables only)"),
    ("2026-10-02T15:40:00Z", "CHG-1034", "schema",
     "Transactions event schema: new optional field wallet_provider (not used by the model)"),
    ("2026-10-06T10:00:00Z", "CHG-1036", "model",
     "Roll out fraud model v1.3.1: scheduled retrain of v1.3.0, same features and threshold"),
    ("2026-10-14T03:00:00Z", "CHG-1039", "infra",
     "Fraud-scoring serving pods moved to the new node pool np-general-v5 (same instance type)"),
    ("2026-10-15T11:00:00Z", "CHG-1040", "config",
     "Feature cache: TTL of account aggregates raised from 10 to 15 minutes"),
    ("2026-10-16T17:52:00Z", CULPRIT_ID, "upstream",
     "Data warehouse team deployed a new definition of the average transaction amount table "
     "(account_txn_stats ETL v2: avg_amount now nets refunds and reversals over 90 days)"),
)  # fmt: skip

INCIDENT_TOML = """\
title  = "Fraud model false positives tripled over the weekend"
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

[model]
path      = "models/fraud_v1_3_1.skops"
task      = "classification"
threshold = 0.5

[changes]
source = "changes.csv"

[[fixes]]
name        = "recompute-ratio"
kind        = "feature_correction"
description = "Recompute ratio = amount / (avg_amount / 0.70) for rows from the onset on"
callable    = "sample_data.fraud_fixes:recompute_ratio"

[[fixes]]
name        = "rollback-v1.3.0"
kind        = "rollback"
description = "Roll the fraud model back to v1.3.0, the version before rollout CHG-1036"
version     = "v1.3.0"
path        = "models/fraud_v1_3_0.skops"
"""


def write_changes(path: Path) -> None:
    """changes.csv: the change log an on-call engineer would search (time,id,kind,description)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["time", "id", "kind", "description"])
        writer.writerows(CHANGES)


def write_incident(path: Path) -> None:
    """incident.toml: where the workbench finds each input, paths relative to the file."""
    path.write_text(INCIDENT_TOML, encoding="utf-8")


def truth(seed: int, rows: int, utc_offsets: dict[str, int]) -> dict:
    """Ground truth of the simulated incident, for tests and for checking a diagnosis."""
    return {
        "signature": "upstream_data_change",
        "layer": "input_data",
        "feature": "ratio",
        "raw_feature": "avg_amount",
        "multiplier": AVG_AMOUNT_MULTIPLIER,
        "change_id": CULPRIT_ID,
        "change_time": CHANGE_DEPLOYED,
        "onset": ONSET,
        "decoy_change_ids": [c[1] for c in CHANGES if c[1] != CULPRIT_ID],
        "rollout": {"version": VERSIONS[1], "previous": VERSIONS[0], "time": ROLLOUT},
        "labels_until": LABELS_UNTIL,
        "log_span": [LOG_START, LOG_END],
        "threshold": 0.5,
        "unchanged_features": list(UNCHANGED_FEATURES),
        "hour_utc_offsets": utc_offsets,
        "seed": seed,
        "rows": rows,
    }


def write_truth(path: Path, data: dict) -> None:
    """truth.json with stable key order and formatting."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
