"""The repair test for segments on a scenario with a model: the broken segment's hypothesis
carries the share of the change that taking out the segment's own change removes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_the_segment_hypothesis_carries_its_recovered_share(diagnosed):
    top = diagnosed("segment_housing_flood_maps")["hypotheses"][0]
    assert top["segment"] == "neighbourhood=riverside"
    assert top["explained"]["method"] == "repair"
    assert top["explained"]["share"] == pytest.approx(1.0, abs=0.2)
    assert any(e["statistic"] == "repair_recovered_share" for e in top["evidence"])
