"""Charts of `workbench.charts` rendered to static SVG with vl-convert (no JavaScript, offline).

Each SVG gets an accessible `<title>` and, should the renderer emit element ids, a prefix per
chart so that several SVGs inlined in one HTML page cannot collide.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.exceptions import WorkbenchError


class ChartRenderError(WorkbenchError, RuntimeError):
    """vl-convert could not render a chart."""


def render_svg(chart: Any, chart_id: str, title: str) -> str:
    """SVG text of an Altair chart object (anything with `to_dict()` giving Vega-Lite)."""
    import vl_convert

    try:
        svg = vl_convert.vegalite_to_svg(chart.to_dict())
    except Exception as exc:  # vl-convert raises plain ValueError/RuntimeError
        raise ChartRenderError(f"Rendering the chart {chart_id!r} to SVG failed: {exc}. "
                               f"Check that vl-convert-python is installed.") from exc
    svg = _prefix_ids(svg, chart_id)
    safe = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(<svg\b[^>]*>)", rf'\1<title>{_escape_repl(safe)}</title>', svg, count=1)


def _escape_repl(text: str) -> str:
    return text.replace("\\", "\\\\")


def _prefix_ids(svg: str, prefix: str) -> str:
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    for old in ids:
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    return svg
