"""Tracing the sample scenario end to end: real training, real git, real re-runs.

The sample's ground truth: commit 8 of 14 caps the `ratio` feature (a code-only regression
from v1.1 to v1.2), and from snapshot 5 of 6 one segment is mislabeled (a data-only regression
from v1.1 to v1.1.1).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from sample_data.pipeline import BAD_CODE, BAD_DATA, GOOD
from workbench.cli import main
from workbench.lineage import load_manifest
from workbench.lineage.ablate import ablate
from workbench.lineage.cache import RunCache
from workbench.lineage.errors import DataVersionError
from workbench.lineage.runner import Runner
from workbench.lineage.trace import trace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def code_home(tmp_path_factory) -> Path:
    """A WORKBENCH_HOME of this module: its run cache starts empty (every run counted)."""
    return tmp_path_factory.mktemp("code_home")


@pytest.fixture(scope="module")
def code_trace(sample, code_home):
    """v1.1 -> v1.2 traced with the module's own cache."""
    cache = RunCache(root=code_home / "cache" / "lineage")
    return trace(sample.manifest(GOOD), sample.manifest(BAD_CODE), cache=cache), cache


def test_code_only_regression_is_attributed_to_code(sample, code_trace):
    result, _ = code_trace
    assert result.diff.factors == ("code",)
    assert len(result.diff.commits) == 12 and result.diff.commits[-1].sha == sample.commits[-1]
    exp = result.experiments
    assert exp.culprit == "code" and exp.reproduced is True
    assert exp.bad_value == pytest.approx(load_manifest(sample.manifest(BAD_CODE))
                                          .metrics["avg_precision"])
    noise = exp.noise
    assert len(noise.seeds) == 5 and noise.std > 0
    assert noise.half_width == pytest.approx(2 * math.sqrt(2) * noise.std)
    code = exp.effect("code")
    assert code.beyond_noise and code.recovery > 2 * noise.half_width
    assert code.share_of_gap == pytest.approx(1.0)  # code is the only difference
    assert {e.factor for e in exp.effects} == {"code"}


def test_bisect_names_the_culprit_commit_within_the_rerun_budget(sample, code_trace):
    result, _ = code_trace
    bis = result.bisect
    n = len(bis.candidates)
    assert n >= 10
    assert bis.culprit == sample.culprit_commit
    assert "cap ratio" in bis.culprit_label
    assert [f.path for f in bis.culprit_files] == ["fraudpipe/features.py"]
    assert bis.reruns == len(bis.steps) <= math.ceil(math.log2(n)) + 1
    # Candidates are commits 3..14 (the good run is at commit 2): commit 8 is at index 5.
    assert bis.candidates.index(sample.culprit_commit) == 5
    assert all(step.verdict == ("bad" if step.position >= 5 else "good") for step in bis.steps)
    assert sample.culprit_commit[:10] in result.verdict


def test_data_only_regression_names_the_snapshot_and_the_segment(sample, tmp_path):
    result = trace(sample.manifest(GOOD), sample.manifest(BAD_DATA), snapshots=sample.snapshots,
                   cache=RunCache(root=tmp_path / "cache"))
    assert result.diff.factors == ("data",)
    assert result.experiments.culprit == "data"
    train = next(d for d in result.diff.data if d.role == "train")
    assert train.rows_good == 3700 and train.rows_bad == 6500
    assert train.top_segment.name == sample.segment
    bis = result.bisect
    assert bis.kind == "data" and Path(bis.culprit) == sample.bad_snapshot.resolve()
    assert bis.reruns <= math.ceil(math.log2(len(bis.candidates))) + 1
    top = bis.culprit_segments[0]
    assert top.name == sample.segment and top.significant
    assert top.label_rate_good > 0.15 and top.label_rate_bad == 0.0
    assert sample.segment in result.verdict and "transactions_v5" in result.verdict


def test_ablation_ranks_the_buggy_feature_first(sample, code_trace):
    _, cache = code_trace
    with Runner(cache=cache) as runner:
        result = ablate(load_manifest(sample.manifest(BAD_CODE)), runner,
                        good=load_manifest(sample.manifest(GOOD)))
    assert result.ranked_by == "gap_explained"
    assert result.top.feature == "ratio"
    assert result.top.gap_explained == pytest.approx(1.0, abs=0.05) and result.top.beyond_noise
    assert all(r.gap_explained < 0.5 for r in result.rows[1:])
    assert len(result.rows) == 11 and result.reruns == 2 * 11  # baselines came from the cache


def test_swapping_the_label_from_the_good_data_restores_the_data_regression(sample, tmp_path):
    with Runner(cache=RunCache(root=tmp_path / "cache")) as runner:
        result = ablate(load_manifest(sample.manifest(BAD_DATA)), runner,
                        good=load_manifest(sample.manifest(GOOD)), mode="swap",
                        key="transaction_id", features=["amount", "is_fraud", "country"])
    assert [r.feature for r in result.rows][0] == "is_fraud" and result.top.beyond_noise
    assert result.top.gap_explained > 0.8
    assert all(abs(r.delta_bad) < 1e-12 for r in result.rows[1:])  # same values in both


