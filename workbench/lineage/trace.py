"""`trace(good, bad)`: from two manifests to the data version or commit that made it worse.

1. Diff everything the manifests record (`diff_manifests`).
2. Delta experiments: the bad run with one factor at a time from the good run, judged against
   the run-to-run noise band (`delta_experiments`).
3. When the culprit is code with several commits in between, bisect them; when it is data and
   an ordered series of snapshots is given, bisect the series and name the segments whose labels
   moved in the first bad snapshot.
Re-runs are cached, so tracing the same pair again is instant.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.lineage.bisect import bisect_commits, bisect_snapshots
from workbench.lineage.cache import RunCache
from workbench.lineage.diff import diff_manifests
from workbench.lineage.experiments import delta_experiments, setup
from workbench.lineage.manifest import Manifest, load_manifest
from workbench.lineage.results import BisectResult, DeltaExperiments, ManifestDiff, Trace
from workbench.lineage.runner import Runner

if TYPE_CHECKING:
    from workbench.journal import Journal, JournalEntry

Progress = Callable[[str], None]


def trace(good: Manifest | str | Path, bad: Manifest | str | Path, *,
          repo: str | Path | None = None, metric: str | None = None, repeats: int = 5,
          experiments: bool = True, bisect: bool = True,
          snapshots: Sequence[str | Path] | None = None, runner: Runner | None = None,
          cache: RunCache | None = None, jobs: int = 1,
          progress: Progress | None = None, journal: Journal | None = None) -> Trace:
    """Trace a regression from a good run to a bad one (manifests or their paths).

    With a journal, the trace is recorded there as a check entry holding every run.
    """
    began = time.perf_counter()
    good = good if isinstance(good, Manifest) else load_manifest(good)
    bad = bad if isinstance(bad, Manifest) else load_manifest(bad)
    say = progress or (lambda _m: None)
    repo_s = str(repo) if repo else None
    say(f"diffing {good.name} and {bad.name}")
    diff = diff_manifests(good, bad, repo=repo_s, metric=metric)
    own = runner is None
    runner = runner or Runner(cache=cache, progress=progress, jobs=jobs)
    first_runs, first_hits = runner.reruns, runner.cache_hits
    first_record = len(runner.records)
    try:
        exp = bis = None
        if experiments:
            say(f"delta experiments on {diff.metric} ({repeats} seeds for the noise band)")
            exp = delta_experiments(good, bad, diff, runner, repo=repo_s, metric=metric,
                                    repeats=repeats)
            if bisect and exp.culprit is not None:
                bis = _bisect(exp, diff, good, bad, runner, repo_s, metric, snapshots, say)
        result = Trace(
            good=good.name, bad=bad.name, good_manifest=str(good.path or ""),
            bad_manifest=str(bad.path or ""), diff=diff, experiments=exp, bisect=bis,
            verdict=verdict(diff, exp, bis), runs=tuple(runner.records[first_record:]),
            reruns=runner.reruns - first_runs, cached=runner.cache_hits - first_hits,
            seconds=time.perf_counter() - began)
    finally:
        if own:
            runner.close()
    if journal is not None:
        entry = record_trace(journal, result, repeats=repeats)
        result = Trace(**{**result.__dict__, "journal": entry.id})
    return result


def _bisect(exp: DeltaExperiments, diff: ManifestDiff, good: Manifest, bad: Manifest,
            runner: Runner, repo: str | None, metric: str | None,
            snapshots: Sequence[str | Path] | None, say: Progress) -> BisectResult | None:
    s = setup(good, bad, repo, metric)
    if exp.culprit == "code" and len(diff.commits) > 1:
        say(f"bisecting {len(diff.commits)} commits")
        return bisect_commits(list(diff.commits), runner, s, exp)
    if exp.culprit == "data" and snapshots:
        roles = [d.role for d in diff.data if d.changed and d.role != bad.evaluation]
        if len(roles) == 1:
            say(f"bisecting {len(snapshots)} snapshots of the {roles[0]} data")
            return bisect_snapshots(snapshots, roles[0], runner, s, exp, label=bad.label)
    return None


def verdict(diff: ManifestDiff, exp: DeltaExperiments | None, bis: BisectResult | None) -> str:
    """One paragraph saying what made the bad run worse, with the numbers behind it."""
    if exp is None:
        changed = ", ".join(diff.factors) or "nothing"
        return f"{diff.bad} differs from {diff.good} in: {changed} (no re-runs made)."
    head = (f"{exp.metric}: {exp.good_value:.4f} with {diff.good}'s factors vs "
            f"{exp.bad_value:.4f} for {diff.bad} (same seed {exp.seed}; noise band "
            f"±{exp.noise.half_width:.4f} from {len(exp.noise.seeds)} seeds).")
    if exp.culprit is None:
        why = exp.notes[0] if exp.notes else "No single factor restores most of the gap."
        return f"{head} No single culprit: {why}"
    effect = exp.effect(exp.culprit)
    assert effect is not None
    text = f"{head} The {exp.culprit} change is the culprit: {effect.verdict}."
    if bis is not None and bis.culprit is not None:
        what = "commit" if bis.kind == "code" else "snapshot"
        name = bis.culprit[:10] if bis.kind == "code" else Path(bis.culprit).name
        label = f": {bis.culprit_label!r}" if bis.kind == "code" else ""
        text += (f" Bisecting {len(bis.candidates)} {what}s ({len(bis.steps)} probes, "
                 f"{bis.reruns} of them re-run) names "
                 f"{what} {name}{label}.")
        if bis.culprit_files:
            text += " It touches " + ", ".join(f.path for f in bis.culprit_files) + "."
        segment = next((s for s in bis.culprit_segments if s.significant), None)
        if segment is not None:
            text += (f" In it, the label rate of segment {segment.name} moved "
                     f"{_pct(segment.label_rate_good)} -> {_pct(segment.label_rate_bad)} "
                     f"(z = {segment.z:.1f}).")
    elif exp.culprit == "data":
        changed = [d for d in diff.data if d.changed and d.top_segment is not None]
        if changed:
            seg = changed[0].top_segment
            assert seg is not None
            text += (f" Segment {seg.name}: label rate {_pct(seg.label_rate_good)} -> "
                     f"{_pct(seg.label_rate_bad)} (z = {seg.z:.1f}).")
    return text


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def record_trace(journal: Journal, result: Trace, repeats: int) -> JournalEntry:
    """A check entry: what was traced, the verdict, and every run with its metric."""
    exp, bis = result.experiments, result.bisect
    metric = result.diff.metric
    return journal.record_check(
        "lineage.trace", text=result.verdict,
        passed=None if exp is None else exp.culprit is not None,
        params={"good": result.good_manifest, "bad": result.bad_manifest, "metric": metric,
                "repeats": repeats},
        result={"factors": list(result.diff.factors),
                "culprit": exp.culprit if exp else None,
                "gap": exp.gap if exp else None,
                "noise_half_width": exp.noise.half_width if exp else None,
                "bisect": None if bis is None else {"kind": bis.kind, "culprit": bis.culprit,
                                                    "label": bis.culprit_label,
                                                    "reruns": bis.reruns},
                "reruns": result.reruns, "cached": result.cached,
                "runs": [{"label": r.label, "commit": r.commit[:10], "seed": r.seed,
                          "data": r.data, metric: r.metrics.get(metric),
                          "seconds": round(r.seconds, 3), "cached": r.cached}
                         for r in result.runs]})
