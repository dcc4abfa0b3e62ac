"""The diagnosis cache on real Parquet through DuckDB: a finished diagnosis loads instead of
being computed, new data or other parameters miss, writers never corrupt an entry, and two real
processes asking for the same diagnosis at once compute it once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.core.conftest import LOG_START, Synthetic, generate, write_table
from workbench.cache import DiagnosisCache, cached_diagnose
from workbench.cli import main
from workbench.config import load_incident
from workbench.diagnose import diagnose
from workbench.fingerprint import identity, key_of

REPO_ROOT = Path(__file__).resolve().parents[2]
SPLIT = LOG_START + timedelta(days=6)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty WORKBENCH_HOME."""
    path = tmp_path / "home"
    monkeypatch.setenv("WORKBENCH_HOME", str(path))
    return path


@pytest.fixture
def synth(tmp_path) -> Synthetic:
    """A small classification incident of two Parquet files under logs/*.parquet (this test's
    own copy: tests change its files)."""
    return generate(tmp_path / "incident", task="classification", rows=6000, days=8)


def entries(home: Path) -> list[Path]:
    return sorted((home / "cache" / "diagnoses").rglob("*.json"))


def test_a_finished_diagnosis_is_loaded_not_computed(synth, home):
    messages: list[str] = []
    first = cached_diagnose(synth.config, progress=messages.append)
    assert not first.hit and messages[0].startswith("triage")
    assert len(entries(home)) == 1 and entries(home)[0].stem == first.key
    messages.clear()
    again = cached_diagnose(synth.config, progress=messages.append)
    assert again.hit and again.key == first.key
    assert messages == [f"diagnosis loaded from the cache (key {first.key})"]
    assert again.diagnosis == first.diagnosis and again.diagnosis is not first.diagnosis
    assert again.diagnosis.top.feature == first.diagnosis.top.feature == "basket_value"
    fresh = diagnose(synth.config)  # what computing it again says (up to float sum order)
    assert again.diagnosis.onset == fresh.onset
    assert [h.signature for h in again.diagnosis.hypotheses] == [
        h.signature for h in fresh.hypotheses]


