"""Two viewers of the same incident write its journal at once, each from its own kernel (as two
app pages in Voila do): nothing is lost, nothing interleaves, and each sees the other's entries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from tests.conftest import REPO_ROOT
from workbench.journal import Journal

pytestmark = pytest.mark.slow

COUNT = 120
# Each kernel waits for the start signal (a file), then appends notes as fast as it can and
# verdicts on the other viewer's first entries once it sees them.
WRITER = """
import os, time
from pathlib import Path
from workbench.journal import Journal

journal = Journal.for_incident({config!r}, author={author!r})
go = Path({go!r})
while not go.exists():
    time.sleep(0.01)
for seq in range({count}):
    journal.note(f"{author} note {{seq}} " + "x" * 2000, seq=seq, viewer={author!r})
deadline = time.monotonic() + 60
theirs = []
while not theirs and time.monotonic() < deadline:
    theirs = [e for e in journal.entries("note") if e.params.get("viewer") != {author!r}]
    time.sleep(0.05)
for entry in theirs[:10]:
    journal.confirm(entry, f"{author} agrees")
print("done", len(journal.entries()))
"""


def _run(client, code: str) -> str:
    """Send code to a kernel; return its message id (the reply is collected later)."""
    return client.execute(code, store_history=False)


def _wait(client, msg_id: str, timeout: float) -> str:
    """Collect the stdout of one execution and fail on an error."""
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            pytest.fail("a kernel raised:\n" + "\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


def test_two_kernels_writing_one_journal_lose_nothing(tmp_path: Path, monkeypatch):
    folder = tmp_path / "incident"
    folder.mkdir()
    config = folder / "incident.toml"
    config.write_text('title = "Two viewers"\n[production]\nsource = "logs/*.parquet"\n'
                      'timestamp = "ts"\nprediction = "score"\n[reference]\n'
                      'source = "training/train.parquet"\n', encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(REPO_ROOT)
    go = tmp_path / "go"
    kernels = [start_new_kernel(kernel_name="python3", cwd=str(REPO_ROOT))
               for _ in range(2)]
    try:
        runs = []
        for (_, client), author in zip(kernels, ("oncall", "commander"), strict=True):
            code = WRITER.format(config=str(config), author=author, go=str(go), count=COUNT)
            runs.append((client, _run(client, code)))
        time.sleep(0.5)
        go.touch()  # both start writing at the same moment
        outputs = [_wait(client, msg_id, timeout=120) for client, msg_id in runs]
    finally:
        for manager, client in kernels:
            client.stop_channels()
            manager.shutdown_kernel(now=True)

    journal = Journal.for_incident(config, author="reader")
    read = journal.read()
    assert not read.torn_tail and not read.bad_lines
    for author in ("oncall", "commander"):
        notes = [e for e in read.entries if e.kind == "note" and e.author == author]
        assert [e.params["seq"] for e in notes] == list(range(COUNT))
        assert all(e.text.startswith(f"{author} note {e.params['seq']} ") for e in notes)
        verdicts = [e for e in read.entries if e.kind == "verdict" and e.author == author]
        assert len(verdicts) == 10
        assert all(journal.get(v.ref).author != author for v in verdicts)
    assert len(read.entries) == 2 * (COUNT + 10)
    # Each kernel saw at least its own entries and the other's notes it confirmed.
    for out in outputs:
        assert out.startswith("done ") and int(out.split()[1]) >= COUNT + 10
    # The two writers really overlapped: the file interleaves their notes.
    authors = [e.author for e in read.entries if e.kind == "note"]
    switches = sum(a != b for a, b in zip(authors, authors[1:], strict=False))
    assert switches > 1
