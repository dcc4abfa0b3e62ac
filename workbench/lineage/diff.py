"""Every difference between two runs: data, code, config, libraries, platform and seeds.

Columns are binned on the good version's 20-quantile edges (numeric) or top levels
(categorical) and compared with `workbench.stats.drift`: PSI plus binned KS or chi-squared. When
both data files are still there, unchanged, the bad version is counted exactly in those bins
with DuckDB; otherwise the comparison runs on the summaries stored in the manifests (the bad
version's mass per bin read off its own quantile function: accurate to about a twentieth of the
mass, coarser for integer columns). The label is compared overall and inside every segment
(level of a categorical column): a 0/1 label by its rate (two-proportion z), a numeric one by
its mean (Welch t) and, overall, its median and KS distance (`workbench.lineage.labels`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from workbench.lineage import gitutil, labels
from workbench.lineage.errors import DataVersionError, GitError
from workbench.lineage.labels import MIN_SEGMENT_ROWS, Moments
from workbench.lineage.manifest import DataInput, Manifest
from workbench.lineage.profile import (
    MIN_LEVEL_COVERAGE,
    PROBS,
    ColumnSummary,
    DataSummary,
    bin_specs,
    binned,
    content_hash,
)
from workbench.lineage.results import (
    ColumnShift,
    DataChange,
    ManifestDiff,
    SegmentShift,
    ValueChange,
)
from workbench.stats import drift

TOP_SEGMENTS = 10
MEDIAN = PROBS.index(0.5)  # position of the median among the stored quantile edges


def diff_manifests(good: Manifest, bad: Manifest, repo: str | Path | None = None,
                   metric: str | None = None) -> ManifestDiff:
    """List every recorded difference between a good and a bad run."""
    metric = metric or bad.metric
    notes = []
    data = compare_inputs(good, bad)
    if good.evaluation and bad.evaluation:
        g_ev, b_ev = good.input(good.evaluation), bad.input(bad.evaluation)
        if g_ev and b_ev and g_ev.sha256 != b_ev.sha256:
            notes.append("The two runs were evaluated on different evaluation sets, so their "
                         "recorded metrics are not comparable; re-runs use the bad run's set.")
    commits, files, code_notes = _code_history(good, bad, repo)
    notes += code_notes
    code_changed = (good.code.commit != bad.code.commit
                    or good.code.diff_sha256 != bad.code.diff_sha256)
    dirty = [ValueChange("uncommitted diff", _dirty(good), _dirty(bad))] \
        if (good.code.dirty or bad.code.dirty) and _dirty(good) != _dirty(bad) else []
    return ManifestDiff(
        good=good.name, bad=bad.name, metric=metric, metric_good=good.metrics.get(metric),
        metric_bad=bad.metrics.get(metric), data=tuple(data), code_changed=code_changed,
        commit_good=good.code.commit, commit_bad=bad.code.commit, commits=tuple(commits),
        files=tuple(files), dirty=tuple(dirty),
        config=tuple(compare_values(flatten(good.config), flatten(bad.config))),
        libraries=tuple(compare_values(good.libraries, bad.libraries)),
        platform=tuple(compare_values(good.platform, bad.platform)),
        seeds=tuple(compare_values(good.seeds, bad.seeds)),
        entry_point=tuple(compare_values(good.entry_point.to_dict(),
                                         bad.entry_point.to_dict())),
        notes=tuple(notes),
    )


def _dirty(m: Manifest) -> str | None:
    return f"sha256:{m.code.diff_sha256[:12]}" if m.code.dirty and m.code.diff_sha256 else None


def _code_history(good: Manifest, bad: Manifest, repo: str | Path | None):
    notes: list[str] = []
    g, b = good.code.commit, bad.code.commit
    if not g or not b or g == b:
        return [], [], notes
    root = str(repo or bad.code.repo or good.code.repo or "")
    if not root or not Path(root).is_dir():
        notes.append(f"The repository {root or '(not recorded)'} is not available here; pass "
                     f"--repo to list the commits between the runs.")
        return [], [], notes
    try:
        g_sha, b_sha = gitutil.resolve(root, g), gitutil.resolve(root, b)
        if gitutil.is_ancestor(root, g_sha, b_sha):
            commits = gitutil.commits_between(root, g_sha, b_sha)
        else:
            base = gitutil.git(root, "merge-base", g_sha, b_sha).strip()
            commits = gitutil.commits_between(root, base, b_sha)
            notes.append(f"The good commit {g_sha[:10]} is not an ancestor of the bad one "
                         f"{b_sha[:10]}; listed are the bad side's commits since their merge "
                         f"base {base[:10]}.")
        return commits, gitutil.files_touched(root, g_sha, b_sha), notes
    except GitError as exc:
        notes.append(str(exc))
        return [], [], notes


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def compare_values(good: dict[str, Any], bad: dict[str, Any]) -> list[ValueChange]:
    """Keys whose values differ (absent keys count as None)."""
    return [ValueChange(k, good.get(k), bad.get(k)) for k in sorted(set(good) | set(bad))
            if good.get(k) != bad.get(k)]


def compare_inputs(good: Manifest, bad: Manifest) -> list[DataChange]:
    """One DataChange per role present in either run."""
    roles = [d.role for d in bad.data] + [d.role for d in good.data if not bad.input(d.role)]
    return [compare_input(role, good.input(role), bad.input(role)) for role in roles]


def compare_input(role: str, good: DataInput | None, bad: DataInput | None) -> DataChange:
    """How one data input differs (version, rows, schema, distributions, labels, segments)."""
    changed = (good is None) != (bad is None) or (
        good is not None and bad is not None and good.sha256 != bad.sha256)
    base = dict(role=role, path_good=good.path if good else None,
                path_bad=bad.path if bad else None, sha256_good=good.sha256 if good else None,
                sha256_bad=bad.sha256 if bad else None, changed=changed)
    if good is None or bad is None or good.summary is None or bad.summary is None:
        return DataChange(**base)
    paths = None
    if changed and _unchanged_on_disk(good) and _unchanged_on_disk(bad):
        paths = (good.path, bad.path)
    return DataChange(**base, **compare_summaries(good.summary, bad.summary, paths))


def _unchanged_on_disk(d: DataInput) -> bool:
    """Whether the input's files are still there and still the recorded version."""
    try:
        return content_hash(d.path) == d.sha256
    except DataVersionError:
        return False


