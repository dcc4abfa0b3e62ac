"""How much of the metric's change the input shifts explain, and what is left (concept drift).

Model-free and out of core: per-bin outcome counts of every feature come with the drift scan,
and one more aggregate gives the joint coarse cells of the top shifted features. The split
itself is `workbench.stats.decompose`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import LogStore
from workbench.results import Decomposition, Explained, FeatureDrift
from workbench.stages.metrics import METRICS
from workbench.stages.triage import Triage
from workbench.stats import decompose
from workbench.stats.drift import PSI_MODERATE

# The top shifted features decomposed jointly (Shapley over their 2^k coalitions).
JOINT_FEATURES = 3
# A gap smaller than this share of the baseline metric (or absolute, near zero) is no change
# to decompose.
MIN_RELATIVE_GAP = 0.02
RATE_METRICS = ("false_positive_rate", "false_negative_rate", "error_rate", "precision",
                "recall", "positive_rate")


def decompose_metric(store: LogStore, triage: Triage, drift: tuple[FeatureDrift, ...],
                     counts: pd.DataFrame | None, seed: int = 0) -> Decomposition | None:
    """The decomposition of the triage metric's change, or None when there is nothing to split
    (no onset, no change, or no per-bin outcome counts)."""
    name = triage.metric.name
    base, cur = triage.metric.baseline, triage.metric.current
    if triage.onset is None or base is None or cur is None or counts is None:
        return None
    if abs(cur - base) <= MIN_RELATIVE_GAP * max(abs(base), 1e-9):
        return None
    metric = METRICS[name]
    frame = _with_terms(counts, metric.numerator, metric.denominator)
    specs = store.bin_specs(list(store.roles.features))
    alone = _single_feature_shares(frame, specs, triage)
    shifted = sorted((d for d in drift if d.psi_onset >= PSI_MODERATE / 2),
                     key=lambda d: -d.psi_onset)[:JOINT_FEATURES]
    windows = [triage.baseline, triage.current]
    joint_specs = [store.roles.feature(d.feature) for d in shifted]
    if joint_specs:
        cells = _with_terms(store.joint_cells(store.bin_specs(joint_specs), windows),
                            metric.numerator, metric.denominator)
        coalitions = decompose.Coalitions(cells, [f"c{i}" for i in range(len(joint_specs))])
        num, den = cells["_num"].to_numpy(float), cells["_den"].to_numpy(float)
        split, phi = coalitions.shapley(num, den)
        draws = _bootstrap(coalitions, num, den, name in RATE_METRICS, seed)
    else:
        total = frame[frame["feature"] == -1]
        split = decompose.two_factor(*_pair(total, triage))
        split = decompose.Split(split.gap, 0.0, split.gap)
        phi, draws = {}, []
    gap = split.gap
    if not np.isfinite(gap) or gap == 0:
        return None
    by_feature = dict(alone)  # the features whose per-bin outcome counts were read
    intervals: dict[str, tuple[float, float] | None] = {}
    for i, spec in enumerate(joint_specs):
        by_feature[spec.name] = phi[f"c{i}"] / gap
        intervals[spec.name] = decompose.percentile_interval([d[f"c{i}"] for d in draws])
    covariate = split.covariate / gap
    return Decomposition(
        metric=name, gap=gap, covariate=covariate, residual=1.0 - covariate,
        by_feature=dict(sorted(by_feature.items(), key=lambda kv: -abs(kv[1]))),
        features=tuple(s.name for s in joint_specs),
        covariate_interval=decompose.percentile_interval([d["covariate"] for d in draws]),
        labelled=metric.needs_labels, intervals=intervals)


def explained_share(decomposition: Decomposition | None, feature: str) -> Explained | None:
    """A feature's explained share as hypothesis evidence (None without a decomposition)."""
    if decomposition is None or feature not in decomposition.by_feature:
        return None
    joint = feature in decomposition.features
    return Explained(decomposition.by_feature[feature], decomposition.intervals.get(feature),
                     "shapley" if joint else "reweighting")


def _with_terms(df: pd.DataFrame, numerator: tuple[str, ...],
                denominator: tuple[str, ...]) -> pd.DataFrame:
    """The frame with `_num`/`_den`: the metric's numerator and denominator counts."""
    def total(cols: tuple[str, ...]) -> pd.Series:
        return sum((df[c].astype(float).fillna(0.0) for c in cols),
                   start=pd.Series(0.0, index=df.index))
    return df.assign(_num=total(numerator), _den=total(denominator))


def _pair(rows: pd.DataFrame, triage: Triage) -> tuple[np.ndarray, ...]:
    base = rows[rows["w"] == triage.baseline.name]
    cur = rows[rows["w"] == triage.current.name]
    return (base["_num"].to_numpy(dtype=float), base["_den"].to_numpy(dtype=float),
            cur["_num"].to_numpy(dtype=float), cur["_den"].to_numpy(dtype=float))


def _single_feature_shares(frame: pd.DataFrame, specs: list, triage: Triage) -> dict[str, float]:
    """Each feature's covariate share when its bins alone are the cells."""
    out = {}
    for i, spec in enumerate(specs):
        rows = frame[frame["feature"] == i]
        if rows.empty:
            continue
        wide = rows.pivot_table(index="bin", columns="w", values=["_num", "_den"],
                                aggfunc="sum", fill_value=0.0)
        try:
            a_b, d_b = wide[("_num", triage.baseline.name)], wide[("_den", triage.baseline.name)]
            a_c, d_c = wide[("_num", triage.current.name)], wide[("_den", triage.current.name)]
        except KeyError:
            continue
        split = decompose.two_factor(a_b.to_numpy(float), d_b.to_numpy(float),
                                     a_c.to_numpy(float), d_c.to_numpy(float))
        if split.gap and np.isfinite(split.gap):
            out[spec.feature.name] = split.covariate / split.gap
    return out


def _bootstrap(coalitions: decompose.Coalitions, num: np.ndarray, den: np.ndarray,
               rate: bool, seed: int) -> list[dict[str, float]]:
    """Shares (joint covariate and each key's Shapley share) over bootstrap draws."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(decompose.BOOTSTRAP_DRAWS):
        split, phi = coalitions.shapley(*decompose.resample(num, den, rng, rate))
        if split.gap and np.isfinite(split.gap):
            draws.append({"covariate": split.covariate / split.gap,
                          **{k: v / split.gap for k, v in phi.items()}})
    return draws
