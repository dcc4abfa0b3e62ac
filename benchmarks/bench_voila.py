"""Benchmark: the on-call app in Voila + headless Chromium, phase by phase, against a trivial
Voila page in the same run.

For each notebook (triage: the guided page with all four phases; isolate; deep_dive) it prints
the time from navigation to the first complete render (every chart drawn), and on the guided
page the time each interaction takes to update its views: picking a feature, a slice, a failing
record, re-scoring a what-if, opening a layer's evidence, filtering a segment, moving the split.
Servers run with one pre-heated kernel (measured once it has finished executing the notebook).

The channel measurement (`--channel`, or `--only-channel`) serves the app as the incident
channel meets it, with the settings of voila.json and config/app|apps/voila.json:
- a cold first visit of a `?incident=` link (`make apps`, empty cache): seconds until the page
  shows a progress note naming the stage being computed (target 2 s) and until the suspects
  table and the metric chart show (target: the diagnosis time + 3 s);
- three viewers opening the page at the same moment with the diagnosis in the cache, on
  `make app` (pre-rendered pool), `make apps` (pool waiting for the link) and the former
  settings (one pre-heated kernel, pool refilled 60 s after a visit): seconds until each page
  shows the suspects table and the metric chart (target 5 s), and a fourth viewer 10 s later;
  `make app` runs once per `--fill-delay`.

Usage: python benchmarks/bench_voila.py [--incident CONFIG] [--repeat 3] [--screenshots DIR]
       [--channel | --only-channel] [--fill-delay 5 20]
"""

from __future__ import annotations

import argparse
import contextlib
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
from typing import Any

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
TARGET_NOTE_S = 2.0  # cold visit: progress note with the stage name
TARGET_COLD_EXTRA_S = 3.0  # cold visit: full page within the diagnosis time plus this
SUSPECTS = ".wb-suspects tbody tr"
STAGE_NOTE = re.compile(r"Working: \w+: ")
# Former `make app`: one pre-heated kernel, refilled 60 s after a visit, no cull, no cap.
FORMER_APP = ["--preheat_kernel=True", "--pool_size=1", "--VoilaKernelManager.fill_delay=60",
              "--strip_sources=True", "--show_tracebacks=False"]


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


def serve_channel(target: Path, config: str | None, env: dict[str, str],
                  args: list[str] = ()) -> tuple[subprocess.Popen, str]:
    """Start Voila on a notebook or a folder with voila.json and config/<config>/voila.json
    (None: no config file at all, only `args`), as the Makefile does; wait until idle."""
    port = free_port()
    if config is None:
        paths = [f"--Voila.config_file_paths={tempfile.mkdtemp()}"]
    else:
        paths = [f"--Voila.config_file_paths={ROOT / 'config' / config}",
                 f"--Voila.config_file_paths={ROOT}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(target), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", *paths, *args],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(1)
                wait_until_idle(proc.pid, timeout=300)
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


# Each page notes (wall clock, ms) when the progress note names a stage and when the suspects
# table and a chart are there: polling the pages from here would wait on whichever is busy.
WATCH = """(() => { const iv = setInterval(() => {
  const now = performance.timeOrigin + performance.now();
  const note = document.querySelector('.wb-busy');
  if (!window.__wbNote && note && /Working: \\w+: /.test(note.textContent)) {
    window.__wbNote = now; window.__wbNoteText = note.textContent; }
  if (document.querySelector(SUSPECTS) && document.querySelector(TITLES)) {
    window.__wbReady = now; clearInterval(iv); }
}, 50); })();""".replace("SUSPECTS", repr(SUSPECTS)).replace("TITLES", repr(TITLES))


def watched_page(browser) -> tuple[Any, Page]:
    """A page in a context of its own (another viewer) reaching only 127.0.0.1, watched."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url
                  else r.abort())
    context.add_init_script(WATCH)
    return context, context.new_page()


def seconds_until(page: Page, mark: str, since: float, timeout: float = 300) -> float:
    """Seconds from `since` (time.time()) until the page noted `mark`; inf after timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(Exception):
            at = page.evaluate(f"window.{mark} || 0")
            if at:
                return at / 1000 - since
        time.sleep(0.1)
    return float("inf")


def viewers_at_once(browser, url: str, n: int = 3, later: float | None = 10.0,
                    shots: Path | None = None) -> list[float]:
    """Open `n` pages (each its own browser context) at the same moment, and one more `later`
    seconds after; seconds until each shows the suspects table and the metric chart."""
    opened = [watched_page(browser) for _ in range(n + (later is not None))]
    pages = [page for _, page in opened]
    starts = []
    for page in pages[:n]:
        starts.append(time.time())
        page.goto(url, wait_until="commit", timeout=120_000)
    if later is not None:
        time.sleep(max(0.0, starts[0] + later - time.time()))
        starts.append(time.time())
        pages[n].goto(url, wait_until="commit", timeout=120_000)
    out = [seconds_until(page, "__wbReady", start)
           for page, start in zip(pages, starts, strict=True)]
    if shots is not None:
        full_screenshot(pages[n - 1], shots)
    for context, _ in opened:
        context.close()
    return out


