"""Replay a window of logged rows through a candidate fix and judge it against the baseline.

`verify_fix` reads the window out of core (Arrow batches from `LogStore.replay_batches`),
re-scores each batch with the fix, and keeps only counts: outcome counts overall and per
segment value (as logged and after the fix), score histograms and, for feature corrections, the
corrected features' bins on the reference bins. The windows, the monitored metric and the
baseline's outcome counts come from the incident's `Diagnosis` (loaded from the diagnosis cache
when not given), so "as logged" figures equal the diagnosis' on the same window.

Verdict: "restores" when the fixed metric's 95 % interval overlaps the baseline's interval or
lies entirely on its better side; "insufficient" otherwise (or without labelled rows). A side
effect is a segment (or a companion metric) the fix made worse beyond the intervals of both
its logged value and its baseline value: returning to normal is not a side effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.config import FixSpec, Incident, load_incident
from workbench.data import LogStore, Window
from workbench.results import Diagnosis
from workbench.stages import metrics as metric_defs
from workbench.stages.features import histogram as histogram_of  # the diagnosis' bin labels
from workbench.stats import drift
from workbench.timeutil import iso
from workbench.verify.fidelity import model_check
from workbench.verify.fixes import CandidateFix, PreparedFix, prepare
from workbench.verify.intervals import CONFIDENCE, COUNT_KEYS, estimate
from workbench.verify.judge import relation, worse_than_both
from workbench.verify.judge import verdict as judge_verdict
from workbench.verify.results import (
    CorrectedFeature,
    FixInfo,
    MetricComparison,
    ScoreSummary,
    SegmentEffect,
    Verification,
)
from workbench.verify.tally import KEY_INDEX, Tally, as_counts

if TYPE_CHECKING:
    from workbench.journal import Journal

Progress = Callable[[str], None]
BATCH_ROWS = 100_000
SCORE_BINS = 20
CI_METHOD = ("95 % intervals: Wilson score interval for rates (FPR, FNR, precision, recall); "
             "normal approximation for means (MAE, bias, mean score)")
# Metrics shown for every fix, and the one checked per segment alongside the monitored metric.
COMPANIONS = {
    "classification": ("false_positive_rate", "false_negative_rate", "precision", "recall"),
    "regression": ("mae", "bias"),
}
COUNTERPART = {"false_positive_rate": "false_negative_rate",
               "false_negative_rate": "false_positive_rate",
               "precision": "recall", "recall": "precision", "error_rate": "recall"}


def verify_fix(incident: Incident | str | Path, fix: CandidateFix | FixSpec | str, *,
               start: datetime | None = None, end: datetime | None = None,
               store: LogStore | None = None, diagnosis: Diagnosis | None = None,
               metric: str | None = None, split: datetime | None = None,
               progress: Progress | None = None, journal: Journal | None = None,
               batch_rows: int = BATCH_ROWS) -> Verification:
    """Replay the incident window (or [start, end)) through a fix and compare with the baseline.

    fix: a `[[fixes]]` name, a `FixSpec` or a `CandidateFix` built in code. diagnosis: the
    incident's diagnosis (default: from the diagnosis cache, computed once when missing, with
    `metric` and `split`: where the baseline ends and the incident window starts, when not the
    detected onset). journal: when given, the run is recorded there (kind "fix") with the
    parameters to re-run it.
    """
    if not isinstance(incident, Incident):
        incident = load_incident(incident)
    own = store is None
    store = store or LogStore(incident)
    try:
        say = progress or (lambda _msg: None)
        prepared = prepare(fix, store)  # a fix that cannot run fails before any diagnosis
        diagnosis = diagnosis or _diagnosis(store, metric, split, say)
        result = Replayer(store, diagnosis).run(prepared, start, end, progress=say,
                                                batch_rows=batch_rows)
    finally:
        if own:
            store.close()
    if journal is not None:
        record(journal, result)
    return result


def verify_fixes(incident: Incident | str | Path, fixes: Sequence[CandidateFix | FixSpec | str],
                 *, start: datetime | None = None, end: datetime | None = None,
                 store: LogStore | None = None, diagnosis: Diagnosis | None = None,
                 split: datetime | None = None, progress: Progress | None = None,
                 journal: Journal | None = None) -> tuple[Verification, ...]:
    """Several fixes over the same window and baseline of one diagnosis."""
    if not isinstance(incident, Incident):
        incident = load_incident(incident)
    own = store is None
    store = store or LogStore(incident)
    try:
        say = progress or (lambda _msg: None)
        prepared = [prepare(fix, store) for fix in fixes]
        replayer = Replayer(store, diagnosis or _diagnosis(store, None, split, say))
        results = []
        for fix in prepared:
            results.append(replayer.run(fix, start, end, progress=say))
            if journal is not None:
                record(journal, results[-1])
    finally:
        if own:
            store.close()
    return tuple(results)


def _diagnosis(store: LogStore, metric: str | None, split: datetime | None,
               say: Progress) -> Diagnosis:
    """The incident's diagnosis from the cache (computed and stored when missing)."""
    from workbench.cache import cached_diagnose

    return cached_diagnose(store.incident, store=store, metric=metric, split=split,
                           progress=say).diagnosis


