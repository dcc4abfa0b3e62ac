"""The trace view: which data change or commit made a retrained model worse.

`TraceState` holds the recorded runs, the chosen good and bad run, and the `Trace` and
`Ablation` results the core computed for them (read-only traits). `TraceView` draws the runs on
a timeline, the diff, the delta experiments against their noise band, the bisect path and the
ablation chart; picking another pair and pressing "Trace" recomputes (re-runs are cached). No
statistic is computed here: every number comes from the results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets

from widgets.base import esc, section, table
from widgets.charting import chart_widget
from widgets.state import readable
from widgets.style import CSS
from workbench import charts
from workbench.config import Incident
from workbench.exceptions import WorkbenchError
from workbench.lineage.ablate import ablate
from workbench.lineage.manifest import Manifest, find_manifests
from workbench.lineage.results import Ablation, DataChange, Trace, label_value
from workbench.lineage.runner import Runner
from workbench.lineage.trace import trace

TRACE_CSS = """
<style>
.wb-trace-verdict { border-left: 4px solid #4c78a8; padding: 0.5em 0.9em; margin: 0.4em 0;
                    background: rgba(76, 120, 168, 0.08); }
.wb-trace .wb-good { color: #2e7d32; font-weight: 600; }
.wb-trace .wb-bad { color: #c62828; font-weight: 600; }
.wb-trace code { font-size: 0.9em; }
</style>
"""


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


class TraceState(traitlets.HasTraits):
    """Runs, the chosen pair, and the trace and ablation computed for it."""

    good = traitlets.Unicode("", help="name (model version) of the good run")
    bad = traitlets.Unicode("", help="name (model version) of the bad run")
    trace = traitlets.Instance(Trace, allow_none=True, read_only=True,
                               help="the trace of the chosen pair, once computed")
    ablation = traitlets.Instance(Ablation, allow_none=True, read_only=True,
                                  help="per-feature ablation of the chosen pair")
    busy = traitlets.Unicode("", help="what is being computed now; empty when idle")
    error = traitlets.Unicode("", help="a readable error message; empty when all is well")

    def __init__(self, manifests: Sequence[Manifest] = (),
                 snapshots: Sequence[str | Path] | None = None, repeats: int = 5,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.manifests = tuple(manifests)
        self.snapshots = list(snapshots) if snapshots else None
        self.repeats = repeats

    @classmethod
    def from_folder(cls, folder: str | Path, good: str = "", bad: str = "",
                    snapshots: Sequence[str | Path] | None = None) -> TraceState:
        """State over every manifest under a folder (errors land in `error`)."""
        try:
            found = find_manifests(folder)
        except WorkbenchError as exc:
            return cls(error=str(exc))
        if len(found) < 2:
            return cls(error=f"Found {len(found)} run manifest(s) under {folder}; a trace "
                             f"needs a good and a bad run.")
        names = [m.name for m in found]
        return cls(found, snapshots, good=good or names[0], bad=bad or names[-1])

    @classmethod
    def from_build(cls, build: Callable[[], tuple[str | Path, Sequence[str | Path] | None]],
                   good: str = "", bad: str = "") -> TraceState:
        """State over the runs a build step writes first: `build()` returns the folder of their
        manifests and the data snapshots to bisect (or None); its errors land in `error`."""
        try:
            folder, snapshots = build()
        except Exception as exc:  # noqa: BLE001 - app users see a sentence, not a traceback
            return cls(error=f"Preparing the runs failed. {readable(exc)}")
        return cls.from_folder(folder, good, bad, snapshots)

    @classmethod
    def for_incident(cls, incident: Incident | None) -> TraceState:
        """The runs of an incident's model versions (`[lineage] manifests` of its config)."""
        if incident is None or incident.lineage is None:
            return cls(error="The incident config has no [lineage] section: name the folder of "
                             "the model versions' run manifests there (`manifests = ...`) to "
                             "trace a retrained model's regression.")
        manifests = Path(incident.lineage.manifests)
        return cls.from_folder(manifests if manifests.is_absolute()
                               else incident.base_dir / manifests)

    def manifest(self, name: str) -> Manifest | None:
        """The run of that name."""
        return next((m for m in self.manifests if m.name == name), None)

    def run(self) -> None:
        """Trace the chosen pair and ablate its features; errors land in `error`."""
        good, bad = self.manifest(self.good), self.manifest(self.bad)
        if good is None or bad is None or good is bad:
            self.error = "Pick two different runs: a good one and a bad one."
            return
        self.error = ""
        try:
            with Runner(progress=self._progress) as runner:
                self.busy = f"tracing {good.name} -> {bad.name}"
                result = trace(good, bad, runner=runner, repeats=self.repeats,
                               snapshots=self.snapshots, progress=self._progress)
                self.busy = "ablating features"
                ablation = ablate(bad, runner, good=good, repeats=self.repeats) \
                    if bad.features or bad.input("train") else None
        except Exception as exc:  # noqa: BLE001 - app users see a sentence, not a traceback
            self.error = readable(exc)
            return
        finally:
            self.busy = ""
        with self.hold_trait_notifications():
            self.set_trait("trace", result)
            self.set_trait("ablation", ablation)

    def _progress(self, message: str) -> None:
        self.busy = message


class TraceView(w.VBox):
    """Timeline, pickers, verdict, diff, delta experiments, bisect path and ablation."""

    def __init__(self, state: TraceState) -> None:
        self.state = state
        names = [m.name for m in state.manifests]
        self.good = w.Dropdown(options=names, value=state.good or None, description="Good run")
        self.bad = w.Dropdown(options=names, value=state.bad or None, description="Bad run")
        self.go = w.Button(description="Trace", button_style="primary", icon="search")
        self.go.on_click(lambda _b: self._trace())
        self.status = w.HTML()
        self.verdict = w.HTML()
        self.diff = w.HTML()
        self.experiments = w.HTML()
        self.bisect = w.HTML()
        self.ablation = w.HTML()
        self.charts: dict[str, w.VBox] = {k: w.VBox() for k in
                                          ("timeline", "effects", "bisect", "ablation")}
        super().__init__([
            w.HTML(CSS + TRACE_CSS), self.status,
            w.HBox([self.good, self.bad, self.go]), self.charts["timeline"], self.verdict,
            section("What differs", "Everything the two manifests record: data versions "
                     "(rows, label rate, distribution shift, segments), commits, config, "
                     "libraries."), self.diff,
            section("Delta experiments", "The bad run re-run with one factor from the good "
                     "run, same seed. Grey: run-to-run noise (the baseline under other seeds)."),
            self.charts["effects"], self.experiments,
            section("Bisect path", "Probes between the good and the bad run, in the order "
                     "they ran; a probe is bad when it is worse than the good reference by "
                     "more than the noise band."), self.charts["bisect"], self.bisect,
            section("Ablation", "Each feature left out of both runs: the share of the "
                     "regression that disappears with it."), self.charts["ablation"],
            self.ablation])
        self.add_class("wb-app")
        self.add_class("wb-trace")
        state.observe(self._on_status, names=["busy", "error"])
        state.observe(self._on_result, names=["trace", "ablation", "good", "bad"])
        self._on_status()
        self._on_result()

    def _trace(self) -> None:
        with self.state.hold_trait_notifications():
            self.state.good = self.good.value or ""
            self.state.bad = self.bad.value or ""
        self.state.run()

    def _on_status(self, change: dict | None = None) -> None:
        s = self.state
        busy = f'<div class="wb-busy">Working: {esc(s.busy)}…</div>' if s.busy else ""
        error = (f'<div class="wb-error wb-trace-error"><b>Cannot trace these runs.</b>\n'
                 f"{esc(s.error)}</div>") if s.error else ""
        self.status.value = busy + error

    def _on_result(self, change: dict | None = None) -> None:
        try:
            self._draw()
        except Exception as exc:  # noqa: BLE001 - a drawing failure shows as a sentence
            self.state.error = f"This view could not be drawn. {readable(exc)}"

    def _chart(self, name: str, chart: Any | None) -> None:
        slot = self.charts[name]
        if chart is None:
            slot.children = []
        elif slot.children:
            slot.children[0].chart = chart
        else:
            slot.children = [chart_widget(chart)]

    def _draw(self) -> None:
        s, t = self.state, self.state.trace
        metric = t.diff.metric if t else (s.manifests[-1].metric if s.manifests else "")
        self._chart("timeline", charts.run_timeline(s.manifests, metric, s.good, s.bad)
                    if s.manifests else None)
        self.verdict.value = (f'<div class="wb-trace-verdict"><b>Verdict.</b> '
                              f"{esc(t.verdict)}<br><small>{t.reruns} re-runs, {t.cached} "
                              f"from cache, {t.seconds:.1f} s</small></div>") if t else ""
        self.diff.value = diff_html(t) if t else ""
        exp = t.experiments if t else None
        self._chart("effects", charts.delta_effects(exp) if exp else None)
        self.experiments.value = experiments_html(t) if exp else ""
        bis = t.bisect if t else None
        self._chart("bisect", charts.bisect_path(bis) if bis and bis.steps else None)
        self.bisect.value = bisect_html(t) if t else ""
        ab = s.ablation
        self._chart("ablation", charts.ablation_bars(ab) if ab else None)
        self.ablation.value = ablation_html(ab) if ab else ""


def diff_html(t: Trace) -> str:
    """The differences as a table: factor, what, good, bad."""
    d = t.diff
    rows = []
    for c in d.data:
        if not c.changed:
            continue
        rows.append([f"data[{esc(c.role)}]", "version",
                     f"<code>{esc((c.sha256_good or '')[:10])}</code> {esc(_tail(c.path_good))}",
                     f"<code>{esc((c.sha256_bad or '')[:10])}</code> {esc(_tail(c.path_bad))}"])
        rows.append([f"data[{esc(c.role)}]", "rows", esc(c.rows_good), esc(c.rows_bad)])
        rows.extend([f"data[{esc(c.role)}]", *cells] for cells in label_rows(c))
        for shift in [x for x in c.shifts if x.severity != "stable"][:3]:
            rows.append([f"data[{esc(c.role)}]", f"{esc(shift.column)} PSI",
                         "", f"{shift.psi:.3f} ({shift.severity})"])
    if d.code_changed:
        commits = "".join(f"<li><code>{esc(c.short)}</code> {esc(c.subject)}</li>"
                          for c in d.commits)
        files = ", ".join(f"<code>{esc(f.path)}</code> ({esc(f.status)})" for f in d.files)
        rows.append(["code", f"commit <details><summary>{len(d.commits)} commits, "
                     f"{len(d.files)} files</summary><ol>{commits}</ol>{files}</details>",
                     f"<code>{esc((d.commit_good or '')[:10])}</code>",
                     f"<code>{esc((d.commit_bad or '')[:10])}</code>"])
    for label, items in (("config", d.config), ("libraries", d.libraries),
                         ("platform", d.platform), ("seed", d.seeds)):
        for item in items:
            rows.append([label, esc(item.key), esc(item.good), esc(item.bad)])
    if not rows:
        return "<p>The manifests record no difference.</p>"
    return table(["factor", "what", esc(d.good) + " (good)", esc(d.bad) + " (bad)"], rows,
                  "wb-trace-diff")


def label_rows(c: DataChange) -> list[list[str]]:
    """(what, good, bad) rows of a data input's label: the rate of a binary label, the mean
    (and median) of a numeric one, and the segments whose label moved significantly."""
    rows = []
    stat = f"{'t' if c.label_kind == 'numeric' else 'z'} = {c.label_z:.1f}" \
        if c.label_z is not None else ""
    name = esc(c.label or "label")
    if c.label_rate_good is not None and c.label_rate_bad is not None:
        rows.append([f"{name} rate ({stat})", f"{c.label_rate_good:.2%}",
                     f"{c.label_rate_bad:.2%}"])
    elif c.label_mean_good is not None or c.label_mean_bad is not None:
        rows.append([f"mean {name} ({stat})", label_value(c.label_mean_good),
                     label_value(c.label_mean_bad)])
        if c.label_median_good is not None or c.label_median_bad is not None:
            rows.append([f"median {name}", label_value(c.label_median_good),
                         label_value(c.label_median_bad)])
    for seg in [x for x in c.segments if x.significant][:3]:
        binary = seg.label_rate_good is not None and seg.label_rate_bad is not None
        what = "rate" if binary else "mean"
        good, bad = ((f"{seg.label_rate_good:.1%}", f"{seg.label_rate_bad:.1%}") if binary else
                     (label_value(seg.label_mean_good), label_value(seg.label_mean_bad)))
        letter = "z" if binary else "t"
        rows.append([f"segment {esc(seg.name)}: {name} {what} ({letter} = {seg.z:.1f})",
                     good, bad])
    return rows


def experiments_html(t: Trace) -> str:
    """The delta-experiment table: value, recovery and verdict against the noise band."""
    exp = t.experiments
    assert exp is not None
    rows = [["bad baseline", _num(exp.bad_value), "", f"seed {exp.seed}"],
            ["good run's factors", _num(exp.good_value), _num(exp.gap, True), "the gap"]]
    for e in exp.effects:
        cls = "wb-bad" if e.factor == exp.culprit else ""
        rows.append([f'<span class="{cls}">{esc(e.factor)}</span> '
                     f"<small>({esc(e.description)})</small>", _num(e.metric_value),
                     _num(e.recovery, True), esc(e.verdict)])
    band = exp.noise
    note = (f"<small>Noise band ±{band.half_width:.4f} = {band.z:g} × √2 × std "
            f"{band.std:.4f} of {len(band.seeds)} seeds ({', '.join(map(str, band.seeds))})."
            f"</small>")
    return table(["run", esc(exp.metric), "recovered", "verdict"], rows,
                  "wb-trace-experiments") + note


def bisect_html(t: Trace) -> str:
    """The bisect steps as an ordered list, and the culprit."""
    b = t.bisect
    if b is None:
        return "<p><small>No bisection: the culprit is not code with several commits nor " \
               "data with a snapshot series.</small></p>"
    items = "".join(
        f'<li><span class="wb-{s.verdict}">{s.verdict}</span> <code>'
        f"{esc(_tail(s.candidate)[:10])}</code> {esc(s.label)} — {_num(s.metric_value)}"
        f"{' (cached)' if s.cached else ''}</li>" for s in b.steps)
    culprit = (f"<p>First bad {'commit' if b.kind == 'code' else 'snapshot'}: <code>"
               f"{esc(_tail(b.culprit)[:10])}</code> <b>{esc(b.culprit_label)}</b> "
               f"({b.reruns} re-runs for {len(b.candidates)} candidates, at most "
               f"{b.max_reruns}).</p>") if b.culprit else ""
    others = "".join(
        f"<p>Also bisected ({esc(o.kind)}): first bad <code>{esc(_tail(o.culprit)[:10])}"
        f"</code> <b>{esc(o.culprit_label)}</b> ({o.reruns} re-runs).</p>"
        for o in t.bisects if o is not b and o.culprit)
    return f'<ol class="wb-trace-bisect">{items}</ol>{culprit}{others}'


def ablation_html(a: Ablation) -> str:
    """The ablation table."""
    rows = [[esc(r.feature), _num(r.metric_bad), _num(r.delta_bad, True),
             _num(r.metric_good), "n/a" if r.gap_explained is None else f"{r.gap_explained:.0%}"]
            for r in a.rows]
    return table(["feature", "bad run without it", "change", "good run without it",
                   "gap explained"], rows, "wb-trace-ablation") + (
        f"<small>Noise band ±{a.band:.4f}; {a.reruns} re-runs, {a.cached} from cache."
        f"</small>")


def _tail(path: str | None) -> str:
    return "" if path is None else str(path).rsplit("/", 1)[-1]


def trace_app(state: TraceState) -> TraceView:
    """The trace page for a state, traced before it is returned."""
    if not state.error and state.trace is None:
        state.run()
    return TraceView(state)
