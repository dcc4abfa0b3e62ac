"""Bisecting one factor's history for its first bad step: commits, data snapshots, config keys.

A probe re-runs a `Context`'s base (the other factors held fixed, at their good value when that
shows this factor's effect) with one candidate swapped in: a commit, a snapshot of the changed
data role, or the first m changed config keys. It is judged with the noise band: bad when the
metric is worse than the context's good endpoint by more than the band. The endpoints are
already measured by the factorial (cached), so n candidates cost at most ceil(log2 n) re-runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.exceptions import InvalidInputError
from workbench.lineage import gitutil
from workbench.lineage.diff import compare_summaries
from workbench.lineage.experiments import Setup
from workbench.lineage.factors import Context
from workbench.lineage.profile import content_hash, summarize
from workbench.lineage.results import (
    BisectResult,
    BisectStep,
    CommitInfo,
    DeltaExperiments,
    ValueChange,
)
from workbench.lineage.runner import DataRef, Runner, RunSpec


def _default(s: Setup, experiments: DeltaExperiments) -> Context:
    """The historic setting: the bad run, endpoints the good reference and the bad baseline."""
    return Context("none", s.bad, experiments.good_value, experiments.bad_value, ())


def bisect(kind: str, candidates: Sequence[tuple[str, str]], probe: Callable[[str], RunSpec],
           runner: Runner, s: Setup, experiments: DeltaExperiments,
           context: Context | None = None, factor: str | None = None) -> BisectResult:
    """Find the first bad candidate; candidates run oldest first and end with the bad one."""
    ctx = context or _default(s, experiments)
    band = experiments.noise.half_width
    good_ref, bad_ref = ctx.lo, ctx.hi
    ids = tuple(c for c, _ in candidates)
    labels = tuple(label for _, label in candidates)
    n = len(ids)
    common = dict(kind=kind, metric=s.metric, candidates=ids, labels=labels, good_ref=good_ref,
                  bad_ref=bad_ref, band=band, max_reruns=math.ceil(math.log2(max(n, 1))) + 1,
                  factor=factor or kind, context=ctx.name)
    if n == 0:
        return BisectResult(**common, steps=(), culprit=None, culprit_label=None, reruns=0,
                            notes=("Nothing to bisect: no candidates between the runs.",))
    if s.improvement(bad_ref, good_ref) <= band:
        return BisectResult(**common, steps=(), culprit=None, culprit_label=None, reruns=0,
                            notes=("Not bisected: the gap is inside the noise band.",))
    before = runner.reruns
    lo, hi = -1, n - 1  # lo: last known good (-1 = the good endpoint), hi: first known bad
    steps = []
    while hi - lo > 1:
        mid = (lo + hi) // 2
        run = runner.run(probe(ids[mid]))
        value = run.metrics[s.metric]
        bad = s.improvement(value, good_ref) > band
        steps.append(BisectStep(position=mid, candidate=ids[mid], label=labels[mid],
                                metric_value=value, verdict="bad" if bad else "good",
                                cached=run.cached, run=run.key))
        if bad:
            hi = mid
        else:
            lo = mid
    rests_on = tuple(dict.fromkeys((*ctx.runs, *experiments.noise.runs,
                                    *(step.run for step in steps))))
    return BisectResult(**common, steps=tuple(steps), culprit=ids[hi], culprit_label=labels[hi],
                        reruns=runner.reruns - before, rests_on=rests_on)


def _refused(kind: str, s: Setup, experiments: DeltaExperiments, ctx: Context, factor: str,
             note: str) -> BisectResult:
    return BisectResult(kind=kind, metric=s.metric, candidates=(), labels=(), good_ref=ctx.lo,
                        bad_ref=ctx.hi, band=experiments.noise.half_width, steps=(),
                        culprit=None, culprit_label=None, reruns=0, max_reruns=1,
                        notes=(note,), factor=factor, context=ctx.name)


def bisect_commits(commits: Sequence[CommitInfo], runner: Runner, s: Setup,
                   experiments: DeltaExperiments, context: Context | None = None,
                   factor: str = "code") -> BisectResult:
    """The first commit after the good one that makes the run bad (in the context's setting)."""
    ctx = context or _default(s, experiments)

    def probe(sha: str) -> RunSpec:
        return ctx.base.replace(commit=sha, patch=None, patch_sha256=None,
                                label=f"{ctx.base.label} at commit {sha[:8]}"
                                if ctx.name == "good" else f"bad run at commit {sha[:8]}")

    if commits and commits[-1].sha != s.bad.commit:
        return _refused("code", s, experiments, ctx, factor,
                        "Not bisected: the bad commit is not on the first-parent path from the "
                        "good one.")
    result = bisect("code", [(c.sha, c.subject) for c in commits], probe, runner, s,
                    experiments, ctx, factor)
    if result.culprit is None:
        return result
    parent = commits[[c.sha for c in commits].index(result.culprit) - 1].sha \
        if result.culprit != commits[0].sha else s.good.commit
    files = gitutil.files_touched(s.bad.repo, parent, result.culprit)
    return BisectResult(**{**result.__dict__, "culprit_files": tuple(files)})


def bisect_snapshots(snapshots: Sequence[str | Path], role: str, runner: Runner, s: Setup,
                     experiments: DeltaExperiments, label: str | None = None,
                     context: Context | None = None, factor: str = "data") -> BisectResult:
    """The first snapshot of an ordered series after the good run's that makes the run bad.

    The series must contain the good and the bad run's versions of `role` (by content hash);
    the culprit is compared with its predecessor to name the segments whose labels moved.
    """
    ctx = context or _default(s, experiments)
    versions = snapshot_versions(snapshots)
    good_ref, bad_ref = s.good.data[role].version, s.bad.data[role].version
    if good_ref not in versions or bad_ref not in versions:
        missing = [n for n, v in (("good", good_ref), ("bad", bad_ref)) if v not in versions]
        return _refused("data", s, experiments, ctx, factor,
                        f"The {' and '.join(missing)} run's {role} data is not in the snapshot "
                        f"series; pass the series that holds both.")
    start, end = versions.index(good_ref), versions.index(bad_ref)
    if end <= start:
        raise InvalidInputError(f"In the snapshot series the bad run's {role} data "
                                f"({Path(snapshots[end]).name}) comes before the good run's "
                                f"({Path(snapshots[start]).name}); order the series oldest "
                                f"first.")
    series = [(str(Path(snapshots[i]).resolve()), versions[i]) for i in range(len(snapshots))]
    by_path = dict(series)

    def probe(path: str) -> RunSpec:
        data = {**ctx.base.data, role: DataRef(path, by_path[path])}
        head = ctx.base.label if ctx.name == "good" else "bad run"
        return ctx.base.replace(data=data, label=f"{head} with {role} data {Path(path).name}")

    candidates = [(series[i][0], Path(series[i][0]).name) for i in range(start + 1, end + 1)]
    result = bisect("data", candidates, probe, runner, s, experiments, ctx, factor)
    result = BisectResult(**{**result.__dict__, "role": role, "label_column": label})
    if result.culprit is None:
        return result
    index = [p for p, _ in series].index(result.culprit)
    previous = series[index - 1][0]
    before = summarize(previous, label=label)
    after = summarize(result.culprit, label=label)
    segments = compare_summaries(before, after, (previous, result.culprit))["segments"]
    return BisectResult(**{**result.__dict__, "culprit_segments": tuple(segments)})


def snapshot_versions(snapshots: Sequence[str | Path]) -> list[str]:
    """The data version ids ("sha256:<hex>") of a snapshot series, in order."""
    return ["sha256:" + content_hash(p) for p in snapshots]


def bisect_config(changes: Sequence[ValueChange], runner: Runner, s: Setup,
                  experiments: DeltaExperiments, context: Context | None = None,
                  factor: str = "config") -> BisectResult:
    """The first changed config key (in key order) whose bad value makes the run bad.

    Probe m runs the good config with the first m changed keys set to their bad values.
    """
    ctx = context or _default(s, experiments)
    keys = [c.key for c in changes]

    def probe(key: str) -> RunSpec:
        config = copy.deepcopy(s.good.config)
        for change in changes[: keys.index(key) + 1]:
            config = set_dotted(config, change.key, change.bad)
        changed = ", ".join(keys[: keys.index(key) + 1])
        return ctx.base.replace(config=config, label=f"{ctx.base.label} with the good config "
                                                     f"except {changed}")

    candidates = [(c.key, f"{c.key}: {c.good!r} -> {c.bad!r}") for c in changes]
    return bisect("config", candidates, probe, runner, s, experiments, ctx, factor)


def set_dotted(config: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """config with a dotted key (as `diff.flatten` writes them) set; None removes it."""
    out = dict(config)
    if key in out or "." not in key:
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
        return out
    head, _, rest = key.partition(".")
    inner = out.get(head)
    out[head] = set_dotted(inner if isinstance(inner, dict) else {}, rest, value)
    return out