def record(journal: Journal, result: Verification) -> None:
    """Write a verification into the journal as a "fix" entry."""
    p = result.primary
    text = (f"Replayed fix {result.fix.name!r} ({result.fix.kind}) over "
            f"{result.rows:,} rows: {p.name} {_fmt(p.before.value)} as logged -> "
            f"{_fmt(p.after.value)} [{_fmt(p.after.lower)}, {_fmt(p.after.upper)}] after; "
            f"baseline {_fmt(p.baseline.value)} [{_fmt(p.baseline.lower)}, "
            f"{_fmt(p.baseline.upper)}]. Verdict: {result.verdict}.")
    journal.record("fix", text, params=result.rerun, result=result.summary(),
                   status=result.verdict)


class Replayer:
    """Replays fixes over windows of one store, against one diagnosis' baseline."""

    def __init__(self, store: LogStore, diagnosis: Diagnosis) -> None:
        self.store = store
        self.diagnosis = diagnosis
        self.roles = store.roles
        self.metric = diagnosis.metric.name
        self.baseline_counts = dict(diagnosis.baseline_outcomes)
        self._segment_baseline: dict[tuple[int, str], dict[str, float]] | None = None
        self._baseline_bins: dict[str, np.ndarray] = {}

    # ---- the replay -------------------------------------------------------------------------

    def run(self, fix: CandidateFix | FixSpec | PreparedFix | str, start: datetime | None = None,
            end: datetime | None = None, *, progress: Progress | None = None,
            batch_rows: int = BATCH_ROWS) -> Verification:
        """Replay one fix over [start, end) (default: the incident's current window)."""
        began = time.perf_counter()
        say = progress or (lambda _msg: None)
        given = start is not None or end is not None
        if not given:
            start, end = self.diagnosis.current_window.start, self.diagnosis.current_window.end
        prepared = fix if isinstance(fix, PreparedFix) else prepare(fix, self.store)
        total = self.store.require_rows(start, end).rows
        specs = self._specs(prepared)
        tally = Tally(self.roles.task, self.roles.segments, self._score_edges(start, end),
                      specs)
        say(f"replaying {total:,} rows through fix {prepared.fix.name!r}")
        looping = time.perf_counter()
        for batch in self.store.replay_batches(start, end, batch_rows):
            scores, corrected = prepared.apply(batch)
            tally.add(batch, scores, prepared.decide(scores), corrected)
            say(f"replayed {tally.rows:,}/{total:,} rows ({tally.rows / max(total, 1):.0%})")
        replay_seconds = time.perf_counter() - looping
        say("comparing with the baseline")
        return self._result(prepared, tally, start, end, given, began, replay_seconds)

    def _specs(self, prepared: PreparedFix) -> list:
        """Reference bins of the model's features a correction may change."""
        if prepared.correction is None:
            return []
        names = set(prepared.model.feature_names) if prepared.model else set()
        features = [f for f in self.roles.features if f.name in names]
        return self.store.bin_specs(features)

    def _score_edges(self, start: datetime | None, end: datetime | None) -> np.ndarray:
        if self.roles.task == "classification":
            return np.linspace(0.0, 1.0, SCORE_BINS + 1)
        lo, hi, _ = self.store.prediction_range(start, end)
        lo, hi = (lo or 0.0), (hi or 0.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        return np.linspace(lo, hi, SCORE_BINS + 1)

    # ---- building the result ----------------------------------------------------------------

    def _result(self, prepared: PreparedFix, tally: Tally, start: datetime | None,
                end: datetime | None, given: bool, began: float,
                replay_seconds: float) -> Verification:
        before, after = as_counts(tally.before), as_counts(tally.after)
        names = self._metric_names()
        comparisons = tuple(self._compare(n, self.baseline_counts, before, after) for n in names)
        primary = comparisons[0]
        verdict, reason = judge_verdict(primary, int(before.get("n_labeled", 0)))
        segments = self._segments(tally)
        elapsed = time.perf_counter() - began
        fix = prepared.fix
        warnings = list(prepared.notes)
        check = model_check(self.store, prepared, start, end)
        if check is not None and not check.reproduces:
            warnings.append(check.detail)
        flagged = [m.name for m in comparisons[1:] if m.worse_beyond_ci]
        if flagged:
            warnings.append(f"The fix makes {', '.join(flagged)} worse than both the logged "
                            f"and the baseline values, beyond their intervals.")
        return Verification(
            incident=self.store.incident.title,
            config=str(self.store.incident.path) if self.store.incident.path else None,
            fix=FixInfo(fix.name, fix.kind, fix.description, fix.parameters()),
            metric=self.metric, window={"start": start, "end": end},
            baseline_window={"start": self.diagnosis.baseline_window.start,
                             "end": self.diagnosis.baseline_window.end},
            window_given=given, rows=tally.rows, labelled_rows=int(before.get("n_labeled", 0)),
            flips=dict(tally.flips), primary=primary, metrics=comparisons, verdict=verdict,
            verdict_reason=reason, segments=segments,
            side_effects=tuple(s for s in segments if s.side_effect),
            scores_before=_scores(tally, tally.hist_before, before),
            scores_after=_scores(tally, tally.hist_after, after),
            drift=self._drift(tally), model_check=check, warnings=tuple(warnings),
            ci_method=CI_METHOD, confidence=CONFIDENCE,
            rerun=self._rerun(fix, start, end, given),
            elapsed_seconds=round(elapsed, 3), replay_seconds=round(replay_seconds, 3),
            rows_per_second=(round(tally.rows / replay_seconds, 1) if replay_seconds > 0
                             else 0.0),
        )

    def _metric_names(self) -> list[str]:
        task, labelled = self.roles.task, self.roles.has_labels
        names = [self.metric]
        if labelled:
            names += [n for n in COMPANIONS.get(task, ()) if n != self.metric]
        return [n for n in names if metric_defs.available(n, task, labelled)]

    def _compare(self, name: str, baseline: dict, before: dict, after: dict) -> MetricComparison:
        b, x, y = estimate(baseline, name), estimate(before, name), estimate(after, name)
        worse = metric_defs.METRICS[name].higher_is_worse
        return MetricComparison(name, worse, b, x, y, relation(y, b, worse),
                                worse_than_both(y, x, b, worse))

    def _segments(self, tally: Tally) -> tuple[SegmentEffect, ...]:
        """The monitored metric (and its counterpart) per segment value."""
        if not self.roles.segments:
            return ()
        names = [self.metric]
        other = COUNTERPART.get(self.metric)
        if other and metric_defs.available(other, self.roles.task, self.roles.has_labels):
            names.append(other)
        baseline = self._segment_baselines()
        out = []
        for i, column in enumerate(self.roles.segments):
            for value, counts in tally.segment_table(i).items():
                before, after = as_counts(counts[0]), as_counts(counts[1])
                base = baseline.get((i, value), {})
                for name in names:
                    worse = metric_defs.METRICS[name].higher_is_worse
                    b, x, y = estimate(base, name), estimate(before, name), estimate(after, name)
                    out.append(SegmentEffect(column, value, int(counts[0][KEY_INDEX["n"]]), name,
                                             b, x, y, worse_than_both(y, x, b, worse)))
        return tuple(out)

    def _segment_baselines(self) -> dict[tuple[int, str], dict[str, float]]:
        """Outcome counts of each segment value in the baseline window (one SQL scan, cached)."""
        if self._segment_baseline is None:
            segments = list(self.roles.segments)
            df = self.store.segment_counts(segments, [self.diagnosis.baseline_window])
            table: dict[tuple[int, str], dict[str, float]] = {}
            for i in range(len(segments)):
                for _, row in df[df[f"s{i}"].notna()].iterrows():
                    table[(i, str(row[f"s{i}"]))] = {
                        k: float(row[k]) if k in row and pd.notna(row[k]) else 0.0
                        for k in COUNT_KEYS}
            self._segment_baseline = table
        return self._segment_baseline

    def _drift(self, tally: Tally) -> tuple[CorrectedFeature, ...]:
        """Drift vs the reference of each feature the correction changed, before and after."""
        changed = [k for k, spec in enumerate(tally.specs) if tally.changed[k] > 0]
        if not changed:
            return ()
        specs = [tally.specs[k] for k in changed]
        ref = self.store.binned_counts(specs, [Window("reference", None, None)], reference=True)
        base = self._baseline_counts_for(specs)
        out = []
        for j, k in enumerate(changed):
            spec = tally.specs[k]
            r = _bins(ref, "reference", j, spec.n_bins)
            b = base[spec.feature.name]
            x, y = tally.bins_before[k], tally.bins_after[k]
            hist = histogram_of(spec, r, b, y)
            psi_x, psi_y = drift.psi(r, x), drift.psi(r, y)
            out.append(CorrectedFeature(
                feature=spec.feature.name, kind=spec.feature.kind.value,
                changed_rows=int(tally.changed[k]),
                changed_share=float(tally.changed[k] / max(tally.rows, 1)),
                psi_before=psi_x, psi_after=psi_y, psi_baseline=drift.psi(r, b),
                severity_before=drift.severity(psi_x), severity_after=drift.severity(psi_y),
                labels=hist.labels, reference=tuple(float(v) for v in r),
                before=tuple(float(v) for v in x), after=tuple(float(v) for v in y)))
        return tuple(out)

    def _baseline_counts_for(self, specs: list) -> dict[str, np.ndarray]:
        todo = [s for s in specs if s.feature.name not in self._baseline_bins]
        if todo:
            df = self.store.binned_counts(todo, [self.diagnosis.baseline_window])
            for j, spec in enumerate(todo):
                self._baseline_bins[spec.feature.name] = _bins(df, "baseline", j, spec.n_bins)
        return {s.feature.name: self._baseline_bins[s.feature.name] for s in specs}

    def _rerun(self, fix: CandidateFix, start: datetime | None, end: datetime | None,
               given: bool) -> dict[str, Any]:
        """The exact parameters of this run, and the command repeating it (declared fixes)."""
        config = str(self.store.incident.path) if self.store.incident.path else None
        window = f"{iso(start) or ''}..{iso(end) or ''}" if given else None
        declared = any(f.name == fix.name for f in self.store.incident.fixes)
        split = iso(self.diagnosis.split) if self.diagnosis.split is not None else None
        out: dict[str, Any] = {"config": config, "fix": fix.name, "kind": fix.kind,
                               "window": window, "split": split, "metric": self.metric,
                               "parameters": fix.parameters()}
        if config and declared:
            cmd = ["workbench", "verify", config, "--fix", fix.name, "--metric", self.metric]
            if window:
                cmd += ["--window", window]
            if split:
                cmd += ["--split", split]
            out["command"] = cmd
        return out


# ---- helpers ----------------------------------------------------------------------------------

def _scores(tally: Tally, hist: np.ndarray, counts: dict[str, float]) -> ScoreSummary:
    n = counts.get("n_scored", 0.0)
    mean = counts["score_sum"] / n if n else None
    std = None
    if n > 1 and mean is not None:
        std = float(np.sqrt(max(counts["score_sumsq"] / n - mean * mean, 0.0) * n / (n - 1)))
    rate = counts["decision_pos"] / counts["n"] if counts.get("n") else None
    return ScoreSummary(int(counts.get("n", 0)), mean, std, rate,
                        tuple(float(e) for e in tally.score_edges),
                        tuple(float(c) for c in hist))


def _bins(df: pd.DataFrame, window: str, index: int, n_bins: int) -> np.ndarray:
    rows = df[(df["w"] == window) & (df["feature"] == index)]
    out = np.zeros(n_bins)
    for _, row in rows.iterrows():
        out[int(row["bin"])] = float(row["n"])
    return out


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
