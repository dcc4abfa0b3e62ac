"""Pinning from an open app: the diagnosis the app shows is the one the review reopens."""

from __future__ import annotations

import pytest

from tests.core.test_postmortem import reviewed_incident
from widgets.postmortem import PostMortemState, pin_diagnosis
from widgets.state import IncidentState
from workbench.exceptions import InvalidInputError
from workbench.journal import Journal
from workbench.postmortem import digest, find_pin


def test_the_app_pins_the_diagnosis_it_shows(tmp_path_factory, tmp_path, monkeypatch):
    built = reviewed_incident(tmp_path_factory)
    monkeypatch.setenv("WORKBENCH_HOME", str(built.copy_home(tmp_path / "home")))
    state = IncidentState(built.config)
    with pytest.raises(InvalidInputError, match="no diagnosis to pin"):
        pin_diagnosis(state)
    state.load()
    entry = pin_diagnosis(state, author="erin")
    assert entry.params["diagnosis_key"] == state.cache["key"] != built.key
    assert entry.params["digest"] == digest(state.diagnosis)
    assert find_pin(Journal.for_incident(state.incident)).id == entry.id

    # The review now opens today's diagnosis as it was: nothing changed since.
    review = PostMortemState(built.config)
    review.load()
    assert review.error == ""
    assert (review.review.pin.key, review.review.pin.author) == (state.cache["key"], "erin")
    assert review.review.was == state.diagnosis
    assert review.review.comparison.same_data
    assert review.review.comparison.labels.outcome == "no_new_labels"
    assert review.add_note("nothing changed since the pin")
    assert review.review.timeline[-1].text == "nothing changed since the pin"
    assert review.timeline == review.review.timeline
