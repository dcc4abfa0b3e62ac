"""Phase 4, fix and verify: a slot the fix-and-verify widget fills; until then it shows the
baseline/current comparison a fix has to close."""

from __future__ import annotations

import ipywidgets as w

from widgets.base import View, esc, fmt, is_rate, section, table, when


class BaselineCurrentView(View):
    """The two windows side by side: what 'back to normal' means for this incident."""

    observes = ("diagnosis", "impact")
    requires = ("impact",)
    problems = ("impact",)

    def build(self) -> list[w.Widget]:
        self.html = w.HTML()
        return [self.html]

    def render(self) -> None:
        d, impact = self.state.diagnosis, self.state.impact
        if d is None:
            self.html.value = ""
            return
        m = d.metric
        pct = is_rate(m.name)
        b, c = d.baseline_window, d.current_window
        rows = [
            ["window", f"{esc(when(b.start))} → {esc(when(b.end))}",
             f"{esc(when(c.start))} → {esc(when(c.end))}"],
            [esc(m.name.replace("_", " ")), fmt(m.baseline, pct),
             f'<span class="wb-bad">{fmt(m.current, pct)}</span>'],
        ]
        if impact is not None:
            o = impact.overall
            rows.append(["rows", f"{o.rows_baseline:,}", f"{o.rows_current:,}"])
            rows.append(["extra bad outcomes", "—",
                         "n/a" if o.excess is None else f"{o.excess:,.0f}"])
        target = (f"<p>A fix is verified when {esc(m.name.replace('_', ' '))} on replayed or "
                  f"new traffic is back near <b>{fmt(m.baseline, pct)}</b> (it is "
                  f"<b>{fmt(m.current, pct)}</b> since the split), and no segment's rate "
                  f"rises in exchange.</p>")
        self.html.value = target + table(["", "baseline (before the split)",
                                          "current (since the split)"], rows, "wb-compare")


class VerifySlot(w.VBox):
    """Where the fix-and-verify widget goes; `fill(widget)` puts it in, `clear()` takes it out.

    The widget given should be built over the same IncidentState, so that it follows the
    window the other phases show.
    """

    def __init__(self, state) -> None:
        self.state = state
        self.placeholder = w.VBox([
            w.HTML("<p class='wb-hint wb-verify-placeholder'>No fix to verify yet. Replaying "
                   "the failing window through a candidate fix will appear here; meanwhile, "
                   "this is the gap a fix has to close.</p>"),
            BaselineCurrentView(state),
        ])
        super().__init__([self.placeholder])
        self.add_class("wb-verify-slot")

    @property
    def view(self) -> w.Widget | None:
        """The fix-and-verify widget shown, or None while the placeholder is."""
        shown = self.children[0] if self.children else None
        return None if shown is self.placeholder else shown

    def fill(self, widget: w.Widget) -> None:
        """Show `widget` instead of the placeholder."""
        self.children = [widget]

    def clear(self) -> None:
        """Show the placeholder again."""
        self.children = [self.placeholder]


class VerifyPhase(w.VBox):
    """Phase 4 as one widget: the slot under its heading."""

    def __init__(self, state) -> None:
        self.slot = VerifySlot(state)
        super().__init__([
            section("Did the fix work?", "Replay the failing window through the fix and compare "
                    "with the baseline; then deploy with monitoring."),
            self.slot,
        ])
        self.add_class("wb-phase")
        self.add_class("wb-phase-verify")