def compare_summaries(good: DataSummary, bad: DataSummary,
                      paths: tuple[str, str] | None = None) -> dict[str, Any]:
    """Rows, schema changes, per-column shifts, label balance and segment label shifts.

    paths: the two versions' data files, to count exactly; None compares the summaries only.
    """
    g_schema, b_schema = good.schema, bad.schema
    pairs = [(col, bad.column(col.name)) for col in good.columns]
    pairs = [(g, b) for g, b in pairs if b is not None and g.kind == b.kind
             and g.kind != "other" and not _identifier(g)]
    counts: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(pairs)
    if paths is not None:
        specs = bin_specs([g for g, _ in pairs])
        exact_g, exact_b = binned(paths[0], specs), binned(paths[1], specs)
        counts = [(np.asarray(a), np.asarray(b)) for a, b in zip(exact_g, exact_b, strict=True)]
    shifts = [column_shift(g, b, c) for (g, b), c in zip(pairs, counts, strict=True)]
    shifts.sort(key=lambda s: -s.psi)
    return dict(
        rows_good=good.rows, rows_bad=bad.rows,
        columns_added=tuple(c for c in b_schema if c not in g_schema),
        columns_removed=tuple(c for c in g_schema if c not in b_schema),
        types_changed=tuple(ValueChange(c, g_schema[c], b_schema[c]) for c in g_schema
                            if c in b_schema and g_schema[c] != b_schema[c]),
        shifts=tuple(shifts), label=bad.label or good.label,
        segments=tuple(segment_shifts(good, bad)), **label_change(good, bad, shifts),
    )


def label_kind(good: DataSummary, bad: DataSummary) -> str | None:
    """binary when both versions hold a 0/1 label, numeric when either holds other values."""
    kinds = {good.label_type, bad.label_type} - {None}
    if not kinds:
        return None
    return "numeric" if "numeric" in kinds else "binary"


def label_change(good: DataSummary, bad: DataSummary,
                 shifts: list[ColumnShift]) -> dict[str, Any]:
    """The label overall: rate and z for a 0/1 label; mean, median, Welch t and KS otherwise."""
    kind = label_kind(good, bad)
    if kind is None:
        return {}
    g, b = _moments(good), _moments(bad)
    out: dict[str, Any] = dict(label_kind=kind, label_test=labels.statistic_name(kind),
                               label_z=labels.statistic(kind, g, b), label_mean_good=g.mean,
                               label_mean_bad=b.mean)
    if kind == "binary":
        return {**out, "label_rate_good": g.mean, "label_rate_bad": b.mean}
    name = bad.label or good.label
    column = next((s for s in shifts if s.column == name), None)
    return {**out, "label_median_good": _median(good), "label_median_bad": _median(bad),
            "label_ks": column.ks if column else None}


def _moments(summary: DataSummary) -> Moments:
    return Moments(summary.label_rows or 0, summary.label_positives or 0.0, summary.label_sumsq)


def _median(summary: DataSummary) -> float | None:
    column = summary.column(summary.label) if summary.label else None
    if column is None or len(column.quantiles) <= MEDIAN:
        return None
    return float(column.quantiles[MEDIAN])


def _identifier(col: ColumnSummary) -> bool:
    """A categorical column with (nearly) one row per value, such as a transaction id."""
    if col.kind != "categorical" or col.non_null <= 0:
        return False
    return sum(lv.rows for lv in col.levels) < MIN_LEVEL_COVERAGE * col.non_null


