"""Phase 3 (features): drift of every feature vs the reference and vs the pre-onset baseline.

Bins are chosen on the reference (20 quantile bins plus null, below-range and above-range bins for
numbers; the top levels plus null and 'other' for categories), so values outside anything seen in
training stay visible instead of being clipped into the edge bins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from workbench.data import ColumnKind, FeatureSpec, LogStore, Window
from workbench.data.queries import LOW_BIN, NULL_BIN, BinSpec
from workbench.results import FeatureDrift, Histogram, MetricSeries
from workbench.stages.triage import bucket_phase
from workbench.stats import changepoint, drift
from workbench.stats.drift import PSI_MODERATE

# Shifted features whose per-bin outcome counts are read for the decomposition.
OUTCOME_FEATURES = 6


@dataclass(frozen=True)
class PipelineSymptom:
    """A silent-failure symptom of one feature in the current window."""

    feature: str
    kind: str  # "all_null", "constant", "all_zero", "stale"
    share_current: float
    share_baseline: float
    start: datetime | None = None  # first bucket of the failure's uninterrupted run


@dataclass(frozen=True)
class FeatureReport:
    """Drift, histograms, shift times and pipeline symptoms of all features."""

    drift: tuple[FeatureDrift, ...]
    histograms: tuple[Histogram, ...]
    symptoms: tuple[PipelineSymptom, ...]
    # Per (window, feature, bin) outcome counts of the log, which the decomposition reads.
    counts: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    # When each feature's missing rate changed (significant change point), by feature name.
    null_shift_times: dict[str, datetime] = field(default_factory=dict)


def analyse_features(store: LogStore, baseline: Window, current: Window,
                     bucket_seconds: int) -> FeatureReport:
    """Drift statistics and histograms for every feature, plus silent-failure symptoms."""
    features = list(store.roles.features)
    if not features:
        return FeatureReport((), (), ())
    specs = store.bin_specs(features)
    ref = store.binned_counts(specs, [Window("reference", None, None)], reference=True)
    prod = store.binned_counts(specs, [baseline, current])
    profile = store.feature_profile_by_bucket(bucket_seconds, baseline.start, current.end)
    shift_times = _shift_times(profile, features, bucket_seconds)
    results, hists = [], []
    ref_groups, prod_groups = _by_window_and_feature(ref), _by_window_and_feature(prod)
    totals = _totals(prod, current.name)
    for i, spec in enumerate(specs):
        r = _counts(ref_groups, "reference", i, spec.n_bins)
        b = _counts(prod_groups, baseline.name, i, spec.n_bins)
        c = _counts(prod_groups, current.name, i, spec.n_bins)
        results.append(_drift(spec, r, b, c, totals, shift_times.get(spec.feature.name)))
        hists.append(histogram(spec, r[0], b[0], c[0]))
    counts = _shifted_outcomes(store, specs, results, [baseline, current])
    return FeatureReport(tuple(results), tuple(hists), _symptoms(profile, features, baseline),
                         counts=counts, null_shift_times=_null_shift_times(profile, features,
                                                                           bucket_seconds))


def _shifted_outcomes(store: LogStore, specs: list[BinSpec], drift: list[FeatureDrift],
                      windows: list[Window]) -> pd.DataFrame:
    """Per-bin outcome counts of the features that shifted, with feature indexes into `specs`:
    a second, narrow scan (outcome counts per grouping set are the costly part of a scan, and
    only shifted features can explain a change)."""
    shifted = sorted((i for i, d in enumerate(drift) if d.psi_onset >= PSI_MODERATE / 2),
                     key=lambda i: -drift[i].psi_onset)[:OUTCOME_FEATURES]
    if not shifted:
        shifted = [0]  # the window totals alone
    counts = store.binned_counts([specs[i] for i in shifted], windows, outcomes=True)
    local = counts["feature"].to_numpy(dtype=np.int64)
    full = np.asarray(shifted, dtype=np.int64)[np.clip(local, 0, None)]
    return counts.assign(feature=np.where(local >= 0, full, -1))


def _by_window_and_feature(df: pd.DataFrame) -> dict[tuple[str, int], pd.DataFrame]:
    """The binned-count rows split once by (window, feature index)."""
    return {(str(w), int(f)): part for (w, f), part in df.groupby(["w", "feature"], sort=False)}


def _counts(groups: dict[tuple[str, int], pd.DataFrame] | pd.DataFrame, window: str, index: int,
            n_bins: int) -> tuple[np.ndarray, ...]:
    """(counts, score sums, value sums, value sums of squares) by bin id for one feature and
    window."""
    if isinstance(groups, pd.DataFrame):
        groups = _by_window_and_feature(groups)
    out = [np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins)]
    rows = groups.get((window, index))
    if rows is None:
        return tuple(out)
    bins = rows["bin"].astype(int).to_numpy()
    out[0][bins] = rows["n"].astype(float).to_numpy()
    out[1][bins] = rows["score_sum"].astype(float).fillna(0.0).to_numpy()
    out[2][bins] = rows["value_sum"].astype(float).fillna(0.0).to_numpy()
    out[3][bins] = rows["value_sumsq"].astype(float).fillna(0.0).to_numpy()
    return tuple(out)


def _totals(df: pd.DataFrame, window: str) -> tuple[float, float, float]:
    rows = df[(df["w"] == window) & (df["feature"] == -1)]
    if rows.empty:
        return 0.0, 0.0, 0.0
    row = rows.iloc[0]
    return float(row["n_score"]), float(row["score_sum"] or 0), float(row["score_sumsq"] or 0)


def _mean(counts: np.ndarray, sums: np.ndarray) -> float | None:
    n = counts[NULL_BIN + 1:].sum()
    return float(sums.sum() / n) if n > 0 else None


def _std(counts: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> float | None:
    """Standard deviation of the non-null values from their sums (None below two values)."""
    n = counts[NULL_BIN + 1:].sum()
    if n < 2:
        return None
    mean = sums.sum() / n
    with np.errstate(over="ignore", invalid="ignore"):
        variance = squares.sum() / n - mean * mean
    if not np.isfinite(variance):  # sums of squares beyond float range: no spread to report
        return None
    return float(np.sqrt(max(variance, 0.0) * n / (n - 1)))


def _drift(spec: BinSpec, ref: tuple[np.ndarray, ...], base: tuple[np.ndarray, ...],
           cur: tuple[np.ndarray, ...], totals: tuple[float, float, float],
           shift_time: datetime | None) -> FeatureDrift:
    """All drift statistics of one feature from its binned counts."""
    numeric = spec.feature.kind is ColumnKind.NUMERIC
    rc, bc, cc = ref[0], base[0], cur[0]
    ks = ks_p = chi = chi_p = v = w1 = None
    if numeric:
        ks, ks_p = drift.ks_binned(rc[1:], cc[1:])
        with np.errstate(invalid="ignore", divide="ignore"):
            rmeans = np.where(rc > 0, ref[2] / np.where(rc > 0, rc, 1), 0.0)
            cmeans = np.where(cc > 0, cur[2] / np.where(cc > 0, cc, 1), 0.0)
        w1 = drift.wasserstein_binned(rmeans[1:], rc[1:], cmeans[1:], cc[1:])
    else:
        chi, chi_p, v = drift.chi2(rc, cc)
    psi = drift.psi(rc, cc)
    n_cur = cc.sum()
    outside = (cc[LOW_BIN] + (cc[-1] if numeric else 0.0)) / n_cur if n_cur else 0.0
    eta = drift.correlation_ratio(cc, cur[1], *totals)
    return FeatureDrift(
        feature=spec.feature.name, kind=spec.feature.kind.value, psi=psi,
        psi_onset=drift.psi(bc, cc), psi_baseline=drift.psi(rc, bc), js=drift.js(rc, cc),
        kl=drift.kl(rc, cc), ks=ks, ks_pvalue=ks_p, chi2=chi, chi2_pvalue=chi_p, cramers_v=v,
        wasserstein=w1,
        mean_reference=_mean(rc, ref[2]) if numeric else None,
        mean_baseline=_mean(bc, base[2]) if numeric else None,
        mean_current=_mean(cc, cur[2]) if numeric else None,
        null_rate_baseline=float(bc[NULL_BIN] / bc.sum()) if bc.sum() else 0.0,
        null_rate_current=float(cc[NULL_BIN] / n_cur) if n_cur else 0.0,
        outside_range_current=float(outside), dependence=eta, shift_time=shift_time,
        severity=drift.severity(psi, ks, ks_p, v, chi_p),
        std_reference=_std(rc, ref[2], ref[3]) if numeric else None,
        std_baseline=_std(bc, base[2], base[3]) if numeric else None,
        std_current=_std(cc, cur[2], cur[3]) if numeric else None,
        rows_baseline=int(bc.sum()), rows_current=int(n_cur),
        outside_range_baseline=float((bc[LOW_BIN] + (bc[-1] if numeric else 0.0)) / bc.sum())
        if bc.sum() else 0.0,
    )


def histogram(spec: BinSpec, ref: np.ndarray, base: np.ndarray, cur: np.ndarray) -> Histogram:
    """Bin labels and counts for charts."""
    if spec.feature.kind is ColumnKind.NUMERIC:
        e = spec.edges
        if len(e) >= 2:
            inner = [f"[{_fmt(e[i])}, {_fmt(e[i + 1])}{']' if i == len(e) - 2 else ')'}"
                     for i in range(len(e) - 1)]
            labels = ["null", f"< {_fmt(e[0])}", *inner, f"> {_fmt(e[-1])}"]
        else:
            pivot = _fmt(e[0]) if e else "?"
            labels = ["null", f"< {pivot}", f"= {pivot}", f"> {pivot}"]
    else:
        labels = ["null", "other / unseen", *spec.levels]
    return Histogram(spec.feature.name, spec.feature.kind.value, tuple(labels),
                     tuple(float(x) for x in ref), tuple(float(x) for x in base),
                     tuple(float(x) for x in cur), tuple(spec.edges))


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _shift_times(profile: pd.DataFrame, features: list,
                 bucket_seconds: int) -> dict[str, datetime]:
    """When each numeric feature's per-bucket mean shifted (significant change point)."""
    return _change_times(profile, features, bucket_seconds,
                         lambda i, f: profile[f"mean{i}"].astype(float).to_numpy()
                         if f.kind is ColumnKind.NUMERIC else None)


