"""The app server as the incident channel uses it: `make apps` settings (voila.json and
config/apps/voila.json) with short culling times, one server for the whole module.

Links open incidents of any domain; messages never show the server's folders, tracebacks or
stderr; three pages opened at once are served from the pre-heated pool and the cache; past the
kernel cap a page gets the busy page; closed pages' kernels are culled back to the pool."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import (
    LOCAL_HOSTS,
    REPO_ROOT,
    VOILA_READY_TIMEOUT,
    _descendants,
    _stop,
    _VoilaProcess,
    _wait_until_listening,
    free_port,
)
from tests.ui.apps import TITLES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POOL = 3  # config/apps/voila.json
CAP = POOL + 2
CULL_AFTER = 12  # seconds idle without a page
SERVER_ARGS = (f"--ChannelKernelManager.max_kernels={CAP}",
               f"--MappingKernelManager.cull_idle_timeout={CULL_AFTER}",
               "--MappingKernelManager.cull_interval=2")
HOUSING = "drift_housing_new_builds"
# Columns of the housing log, and of the fraud sample that must never show on its page.
HOUSING_NAMES = ("neighbourhood", "property_type")
FRAUD_NAMES = ("transaction_id", "fraud_score", "is_fraud", "merchant_category",
               "avg_amount", "txn_count_1h", "distance_from_home_km", "account_age_days")
SUSPECTS = ".wb-suspects tbody tr"
# Each page notes (wall clock, ms) when the suspects table and a chart are there: polling the
# pages from the test would wait on whichever page is busy.
WATCH = """(() => { const iv = setInterval(() => {
  if (document.querySelector(SUSPECTS) && document.querySelector(TITLES)) {
    window.__wbReady = performance.timeOrigin + performance.now(); clearInterval(iv); }
}, 50); })();""".replace("SUSPECTS", repr(SUSPECTS)).replace("TITLES", repr(TITLES))
THREE_VIEWERS_S = 40.0  # loose: the target is 5 s; here 19-21 s (README, bench_voila.py)


@pytest.fixture(scope="module")
def incidents(tmp_path_factory) -> Path:
    """A served folder: a scenario incident of another domain than fraud, a broken config."""
    from sample_data.scenarios import generate_all

    folder = tmp_path_factory.mktemp("served") / "incidents"
    generate_all(folder, [HOUSING])
    (folder / "broken").mkdir()
    (folder / "broken" / "incident.toml").write_text(
        'title = "Half a config"\n[production]\nsource = "logs/*.parquet"\n', encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """The servers' WORKBENCH_HOME: an empty diagnosis cache, shared by this module's servers."""
    return tmp_path_factory.mktemp("channel_home")


@contextlib.contextmanager
def serve(target: str, config: str, env: dict[str, str], log_path: Path,
          args: tuple[str, ...] = ()) -> Iterator[_VoilaProcess]:
    """Voila on `target` with voila.json and config/`config`/voila.json, as the Makefile runs
    it; stopped on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "voila", str(REPO_ROOT / target), "--no-browser",
           f"--port={port}", "--Voila.ip=127.0.0.1",
           f"--Voila.config_file_paths={REPO_ROOT / 'config' / config}",
           f"--Voila.config_file_paths={REPO_ROOT}", *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **env},
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    voila = _VoilaProcess(proc, port, log_path)
    try:
        _wait_until_listening(voila, VOILA_READY_TIMEOUT)
        yield voila
    finally:
        _stop(voila)


@pytest.fixture(scope="module")
def server(incidents, home, artifacts_dir) -> Iterator[_VoilaProcess]:
    """`make apps` on the served folder."""
    env = {"WORKBENCH_INCIDENTS_DIR": str(incidents), "WORKBENCH_HOME": str(home)}
    with serve("notebooks", "apps", env, artifacts_dir / "voila-channel.log",
               SERVER_ARGS) as voila:
        yield voila


def cpu_ticks(pid: int) -> int:
    """CPU time (clock ticks) of a process and its descendants."""
    total = 0
    for p in (pid, *_descendants(pid)):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def wait_until_idle(server: _VoilaProcess, timeout: float = 240.0) -> None:
    """Until the server and its kernels used under 0.1 s of CPU in 2 s (pool pre-rendered)."""
    deadline = time.monotonic() + timeout
    last = cpu_ticks(server.proc.pid)
    while time.monotonic() < deadline:
        time.sleep(2)
        now = cpu_ticks(server.proc.pid)
        if now - last < 10:
            return
        last = now
    pytest.fail(f"the server was still busy after {timeout:.0f} s")


def kernels(server: _VoilaProcess) -> int:
    """Kernel processes of the server."""
    count = 0
    for pid in _descendants(server.proc.pid):
        with contextlib.suppress(OSError):
            if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                count += 1
    return count


def wait_for_kernels(server: _VoilaProcess, count: int, timeout: float) -> float:
    """Seconds until the server has `count` kernels; fails after `timeout`."""
    began = time.monotonic()
    while kernels(server) != count:
        if time.monotonic() - began > timeout:
            pytest.fail(f"{kernels(server)} kernels, not {count}, after {timeout:.0f} s; log "
                        f"{server.log_path}:\n{server.url.log_tail()}")
        time.sleep(0.5)
    return time.monotonic() - began


def link(server: _VoilaProcess, incident: str) -> str:
    return f"{server.url}voila/render/triage.ipynb?{urlencode({'incident': incident})}"


