"""The `workbench` command: the --json contract, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pandas as pd
import pytest

from workbench.cli import main
from workbench.results import LAYERS, SIGNATURES

CONTRACT_KEYS = ["incident", "bucket", "window", "onset", "metric", "trend", "hypotheses"]
HYPOTHESIS_KEYS = {"rank", "signature", "layer", "feature", "segment", "change_id",
                   "model_version", "score", "summary", "evidence"}
EVIDENCE_KEYS = {"statistic", "value", "baseline", "window", "threshold", "detail"}


def _no_nan(token: str):
    raise AssertionError(f"non-standard JSON constant {token} in the output")


def strict_json(text: str) -> dict:
    return json.loads(text, parse_constant=_no_nan)


def iso_z(value: datetime) -> str:
    return value.isoformat() + "Z"


@pytest.fixture(scope="module")
def incident(synthetic):
    return synthetic()


@pytest.fixture(scope="module")
def json_output(incident) -> dict:
    """`workbench diagnose CONFIG --json` run once in-process (stdout captured by hand)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["diagnose", str(incident.config), "--json"])
    assert code == 0, err.getvalue()
    assert err.getvalue() == ""  # --json keeps stderr quiet
    return strict_json(out.getvalue())


def run_error(capsys, argv: list[str]) -> str:
    """Run main expecting exit code 2; return the single stderr line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("workbench: error: ")
    return lines[0]


def test_json_contract_keys_come_first(json_output):
    assert list(json_output)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert set(json_output["window"]) == {"start", "end"}
    assert set(json_output["metric"]) >= {"name", "baseline", "current"}
    assert "series" not in json_output and "histograms" not in json_output


def test_json_values(json_output, incident):
    assert json_output["incident"] == "synthetic regression"
    assert json_output["bucket"] == "1h"
    assert json_output["onset"] == iso_z(incident.shift_at)
    assert json_output["window"]["start"] == iso_z(incident.production["ts"].min()
                                                   .to_pydatetime())
    assert json_output["metric"]["name"] == "mae"
    assert json_output["metric"]["current"] > json_output["metric"]["baseline"] > 0
    assert json_output["trend"] in ("stable", "worsening", "recovering")
    assert json_output["rows"] == len(incident.production)


def test_json_hypotheses(json_output, incident):
    hypotheses = json_output["hypotheses"]
    assert hypotheses
    for i, h in enumerate(hypotheses, start=1):
        assert HYPOTHESIS_KEYS <= set(h)  # the contract: keys are added, never removed
        assert h["rank"] == i
        assert h["signature"] in SIGNATURES
        assert h["layer"] in LAYERS
        assert isinstance(h["score"], float) and 0.0 <= h["score"] <= 1.0
        assert isinstance(h["summary"], str) and h["summary"]
        for e in h["evidence"]:
            assert set(e) == EVIDENCE_KEYS
    top = hypotheses[0]
    assert (top["signature"], top["layer"], top["feature"], top["change_id"]) == (
        "upstream_data_change", "input_data", "basket_value", incident.culprit)


def test_subprocess_gives_the_same_json(json_output, incident):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "diagnose", str(incident.config), "--json"],
        capture_output=True, text=True, timeout=120, cwd=incident.config.parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    data = strict_json(proc.stdout)
    for key in CONTRACT_KEYS:
        assert data[key] == json_output[key], key


def test_text_output(capsys, incident):
    assert main(["diagnose", str(incident.config), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert f"Onset:    {iso_z(incident.shift_at)}" in captured.out
    assert "1. [" in captured.out and "upstream_data_change (input_data) basket_value" in (
        captured.out)


def test_progress_goes_to_stderr(capsys, incident):
    assert main(["diagnose", str(incident.config), "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "... triage" in captured.err
    assert "Incident: synthetic regression" in captured.out


def test_window_restricts_the_analysis(capsys, incident):
    start, end = datetime(2026, 3, 8), datetime(2026, 3, 10, 12)
    code = main(["diagnose", str(incident.config), "--json",
                 "--window", "2026-03-08T00:00:00Z..2026-03-10T12:00Z"])
    assert code == 0
    data = strict_json(capsys.readouterr().out)
    assert data["window"] == {"start": iso_z(start), "end": iso_z(end)}
    ts = incident.production["ts"]
    assert data["rows"] == int(((ts >= pd.Timestamp(start)) & (ts < pd.Timestamp(end))).sum())
    assert data["onset"] == iso_z(incident.shift_at)


def test_open_ended_window(capsys, incident):
    assert main(["diagnose", str(incident.config), "--json", "--window", "2026-03-09..",
                 "--bucket", "2h"]) == 0
    data = strict_json(capsys.readouterr().out)
    assert data["window"]["start"] == "2026-03-09T00:00:00Z"
    assert data["bucket"] == "2h"
    ts = incident.production["ts"]
    assert data["rows"] == int((ts >= pd.Timestamp("2026-03-09")).sum())


@pytest.mark.parametrize("window", ["2026-03-08", "yesterday..today",
                                    "2026-03-10..2026-03-08", "2026-03-08..2026-13-01"])
def test_malformed_window_exits_2(capsys, incident, window):
    line = run_error(capsys, ["diagnose", str(incident.config), "--json", "--window", window])
    assert "window" in line


def test_window_without_rows_exits_2(capsys, incident):
    line = run_error(capsys, ["diagnose", str(incident.config), "--json",
                              "--window", "2030-01-01..2030-01-02"])
    assert "no rows" in line


def test_unknown_metric_exits_2(capsys, incident):
    line = run_error(capsys, ["diagnose", str(incident.config), "--json", "--metric", "auc"])
    assert "'auc'" in line and "mae" in line


def test_bad_config_exits_2_with_one_line(capsys, incident, tmp_path):
    text = incident.config.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[reference]", "[reference]\nlable = \"outcome\""),
                   encoding="utf-8")
    line = run_error(capsys, ["diagnose", str(bad)])
    assert "unknown key 'lable'" in line
    assert "Did you mean 'label'?" in line


def test_missing_config_file_exits_2_with_one_line(capsys, tmp_path):
    line = run_error(capsys, ["diagnose", str(tmp_path / "missing.toml")])
    assert "missing.toml" in line and "does not exist" in line


def test_missing_data_file_exits_2_with_one_line(capsys, write_toml):
    path = write_toml({
        "production": {"source": "logs/*.parquet", "timestamp": "ts", "prediction": "score"},
        "reference": {"source": "ref.parquet"},
    })
    line = run_error(capsys, ["diagnose", str(path), "--json"])
    assert "logs/*.parquet" in line and "matches no file" in line


def test_errors_exit_2_in_a_subprocess_too(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "diagnose", str(tmp_path / "missing.toml")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("workbench: error: ")


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "diagnose" in capsys.readouterr().out


def test_bad_value_deep_in_a_csv_exits_2_with_one_line(capsys, write_toml, tmp_path):
    # The CSV reader infers types from the first rows; a bad value further down is still bad
    # input: exit code 2 and one line naming the file, not a traceback.
    rows = 30_000
    log = pd.DataFrame({
        "ts": pd.Timestamp("2026-03-02") + pd.to_timedelta(pd.RangeIndex(rows) * 20, unit="s"),
        "score": [f"{(i % 97) / 97:.4f}" for i in range(rows)],
    })
    log.loc[rows - 10, "score"] = "n/a"
    log.to_csv(tmp_path / "log.csv", index=False)
    log.iloc[:100].to_csv(tmp_path / "ref.csv", index=False)
    path = write_toml({
        "production": {"source": "log.csv", "timestamp": "ts", "prediction": "score"},
        "reference": {"source": "ref.csv"},
    })
    line = run_error(capsys, ["diagnose", str(path), "--json"])
    assert "log.csv" in line