def test_a_repeated_trace_reruns_nothing(sample, code_trace):
    first, cache = code_trace
    again = trace(sample.manifest(GOOD), sample.manifest(BAD_CODE), cache=cache)
    assert first.reruns >= 10
    assert again.reruns == 0 and again.cached == first.reruns + first.cached
    assert again.bisect.culprit == first.bisect.culprit
    assert again.experiments.noise == first.experiments.noise


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_tracing_modifies_no_file_of_the_repository_or_the_data(sample, tmp_path):
    before_repo, before_data = _hashes(sample.repo), _hashes(sample.root / "data")
    assert any(name.startswith(".git/") for name in before_repo)
    result = trace(sample.manifest(GOOD), sample.manifest(BAD_CODE),
                   cache=RunCache(root=tmp_path / "cache"), repeats=2)
    assert result.reruns > 0
    assert _hashes(sample.repo) == before_repo
    assert _hashes(sample.root / "data") == before_data


def test_changed_data_is_refused_not_silently_used(sample, tmp_path):
    doc = json.loads(sample.manifest(BAD_CODE).read_text())
    copy = tmp_path / "train.parquet"
    copy.write_bytes(sample.snapshots[2].read_bytes())  # another snapshot under the same name
    train = next(d for d in doc["data"] if d["role"] == "train")
    train["path"] = str(copy)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(DataVersionError, match="changed since it was recorded"):
        trace(sample.manifest(GOOD), tmp_path / "bad.json",
              cache=RunCache(root=tmp_path / "cache"))


def test_cli_trace_json_and_ablate(sample, code_trace, code_home, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(code_home))  # the CLI's default cache: warm
    assert main(["trace", str(sample.manifest(GOOD)), str(sample.manifest(BAD_CODE)),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["experiments"]["culprit"] == "code" and doc["reruns"] == 0
    assert doc["bisect"]["culprit"] == sample.culprit_commit
    assert doc["diff"]["commits"][0]["sha"] == sample.commits[2]
    assert main(["ablate", str(sample.manifest(BAD_CODE)), "--against",
                 str(sample.manifest(GOOD)), "--quiet"]) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[2].split()
    assert first[0] == "ratio" and first[-1] == "100%*"
    assert main(["trace", str(sample.manifest(GOOD)), str(sample.manifest(BAD_CODE)),
                 "--quiet"]) == 0
    report = capsys.readouterr().out
    assert "Bisect (code, 12 candidates, 4 probes of at most 5, 0 re-run)" in report
    assert "Verdict: " in report and sample.culprit_commit[:10] in report
    assert main(["trace", str(sample.manifest(GOOD)), "missing.json"]) == 2
    assert "No run manifest" in capsys.readouterr().err


def test_cli_trace_resolves_versions_and_writes_the_journal(sample, code_trace, code_home,
                                                            capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_HOME", str(code_home))
    config = tmp_path / "incident.toml"
    config.write_text(
        'title = "Fraud model retrained worse"\n'
        '[production]\nsource = "data/logs/*.parquet"\ntimestamp = "t"\nprediction = "p"\n'
        '[reference]\nsource = "data/train.parquet"\n'
        f'[lineage]\nmanifests = "{sample.root / "models"}"\n'
        '[journal]\npath = "notes/journal.jsonl"\nauthor = "oncall"\n')
    assert main(["trace", GOOD, BAD_CODE, "--incident", str(config), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["good"] == GOOD and doc["bad"] == BAD_CODE and doc["journal"]
    (line,) = (tmp_path / "notes/journal.jsonl").read_text().splitlines()
    entry = json.loads(line)  # one entry: the trace
    assert entry["id"] == doc["journal"] and entry["author"] == "oncall"
    assert entry["result"]["culprit"] == "code"
    assert main(["ablate", BAD_CODE, "--against", GOOD, "--incident", str(config),
                 "--features", "ratio,amount", "--quiet"]) == 0
    capsys.readouterr()
    entries = [json.loads(x) for x in (tmp_path / "notes/journal.jsonl").read_text().splitlines()]
    assert [e["params"]["check"] for e in entries] == ["lineage.trace", "lineage.ablate"]
    assert entries[1]["result"]["rows"][0]["feature"] == "ratio"
    assert main(["trace", GOOD, "v9.9", "--incident", str(config)]) == 2
    assert "versions: v1.0, v1.1, v1.1.1, v1.2" in capsys.readouterr().err


def test_trace_is_recorded_in_the_investigation_journal(sample, code_trace, tmp_path):
    from workbench.journal import Journal

    _, cache = code_trace
    journal = Journal(tmp_path / "journal.jsonl", incident="fraud-retrain", author="oncall")
    result = trace(sample.manifest(GOOD), sample.manifest(BAD_CODE), cache=cache,
                   journal=journal)
    (entry,) = journal.entries()
    assert result.journal == entry.id and entry.kind == "check" and entry.status == "passed"
    assert entry.params["check"] == "lineage.trace" and entry.text == result.verdict
    assert entry.result["culprit"] == "code"
    assert entry.result["bisect"]["culprit"] == sample.culprit_commit
    assert len(entry.result["runs"]) == len(result.runs) == result.cached
    assert {r["label"] for r in entry.result["runs"]} >= {"bad run v1.2"}
