"""Split a change in a ratio metric into a shift of the inputs and a change of the relation.

A ratio metric M = sum_b A_b / sum_b D_b over cells b (bins of one feature, or joint cells of a
few) is M = sum_b q_b r_b with q_b = D_b / sum D (the cell's share of the metric's denominator:
negatives for the false-positive rate, rows for the positive rate) and r_b = A_b / D_b (the
metric inside the cell). Between a baseline and a current window the gap splits exactly into

    covariate = sum_b (q'_b - q_b) (r'_b + r_b) / 2      (the inputs moved between cells)
    relation  = sum_b (q'_b + q_b) / 2 (r'_b - r_b)      (the outcome changed inside cells)

the symmetric (Shapley) two-factor form of the Oaxaca-Blinder decomposition; a cell seen in one
window only contributes to the covariate part, since no relation can be measured there, and
sparse cells are shrunk towards their pooled metric before the relation is read from them. Several
features share the covariate part by Shapley values over the coalitions of features whose cells
are kept (Budhathoki et al., "Why did the model fail? Attributing model performance changes to
distribution shifts", ICML 2023, with the joint distribution summarised by coarse cells).
Intervals come from a parametric bootstrap of the cell counts (binomial for rates).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

BOOTSTRAP_DRAWS = 200
# Rows of pseudo-evidence a cell's metric is shrunk with towards its pooled value.
PRIOR_ROWS = 20.0
INTERVAL = (0.025, 0.975)  # a 95 % percentile interval


@dataclass(frozen=True)
class Split:
    """The two parts of a metric gap (absolute, in metric units; they add up to gap)."""

    gap: float
    covariate: float
    relation: float


def two_factor(a_base: np.ndarray, d_base: np.ndarray, a_cur: np.ndarray,
               d_cur: np.ndarray, prior: float = PRIOR_ROWS) -> Split:
    """The symmetric split of a ratio metric's change over aligned cells.

    The relation part compares each cell's metric between the windows after shrinking both
    towards the cell's pooled metric by `prior` rows (empirical-Bayes), so a cell seen a
    handful of times in one window cannot pass its sampling noise off as a changed relation; a
    cell seen in one window only has no relation change. The covariate part is the rest of the
    gap, so the two add up exactly.
    """
    q_b = _shares(d_base)
    q_c = _shares(d_cur)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(d_base + d_cur > 0,
                          (a_base + a_cur) / np.where(d_base + d_cur > 0, d_base + d_cur, 1),
                          0.0)
        r_b = (a_base + prior * pooled) / np.where(d_base + prior > 0, d_base + prior, 1)
        r_c = (a_cur + prior * pooled) / np.where(d_cur + prior > 0, d_cur + prior, 1)
    both = (d_base > 0) & (d_cur > 0)
    rel = float(np.sum(((q_c + q_b) / 2 * (r_c - r_b))[both]))
    gap = _ratio(a_cur, d_cur) - _ratio(a_base, d_base)
    return Split(gap, gap - rel, rel)


class Coalitions:
    """Joint cells of a few keys, grouped once for every coalition of keys, so that the split
    of any draw of the cell counts costs a few `bincount`s."""

    def __init__(self, cells: pd.DataFrame, keys: Sequence[str], window: str = "w",
                 baseline: str = "baseline", current: str = "current") -> None:
        self.keys = tuple(keys)
        self.is_base = (cells[window] == baseline).to_numpy()
        self.is_cur = (cells[window] == current).to_numpy()
        self.codes: dict[tuple[str, ...], tuple[np.ndarray, int]] = {}
        for size in range(1, len(keys) + 1):
            for coalition in itertools.combinations(self.keys, size):
                codes, uniques = pd.MultiIndex.from_frame(
                    cells[list(coalition)].fillna(-9)).factorize()
                self.codes[coalition] = (codes, len(uniques))

    def split(self, coalition: tuple[str, ...], num: np.ndarray, den: np.ndarray) -> Split:
        """The two-factor split with the cells of `coalition` only."""
        codes, n = self.codes[coalition]
        def side(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
            return np.bincount(codes[mask], weights=values[mask], minlength=n)
        return two_factor(side(self.is_base, num), side(self.is_base, den),
                          side(self.is_cur, num), side(self.is_cur, den))

    def shapley(self, num: np.ndarray, den: np.ndarray) -> tuple[Split, dict[str, float]]:
        """The joint split and each key's Shapley share of its covariate part (absolute)."""
        value: dict[tuple[str, ...], float] = {(): 0.0}
        for coalition in self.codes:
            value[coalition] = self.split(coalition, num, den).covariate
        joint = self.split(self.keys, num, den)
        k = len(self.keys)
        phi = {}
        for key in self.keys:
            others = [x for x in self.keys if x != key]
            total = 0.0
            for size in range(k):
                weight = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
                for coalition in itertools.combinations(others, size):
                    with_key = tuple(x for x in self.keys if x in coalition or x == key)
                    total += weight * (value[with_key] - value[tuple(coalition)])
            phi[key] = total
        return joint, phi


def resample(num: np.ndarray, den: np.ndarray, rng: np.random.Generator,
             rate: bool) -> tuple[np.ndarray, np.ndarray]:
    """One parametric bootstrap draw of cell counts: Poisson denominators, binomial numerators
    for rates (else numerators scaled with their denominators)."""
    d_new = rng.poisson(np.maximum(den, 0)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    if rate:
        a_new = rng.binomial(d_new.astype(np.int64), np.clip(ratio, 0.0, 1.0)).astype(float)
    else:
        a_new = ratio * d_new
    return a_new, d_new


def percentile_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The bootstrap percentile interval of finite draws (None when too few)."""
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(finite) < 20:
        return None
    lo, hi = np.quantile(finite, INTERVAL)
    return float(lo), float(hi)


def _shares(d: np.ndarray) -> np.ndarray:
    total = float(np.sum(d))
    return d / total if total > 0 else np.zeros_like(d, dtype=float)


def _ratio(a: np.ndarray, d: np.ndarray) -> float:
    den = float(np.sum(d))
    return float(np.sum(a)) / den if den > 0 else float("nan")
