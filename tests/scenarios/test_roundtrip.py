"""Every scenario's diagnosis reads back from its JSON equal: what the diagnosis cache and the
report rely on, on incidents of every domain, task, bucket size and signature."""

from __future__ import annotations

import json

import pytest

from sample_data.scenarios import SCENARIOS
from workbench.results import Diagnosis

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_the_diagnosis_reads_back_from_json_equal(name, diagnosis_of):
    d = diagnosis_of(name)
    back = Diagnosis.from_dict(json.loads(json.dumps(d.to_dict())))
    assert back == d
    assert (back.baseline_window, back.current_window) == (d.baseline_window, d.current_window)
    assert back.to_dict() == d.to_dict()
