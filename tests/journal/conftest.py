"""Fixtures of the journal tests: a small incident config and an isolated WORKBENCH_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.config import Incident, load_incident

CONFIG = """\
title = "Checkout model: refunds flagged"
[production]
source = "logs/*.parquet"
timestamp = "ts"
prediction = "score"
[reference]
source = "training/train.parquet"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """WORKBENCH_HOME in a temporary folder; the author fixed to 'alice'."""
    path = tmp_path / "wb-home"
    monkeypatch.setenv("WORKBENCH_HOME", str(path))
    monkeypatch.setenv("WORKBENCH_AUTHOR", "alice")
    return path


@pytest.fixture
def incident(tmp_path: Path) -> Incident:
    """An incident config (its data files need not exist for the journal)."""
    folder = tmp_path / "incident"
    folder.mkdir()
    (folder / "incident.toml").write_text(CONFIG, encoding="utf-8")
    return load_incident(folder / "incident.toml")


def with_journal(incident: Incident, extra: str) -> Incident:
    """The same incident with extra TOML (e.g. a [journal] section) appended."""
    path = incident.path
    assert path is not None
    path.write_text(CONFIG + extra, encoding="utf-8")
    return load_incident(path)
