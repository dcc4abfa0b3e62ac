"""The post-mortem written once for the module by the CLI, after a recorded investigation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.config import Incident, load_incident
from workbench.journal import Journal


@dataclass(frozen=True)
class Written:
    """A report written by `workbench report` and what went into it."""

    incident: Incident
    out: Path
    data: dict
    journal: Journal
    home: Path


@pytest.fixture(scope="session")
def written(sample_incident: Path, tmp_path_factory: pytest.TempPathFactory) -> Written:
    """Record an investigation in the journal, then `workbench report --fix recompute-ratio`."""
    home = tmp_path_factory.mktemp("home")
    out = tmp_path_factory.mktemp("report") / "postmortem"
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(home))
    mp.setenv("WORKBENCH_AUTHOR", "frank")
    try:
        incident = load_incident(sample_incident)
        journal = Journal.for_incident(incident)
        hyp = journal.open_hypothesis("The new avg_amount definition (CHG-1042) inflated ratio",
                                      signature="upstream_data_change", feature="ratio",
                                      change_id="CHG-1042")
        decoy = journal.open_hypothesis("The v1.3.1 rollout (CHG-1036) raised the FPR",
                                        signature="model_rollout")
        journal.record_check("PSI of ratio, incident window vs training", {"psi": 0.24},
                             passed=True, hypothesis=hyp)
        journal.refute(decoy, "rolling back to v1.3.0 leaves the FPR at 2.5 %")
        journal.confirm(hyp, "recomputing ratio restores the FPR")
        journal.note("warehouse team paged")
        journal.mitigate("ratio recomputed in the online pipeline", change="PR-881")
        journal.conclude("Upstream avg_amount redefinition; ratio recomputed; monitor PSI.")
        assert main(["report", str(sample_incident), "--out", str(out), "--fix",
                     "recompute-ratio", "--quiet"]) == 0
        data = json.loads((out / "report.json").read_text())
    finally:
        mp.undo()
    return Written(incident, out, data, Journal(journal.path, journal.incident, "reader"), home)
