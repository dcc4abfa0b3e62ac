"""Helpers of the app tests: open a notebook app in Voila, wait for its charts, read them, pick
options, and save screenshots of the whole page (Voila scrolls inside #rendered_cells, so the
viewport is stretched to the content first)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import (
    REPO_ROOT,
    VOILA_CELL_ERROR,
    VOILA_ON_CALL_ARGS,
    VOILA_READY_TIMEOUT,
    _stop,
    _VoilaProcess,
    _wait_until_listening,
    free_port,
)

# Refill Voila's kernel pool 60 s after a visit, not 1 s: the refill executes the notebook,
# which on a 2-core machine would compete with the browser rendering the first page.
VOILA_APP_ARGS = ("--VoilaKernelManager.fill_delay=60",)
TITLES = ".vega-embed svg .role-title-text"
MAX_SCREENSHOT_HEIGHT = 16_000


def open_app(voila_app, page: Page, notebook: str, incident: Path, charts: int,
             ready: str, warm: float = 0.0) -> float:
    """Serve a notebook on an incident, load it and wait until `ready` shows and at least
    `charts` chart titles are drawn. Returns seconds from navigation to that point."""
    url = voila_app(notebook, env={"WORKBENCH_INCIDENT": str(incident)}, args=VOILA_APP_ARGS)
    if warm:
        time.sleep(warm)
    began = time.monotonic()
    page.goto(url)
    wait_rendered(page, ready, charts, url)
    return time.monotonic() - began


def wait_rendered(page: Page, ready: str, charts: int, url=None, timeout_ms: int = 120_000):
    """Wait for the `ready` selector and `charts` chart titles; fail on a cell error."""
    cell_error = page.get_by_text(VOILA_CELL_ERROR)
    expect(page.locator(ready).first.or_(cell_error.first)).to_be_visible(timeout=timeout_ms)
    if cell_error.count():
        log = url.log_tail() if url is not None else ""
        pytest.fail(f"A notebook cell raised in Voila:\n{log}")
    try:
        page.wait_for_function(f"document.querySelectorAll({TITLES!r}).length >= {charts}",
                               timeout=timeout_ms)
    except PlaywrightTimeout:
        drawn = titles(page)
        status = page.locator(".wb-status").first.inner_text() if page.locator(
            ".wb-status").count() else ""
        log = url.log_tail() if url is not None else ""
        pytest.fail(f"{len(drawn)} of {charts} charts drawn after {timeout_ms / 1000:.0f} s: "
                    f"{drawn}\nstatus: {status!r}\n{log}\n{kernel_stacks()}")


def kernel_stacks() -> str:
    """The Python stacks of the running ipykernels, when py-spy is installed (why a page hangs)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return ""
    pids = subprocess.run(["pgrep", "-f", "ipykernel_launcher"], capture_output=True,
                          text=True).stdout.split()
    dumps = [subprocess.run([str(spy), "dump", "--pid", pid], capture_output=True, text=True,
                            timeout=60).stdout for pid in pids]
    return "\n".join(dumps)


def titles(page: Page) -> list[str]:
    """The titles of every chart on the page."""
    return [t.text_content() or "" for t in page.locator(TITLES).all()]


def chart_title(page: Page, text: str | re.Pattern) -> Locator:
    """The chart title containing `text`."""
    return page.locator(TITLES, has_text=text)


def select_by_label(select: Locator, pattern: str) -> str:
    """Pick the first option whose label matches the regular expression; return its label.

    ipywidgets writes spaces in option labels as no-break spaces: match them with `\\s`.
    """
    option = select.locator("option", has_text=re.compile(pattern)).first
    label = option.text_content() or ""
    select.select_option(value=option.get_attribute("value"))
    return label


def exact_label(label: str) -> str:
    """A pattern matching exactly `label`, whatever spaces ipywidgets wrote."""
    return "^" + r"\s+".join(re.escape(part) for part in label.split()) + "$"


def full_screenshot(page: Page, path: Path) -> Path:
    """A screenshot of the whole app, however long (the viewport grows to the content), once
    the kernel is idle (no busy note)."""
    expect(page.locator(".wb-busy")).to_have_count(0, timeout=60_000)
    height = page.evaluate(
        "() => { const el = document.querySelector('#rendered_cells');"
        " return el ? el.scrollHeight + 40 : document.documentElement.scrollHeight; }")
    size = page.viewport_size or {"width": 1400, "height": 1000}
    page.set_viewport_size({"width": size["width"],
                            "height": int(min(max(height, 600), MAX_SCREENSHOT_HEIGHT))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def timed(action, until) -> float:
    """Seconds between running `action()` and `until()` returning."""
    began = time.monotonic()
    action()
    until()
    return time.monotonic() - began


@contextlib.contextmanager
def voila_without_preheat(target: str, env: dict[str, str], log_path: Path):
    """A Voila server on a notebook or a folder (Voila's tree) whose kernels start per request
    (as `make apps` runs it), so each page reads its own `?incident=` query string. Yields its
    base URL; stopped on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "voila", str(REPO_ROOT / target), "--no-browser",
           f"--port={port}", "--Voila.ip=127.0.0.1", "--preheat_kernel=False",
           "--pool_size=0", *VOILA_ON_CALL_ARGS]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **env},
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = _VoilaProcess(proc, port, log_path)
    try:
        _wait_until_listening(server, VOILA_READY_TIMEOUT)
        yield server.url
    finally:
        _stop(server)


@contextlib.contextmanager
def jupyterlab(root: Path, env: dict[str, str], log_path: Path):
    """JupyterLab serving `root` (a temporary copy: Lab autosaves), without token or news;
    `--allow-root` when running as root. Yields its base URL; stopped on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}",
           "--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.news_url=",
           "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, **env},
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = _VoilaProcess(proc, port, log_path)  # same process handling as Voila's
    try:
        _wait_until_listening(server, VOILA_READY_TIMEOUT)
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(server)
