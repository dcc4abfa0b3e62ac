"""Benchmark: the on-call app in Voila + headless Chromium, phase by phase, against a trivial
Voila page in the same run.

For each notebook (triage: the guided page with all four phases; isolate; deep_dive) it prints
the time from navigation to the first complete render (every chart drawn), and on the guided
page the time each interaction takes to update its views: picking a feature, a slice, a failing
record, re-scoring a what-if, opening a layer's evidence, filtering a segment, moving the split.
Servers run as `make app` runs them: a pre-heated kernel (measured once it has finished
executing the notebook) and the pool refilled 60 s after a visit.

Usage: python benchmarks/bench_voila.py [--incident CONFIG] [--repeat 3] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import nbformat
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRIVIAL = "import ipywidgets as w\nw.HTML('<p class=\"ready\">ready</p>')"
TITLES = ".vega-embed svg .role-title-text"
# notebook -> (selector that shows the page is there, chart titles drawn on load)
PAGES = {
    "triage": (".wb-suspects tbody tr", 11),
    "isolate": (".wb-layer", 0),
    "deep_dive": (".wb-drift tbody tr", 9),
}
TARGET_RENDER_S = 5.0
TARGET_INTERACTION_S = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_ticks(pid: int) -> int:
    """CPU time (clock ticks) used by pid and all its descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        child = int(stat.parent.name)
        children[int(fields[1])].append(child)
        ticks[child] = int(fields[11]) + int(fields[12])
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += ticks.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def wait_until_idle(pid: int, quiet: float = 2.0, timeout: float = 180.0) -> None:
    """Wait until the server and its pre-heated kernel stop using CPU (notebook executed)."""
    deadline = time.time() + timeout
    last, since = cpu_ticks(pid), time.time()
    while time.time() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if now - last > 5:  # more than 0.05 s of CPU in half a second: still working
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return