def column_shift(good: ColumnSummary, bad: ColumnSummary,
                 counts: tuple[np.ndarray, np.ndarray] | None = None) -> ColumnShift:
    """PSI (and KS or chi-squared) of one column, bins from the good version.

    counts: exact counts per bin id of both versions (null bin first), else approximated from
    the summaries.
    """
    g_null = good.nulls / max(good.non_null + good.nulls, 1)
    b_null = bad.nulls / max(bad.non_null + bad.nulls, 1)
    if good.kind == "numeric":
        if counts is not None:
            g_all, b_all = counts
        else:
            g_num, b_num = numeric_counts(good, bad)
            g_all, b_all = np.r_[good.nulls, g_num], np.r_[bad.nulls, b_num]
        g_counts, b_counts = g_all[1:], b_all[1:]
        psi = drift.psi(g_all, b_all)
        ks = drift.ks_binned(g_counts, b_counts)[0] if g_counts.sum() and b_counts.sum() \
            else None
        return ColumnShift(column=good.name, kind="numeric", psi=psi,
                           severity=drift.severity(psi), ks=_finite(ks), mean_good=good.mean,
                           mean_bad=bad.mean, null_rate_good=g_null, null_rate_bad=b_null)
    g_counts, b_counts = counts if counts is not None else categorical_counts(good, bad)
    psi = drift.psi(g_counts, b_counts)
    _, p, _ = drift.chi2(g_counts, b_counts)
    return ColumnShift(column=good.name, kind="categorical", psi=psi,
                       severity=drift.severity(psi), chi2_pvalue=_finite(p),
                       null_rate_good=g_null, null_rate_bad=b_null)


def _cdf(summary: ColumnSummary, x: np.ndarray) -> np.ndarray:
    """Share of non-null values <= x, read off the stored quantiles (ties collapsed)."""
    q = np.asarray(summary.quantiles, dtype=float)
    p = np.asarray(PROBS[: len(q)], dtype=float)
    values, inverse = np.unique(q, return_inverse=True)
    top = np.zeros(len(values))
    np.maximum.at(top, inverse, p)
    return np.interp(x, values, top, left=0.0, right=1.0)


def numeric_counts(good: ColumnSummary, bad: ColumnSummary) -> tuple[np.ndarray, np.ndarray]:
    """Non-null counts of both versions in bins (-inf, e1], (e1, e2], ..., (e19, inf).

    The edges are the good version's inner quantiles: its minimum and maximum are left out, as
    the interpolated tail beyond a single extreme value would be mostly invented.
    """
    if not good.quantiles or not bad.quantiles:
        return np.array([float(good.non_null)]), np.array([float(bad.non_null)])
    edges = np.unique(np.asarray(good.quantiles[1:-1], dtype=float))

    def masses(summary: ColumnSummary) -> np.ndarray:
        cdf = _cdf(summary, edges)
        return np.diff(np.r_[0.0, cdf, 1.0]).clip(min=0.0) * summary.non_null

    return masses(good), masses(bad)


def categorical_counts(good: ColumnSummary,
                       bad: ColumnSummary) -> tuple[np.ndarray, np.ndarray]:
    """Counts per good level, plus 'other' and null bins, for both versions."""
    bad_rows = {lv.level: lv.rows for lv in bad.levels}
    g = [good.nulls, good.other_rows] + [lv.rows for lv in good.levels]
    listed = sum(bad_rows.get(lv.level, 0) for lv in good.levels)
    b = [bad.nulls, max(bad.non_null - listed, 0)] + [bad_rows.get(lv.level, 0)
                                                       for lv in good.levels]
    return np.asarray(g, dtype=float), np.asarray(b, dtype=float)


def segment_shifts(good: DataSummary, bad: DataSummary) -> list[SegmentShift]:
    """Label changes per level of each categorical column, largest |statistic| first.

    A 0/1 label is compared by its rate (two-proportion z), a numeric one by its mean (Welch t).
    """
    kind = label_kind(good, bad)
    if kind is None:
        return []
    binary = kind == "binary"
    out = []
    for col in good.columns:
        other = bad.column(col.name)
        if col.kind != "categorical" or other is None or col.name == good.label \
                or _identifier(col):
            continue
        bad_levels = {lv.level: lv for lv in other.levels}
        for lv in col.levels:
            blv = bad_levels.get(lv.level)
            if blv is None or not lv.label_rows or not blv.label_rows:
                continue
            if min(lv.label_rows, blv.label_rows) < MIN_SEGMENT_ROWS:
                continue
            g = Moments(lv.label_rows, lv.label_positives or 0.0, lv.label_sumsq)
            b = Moments(blv.label_rows, blv.label_positives or 0.0, blv.label_sumsq)
            z = labels.statistic(kind, g, b)
            if z is None:
                continue
            out.append(SegmentShift(
                column=col.name, level=lv.level, rows_good=lv.rows, rows_bad=blv.rows,
                label_rate_good=g.mean if binary else None,
                label_rate_bad=b.mean if binary else None, z=z,
                significant=labels.significant(z), label_mean_good=g.mean,
                label_mean_bad=b.mean, test=labels.statistic_name(kind)))
    out.sort(key=lambda s: -abs(s.z))
    return out[:TOP_SEGMENTS]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
