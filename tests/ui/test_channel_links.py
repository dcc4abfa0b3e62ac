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


def test_an_app_names_a_broken_config_relative_to_its_served_folder(served, monkeypatch):
    from widgets.app import open_workbench

    monkeypatch.setenv("WORKBENCH_INCIDENTS_DIR", str(served))
    monkeypatch.setenv("QUERY_STRING", urlencode({"incident": "checkout/incident.toml"}))
    wb = open_workbench()
    assert "checkout/incident.toml" in wb.state.error  # the config lacks [production]
    assert str(served) not in wb.state.error and "/srv/" not in wb.state.error


def test_hide_server_paths_cuts_every_served_folder(tmp_path):
    from widgets.app import hide_server_paths

    roots = [tmp_path / "a", tmp_path / "a" / "b"]
    text = f"{tmp_path}/a/b/x/incident.toml and {tmp_path}/a/y.csv and {tmp_path}/a"
    assert hide_server_paths(text, roots) == "x/incident.toml and y.csv and ."


KERNEL_CODE = """
import os, sys, warnings
os.environ["VOILA_PREHEAT"] = "False"  # as in a kernel Voila started for a page
from widgets.app import open_state
open_state("{config}")
print("to the page")
print("a traceback with /srv/secret/paths", file=sys.stderr)
warnings.warn("a library warning")
"""


@pytest.mark.slow
def test_a_served_kernel_sends_stderr_to_the_server_log_not_the_page(served):
    from jupyter_client.manager import start_new_kernel

    from tests.conftest import REPO_ROOT

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO_ROOT))
    try:
        msg_id = client.execute(KERNEL_CODE.format(config=served / "checkout/incident.toml"))
        streams = []
        while True:
            msg = client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                streams.append((msg["content"]["name"], msg["content"]["text"]))
            elif msg["msg_type"] == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert ("stdout", "to the page\n") in streams
    assert [s for s in streams if s[0] == "stderr"] == []
