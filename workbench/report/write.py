"""`write_report`: take the incident's diagnosis (from the diagnosis cache unless given) and
verify a fix against it, then write the post-mortem as HTML, Markdown and JSON with its charts as
SVG files, and record the report in the journal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbench import charts
from workbench.cache import cached_diagnose
from workbench.config import Incident, load_incident
from workbench.data import LogStore
from workbench.journal import Journal, check_writable_location, slug, workbench_home
from workbench.postmortem import digest
from workbench.report.build import build_report
from workbench.report.document import to_html, to_markdown
from workbench.report.model import ChartRef, PostMortem
from workbench.report.render import document, meta_line
from workbench.report.svg import render_svg
from workbench.results import Diagnosis, Serialisable
from workbench.verify import verify_fix
from workbench.verify.results import Verification

Progress = Callable[[str], None]
HTML_NAME, MARKDOWN_NAME, JSON_NAME = "report.html", "report.md", "report.json"
CHARTS_DIR = "charts"


@dataclass(frozen=True)
class ReportFiles(Serialisable):
    """Where the report was written."""

    folder: Path
    html: Path
    markdown: Path
    json: Path
    charts: tuple[Path, ...]

    def to_dict(self) -> dict:
        """Paths as strings."""
        return {"folder": str(self.folder), "html": str(self.html),
                "markdown": str(self.markdown), "json": str(self.json),
                "charts": [str(p) for p in self.charts]}


def default_report_dir(incident: Incident) -> Path:
    """`$WORKBENCH_HOME/reports/<incident-slug>/`."""
    return workbench_home() / "reports" / slug(incident)


def write_report(incident: Incident | str | Path, out_dir: str | Path | None = None, *,
                 fix: str | None = None, diagnosis: Diagnosis | None = None,
                 verification: Verification | None = None, journal: Journal | None = None,
                 store: LogStore | None = None, progress: Progress | None = None,
                 record: bool = True) -> tuple[PostMortem, ReportFiles]:
    """Build and write the post-mortem; returns it and the written files.

    diagnosis: the diagnosis to report (default: the cached one, computed once when missing).
    fix: verify this `[[fixes]]` entry against it (recorded in the journal) unless a
    `verification` is given. record: add a "report" entry to the journal, naming the diagnosis
    by its cache key (when known) and content digest, so a post-mortem review reopens it whole.
    """
    say = progress or (lambda _msg: None)
    if not isinstance(incident, Incident):
        incident = load_incident(incident)
    folder = Path(out_dir) if out_dir is not None else default_report_dir(incident)
    check_writable_location(folder, incident, "report")
    journal = journal if journal is not None else Journal.for_incident(incident)
    own = store is None
    store = store or LogStore(incident)
    key = None  # the diagnosis cache key, when the report computed or loaded it there
    try:
        if diagnosis is None:
            found = cached_diagnose(incident, store=store, progress=say)
            diagnosis, key = found.diagnosis, found.key
        if verification is None and fix is not None:
            verification = verify_fix(incident, fix, store=store, diagnosis=diagnosis,
                                      progress=say, journal=journal)
    finally:
        if own:
            store.close()
    say("rendering charts")
    chart_refs, svgs = _charts(diagnosis)
    report = build_report(incident, diagnosis, verification, journal, chart_refs)
    data = report.to_dict()
    say(f"writing the report into {folder}")
    files = _write(folder, data, svgs)
    if record:
        journal.record("report", f"Post-mortem report written to {files.html}",
                       params={"config": str(incident.path) if incident.path else None,
                               "out": str(folder), "fix": fix or (verification.fix.name
                                                                  if verification else None),
                               "diagnosis_key": key, "diagnosis_digest": digest(diagnosis)},
                       result=files.to_dict())
    return report, files


def _charts(d: Diagnosis) -> tuple[tuple[ChartRef, ...], dict[str, str]]:
    """The evidence charts: metric over time, and the root-cause feature's histogram."""
    specs = []
    if d.series:
        title = d.metric.name.replace("_", " ").capitalize() + " per " + d.bucket
        specs.append(("metric_over_time", title, charts.metric_over_time(d)))
    feature = next((h.feature for h in d.hypotheses if h.feature), None)
    hist = d.histogram(feature) if feature else None
    if hist is not None:
        specs.append(("feature_histogram", f"Feature '{feature}': production vs training",
                      charts.histogram_overlay(hist, include_baseline=True)))
    refs, svgs = [], {}
    for chart_id, title, chart in specs:
        svgs[chart_id] = render_svg(chart, chart_id, title)
        refs.append(ChartRef(chart_id, title, f"{CHARTS_DIR}/{chart_id}.svg"))
    return tuple(refs), svgs


def _write(folder: Path, data: dict, svgs: dict[str, str]) -> ReportFiles:
    (folder / CHARTS_DIR).mkdir(parents=True, exist_ok=True)
    chart_files = []
    for ref in data["charts"]:
        path = folder / ref["file"]
        _atomic_write(path, svgs[ref["id"]])
        chart_files.append(path)
    doc = document(data, svgs)
    paths = {name: folder / name for name in (HTML_NAME, MARKDOWN_NAME, JSON_NAME)}
    _atomic_write(paths[JSON_NAME], json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    _atomic_write(paths[MARKDOWN_NAME], to_markdown(doc))
    _atomic_write(paths[HTML_NAME], to_html(doc, meta_line(data)))
    return ReportFiles(folder, paths[HTML_NAME], paths[MARKDOWN_NAME], paths[JSON_NAME],
                       tuple(chart_files))


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
