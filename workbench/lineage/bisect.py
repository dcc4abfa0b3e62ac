"""Bisecting commits (or an ordered series of data snapshots) for the first bad one.

A probe re-runs the bad run with one candidate swapped in (a commit, or a snapshot for the
changed data role) and is judged with the noise band: bad when the metric is worse than the
good reference by more than the band. The endpoints are already measured by the delta
experiments (cached), so n candidates cost at most ceil(log2 n) re-runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from workbench.exceptions import InvalidInputError
from workbench.lineage import gitutil
from workbench.lineage.diff import compare_summaries
from workbench.lineage.experiments import Setup
from workbench.lineage.profile import content_hash, summarize
from workbench.lineage.results import BisectResult, BisectStep, CommitInfo, DeltaExperiments
from workbench.lineage.runner import DataRef, Runner, RunSpec


def bisect(kind: str, candidates: Sequence[tuple[str, str]], probe: Callable[[str], RunSpec],
           runner: Runner, s: Setup, experiments: DeltaExperiments) -> BisectResult:
    """Find the first bad candidate; candidates run oldest first and end with the bad one."""
    band = experiments.noise.half_width
    good_ref, bad_ref = experiments.good_value, experiments.bad_value
    ids = tuple(c for c, _ in candidates)
    labels = tuple(label for _, label in candidates)
    n = len(ids)
    common = dict(kind=kind, metric=s.metric, candidates=ids, labels=labels, good_ref=good_ref,
                  bad_ref=bad_ref, band=band, max_reruns=math.ceil(math.log2(max(n, 1))) + 1)
    if n == 0:
        return BisectResult(**common, steps=(), culprit=None, culprit_label=None, reruns=0,
                            notes=("Nothing to bisect: no candidates between the runs.",))
    if s.improvement(bad_ref, good_ref) <= band:
        return BisectResult(**common, steps=(), culprit=None, culprit_label=None, reruns=0,
                            notes=("Not bisected: the gap is inside the noise band.",))
    before = runner.reruns
    lo, hi = -1, n - 1  # lo: last known good (-1 = the good run), hi: first known bad
    steps = []
    while hi - lo > 1:
        mid = (lo + hi) // 2
        run = runner.run(probe(ids[mid]))
        value = run.metrics[s.metric]
        bad = s.improvement(value, good_ref) > band
        steps.append(BisectStep(position=mid, candidate=ids[mid], label=labels[mid],
                                metric_value=value, verdict="bad" if bad else "good",
                                cached=run.cached))
        if bad:
            hi = mid
        else:
            lo = mid
    return BisectResult(**common, steps=tuple(steps), culprit=ids[hi], culprit_label=labels[hi],
                        reruns=runner.reruns - before)


def bisect_commits(commits: Sequence[CommitInfo], runner: Runner, s: Setup,
                   experiments: DeltaExperiments) -> BisectResult:
    """The first commit after the good one that makes the bad run bad (bad data and config)."""
    def probe(sha: str) -> RunSpec:
        return s.bad.replace(commit=sha, patch=None, patch_sha256=None,
                             label=f"bad run at commit {sha[:8]}")

    if commits and commits[-1].sha != s.bad.commit:
        return BisectResult(
            kind="code", metric=s.metric, candidates=(), labels=(), good_ref=experiments.good_value,
            bad_ref=experiments.bad_value, band=experiments.noise.half_width, steps=(),
            culprit=None, culprit_label=None, reruns=0, max_reruns=1,
            notes=("Not bisected: the bad commit is not on the first-parent path from the good "
                   "one.",))
    result = bisect("code", [(c.sha, c.subject) for c in commits], probe, runner, s,
                    experiments)
    if result.culprit is None:
        return result
    parent = commits[[c.sha for c in commits].index(result.culprit) - 1].sha \
        if result.culprit != commits[0].sha else s.good.commit
    files = gitutil.files_touched(s.bad.repo, parent, result.culprit)
    return BisectResult(**{**result.__dict__, "culprit_files": tuple(files)})


def bisect_snapshots(snapshots: Sequence[str | Path], role: str, runner: Runner, s: Setup,
                     experiments: DeltaExperiments, label: str | None = None) -> BisectResult:
    """The first snapshot of an ordered series after the good run's that makes the run bad.

    The series must contain the good and the bad run's versions of `role` (by content hash);
    the culprit is compared with its predecessor to name the segments whose labels moved.
    """
    hashes = [content_hash(p) for p in snapshots]
    good_ref, bad_ref = s.good.data[role].version, s.bad.data[role].version
    versions = ["sha256:" + h for h in hashes]
    notes = []
    if good_ref not in versions or bad_ref not in versions:
        missing = [n for n, v in (("good", good_ref), ("bad", bad_ref)) if v not in versions]
        notes.append(f"The {' and '.join(missing)} run's {role} data is not in the snapshot "
                     f"series; pass the series that holds both.")
        return BisectResult(kind="data", metric=s.metric, candidates=(), labels=(),
                            good_ref=experiments.good_value, bad_ref=experiments.bad_value,
                            band=experiments.noise.half_width, steps=(), culprit=None,
                            culprit_label=None, reruns=0, max_reruns=1, notes=tuple(notes))
    start, end = versions.index(good_ref), versions.index(bad_ref)
    if end <= start:
        raise InvalidInputError(f"In the snapshot series the bad run's {role} data "
                                f"({Path(snapshots[end]).name}) comes before the good run's "
                                f"({Path(snapshots[start]).name}); order the series oldest "
                                f"first.")
    series = [(str(Path(snapshots[i]).resolve()), versions[i]) for i in range(len(snapshots))]
    by_path = dict(series)

    def probe(path: str) -> RunSpec:
        data = {**s.bad.data, role: DataRef(path, by_path[path])}
        return s.bad.replace(data=data, label=f"bad run with {role} data {Path(path).name}")

    candidates = [(series[i][0], Path(series[i][0]).name) for i in range(start + 1, end + 1)]
    result = bisect("data", candidates, probe, runner, s, experiments)
    if result.culprit is None:
        return result
    index = [p for p, _ in series].index(result.culprit)
    previous = series[index - 1][0]
    label_col = label
    before = summarize(previous, label=label_col)
    after = summarize(result.culprit, label=label_col)
    segments = compare_summaries(before, after, (previous, result.culprit))["segments"]
    return BisectResult(**{**result.__dict__, "culprit_segments": tuple(segments)})