def _null_shift_times(profile: pd.DataFrame, features: list,
                      bucket_seconds: int) -> dict[str, datetime]:
    """When each feature's per-bucket missing rate shifted (significant change point)."""
    def missing(i: int, f) -> np.ndarray | None:
        with np.errstate(invalid="ignore", divide="ignore"):
            values = 1.0 - profile[f"nn{i}"].astype(float).to_numpy() / profile["n"].to_numpy(
                dtype=float)
        return np.nan_to_num(values) if np.nanmax(values, initial=0.0) > 0 else None
    return _change_times(profile, features, bucket_seconds, missing)


def _change_times(profile: pd.DataFrame, features: list, bucket_seconds: int,
                  series: Callable[[int, FeatureSpec], np.ndarray | None]) -> dict[str, datetime]:
    """Per feature, the start of the significant change (ramps walked back) of its per-bucket
    `series(index, feature)`, skipping features whose series is None."""
    out = {}
    weights = profile["n"].astype(float).to_numpy()
    phase = bucket_phase(profile, bucket_seconds)
    for i, f in enumerate(features):
        values = series(i, f)
        if values is None:
            continue
        w = np.where(np.isfinite(values), weights, 0.0)
        cp = changepoint.detect(values, w, min_relative=0.05, phase=phase)
        if cp is not None:
            start = changepoint.ramp_start(values, w, cp, phase)
            out[f.name] = profile["bucket"].iloc[start].to_pydatetime()
    return out


