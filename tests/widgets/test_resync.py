"""A page that restores its widgets while the loading thread fills them still ends up showing
every view: ipywidgets' front end drops updates that arrive between its state snapshot and
the creation of each model, so the app sends its final state again after the load."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import comm
import ipywidgets as w
import pytest

from widgets import Workbench, app
from widgets import state as state_module
from widgets.state import IncidentState


class RecordingComm:
    """A kernel-side comm that records every message sent with its time."""

    kernel = True

    def __init__(self, **kwargs) -> None:
        self.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        self.sent: list[tuple[float, dict]] = []
        self.created_in = threading.current_thread()
        self.sent_from: set[threading.Thread] = set()

    def send(self, data=None, metadata=None, buffers=None) -> None:
        self.sent.append((time.monotonic(), data))
        self.sent_from.add(threading.current_thread())

    def on_msg(self, callback) -> None:
        pass

    def close(self, *args, **kwargs) -> None:
        pass


def thread_named(name: str, before: list[threading.Thread]) -> threading.Thread:
    """The thread called `name` started since `before` was listed."""
    return next(t for t in threading.enumerate() if t.name == name and t not in before)


def page_state(snapshot: dict, widget: w.Widget, connected: float) -> dict:
    """What a page shows for `widget`: its state at the snapshot, then only the updates that
    arrived once its model was connected."""
    state = dict(snapshot[widget.model_id])
    for at, data in widget.comm.sent:
        if at > connected and data.get("method") == "update":
            state.update(data["state"])
    return state


@pytest.mark.slow
def test_views_filled_during_the_page_restore_reach_the_page(sample_incident, monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(**kw))
    monkeypatch.setenv("VOILA_PREHEAT", "False")  # a kernel Voila started for a page
    monkeypatch.setattr(app, "RESYNC_DELAYS", (0.2,))
    gate = threading.Event()
    load = IncidentState._load_results

    def gated(self, then):
        gate.wait(120)  # the diagnosis finishes only once the page took its snapshot
        load(self, then)

    monkeypatch.setattr(IncidentState, "_load_results", gated)
    before = threading.enumerate()
    wb = Workbench.open(sample_incident)
    boxes = [wb.top, wb.triage, wb.isolate, wb.deep_dive]
    # The page asks for every widget's state while the views are still empty boxes...
    shown = list(app._displayed(boxes))
    snapshot = {x.model_id: x.get_state() for x in shown}
    assert all(snapshot[b.model_id]["children"] == [] for b in boxes[1:])
    gate.set()
    thread_named("diagnosis", before).join(300)
    # ... and connects each model only after the loading thread filled them.
    connected = time.monotonic()
    thread_named("resync", before).join(60)
    assert wb.state.error == "" and wb.state.diagnosis is not None
    for box in boxes[1:]:
        filled = [f"IPY_MODEL_{c.model_id}" for c in box.children]
        assert filled, "the loading thread left a view empty"
        assert page_state(snapshot, box, connected)["children"] == filled
    # The header and the status line changed while the page was restoring: it shows them now.
    changed = [x for x in shown
               if isinstance(x, w.HTML) and x.value != snapshot[x.model_id]["value"]]
    assert changed
    for html in changed:
        assert page_state(snapshot, html, connected)["value"] == html.value


def test_resync_sends_each_shown_widget_once(sample_incident, monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(**kw))
    inner = w.HTML("x")
    box = w.VBox([inner, w.VBox([inner])])
    wb = Workbench(IncidentState(""))
    wb._widgets["top"] = box
    assert wb.resync() == 3
    assert [d["state"]["value"] for _, d in inner.comm.sent if d.get("method") == "update"] \
        == ["x"]


@pytest.mark.slow
def test_a_background_load_creates_and_changes_widgets_only_on_the_kernel_loop(
        sample_incident, monkeypatch):
    """The kernel answers a page's request for every widget's state on its event loop by
    walking ipywidgets' registry: a widget created in another thread meanwhile breaks the walk
    ("dictionary changed size during iteration") and the page keeps empty phases."""
    comms: list[RecordingComm] = []

    def create(**kw):
        comms.append(RecordingComm(**kw))
        return comms[-1]

    monkeypatch.setattr(comm, "create_comm", create)
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    monkeypatch.setattr(app, "RESYNC_DELAYS", (0.2,))

    # The kernel's thread and its event loop: a thread of its own, since the test process
    # may hold another library's loop in the main thread.
    monkeypatch.setattr(state_module, "_kernel_loop", asyncio.get_running_loop)
    opened: list[Workbench] = []

    async def serve() -> None:
        before = threading.enumerate()
        wb = Workbench.open(sample_incident)
        _ = wb.top, wb.triage, wb.isolate, wb.deep_dive
        for name in ("diagnosis", "resync"):
            thread = thread_named(name, before)
            while thread.is_alive():  # the loop keeps running, as a kernel's does
                await asyncio.sleep(0.05)
        opened.append(wb)

    main = threading.Thread(target=lambda: asyncio.run(serve()), name="kernel")
    main.start()
    main.join(300)
    wb = opened[0]
    assert wb.state.error == "" and all(b.children for b in (wb.triage, wb.isolate))
    assert len(comms) > 50
    assert {c.created_in for c in comms} == {main}
    # Box children and chart specs change only on the loop too; the loading thread changes
    # only plain values (the busy note, controls disabled while it works).
    from ipywidgets.widgets.widget import _instances

    moved = [_instances[c.comm_id] for c in comms if c.sent_from - {main}]
    assert moved and not [x for x in moved if isinstance(x, w.Box) or hasattr(x, "spec")]
