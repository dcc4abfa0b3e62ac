"""Shared fixtures: a Voila server per test, headless Chromium, notebook execution.

Browser tests never reach the network: every request that is not to the local server is
aborted and recorded, and a test fails if anything but a known icon-font stylesheet was tried.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# What an on-call user gets (also in voila.json, repeated so tests do not depend on the cwd).
VOILA_ON_CALL_ARGS = ("--strip_sources=True", "--show_tracebacks=False")
VOILA_READY_TIMEOUT = 60.0
VOILA_STOP_TIMEOUT = 10.0
BROWSER_TIMEOUT_MS = 60_000
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Voila's page templates link a FontAwesome stylesheet on a CDN; only icons miss it offline.
ALLOWED_EXTERNAL_STYLESHEET = re.compile(
    r"^https://cdn\.jsdelivr\.net/npm/"
    r"(?:@fortawesome/fontawesome-free|font-awesome)@[^/]+/css/[\w.-]+\.css$"
)


# ---------------------------------------------------------------------------------------------
# Small helpers


def free_port() -> int:
    """A TCP port that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "test"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Voila colours its tracebacks
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """`test-artifacts/` at the repository root (created): logs and screenshots go there."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


# ---------------------------------------------------------------------------------------------
# Voila


# What Voila shows instead of a cell's output when the cell raised (tracebacks are hidden).
VOILA_CELL_ERROR = "There was an error when executing cell"


class VoilaURL(str):
    """The server's base URL; `.log_path` is where its output goes."""

    log_path: Path

    def __new__(cls, url: str, log_path: Path) -> VoilaURL:
        self = super().__new__(cls, url)
        self.log_path = log_path
        return self

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)


@dataclass
class _VoilaProcess:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> VoilaURL:
        return VoilaURL(f"http://127.0.0.1:{self.port}/", self.log_path)


def _descendants(pid: int) -> list[int]:
    """Every live descendant of pid (kernels run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(server: _VoilaProcess) -> None:
    """SIGTERM to the server's process group (Voila shuts its kernels down), SIGKILL after 10 s."""
    proc = server.proc
    if proc.poll() is not None:
        return
    leftovers = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=VOILA_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=VOILA_STOP_TIMEOUT)
    for pid in leftovers:  # kernels Voila did not get to shut down
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _wait_until_listening(server: _VoilaProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            pytest.fail(
                f"Voila exited with code {server.proc.returncode} before listening on port "
                f"{server.port}. Log {server.log_path}:\n{_tail(server.log_path)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                pass
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Voila did not listen on port {server.port} within {timeout:.0f} s. "
                    f"Log {server.log_path}:\n{_tail(server.log_path)}"
                )
            time.sleep(0.1)
        else:
            if server.proc.poll() is None:  # the listener is ours, not a port-stealer
                return


@pytest.fixture
def voila_app(request, artifacts_dir) -> Iterator[Callable[..., VoilaURL]]:
    """Factory: `voila_app(notebook, env={...}, args=(...))` serves one notebook, returns its URL.

    Voila runs in its own process group from the repository root with a pre-heated kernel,
    its output in `test-artifacts/voila-<test>-<port>.log` (the URL's `.log_path`); every
    server is stopped at teardown.
    """
    started: list[_VoilaProcess] = []

    def start(
        notebook: str | os.PathLike,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        timeout: float = VOILA_READY_TIMEOUT,
    ) -> VoilaURL:
        notebook = Path(notebook)
        if not notebook.is_absolute():
            notebook = REPO_ROOT / notebook
        if not notebook.is_file():
            pytest.fail(f"No notebook to serve at {notebook}")
        port = free_port()
        log_path = artifacts_dir / f"voila-{_safe_name(request.node.name)}-{port}.log"
        cmd = [
            sys.executable, "-m", "voila", str(notebook),
            "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--preheat_kernel=True", "--pool_size=1", *VOILA_ON_CALL_ARGS, *args,
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = _VoilaProcess(proc, port, log_path)
        started.append(server)
        _wait_until_listening(server, timeout)
        return server.url

    yield start
    for server in reversed(started):
        _stop(server)


# ---------------------------------------------------------------------------------------------
# Browser


@dataclass
class NetworkLog:
    """Requests that tried to leave the machine (all were aborted)."""

    blocked: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> list[str]:
        return [url for url in self.blocked if ALLOWED_EXTERNAL_STYLESHEET.match(url)]

    @property
    def unexpected(self) -> list[str]:
        return [url for url in self.blocked if not ALLOWED_EXTERNAL_STYLESHEET.match(url)]


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: browser tests need Debian's chromium. Run `make chromium`.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright (a fresh temporary profile per launch)."""
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # Kernels start slowly on small shared machines: 60 s, not Playwright's 5 s, for `expect`.
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def network_log() -> NetworkLog:
    """What the `page` fixture blocked; tests may assert on it."""
    return NetworkLog()


@pytest.fixture
def page(request, browser, network_log, artifacts_dir):
    """A page in a fresh context where only 127.0.0.1/localhost is reachable.

    At teardown it saves `test-artifacts/<test>.png` (pass or fail), writes the console to
    `<test>.console.log`, and fails the test if a request other than the known icon-font
    stylesheet tried to leave the machine.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)

    def guard(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            network_log.blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))

    yield page

    name = _safe_name(request.node.name)
    try:
        page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
    except Exception as exc:  # a crashed page must not hide the test's own outcome
        warnings.warn(f"No screenshot for {request.node.nodeid}: {exc}", stacklevel=1)
    (artifacts_dir / f"{name}.console.log").write_text("\n".join(console) + "\n")
    context.close()

    for url in sorted(set(network_log.allowed)):
        warnings.warn(f"Blocked a known CDN stylesheet (icons only): {url}", stacklevel=1)
    unexpected = sorted(set(network_log.unexpected))
    if unexpected:
        pytest.fail(
            "The page tried to reach the network (requests were blocked):\n  "
            + "\n  ".join(unexpected),
            pytrace=False,
        )


# ---------------------------------------------------------------------------------------------
# Notebook execution


def run_notebook(path: str | os.PathLike, env: Mapping[str, str] | None = None, timeout: int = 300):
    """Execute a notebook top to bottom (kernel python3, cwd = its folder); return it.

    Every cell runs even after an error; the test then fails listing all error outputs.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env={**os.environ, **(env or {})})
    except (CellTimeoutError, DeadKernelError) as exc:
        pytest.fail(f"{path}: {type(exc).__name__}: {exc}", pytrace=False)

    errors = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                errors.append(
                    f"cell {index} ({first_line!r}): {output.get('ename')}: {output.get('evalue')}"
                )
    if errors:
        pytest.fail(f"{path} raised:\n  " + "\n  ".join(errors), pytrace=False)
    return nb


# ---------------------------------------------------------------------------------------------
# The bundled sample incident, generated once per test session


@pytest.fixture(scope="session")
def sample_incident(tmp_path_factory) -> Path:
    """Path of the sample incident's config, generated at its default size into a temp folder."""
    from sample_data.fraud import generate

    return generate(tmp_path_factory.mktemp("fraud_weekend"))


# ---------------------------------------------------------------------------------------------
# Isolation


@pytest.fixture(scope="session", autouse=True)
def session_workbench_home(tmp_path_factory) -> Iterator[Path]:
    """WORKBENCH_HOME in a session folder: journals, reports and the diagnosis and run caches
    of tests never land in the user's ~/.workbench (tests needing an empty one set their own)."""
    home = tmp_path_factory.mktemp("workbench_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        yield home
