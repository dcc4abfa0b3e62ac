"""`workbench verify` and `workbench journal` on the sample: JSON contract, journal, exit codes."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.journal import Journal

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated WORKBENCH_HOME and a fixed author."""
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_AUTHOR", "carol")
    return tmp_path / "home"


def test_verify_json_matches_the_core_and_is_recorded_in_the_journal(home, sample, ratio_fix,
                                                                      capsys):
    assert main(["verify", str(sample.config), "--fix", "recompute-ratio", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "restores"
    assert data["primary"] == ratio_fix.to_dict()["primary"]
    assert data["fix"] == {"name": "recompute-ratio", "kind": "feature_correction",
                           "description": sample.incident.fix("recompute-ratio").description,
                           "parameters": {"callable": "sample_data.fraud_fixes:recompute_ratio"}}
    (entry,) = Journal.for_incident(sample.incident).entries()
    assert (entry.kind, entry.status, entry.author) == ("fix", "restores", "carol")
    assert entry.params["command"] == ["workbench", "verify", str(sample.config), "--fix",
                                       "recompute-ratio", "--metric", "false_positive_rate"]
    assert entry.result["after"] == data["primary"]["after"]
    assert Journal.for_incident(sample.incident).path.is_relative_to(home)


def test_verify_text_output_and_no_journal(home, sample, capsys):
    assert main(["verify", str(sample.config), "--fix", "rollback-v1.3.0", "--no-journal",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Verdict:  INSUFFICIENT" in out and "false_positive_rate" in out
    assert "v1.3.0" in out and "Recorded in the journal" not in out
    assert not Journal.for_incident(sample.incident).path.exists()


def test_verify_unknown_fix_exits_2_with_one_line(home, sample, capsys):
    assert main(["verify", str(sample.config), "--fix", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No fix named 'nope'" in err
    assert "recompute-ratio" in err


def test_journal_cli_adds_lists_and_marks(home, sample, capsys):
    config = str(sample.config)
    assert main(["journal", config, "--hypothesis", "CHG-1042 broke ratio", "--json"]) == 0
    hyp = json.loads(capsys.readouterr().out)
    assert main(["journal", config, "--refute", hyp["id"], "--reason", "just testing"]) == 0
    assert main(["journal", config, "--confirm", hyp["id"], "--author", "dave"]) == 0
    assert main(["journal", config, "--note", "warehouse team paged"]) == 0
    capsys.readouterr()
    assert main(["journal", config, "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    kinds = [(e["kind"], e["author"], e["outcome"]) for e in listing["entries"]]
    assert kinds == [("hypothesis", "carol", "confirmed"), ("verdict", "carol", None),
                     ("verdict", "dave", None), ("note", "carol", "open")]
    assert main(["journal", config]) == 0
    text = capsys.readouterr().out
    assert "CHG-1042 broke ratio" in text and "confirmed" in text
    assert main(["journal", config, "--confirm", "missing-id"]) == 2
    assert "no entry 'missing-id'" in capsys.readouterr().err
