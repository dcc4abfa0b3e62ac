"""No summary says what its own evidence contradicts, on every scenario of the set.

Each claim a summary makes in words (inputs stayed close, a mean moved from a to b, a spread
grew, a missing rate rose, a share of the change is residual) is checked against the numbers the
same diagnosis reports beside it (drift table, decomposition).
"""

from __future__ import annotations

import re

import pytest

from sample_data.scenarios import SCENARIOS
from workbench.stats.drift import PSI_MODERATE

NAMES = [s.name for s in SCENARIOS]
pytestmark = pytest.mark.slow

MEAN = re.compile(r"its mean moved ([+-][\d.]+) SD \(([-\d.e+]+) -> ([-\d.e+]+)")
SPREAD = re.compile(r"its spread (grew|shrank) x([\d.]+)")
MISSING = re.compile(r"its missing rate rose from ([\d.]+)% to ([\d.]+)%")
RESIDUAL = re.compile(r"and (-?\d+)% is a change of the outcome")
OUTSIDE = re.compile(r"([\d.]+)% of '[^']+' values since the onset lie outside training's "
                     r"range \(vs ([\d.]+)% before")


def _g(value: float) -> str:
    return f"{value:.4g}"


@pytest.mark.parametrize("name", NAMES)
def test_summaries_agree_with_the_evidence_beside_them(name, diagnosed):
    result = diagnosed(name)
    drift = {d["feature"]: d for d in result["drift"]}
    max_psi = max((d["psi_onset"] for d in result["drift"]), default=0.0)
    for h in result["hypotheses"]:
        text = h["summary"]
        if "stayed close to their pre-onset distribution" in text:
            assert max_psi < PSI_MODERATE, (h["signature"], max_psi, text)
        d = drift.get(h["feature"])
        if d is None:
            continue
        if m := MEAN.search(text):
            assert (m.group(2), m.group(3)) == (_g(d["mean_baseline"]), _g(d["mean_current"]))
            sd = d["std_baseline"] or d["std_reference"]
            assert float(m.group(1)) == pytest.approx(
                (d["mean_current"] - d["mean_baseline"]) / sd, abs=0.006)
        if m := SPREAD.search(text):
            ratio = d["std_current"] / d["std_baseline"]
            assert (m.group(1) == "grew") == (ratio > 1)
            assert float(m.group(2)) == pytest.approx(ratio, abs=0.006)
        if m := OUTSIDE.search(text):
            assert float(m.group(1)) == pytest.approx(100 * d["outside_range_current"], abs=0.06)
            assert float(m.group(2)) == pytest.approx(100 * d["outside_range_baseline"],
                                                      abs=0.06)
        if m := MISSING.search(text):
            assert float(m.group(1)) == pytest.approx(100 * d["null_rate_baseline"], abs=0.06)
            assert float(m.group(2)) == pytest.approx(100 * d["null_rate_current"], abs=0.06)


@pytest.mark.parametrize("name", NAMES)
def test_the_decomposition_adds_up_and_the_ranking_reads_it(name, diagnosed):
    result = diagnosed(name)
    dec = result["decomposition"]
    if dec is None:
        return
    assert dec["covariate"] + dec["residual"] == pytest.approx(1.0, abs=1e-9)
    for h in result["hypotheses"]:
        if h["explained"] is not None and h["explained"]["method"] != "repair":
            assert h["explained"]["share"] == pytest.approx(dec["by_feature"][h["feature"]])
        if h["signature"] == "concept_drift" and (m := RESIDUAL.search(h["summary"])):
            assert int(m.group(1)) == round(100 * dec["residual"])