def _stale(profile: pd.DataFrame, i: int, before: pd.Series) -> pd.Series:
    """Buckets where a numeric feature repeats a handful of values: its distinct values per row
    fell below a fifth of the pre-onset median (an online store serving each key's last value).
    """
    nn = profile[f"nn{i}"].astype(float)
    ratio = profile[f"nd{i}"].astype(float) / nn.where(nn > 0)
    typical = float(ratio[before].median()) if before.any() else float("nan")
    if not np.isfinite(typical) or typical < 0.2:  # a naturally low-cardinality feature
        return pd.Series(False, index=profile.index)
    return (ratio < 0.2 * typical) & (nn >= 20)


def _symptoms(profile: pd.DataFrame, features: list, baseline: Window) -> tuple:
    """Features that went all-null, constant or all-zero in the current window but not before."""
    before = profile["bucket"] < pd.Timestamp(baseline.end)
    found = []
    for i, f in enumerate(features):
        n = profile["n"].astype(float)
        checks = {
            "all_null": profile[f"nn{i}"].astype(float) == 0,
            "constant": (profile[f"const{i}"].astype(float) == 1) & (profile[f"nn{i}"] > 1),
            "all_zero": (profile[f"zeros{i}"].astype(float) == n) & (n > 0),
        }
        if f.kind is ColumnKind.NUMERIC:
            checks["stale"] = _stale(profile, i, before)
        for kind, flag in checks.items():
            cur = float(flag[~before].mean()) if (~before).any() else 0.0
            base = float(flag[before].mean()) if before.any() else 0.0
            if cur >= 0.5 and cur - base >= 0.4:
                found.append(PipelineSymptom(f.name, kind, cur, base,
                                             _run_start(profile["bucket"], flag)))
                break
    return tuple(found)


def _run_start(buckets: pd.Series, flag: pd.Series) -> datetime | None:
    """Start of the last run of flagged buckets (the failure still going on at the end)."""
    values = flag.to_numpy(dtype=bool)
    if not values.any():
        return None
    last = int(np.flatnonzero(values)[-1])
    start = last
    while start > 0 and values[start - 1]:
        start -= 1
    return pd.Timestamp(buckets.iloc[start]).to_pydatetime()


def drift_over_time(store: LogStore, feature: str, bucket_seconds: int,
                    start: datetime | None = None, end: datetime | None = None) -> MetricSeries:
    """PSI of one feature against the reference, per time bucket (when did it start to drift?)."""
    spec = store.bin_specs([store.roles.feature(feature)])[0]
    ref = store.binned_counts([spec], [Window("reference", None, None)], reference=True)
    ref_counts = _counts(ref, "reference", 0, spec.n_bins)[0]
    df = store.binned_by_bucket(spec, bucket_seconds, start, end)
    buckets, values, weights = [], [], []
    for bucket, part in df.groupby("bucket", sort=True):
        counts = np.zeros(spec.n_bins)
        counts[part["bin"].astype(int).to_numpy()] = part["n"].to_numpy()
        buckets.append(pd.Timestamp(bucket).to_pydatetime())
        values.append(drift.psi(ref_counts, counts))
        weights.append(float(counts.sum()))
    return MetricSeries(f"psi:{feature}", tuple(buckets), tuple(values), tuple(weights))
