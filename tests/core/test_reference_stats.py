"""Reference statistics computed once per reference version: a second store on the same
reference reads its bins and counts from disk instead of scanning training, gives the same
drift, and a changed reference file is scanned again."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
from pathlib import Path

import pytest

from workbench.config import load_incident
from workbench.data import LogStore
from workbench.data.files import source_files
from workbench.data.refstats import ReferenceStats
from workbench.stages.features import analyse_features
from workbench.stages.triage import run_triage

READS_REFERENCE = re.compile(r"\bFROM\s+\(?\s*reference\b", re.IGNORECASE)


@pytest.fixture()
def incident(sample_incident, tmp_path):
    """A private copy of the sample (its reference file is touched by a test)."""
    base = Path(sample_incident).parent
    copy = tmp_path / "incident"
    shutil.copytree(base, copy)
    return load_incident(copy / Path(sample_incident).name)


def features_with_queries(incident) -> tuple[object, list[str]]:
    """The features stage's report on a fresh store, and every query text it ran."""
    texts: list[str] = []
    with LogStore(incident) as store:
        run = store.engine.run

        def recording(q):
            texts.append(q.text)
            return run(q)

        store.engine.run = recording
        triage = run_triage(store)
        texts.clear()
        report = analyse_features(store, triage.baseline, triage.current, triage.bucket_seconds)
    return report, texts


def same(a, b) -> bool:
    """Equal up to the last bits of float sums (DuckDB adds in parallel, in no fixed order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (a != a and b != b)
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return same(dataclasses.asdict(a), dataclasses.asdict(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_a_second_store_reads_the_reference_statistics_from_disk(incident):
    first, first_texts = features_with_queries(incident)
    assert any(READS_REFERENCE.search(t) for t in first_texts)  # the pattern sees the scans
    assert len(list(ReferenceStats().root.glob("*.json"))) >= 1
    second, second_texts = features_with_queries(incident)
    assert not [t[:80] for t in second_texts if READS_REFERENCE.search(t)]
    assert same(second.drift, first.drift) and same(second.histograms, first.histograms)


def test_the_same_drift_without_the_cache(incident):
    cached, _ = features_with_queries(incident)
    cached, _ = features_with_queries(incident)  # served from disk
    with LogStore(incident, reference_cache=False) as store:
        assert store.reference_stats is None
        triage = run_triage(store)
        fresh = analyse_features(store, triage.baseline, triage.current, triage.bucket_seconds)
    assert same(fresh.drift, cached.drift) and same(fresh.histograms, cached.histograms)


def test_a_changed_reference_file_is_scanned_again(incident):
    features_with_queries(incident)
    path = Path(source_files(incident.reference.source, "reference data")[0])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _, texts = features_with_queries(incident)
    assert any(READS_REFERENCE.search(t) for t in texts)


def test_an_unwritable_cache_folder_only_costs_a_rescan(incident, tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("WORKBENCH_HOME", str(blocked))
    report, texts = features_with_queries(incident)
    assert report.drift and any(READS_REFERENCE.search(t) for t in texts)
