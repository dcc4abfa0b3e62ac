"""`trace(good, bad)`: from two manifests to the data version, commit or config key that made it
worse, for every factor that carries an effect.

1. Diff everything the manifests record (`diff_manifests`).
2. A 2^k factorial over the changed factors, judged against the run-to-run noise band: each
   factor's effect with the others bad and with the others good, its share of the gap, and the
   factors' interactions (`run_factorial`).
3. Every factor that carries an effect is bisected, holding the other factors at their good
   value (at their bad value when only that shows the effect): commits for code, an ordered
   series of snapshots for data (naming the segments whose labels moved in the first bad one),
   the changed keys for config.
The result lists which runs each conclusion rests on. Re-runs are cached, so tracing the same
pair again is instant.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.lineage.bisect import (
    bisect_commits,
    bisect_config,
    bisect_snapshots,
    snapshot_versions,
)
from workbench.lineage.cache import RunCache
from workbench.lineage.diff import diff_manifests
from workbench.lineage.experiments import Factorial, run_factorial
from workbench.lineage.factors import CODE, CONFIG
from workbench.lineage.manifest import Manifest, load_manifest
from workbench.lineage.results import (
    BisectResult,
    Conclusion,
    DeltaExperiments,
    ManifestDiff,
    RunRecord,
    Trace,
    figure,
)
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
        exp, bisects = None, ()
        if experiments:
            say(f"factorial experiments on {diff.metric} ({repeats} seeds for the noise band)")
            factorial = run_factorial(good, bad, diff, runner, repo=repo_s, metric=metric,
                                      repeats=repeats)
            exp = factorial.result
            if bisect:
                bisects = tuple(b for f in exp.culprits if (b := _bisect(
                    factorial, f, diff, bad, runner, snapshots, say)) is not None)
        bis = next((b for b in bisects if exp and b.factor == exp.culprit),
                   bisects[0] if bisects else None)
        runs = tuple(runner.records[first_record:])
        result = Trace(
            good=good.name, bad=bad.name, good_manifest=str(good.path or ""),
            bad_manifest=str(bad.path or ""), diff=diff, experiments=exp, bisect=bis,
            verdict=verdict(diff, exp, bis, bisects), runs=runs,
            reruns=runner.reruns - first_runs, cached=runner.cache_hits - first_hits,
            seconds=time.perf_counter() - began, bisects=bisects,
            conclusions=conclusions(exp, bisects, runs))
    finally:
        if own:
            runner.close()
    if journal is not None:
        entry = record_trace(journal, result, repeats=repeats)
        result = Trace(**{**result.__dict__, "journal": entry.id})
    return result


def _bisect(factorial: Factorial, factor: str, diff: ManifestDiff, bad: Manifest,
            runner: Runner, snapshots: Sequence[str | Path] | None,
            say: Progress) -> BisectResult | None:
    """Bisect one culprit factor in the setting that shows its effect (None: nothing to do)."""
    ctx = factorial.context(factor)
    if ctx is None:
        return None
    s, exp = factorial.setup, factorial.result
    where = ctx.phrase
    kind = factorial.design.factor(factor).kind
    if kind == CODE:
        if not diff.commits:
            return None
        say(f"bisecting {len(diff.commits)} commits {where}")
        return bisect_commits(list(diff.commits), runner, s, exp, ctx, factor)
    if kind == CONFIG:
        say(f"bisecting {len(diff.config)} config keys {where}")
        return bisect_config(list(diff.config), runner, s, exp, ctx, factor)
    if not snapshots:
        return None
    roles = factorial.design.factor(factor).roles
    if len(roles) > 1:
        versions = set(snapshot_versions(snapshots))
        roles = tuple(r for r in roles if s.good.data.get(r) and s.bad.data.get(r)
                      and {s.good.data[r].version, s.bad.data[r].version} <= versions) or roles
    say(f"bisecting {len(snapshots)} snapshots of the {roles[0]} data {where}")
    return bisect_snapshots(snapshots, roles[0], runner, s, exp, label=bad.label, context=ctx,
                            factor=factor)


def verdict(diff: ManifestDiff, exp: DeltaExperiments | None, bis: BisectResult | None,
            bisects: Sequence[BisectResult] = ()) -> str:
    """One paragraph saying what made the bad run worse, with the numbers behind it."""
    if exp is None:
        changed = ", ".join(diff.factors) or "nothing"
        return f"{diff.bad} differs from {diff.good} in: {changed} (no re-runs made)."
    bisects = tuple(bisects) or ((bis,) if bis is not None else ())
    head = (f"{exp.metric}: {figure(exp.good_value)} with {diff.good}'s factors vs "
            f"{figure(exp.bad_value)} for {diff.bad} (same seed {exp.seed}; noise band "
            f"±{figure(exp.noise.half_width)} from {len(exp.noise.seeds)} seeds).")
    if exp.culprit is None:
        why = exp.notes[0] if exp.notes else "No factor carries an effect beyond the noise band."
        return f"{head} No single culprit: {why}"
    if len(exp.culprits) == 1:
        effect = exp.effect(exp.culprit)
        assert effect is not None
        text = f"{head} The {exp.culprit} change is the culprit: {effect.verdict}."
    else:
        parts = []
        for name in exp.culprits:
            e = exp.effect(name)
            assert e is not None
            share = f"{e.shapley_share:.0%} of the gap" if e.shapley_share is not None \
                else figure(e.shapley, True)
            parts.append(f"{name} ({share}: {figure(e.recovery, True)} when fixed alone, "
                         f"{figure(e.damage, True)} when it alone is bad)")
        text = f"{head} {len(exp.culprits)} changes carry an effect: {'; '.join(parts)}."
    for inter in exp.real_interactions:
        text += f" {inter.name.capitalize()} interact: {inter.verdict}."
    for b in bisects:
        text += _bisect_sentence(b, diff, exp)
    if not bisects and exp.culprit.startswith("data"):
        changed = [d for d in diff.data if d.changed and d.top_segment is not None]
        if changed:
            seg = changed[0].top_segment
            assert seg is not None
            text += f" Segment {seg.name}: {seg.describe(changed[0].label)}."
    return text


def _bisect_sentence(b: BisectResult, diff: ManifestDiff, exp: DeltaExperiments) -> str:
    if b.culprit is None:
        return ""
    what = {"code": "commit", "data": "snapshot", "config": "config key"}[b.kind]
    name = b.culprit[:10] if b.kind == "code" else (
        Path(b.culprit).name if b.kind == "data" else b.culprit)
    label = f": {b.culprit_label!r}" if b.kind == "code" else ""
    setting = "" if b.context == "none" else f" with the other factors at their {b.context} value"
    text = (f" Bisecting {len(b.candidates)} {what}s{setting} ({len(b.steps)} probes, "
            f"{b.reruns} of them re-run) names {what} {name}{label}.")
    if b.culprit_files:
        text += " It touches " + ", ".join(f.path for f in b.culprit_files) + "."
    segment = next((s for s in b.culprit_segments if s.significant), None)
    if segment is not None:
        text += f" In it, segment {segment.name}: {segment.describe(b.label_column)}."
    if b.kind == "config":
        change = next((c for c in diff.config if c.key == b.culprit), None)
        if change is not None:
            text += f" It changed {change.good!r} -> {change.bad!r}."
    return text


def conclusions(exp: DeltaExperiments | None, bisects: Sequence[BisectResult],
                runs: Sequence[RunRecord]) -> tuple[Conclusion, ...]:
    """Each conclusion of the trace with the keys (and labels) of the runs it rests on."""
    if exp is None:
        return ()
    labels = {r.key: r.label for r in runs}
    noise = exp.noise.runs

    def c(subject: str, statement: str, keys: Sequence[str]) -> Conclusion:
        keys = tuple(dict.fromkeys(keys))
        return Conclusion(subject, statement, keys, tuple(labels.get(k, "") for k in keys))

    bad_key = next((cell.run for cell in exp.cells if not cell.from_good), "")
    good_key = next((cell.run for cell in exp.cells
                     if set(cell.from_good) == set(exp.factors)), "")
    out = [c("noise", f"run-to-run noise of {exp.metric}: ±{figure(exp.noise.half_width)} "
                      f"(std {figure(exp.noise.std)} over seeds "
                      f"{', '.join(map(str, exp.noise.seeds))})", noise),
           c("gap", f"the good run's factors improve {exp.metric} by {figure(exp.gap, True)}",
             [bad_key, good_key, *noise])]
    for e in exp.effects:
        out.append(c(e.factor, f"{e.factor}: {e.verdict}"
                     + (" - a culprit" if e.factor in exp.culprits else ""),
                     [*e.rests_on, *noise]))
    for inter in exp.interactions:
        out.append(c(inter.name, f"{inter.name}: {inter.verdict}", [*inter.rests_on, *noise]))
    for b in bisects:
        if b.culprit is None:
            continue
        shown = Path(b.culprit).name if b.kind == "data" else b.culprit
        setting = "" if b.context == "none" else \
            f" with the other factors at their {b.context} value"
        out.append(c(f"{b.factor}: {shown}", f"first bad {b.kind} step of {b.factor}: {shown}"
                     f"{' (' + b.culprit_label + ')' if b.kind == 'code' else ''}, bisected"
                     f"{setting}", b.rests_on))
    return tuple(out)


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
                "culprits": list(exp.culprits) if exp else [],
                "interactions": [{"factors": list(i.factors), "value": i.value,
                                  "band": i.band} for i in exp.real_interactions]
                if exp else [],
                "gap": exp.gap if exp else None,
                "noise_half_width": exp.noise.half_width if exp else None,
                "bisect": None if bis is None else {"kind": bis.kind, "culprit": bis.culprit,
                                                    "label": bis.culprit_label,
                                                    "reruns": bis.reruns},
                "bisects": [{"factor": b.factor, "kind": b.kind, "culprit": b.culprit,
                             "label": b.culprit_label, "context": b.context,
                             "reruns": b.reruns} for b in result.bisects],
                "reruns": result.reruns, "cached": result.cached,
                "runs": [{"label": r.label, "commit": r.commit[:10], "seed": r.seed,
                          "data": r.data, metric: r.metrics.get(metric),
                          "seconds": round(r.seconds, 3), "cached": r.cached}
                         for r in result.runs]})
