"""The workbench's performance estimates against NannyML's CBPE (car loan) and DLE (car price).

`tests/fixtures/nannyml/car_loan/cbpe.json` and `car_price/dle.json` hold NannyML 0.13.1's
estimates per chunk of 5000 analysis rows, fitted on the reference period (see
`export_estimates.py` and `NOTICE.md` there). The workbench reads the same analysis log with the
labels hidden from a chunk on and calibrates itself on the log's own most recent labelled rows.

Hidden from the drift's first chunk, those rows are the analysis period's pre-drift chunks: the
same regime as NannyML's reference, so both estimate alike and the workbench must fall inside
NannyML's band (its estimate plus or minus three sampling errors) on every chunk.

Hidden two chunks after the drift, the workbench calibrates on drifted labelled rows while
NannyML keeps its reference calibration: they differ by design there (by three to four of
NannyML's sampling errors for precision, recall and specificity), and the workbench's estimate
is the one closer to the realized value, which also lies inside the workbench's own interval.
"""

from __future__ import annotations

import functools
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from workbench.config import load_incident
from workbench.data import LogStore
from workbench.estimate.results import MetricEstimate
from workbench.stages import estimation
from workbench.stages.triage import Triage, run_triage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nannyml"
BAND = 3.0  # NannyML's confidence band: the estimate plus or minus three sampling errors
DRIFT_CHUNK = {"car_loan": 5, "car_price": 3}  # where the data change (see NOTICE.md)
# NannyML's metric -> (the workbench's metric, whether NannyML's is one minus it)
METRICS = {"roc_auc": ("roc_auc", False), "precision": ("precision", False),
           "recall": ("recall", False), "specificity": ("false_positive_rate", True),
           "accuracy": ("error_rate", True), "mae": ("mae", False)}
DESIGN_METRICS = ("precision", "recall", "specificity")


@functools.cache
def nannyml(dataset: str) -> dict[str, Any]:
    name = "cbpe.json" if dataset == "car_loan" else "dle.json"
    return json.loads((FIXTURES / dataset / name).read_text(encoding="utf-8"))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


def hide_labels(dataset: str, chunk: int, out: Path) -> Path:
    """The fixture incident with the analysis labels removed from `chunk`'s start on."""
    log = pq.read_table(FIXTURES / dataset / "analysis.parquet")
    label = load_incident(FIXTURES / dataset / "incident.toml").production.label
    cut = pa.scalar(when(nannyml(dataset)["chunks"][chunk]["start"]),
                    pa.timestamp("us", tz="UTC"))
    shown = pc.if_else(pc.less(log["timestamp"], cut), log[label],
                       pa.nulls(len(log), log[label].type))
    pq.write_table(log.set_column(log.column_names.index(label), label, shown),
                   out / "analysis.parquet")
    for name in ("reference.parquet", "incident.toml"):
        shutil.copy(FIXTURES / dataset / name, out / name)
    return out / "incident.toml"


def per_chunk(config: Path, dataset: str) -> tuple[Triage, list[dict[str, MetricEstimate]]]:
    """The triage and the workbench's estimate of every metric on each of NannyML's chunks."""
    with LogStore(load_incident(config)) as store:
        triage = run_triage(store)
        assert triage.estimate is not None
        chunks = [{e.name: e for e in estimation.over_window(
            store, triage.estimate, when(c["start"]),
            when(c["end"]) + timedelta(microseconds=1))} for c in nannyml(dataset)["chunks"]]
    return triage, chunks


def ours(chunk: dict[str, MetricEstimate], metric: str) -> tuple[float, float, float]:
    """(estimate, lower, upper) of NannyML's `metric` from the workbench's figures."""
    name, flipped = METRICS[metric]
    e = chunk[name]
    if flipped:
        return 1 - e.estimated, 1 - e.upper, 1 - e.lower
    return e.estimated, e.lower, e.upper


@pytest.fixture(scope="module")
def at_drift(tmp_path_factory) -> dict[str, tuple[Triage, list]]:
    out = {}
    for dataset, chunk in DRIFT_CHUNK.items():
        folder = tmp_path_factory.mktemp(f"{dataset}-from-{chunk}")
        out[dataset] = per_chunk(hide_labels(dataset, chunk, folder), dataset)
    return out


@pytest.fixture(scope="module")
def after_drift(tmp_path_factory) -> tuple[Triage, list]:
    folder = tmp_path_factory.mktemp("car_loan-from-7")
    return per_chunk(hide_labels("car_loan", DRIFT_CHUNK["car_loan"] + 2, folder), "car_loan")


def test_the_estimates_fixtures_are_what_was_recorded():
    drift = json.loads((FIXTURES / "car_loan" / "expected.json").read_text(encoding="utf-8"))
    cbpe, dle = nannyml("car_loan"), nannyml("car_price")
    assert cbpe["nannyml_version"] == dle["nannyml_version"] == "0.13.1"
    assert cbpe["method"]["chunk_size"] == dle["method"]["chunk_size"] == 5000
    assert [c["start"] for c in cbpe["chunks"]] == [c["start"] for c in drift["chunks"]]
    assert set(cbpe["metrics"]) == set(METRICS) - {"mae"} and set(dle["metrics"]) == {"mae"}
    for data in (cbpe, dle):
        for values in data["metrics"].values():
            assert len(values["estimated"]) == len(data["chunks"])


@pytest.mark.parametrize("dataset", list(DRIFT_CHUNK))
def test_estimates_agree_with_nannymls_within_its_band_on_every_chunk(at_drift, dataset):
    triage, chunks = at_drift[dataset]
    cal = triage.estimate.calibration
    assert cal.source == "production"  # the log's own labelled rows, not the reference
    start = when(nannyml(dataset)["chunks"][DRIFT_CHUNK[dataset]]["start"])
    assert cal.end <= start < cal.end + timedelta(days=1)  # up to the last labelled bucket
    for metric, values in nannyml(dataset)["metrics"].items():
        for i, chunk in enumerate(chunks):
            estimate, _, _ = ours(chunk, metric)
            gap = abs(estimate - values["estimated"][i])
            assert gap <= BAND * values["sampling_error"][i], (dataset, metric, i, estimate,
                                                               values["estimated"][i])


def test_the_onset_is_found_on_the_estimates_where_the_labels_stop(at_drift):
    triage, _ = at_drift["car_loan"]
    start = when(nannyml("car_loan")["chunks"][DRIFT_CHUNK["car_loan"]]["start"])
    assert triage.onset is not None and abs(triage.onset - start) <= timedelta(days=1)
    assert triage.metric.estimated and triage.metric.label_coverage < 0.01


def test_calibrated_on_the_logs_drifted_labels_it_is_closer_to_the_realized(after_drift):
    triage, chunks = after_drift
    cal = triage.estimate.calibration
    drift = when(nannyml("car_loan")["chunks"][DRIFT_CHUNK["car_loan"]]["start"])
    assert cal.start >= drift - timedelta(days=1)  # refitted on the labelled drifted chunks
    hidden = range(DRIFT_CHUNK["car_loan"] + 2, len(chunks))
    for metric in DESIGN_METRICS:
        values = nannyml("car_loan")["metrics"][metric]
        theirs = [abs(values["estimated"][i] - values["realized"][i]) for i in hidden]
        mine = [abs(ours(chunks[i], metric)[0] - values["realized"][i]) for i in hidden]
        assert np.mean(mine) < np.mean(theirs) / 2, (metric, mine, theirs)
        for i in hidden:
            _, lower, upper = ours(chunks[i], metric)
            assert lower <= values["realized"][i] <= upper, (metric, i)
