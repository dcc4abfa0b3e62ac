"""Building blocks of the views: a state-bound view with its own error panel, a chart slot that
redraws in place, and small HTML helpers (formatting only, no statistics)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import altair as alt
import ipywidgets as w

from widgets.charting import chart_widget
from widgets.state import IncidentState, readable
from workbench.timeutil import iso

_PLAIN = (str, int, float, bool, type(None), datetime)


def _same(a: tuple, b: tuple | None) -> bool:
    """Whether two render keys are equal: plain values by value, results by identity."""
    if b is None or len(a) != len(b):
        return False
    return all((x == y) if isinstance(x, _PLAIN) and isinstance(y, _PLAIN) else x is y
               for x, y in zip(a, b, strict=True))


class View(w.VBox):
    """A view of the shared state: redraws once per change of the traits it draws.

    Subclasses set `observes` (the state traits they draw), `requires` (optional results they
    need computed, see IncidentState.require) and `problems` (the result names whose
    unavailability they explain), build their children in `build()` and draw in `render()`.
    An exception while drawing shows as this view's own readable error panel.
    """

    observes: tuple[str, ...] = ("diagnosis",)
    requires: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def __init__(self, state: IncidentState, **kwargs: Any) -> None:
        self.state = state
        self.notice = w.HTML()
        self.notice.add_class("wb-notice")
        self._drawn: tuple | None = None  # the trait values last drawn (to draw each once)
        super().__init__([self.notice, *self.build()], **kwargs)
        self.add_class("wb-view")
        names = list(self.observes) + (["problems"] if self.problems else [])
        state.observe(self._refresh, names=names)
        if self.requires:
            state.require(*self.requires)
        self._refresh()

    def build(self) -> list[w.Widget]:
        """Create the children (once)."""
        return []

    def render(self) -> None:
        """Draw from the state."""

    def _key(self) -> tuple:
        values = tuple(getattr(self.state, name) for name in self.observes)
        found = tuple(self.state.problems.get(name) for name in self.problems)
        return values + found

    def _refresh(self, change: dict | None = None) -> None:
        key = self._key()
        if _same(key, self._drawn):
            return
        self._drawn = key
        messages = [self.state.problems[n] for n in self.problems if self.state.problems.get(n)]
        try:
            with self.hold_sync():
                self.render()
        except Exception as exc:  # noqa: BLE001 - app users see a sentence, not a traceback
            messages.append(f"This view could not be drawn. {readable(exc)}")
        self.notice.value = error_panel(messages) if messages else ""


class ChartSlot(w.VBox):
    """Where one Altair chart lives: created on first draw, redrawn in place after."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__([], **kwargs)
        self.add_class("wb-chart")
        self.widget: alt.JupyterChart | None = None

    def show(self, chart: alt.TopLevelMixin) -> None:
        """Draw or redraw the chart."""
        if self.widget is None:
            self.widget = chart_widget(chart)
            self.children = [self.widget]
        else:
            self.widget.chart = chart

    def clear(self) -> None:
        """Remove the chart."""
        self.widget = None
        self.children = []


# ---- HTML helpers ------------------------------------------------------------------------------


def esc(value: Any) -> str:
    """HTML-escaped text of a value."""
    return html.escape("" if value is None else str(value))


def fmt(value: Any, pct: bool = False, digits: int = 4) -> str:
    """A number for people: 'n/a' for missing, percentages with two decimals."""
    if value is None:
        return "n/a"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, str):
        return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if x != x:  # NaN
        return "n/a"
    if pct:
        return f"{x:.2%}"
    if x.is_integer() and abs(x) >= 1000:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def when(value: datetime | None) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM UTC'."""
    if value is None:
        return "n/a"
    return iso(value)[:16].replace("T", " ") + " UTC"


def is_rate(metric: str) -> bool:
    """Whether a metric reads as a percentage."""
    return "rate" in metric or metric in ("precision", "recall")


def error_panel(messages: Iterable[str], title: str = "Something is unavailable") -> str:
    """A readable error panel (no traceback)."""
    body = "\n".join(esc(m) for m in messages)
    return f'<div class="wb-error"><b>{esc(title)}.</b>\n{body}</div>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "",
          row_classes: Sequence[str] | None = None) -> str:
    """An HTML table; cells are already-escaped HTML."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        rc = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{rc}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return (f'<table class="wb-table {cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def facts(pairs: Iterable[tuple[str, str]], cls: str = "") -> str:
    """Fact cards: each (label, already-escaped HTML value) as a small labelled box."""
    cards = "".join(f'<div class="wb-fact"><b>{esc(k)}</b>{v}</div>' for k, v in pairs)
    return f'<div class="wb-facts{" " + cls if cls else ""}">{cards}</div>'


def section(title: str, hint: str = "") -> w.HTML:
    """A section heading with a one-line hint."""
    small = f"<p class='wb-hint'>{esc(hint)}</p>" if hint else ""
    return w.HTML(f"<h3 class='wb-section'>{esc(title)}</h3>{small}")