@contextlib.contextmanager
def pages(browser: Browser, n: int) -> Iterator[list[Page]]:
    """`n` pages, each in its own context (another viewer), reaching only this machine.
    Closed without `beforeunload`, like a killed tab: only culling frees their kernels."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(n)]

    def local_only(route):
        host = urlsplit(route.request.url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    try:
        out = []
        for context in contexts:
            context.route("**/*", local_only)
            context.add_init_script(WATCH)
            context.set_default_timeout(120_000)
            out.append(context.new_page())
        yield out
    finally:
        for context in contexts:
            context.close()


def assert_no_server_detail(page: Page, incidents: Path) -> None:
    html = page.content()
    assert str(incidents) not in html and str(REPO_ROOT) not in html
    assert "Traceback" not in html and "site-packages" not in html
    assert page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0


def test_messages_never_show_server_paths_tracebacks_or_stderr(server, browser, incidents,
                                                               artifacts_dir):
    wait_for_kernels(server, POOL, timeout=90)
    with pages(browser, 2) as (missing, broken):
        missing.goto(link(server, "nowhere/incident.toml"))
        broken.goto(link(server, "broken/incident.toml"))
        for page, named in ((missing, "nowhere/incident.toml"),
                            (broken, "broken/incident.toml")):
            panel = page.locator(".wb-error")
            expect(panel).to_be_visible(timeout=120_000)
            assert named in panel.inner_text()
            assert_no_server_detail(page, incidents)
        broken.screenshot(path=str(artifacts_dir / "app-channel-broken-config.png"))


def test_a_link_opens_another_domain_with_its_own_columns(server, browser, incidents,
                                                          artifacts_dir, record_property):
    with pages(browser, 1) as (page,):
        began = time.monotonic()
        page.goto(link(server, f"{HOUSING}/incident.toml"), wait_until="commit")
        # A cold visit (nothing in the cache): the page says which stage is being computed.
        note = page.locator(".wb-busy", has_text=re.compile(r"Working: \w+: "))
        expect(note.first).to_be_visible(timeout=60_000)
        note_s = time.monotonic() - began
        record_property("cold_progress_note_s", round(note_s, 1))
        expect(page.locator(SUSPECTS).first).to_be_visible(timeout=180_000)
        page.wait_for_function(f"document.querySelectorAll({TITLES!r}).length > 0")
        record_property("cold_visit_s", round(time.monotonic() - began, 1))
        print(f"cold visit: progress note after {note_s:.1f} s, suspects and chart after "
              f"{time.monotonic() - began:.1f} s")
        expect(page.locator(".wb-title")).to_have_text("Valuation errors creeping up this "
                                                        "quarter")
        text = page.locator("#rendered_cells").inner_text()
        for name in HOUSING_NAMES:
            assert name in text, f"the housing page does not name its column {name!r}"
        html = page.content()
        for name in FRAUD_NAMES:
            assert name not in html, f"a fraud-sample column {name!r} is on the housing page"
        assert_no_server_detail(page, incidents)
        page.screenshot(path=str(artifacts_dir / "app-channel-housing.png"))


def test_past_the_cap_a_page_is_told_to_retry_and_closed_pages_are_culled(server, browser):
    wait_for_kernels(server, POOL, timeout=90)  # the pool; the pages before are culled
    statuses = []
    with pages(browser, CAP + 1) as tabs:
        for page in tabs:
            response = page.goto(link(server, "broken/incident.toml"), wait_until="commit")
            statuses.append(response.status if response else None)
            assert kernels(server) <= CAP
        busy = tabs[statuses.index(503)] if 503 in statuses else None
        assert busy is not None, f"no busy page past the cap of {CAP} kernels: {statuses}"
        expect(busy.get_by_text("Busy")).to_be_visible()
        assert "Retry in a moment" in busy.content()
        assert statuses[:CAP] == [200] * CAP
        assert kernels(server) <= CAP
    # The tabs are gone without saying so: their kernels are culled, the pool refilled.
    took = wait_for_kernels(server, POOL, timeout=CULL_AFTER + 60)
    print(f"kernels back to the pool size {POOL} {took:.0f} s after the pages closed")


def test_three_viewers_at_once_get_pre_rendered_pages(incidents, home, browser, artifacts_dir,
                                                     record_property):
    """`make app` on the housing incident, its diagnosis in the cache (the cold visit above)."""
    env = {"WORKBENCH_INCIDENT": str(incidents / HOUSING / "incident.toml"),
           "WORKBENCH_HOME": str(home)}
    with serve("notebooks/triage.ipynb", "app", env, artifacts_dir / "voila-channel-app.log",
               SERVER_ARGS) as app:
        wait_for_kernels(app, POOL, timeout=120)
        wait_until_idle(app)
        with pages(browser, 3) as viewers:
            starts = []
            for page in viewers:
                starts.append(time.time())
                page.goto(app.url, wait_until="commit")
            for page in viewers:
                page.wait_for_function("window.__wbReady", timeout=120_000)
            figures = [round(page.evaluate("window.__wbReady") / 1000 - start, 1)
                       for page, start in zip(viewers, starts, strict=True)]
            record_property("three_viewers_s", figures)
            print(f"three viewers at once: {figures} s")
            assert max(figures) <= THREE_VIEWERS_S, figures
            viewers[-1].screenshot(path=str(artifacts_dir / "app-channel-third-viewer.png"))