def test_a_file_appended_to_the_glob_or_a_changed_file_is_new_data(synth, home):
    first = cached_diagnose(synth.config)
    late = synth.production.iloc[-100:].copy()
    late["ts"] = late["ts"] + timedelta(hours=1)
    late["request_id"] = late["request_id"] + len(synth.production)
    write_table(synth.config.parent / "logs" / "part-2.parquet", late)  # a new hour of log
    appended = cached_diagnose(synth.config)
    assert not appended.hit and appended.key != first.key
    assert appended.diagnosis.rows == first.diagnosis.rows + 100
    part = synth.config.parent / "logs" / "part-0.parquet"
    table = pq.read_table(part)
    pq.write_table(table.slice(0, table.num_rows - 1), part)  # one row fewer, rewritten
    changed = cached_diagnose(synth.config)
    assert not changed.hit and changed.key not in (first.key, appended.key)
    assert changed.diagnosis.rows == appended.diagnosis.rows - 1
    assert cached_diagnose(synth.config).hit
    os.utime(part, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched: counted as changed
    assert not cached_diagnose(synth.config).hit


def test_the_key_covers_the_config_and_every_parameter(synth, home):
    incident = load_incident(synth.config)
    base = {"start": None, "end": None, "bucket": None, "metric": None, "split": None,
            "attribution": True, "attribution_budget": None}
    keys = {key_of(identity(incident, base))}
    for change in ({"split": SPLIT}, {"bucket": "2h"}, {"metric": "positive_rate"},
                   {"start": LOG_START + timedelta(days=1)}, {"attribution": False}):
        keys.add(key_of(identity(incident, {**base, **change})))
    assert len(keys) == 6
    assert key_of(identity(incident, base)) == key_of(identity(load_incident(synth.config),
                                                               dict(base)))
    text = synth.config.read_text().replace('bucket = "1h"', 'bucket = "30min"')
    synth.config.write_text(text)
    assert key_of(identity(load_incident(synth.config), base)) not in keys


def test_another_split_is_its_own_entry_and_going_back_is_a_hit(synth, home):
    at_onset = cached_diagnose(synth.config)
    moved = cached_diagnose(synth.config, split=SPLIT)
    assert not moved.hit and moved.key != at_onset.key
    assert moved.diagnosis.split == SPLIT == moved.diagnosis.current_window.start
    back = cached_diagnose(synth.config)
    assert back.hit and back.diagnosis == at_onset.diagnosis
    assert cached_diagnose(synth.config, split=SPLIT).hit


def test_a_damaged_entry_is_a_miss_and_is_replaced(synth, home):
    first = cached_diagnose(synth.config)
    path = entries(home)[0]
    path.write_text(path.read_text()[:1000])  # torn
    assert not cached_diagnose(synth.config).hit
    assert cached_diagnose(synth.config).hit
    doc = json.loads(path.read_text())
    doc["identity"]["params"]["split"] = "2026-01-01T00:00:00Z"  # written for something else
    path.write_text(json.dumps(doc))
    again = cached_diagnose(synth.config)
    assert not again.hit and again.diagnosis.onset == first.diagnosis.onset


def test_without_the_cache_nothing_is_read_or_written(synth, home):
    found = cached_diagnose(synth.config, use_cache=False)
    assert not found.hit and found.key and not entries(home)
    assert not list((home / "cache" / "reference").glob("*"))  # nor the reference statistics


def test_an_unwritable_cache_costs_only_the_saving(synth, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where WORKBENCH_HOME should be a folder")
    monkeypatch.setenv("WORKBENCH_HOME", str(blocker))
    messages: list[str] = []
    found = cached_diagnose(synth.config, progress=messages.append)
    assert not found.hit and found.diagnosis.top is not None
    assert any(m.startswith("diagnosis not cached") for m in messages)


def test_clear_removes_one_incidents_entries_or_all(synth, home, tmp_path):
    other = generate(tmp_path / "other", task="classification", rows=4000, days=8)
    cached_diagnose(synth.config)
    cached_diagnose(synth.config, split=SPLIT)
    cached_diagnose(other.config)
    cache = DiagnosisCache()
    assert cache.clear(load_incident(synth.config)) == 2
    assert [p.stem for p in entries(home)] == [cached_diagnose(other.config).key]
    assert cache.clear() == 1 and not entries(home)
    assert cache.clear() == 0


def test_cli_json_says_whether_it_came_from_the_cache(synth, home, capsys):
    def run(*args: str) -> dict:
        assert main(["diagnose", str(synth.config), "--json", "--quiet", *args]) == 0
        return json.loads(capsys.readouterr().out)

    first, second, fresh = run(), run(), run("--no-cache")
    assert first["cache"] == {"hit": False, "key": first["cache"]["key"]}
    assert second["cache"] == {"hit": True, "key": first["cache"]["key"]}
    assert fresh["cache"] == {"hit": False, "key": first["cache"]["key"]}
    assert list(first)[:7] == ["incident", "bucket", "window", "onset", "metric", "trend",
                               "hypotheses"]
    for doc in (first, second, fresh):
        doc.pop("cache"), doc.pop("elapsed_seconds")
    assert first == second == fresh
    assert main(["diagnose", str(synth.config), "--quiet"]) == 0
    assert "Cache:    loaded the finished diagnosis" in capsys.readouterr().out
    assert main(["cache", "clear", str(synth.config)]) == 0
    assert capsys.readouterr().out.startswith("Removed 1 cached entry (diagnoses and ")
    assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert "Removed 0 cached entries" in out
    assert "Removed the reference statistics of 1 reference version(s)" in out
    assert main(["cache", "clear"]) == 0
    assert "reference statistics of 0 reference version(s)" in capsys.readouterr().out


# ---- concurrency: real processes ------------------------------------------------------------

WORKER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import workbench.data, workbench.explain.results  # what an app kernel has loaded already
    from workbench.cache import cached_diagnose

    config, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ready.touch()
    while not go.exists():  # start together
        time.sleep(0.005)
    began = time.perf_counter()
    found = cached_diagnose(config)
    print(json.dumps({"hit": found.hit, "key": found.key, "onset": str(found.diagnosis.onset),
                      "seconds": time.perf_counter() - began}))
""")


def workers(synth: Synthetic, tmp_path: Path, n: int) -> list[dict]:
    """Run n processes asking for the same diagnosis at the same moment; their answers."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(n)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(synth.config), str(r), str(go)],
                              cwd=REPO_ROOT, env=os.environ.copy(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr
        out.append(json.loads(stdout))
    return out


@pytest.mark.slow
def test_two_processes_asking_at_once_compute_the_diagnosis_once(synth, home, tmp_path):
    results = workers(synth, tmp_path, 2)
    assert sorted(r["hit"] for r in results) == [False, True]  # one computed, one loaded it
    assert len({r["key"] for r in results}) == 1 and len({r["onset"] for r in results}) == 1
    (entry,) = entries(home)
    assert entry.stem == results[0]["key"]
    leftovers = [p.name for p in entry.parent.iterdir() if p.suffix not in (".json", ".lock")]
    assert not leftovers
    assert str(cached_diagnose(synth.config).diagnosis.onset) == results[0]["onset"]


@pytest.mark.slow
def test_a_second_process_loads_the_finished_diagnosis_in_well_under_a_second(synth, home,
                                                                                tmp_path):
    for attempt in range(3):  # a workbench file edited meanwhile is another key: compute again
        key = cached_diagnose(synth.config).key
        (result,) = workers(synth, tmp_path / str(attempt), 1)
        if result["key"] == key:
            break
    assert result["hit"] and result["seconds"] < 1.0, result


def test_concurrent_writers_never_leave_a_torn_entry(synth, home):
    incident = load_incident(synth.config)
    found = cached_diagnose(incident, use_cache=False)
    ident = identity(incident, {"probe": True})
    cache = DiagnosisCache()
    cache.save(incident, found.key, ident, found.diagnosis)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                cache.save(incident, found.key, ident, found.diagnosis)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(3)]
    for t in writers:
        t.start()
    try:
        reads = [cache.load(incident, found.key, ident) for _ in range(40)]
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert not errors and all(r == found.diagnosis for r in reads)
    assert [p.suffix for p in cache.folder(incident).iterdir()] == [".json"]