def cold_visit(browser, url: str) -> tuple[float, float, str]:
    """Seconds until the progress note names a stage, until suspects and chart show; the note."""
    context, page = watched_page(browser)
    began = time.time()
    page.goto(url, wait_until="commit", timeout=120_000)
    full_s = seconds_until(page, "__wbReady", began)
    note_s = seconds_until(page, "__wbNote", began, timeout=1)
    text = page.evaluate("window.__wbNoteText || ''")
    context.close()
    return note_s, full_s, text.strip()


def channel(browser, incident: Path, fill_delays: list[float], shots: Path) -> None:
    """The channel figures (see the module docstring); prints them with their targets."""
    from workbench.investigation import Investigation

    incident = incident.resolve()
    served = incident.parent.parent
    link = "voila/render/triage.ipynb?incident=" + incident.relative_to(served).as_posix()
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as other:
        began = time.perf_counter()
        os.environ["WORKBENCH_HOME"] = other  # the diagnosis alone, in a cache of its own
        with Investigation.open(incident) as investigation:
            investigation.diagnose()
        diagnose_s = time.perf_counter() - began
        env = {"WORKBENCH_HOME": home, "WORKBENCH_INCIDENTS_DIR": str(served)}
        rows: list[tuple[str, list[float]]] = []
        proc, url = serve_channel(ROOT / "notebooks", "apps", env)
        try:
            note_s, full_s, note = cold_visit(browser, url + link)
            wait_until_idle(proc.pid, timeout=300)
            rows.append(("make apps (pool of 3 waiting for the link)",
                         viewers_at_once(browser, url + link)))
        finally:
            stop(proc)
        app_env = {"WORKBENCH_HOME": home, "WORKBENCH_INCIDENT": str(incident)}
        for delay in fill_delays:
            proc, url = serve_channel(ROOT / NOTEBOOK, "app", app_env,
                                      [f"--VoilaKernelManager.fill_delay={delay:g}"])
            try:
                rows.append((f"make app (pool of 3 pre-rendered, fill_delay={delay:g} s)",
                             viewers_at_once(browser, url,
                                             shots=shots / "app-channel-third-viewer.png")))
            finally:
                stop(proc)
        proc, url = serve_channel(ROOT / NOTEBOOK, None, app_env, FORMER_APP)
        try:
            rows.append(("former make app (1 pre-heated, fill_delay=60 s)",
                         viewers_at_once(browser, url)))
        finally:
            stop(proc)
    print(f"cold first visit of a ?incident= link (make apps, empty cache); diagnosis alone "
          f"{diagnose_s:.1f} s")
    print(f"  progress note with the stage name  {note_s:>6.1f} s  (target {TARGET_NOTE_S:.0f} "
          f"s; {note_s / TARGET_NOTE_S:.1f}x)  {note!r}")
    target = diagnose_s + TARGET_COLD_EXTRA_S
    print(f"  suspects table and metric chart    {full_s:>6.1f} s  (target diagnosis + "
          f"{TARGET_COLD_EXTRA_S:.0f} s = {target:.1f} s; {full_s / target:.2f}x)")
    print(f"three viewers at the same moment, diagnosis cached; seconds until each shows the "
          f"suspects and the chart (target {TARGET_RENDER_S:.0f} s), and a fourth 10 s later")
    for name, times in rows:
        cells = "  ".join(f"{t:6.1f}" for t in times)
        worst = max(times[:3])
        print(f"  {name:56}{cells}   worst of 3: {worst / TARGET_RENDER_S:.1f}x target")


NOTEBOOK = Path("notebooks") / "triage.ipynb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incident", type=Path,
                        default=ROOT / "sample_data" / "fraud_weekend" / "incident.toml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--channel", action="store_true",
                        help="also measure the cold visit and three viewers at once")
    parser.add_argument("--only-channel", action="store_true",
                        help="measure only the cold visit and three viewers at once")
    parser.add_argument("--fill-delay", type=float, nargs="+", default=[5.0],
                        help="make app pool refill delays to measure the viewers with")
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
        if args.only_channel:
            channel(browser, args.incident, args.fill_delay, args.screenshots)
            browser.close()
            return
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
        if args.channel:
            channel(browser, args.incident, args.fill_delay, args.screenshots)
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
