"""Benchmark: the triage app in Voila + headless Chromium, against a trivial Voila page.

Prints page-to-first-complete-render and feature-switch times for the triage app on the sample
incident, next to the same server/browser rendering a one-widget notebook in the same run.
Usage: python benchmarks/bench_voila.py [--incident CONFIG] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRIVIAL = "import ipywidgets as w\nw.HTML('<p class=\"ready\">ready</p>')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(notebook: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start Voila with a pre-heated kernel and wait until it accepts connections."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--preheat_kernel=True", "--pool_size=1",
         "--strip_sources=True", "--show_tracebacks=False"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}/"
        time.sleep(0.2)
    raise SystemExit("Voila did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def render_time(page, url: str, selectors: list[str]) -> float:
    """Seconds from navigation to every selector being visible."""
    began = time.perf_counter()
    page.goto(url)
    for selector in selectors:
        page.wait_for_selector(selector, timeout=120_000)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incident", type=Path,
                        default=ROOT / "sample_data" / "fraud_weekend" / "incident.toml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    if not args.incident.is_file():
        raise SystemExit(f"{args.incident} is missing: run `make sample` first")
    args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRIVIAL)])
        nbformat.write(nb, trivial)
        env = {"WORKBENCH_INCIDENT": str(args.incident.resolve())}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url
                       else r.abort())
            base, app, switch = [], [], []
            for _ in range(args.repeat):
                proc, url = serve(trivial, {})
                time.sleep(3)  # let the pre-heated kernel finish, as for the app below
                base.append(render_time(page, url, [".ready"]))
                stop(proc)
                proc, url = serve(ROOT / "notebooks" / "triage.ipynb", env)
                time.sleep(3)
                app.append(render_time(page, url, [".wb-suspects tbody tr",
                                                   ".vega-embed svg .role-title-text"]))
                page.screenshot(path=str(args.screenshots / "triage.png"), full_page=True)
                picker = page.locator("select").first
                options = picker.locator("option")
                value = options.nth(options.count() - 1).get_attribute("value")
                label = options.nth(options.count() - 1).inner_text().split()[0]
                began = time.perf_counter()
                picker.select_option(value=value)
                page.wait_for_selector(f".vega-embed svg .role-title-text >> text=Feature "
                                       f"'{label}'", timeout=30_000)
                switch.append(time.perf_counter() - began)
                stop(proc)
            browser.close()
    b, a, s = (statistics.median(x) for x in (base, app, switch))
    print(f"{'':40}{'median s':>10}")
    print(f"{'trivial Voila page (baseline)':40}{b:>10.2f}")
    print(f"{'triage app, page to complete render':40}{a:>10.2f}   ratio {a / b:.2f}x")
    print(f"{'triage app, feature switch redraw':40}{s:>10.2f}")
    print("targets: first render <= 5 s, interaction <= 1 s; screenshot "
          f"{args.screenshots / 'triage.png'}")


if __name__ == "__main__":
    main()
