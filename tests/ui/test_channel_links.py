"""What a link may open, and what a browser is told when it cannot: the link's own words, never
a folder of the server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from workbench.exceptions import ConfigError
from workbench.incidents import link_name, resolve_incident


@pytest.fixture
def served(tmp_path: Path) -> Path:
    folder = tmp_path / "srv" / "incidents"
    (folder / "checkout").mkdir(parents=True)
    (folder / "checkout" / "incident.toml").write_text("title = 'x'\n", encoding="utf-8")
    return folder


def test_a_link_opens_an_incident_under_the_served_folder(served):
    env = {"WORKBENCH_INCIDENTS_DIR": str(served)}
    found = resolve_incident(urlencode({"incident": "checkout/incident.toml"}), env)
    assert found == (served / "checkout" / "incident.toml").resolve()
    assert resolve_incident(urlencode({"incident": "checkout"}), env) == found


@pytest.mark.parametrize("wanted", ["nowhere/incident.toml", "../../etc/passwd",
                                    "/etc/secret/incident.toml"])
def test_the_not_found_message_names_the_link_never_a_server_folder(served, wanted):
    env = {"WORKBENCH_INCIDENTS_DIR": str(served)}
    with pytest.raises(ConfigError) as caught:
        resolve_incident(urlencode({"incident": wanted}), env)
    message = str(caught.value)
    assert repr(link_name(wanted)) in message
    assert str(served) not in message and str(served.parent) not in message
    assert "/srv/" not in message and "/etc/secret" not in message
    assert "WORKBENCH_INCIDENTS_DIR" in message  # what the operator can do about it


def test_link_names_keep_relative_names_and_shorten_absolute_ones():
    assert link_name("team/checkout/incident.toml") == "team/checkout/incident.toml"
    assert link_name("/srv/data/checkout/incident.toml") == "checkout/incident.toml"
    assert link_name("/incident.toml") == "incident.toml"
