"""The post-mortem report: HTML (charts inline as SVG), Markdown and JSON with one schema.

Typical use::

    from workbench.report import write_report
    report, files = write_report("incident.toml", "out/", fix="recompute-ratio")

The schema is documented in `docs/report-schema.md` (`schema = "workbench.postmortem"`,
`schema_version = 1`).
"""

from workbench.report.build import build_report
from workbench.report.model import (
    SCHEMA,
    SCHEMA_VERSION,
    ChartRef,
    FollowUp,
    HypothesisOutcome,
    PostMortem,
    TimelineEvent,
)
from workbench.report.write import ReportFiles, default_report_dir, write_report

__all__ = [
    "SCHEMA", "SCHEMA_VERSION", "ChartRef", "FollowUp", "HypothesisOutcome", "PostMortem",
    "ReportFiles", "TimelineEvent", "build_report", "default_report_dir", "write_report",
]
