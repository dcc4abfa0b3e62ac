"""Altair charts as live widgets rendering offline (no CDN): JupyterChart, SVG renderer."""

from __future__ import annotations

import altair as alt

EMBED_OPTIONS = {"renderer": "svg", "actions": False}
_offline = False


def enable_offline() -> None:
    """Serve Vega from the local bundle instead of a CDN (once per kernel)."""
    global _offline
    if not _offline:
        alt.JupyterChart.enable_offline()
        _offline = True


def chart_widget(chart: alt.TopLevelMixin) -> alt.JupyterChart:
    """A JupyterChart showing `chart`; assign `.chart` later to redraw in place."""
    enable_offline()
    return alt.JupyterChart(chart, embed_options=EMBED_OPTIONS)