def serve(notebook: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start Voila as `make app` does and wait until its pre-heated kernel is ready."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--preheat_kernel=True", "--pool_size=1",
         "--VoilaKernelManager.fill_delay=60", "--strip_sources=True",
         "--show_tracebacks=False"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(1)
                wait_until_idle(proc.pid)
                return proc, f"http://127.0.0.1:{port}/"
        time.sleep(0.2)
    raise SystemExit("Voila did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def render_time(page: Page, url: str, selector: str, charts: int) -> float:
    """Seconds from navigation to the selector being visible and `charts` charts drawn."""
    began = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector, timeout=120_000)
    page.wait_for_function(f"document.querySelectorAll({TITLES!r}).length >= {charts}",
                           timeout=120_000)
    return time.perf_counter() - began


def timed(action: Callable[[], None], until: Callable[[], None]) -> float:
    began = time.perf_counter()
    action()
    until()
    return time.perf_counter() - began


def pick(select, pattern: str) -> None:
    """Select the first option whose label matches (ipywidgets writes no-break spaces)."""
    option = select.locator("option", has_text=re.compile(pattern)).first
    select.select_option(value=option.get_attribute("value"))


def title(page: Page, text: str):
    return page.locator(TITLES, has_text=text)


def interactions(page: Page) -> dict[str, float]:
    """Each interaction of the guided page, timed until its views show the new content."""
    out = {}
    picker = page.locator(".wb-feature-picker select")
    out["feature switch (histogram + drift over time)"] = timed(
        lambda: pick(picker, r"^amount\s"),
        lambda: expect(title(page, "Drift of 'amount' over time")).to_have_count(1))
    slices = page.locator(".wb-slice-picker select")
    second = slices.locator("option").nth(1)
    label = (second.text_content() or "").replace("\xa0", " ")
    out["slice pick"] = timed(
        lambda: slices.select_option(value=second.get_attribute("value")),
        lambda: expect(page.locator(".wb-slice-numbers")).to_contain_text(label))
    records = page.locator(".wb-records select")
    option = records.locator("option").nth(3)
    rid = (option.text_content() or "").split()[0]
    out["failing record pick (SHAP + training panels)"] = timed(
        lambda: records.select_option(value=option.get_attribute("value")),
        lambda: expect(title(page, f"Where record {rid}'s")).to_have_count(1))
    pick(page.locator(".wb-whatif-feature select"), "^ratio$")
    page.locator(".wb-whatif-value input").fill("1.0")
    out["what-if re-score"] = timed(
        lambda: page.get_by_role("button", name="Re-score").click(),
        lambda: expect(page.locator(".wb-whatif")).to_contain_text(rid))
    row = page.locator(".wb-layer-input_data")
    out["layer evidence (input data: PSI over time)"] = timed(
        lambda: row.get_by_role("button", name="Evidence").click(),
        lambda: expect(row.locator(TITLES)).to_have_count(1))
    out["segment filter (severity, metric line, failing records)"] = timed(
        lambda: pick(page.locator(".wb-window select"), r"^channel=online\s"),
        lambda: expect(page.locator('.wb-severity[data-who="channel=online"]'))
        .to_have_count(1, timeout=60_000))
    expect(page.locator(".wb-busy")).to_have_count(0, timeout=60_000)
    page.locator(".wb-window input[type=datetime-local]").fill("2026-10-15T00:00")
    out["split change (full re-diagnosis)"] = timed(
        lambda: page.get_by_role("button", name="Apply split").click(),
        lambda: expect(page.locator(".wb-facts").first).to_contain_text(
            "2026-10-15 00:00 UTC", timeout=120_000))
    expect(page.locator(".wb-busy")).to_have_count(0, timeout=120_000)
    return out


def full_screenshot(page: Page, path: Path) -> None:
    """The whole page (Voila scrolls inside #rendered_cells: stretch the viewport first)."""
    height = page.evaluate("() => (document.querySelector('#rendered_cells') || "
                           "document.documentElement).scrollHeight + 40")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 16000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


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
    renders: dict[str, list[float]] = defaultdict(list)
    steps: dict[str, list[float]] = defaultdict(list)
    env = {"WORKBENCH_INCIDENT": str(args.incident.resolve())}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        trivial = Path(tmp) / "trivial.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRIVIAL)]),
                       trivial)
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url
                   else r.abort())
        expect.set_options(timeout=30_000)
        for i in range(args.repeat):
            proc, url = serve(trivial, {})
            renders["trivial Voila page (baseline)"].append(render_time(page, url, ".ready", 0))
            stop(proc)
            for name, (selector, charts) in PAGES.items():
                proc, url = serve(ROOT / "notebooks" / f"{name}.ipynb", env)
                try:
                    renders[f"{name}.ipynb"].append(render_time(page, url, selector, charts))
                    if i == 0:
                        full_screenshot(page, args.screenshots / f"app-{name}.png")
                    if name == "triage":
                        for step, seconds in interactions(page).items():
                            steps[step].append(seconds)
                        if i == 0:
                            full_screenshot(page, args.screenshots / "app-triage-after.png")
                finally:
                    stop(proc)
        browser.close()
    base = statistics.median(renders["trivial Voila page (baseline)"])
    print(f"{'page to first complete render':58}{'median s':>10}{'max s':>8}")
    for name, values in renders.items():
        ratio = "" if "baseline" in name else f"   {statistics.median(values) / base:.1f}x base"
        print(f"  {name:56}{statistics.median(values):>10.2f}{max(values):>8.2f}{ratio}")
    print(f"{'interaction on the guided page until its views updated':58}")
    for name, values in steps.items():
        print(f"  {name:56}{statistics.median(values):>10.2f}{max(values):>8.2f}")
    print(f"targets: first render <= {TARGET_RENDER_S:.0f} s, interaction <= "
          f"{TARGET_INTERACTION_S:.0f} s; {args.repeat} run(s); screenshots in "
          f"{args.screenshots} (app-*.png)")


if __name__ == "__main__":
    main()
