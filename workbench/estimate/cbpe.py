"""Confidence-based performance estimation (CBPE): expected confusion counts per bucket from
calibrated scores and the logged decisions, out of one SQL aggregate over the whole log.

A positive decision on a row whose calibrated probability is p is a true positive with
probability p and a false positive with 1 - p (a negative decision: a false negative with p, a
true negative with 1 - p). Summed over a bucket, these expected counts give every confusion
metric, and each count's sampling variance is the Poisson-binomial sum of p (1 - p). The
calibration map is linear in the score within each score bin, so the sums follow from per-bucket
per-bin counts and score moments (`queries.score_bins`); the map's own uncertainty comes from
refitting it on redrawn labels (`calibration.bootstrap`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from workbench.data import LogStore
from workbench.stats.calibration import CalibrationMap, LabelledBins

# Score bins: edges at this many score quantiles of the analysed window plus as many evenly
# spaced over its range (dense where the rows are and where the decision threshold usually is).
QUANTILE_EDGES = 50
UNIFORM_EDGES = 50
# Calibration folds (interleaved buckets) and bootstrap maps for the map's uncertainty.
FOLDS = 5
BOOTSTRAP_MAPS = 100
# Signed coefficients of each confusion count on TP (positive decisions) and FN (negative
# decisions): FP = n1 - TP, TN = n0 - FN.
COEFFICIENTS = {"tp": (1.0, 0.0), "fp": (-1.0, 0.0), "fn": (0.0, 1.0), "tn": (0.0, -1.0)}


@dataclass(frozen=True)
class ScoreCells:
    """Per bucket (G, in the order given), decision (2) and score bin (K): rows `n`, score sums
    `s1` and squares `s2`; per bucket and bin: labelled rows `m`, positives `y`, score sum `ms`."""

    buckets: pd.Series
    edges: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    m: np.ndarray
    y: np.ndarray
    ms: np.ndarray

    @property
    def probability(self) -> bool:
        """Whether every score lies in [0, 1] (probabilities, not margins)."""
        return bool(self.edges[0] >= 0.0 and self.edges[-1] <= 1.0)

    def labelled(self, keep: np.ndarray, folds: int = FOLDS) -> LabelledBins:
        """The labelled rows of the buckets `keep` selects, in folds of interleaved buckets."""
        fold = np.arange(len(self.buckets)) % folds
        shape = (folds, len(self.edges) - 1)
        m, y, s = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for f in range(folds):
            sel = keep & (fold == f)
            m[f], y[f], s[f] = self.m[sel].sum(0), self.y[sel].sum(0), self.ms[sel].sum(0)
        return LabelledBins(self.edges, m, y, s, self.probability)


def score_edges(store: LogStore, start: datetime | None, end: datetime | None) -> np.ndarray:
    """Score-bin edges for the window: quantiles plus an even grid over the range."""
    q = store.score_quantiles(list(np.linspace(0.0, 1.0, QUANTILE_EDGES + 1)), start, end)
    if len(q) == 0:
        return q
    lo, hi = float(q[0]), float(q[-1])
    if hi <= lo:
        return np.array([lo, lo + max(abs(lo), 1.0) * 1e-9])
    return np.unique(np.concatenate([q, np.linspace(lo, hi, UNIFORM_EDGES + 1)]))


def load(store: LogStore, edges: np.ndarray, buckets: pd.Series, bucket_seconds: int,
         start: datetime | None, end: datetime | None) -> ScoreCells:
    """The score cells of the log, one per bucket of `buckets` (a counts frame's buckets)."""
    return load_frame(store.score_bins(list(edges), bucket_seconds, start, end), edges, buckets)


def load_frame(frame: pd.DataFrame, edges: np.ndarray,
               buckets: pd.Series | None = None) -> ScoreCells:
    """Score cells from a `score_bins` frame: one per bucket of `buckets`, or a single group
    pooling every row without them."""
    if buckets is None:
        frame = frame.assign(bucket=pd.Timestamp(0))
        buckets = pd.Series([pd.Timestamp(0)])
    k = len(edges) - 1
    g = len(buckets)
    where = pd.Index(buckets).get_indexer(frame["bucket"])
    ok = where >= 0
    frame, where = frame[ok], where[ok]
    b = frame["bin"].to_numpy(int)
    d = frame["decision"].to_numpy(int).clip(0, 1)

    def cube(col: str) -> np.ndarray:
        out = np.zeros((g, 2, k))
        np.add.at(out, (where, d, b), frame[col].astype(float).fillna(0.0).to_numpy())
        return out

    def plane(col: str) -> np.ndarray:
        out = np.zeros((g, k))
        np.add.at(out, (where, b), frame[col].astype(float).fillna(0.0).to_numpy())
        return out

    return ScoreCells(buckets.reset_index(drop=True), np.asarray(edges, float), cube("n"),
                      cube("s1"), cube("s2"), plane("m"), plane("y"), plane("ms"))


def reference_bins(store: LogStore, edges: np.ndarray, probability: bool,
                   folds: int = FOLDS) -> LabelledBins | None:
    """The reference's labelled scores as calibration data (None when it has no scores)."""
    frame = store.reference_score_bins(list(edges), folds)
    if frame is None or frame.empty:
        return None
    shape = (folds, len(edges) - 1)
    f = frame["fold"].to_numpy(int) % folds
    b = frame["bin"].to_numpy(int)
    arrays = []
    for col in ("m", "y", "ms"):
        out = np.zeros(shape)
        np.add.at(out, (f, b), frame[col].astype(float).fillna(0.0).to_numpy())
        arrays.append(out)
    return LabelledBins(np.asarray(edges, float), *arrays, probability)


@dataclass(frozen=True)
class Expected:
    """Expected confusion counts per group (bucket or window) with their sampling variances.

    v1/v0: Poisson-binomial variance of TP (positive decisions) and of FN (negative ones);
    draws: the counts under each bootstrap map (R x G), for the map's own uncertainty;
    pos/neg: expected positives and negatives per score bin (G x K), for the ROC AUC.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    v1: np.ndarray
    v0: np.ndarray
    draws: dict[str, np.ndarray]
    pos: np.ndarray
    neg: np.ndarray
    pos_draws: np.ndarray  # R x G x K

    def counts(self) -> dict[str, np.ndarray]:
        """The four expected counts by name."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}

    def pooled(self, mask: np.ndarray) -> Expected:
        """One group: the sums over the groups `mask` selects (a window of buckets)."""
        def total(a: np.ndarray, axis: int = 0) -> np.ndarray:
            return np.compress(mask, a, axis=axis).sum(axis=axis, keepdims=True)
        return Expected(total(self.tp), total(self.fp), total(self.fn), total(self.tn),
                        total(self.v1), total(self.v0),
                        {k: total(v, 1) for k, v in self.draws.items()},
                        total(self.pos), total(self.neg), total(self.pos_draws, 1))


def expected(cells: ScoreCells, cmap: CalibrationMap, maps: np.ndarray) -> Expected:
    """Expected counts per bucket under the fitted map and each bootstrap map (R x K+1)."""
    alpha, beta = cmap.coefficients()
    p = alpha * cells.n + beta * cells.s1  # (G, 2, K) sums of p
    p2 = alpha ** 2 * cells.n + 2 * alpha * beta * cells.s1 + beta ** 2 * cells.s2
    var = np.clip(p - p2, 0.0, None)
    rows = cells.n.sum(axis=2)
    tp, fn = p[:, 1].sum(1), p[:, 0].sum(1)
    a_r, b_r = cmap.coefficients(maps)  # (R, K)
    tp_r = cells.n[:, 1] @ a_r.T + cells.s1[:, 1] @ b_r.T  # (G, R)
    fn_r = cells.n[:, 0] @ a_r.T + cells.s1[:, 0] @ b_r.T
    draws = {"tp": tp_r.T, "fp": rows[:, 1] - tp_r.T, "fn": fn_r.T, "tn": rows[:, 0] - fn_r.T}
    n_bins = cells.n.sum(axis=1)
    s_bins = cells.s1.sum(axis=1)
    pos = p.sum(axis=1)
    pos_draws = a_r[:, None, :] * n_bins[None] + b_r[:, None, :] * s_bins[None]
    return Expected(tp, rows[:, 1] - tp, fn, rows[:, 0] - fn, var[:, 1].sum(1),
                    var[:, 0].sum(1), draws, pos, n_bins - pos, pos_draws)


def ratio(counts: dict[str, np.ndarray], numerator: tuple[str, ...],
          denominator: tuple[str, ...]) -> np.ndarray:
    """A count ratio per group; NaN where the denominator is 0."""
    num = sum(counts[c] for c in numerator)
    den = sum(counts[c] for c in denominator)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def metric(exp: Expected, numerator: tuple[str, ...],
           denominator: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, standard error) per group of a ratio of confusion counts.

    The standard error adds the sampling variance (delta method over the two independent
    Poisson-binomial sums TP and FN) and the spread over the bootstrap maps.
    """
    counts = exp.counts()
    value = ratio(counts, numerator, denominator)
    den = sum(counts[c] for c in denominator)
    a1, a0 = (sum(COEFFICIENTS[c][i] for c in numerator) for i in (0, 1))
    b1, b0 = (sum(COEFFICIENTS[c][i] for c in denominator) for i in (0, 1))
    var_num = a1 ** 2 * exp.v1 + a0 ** 2 * exp.v0
    var_den = b1 ** 2 * exp.v1 + b0 ** 2 * exp.v0
    cov = a1 * b1 * exp.v1 + a0 * b0 * exp.v0
    r = np.nan_to_num(value)
    with np.errstate(invalid="ignore", divide="ignore"):
        sampling = np.where(den > 0, (var_num - 2 * r * cov + r ** 2 * var_den)
                            / np.where(den > 0, den, 1.0) ** 2, np.nan)
    spread = _spread(ratio(exp.draws, numerator, denominator))
    return value, np.sqrt(np.clip(sampling, 0.0, None) + spread ** 2)


def roc_auc(exp: Expected) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, standard error) per group of the ROC AUC of the scores against the expected
    labels: positives and negatives per score bin ranked by bin, ties within a bin counted half
    (Hanley and McNeil's standard error on the expected class sizes, plus the maps' spread)."""
    value = _auc(exp.pos, exp.neg)
    n_pos, n_neg = exp.pos.sum(1), exp.neg.sum(1)
    a = np.nan_to_num(value, nan=0.5)
    q1, q2 = a / (2 - a), 2 * a ** 2 / (1 + a)
    with np.errstate(invalid="ignore", divide="ignore"):
        sampling = (a * (1 - a) + (n_pos - 1) * (q1 - a ** 2) + (n_neg - 1) * (q2 - a ** 2)) / (
            n_pos * n_neg)
    total = exp.pos + exp.neg
    spread = _spread(np.stack([_auc(p, total - p) for p in exp.pos_draws]))
    sd = np.sqrt(np.clip(np.where(np.isfinite(sampling), sampling, np.nan), 0.0, None)
                 + spread ** 2)
    return value, sd


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Binned Mann-Whitney AUC per row of (G x K) expected positives and negatives."""
    above = pos[:, ::-1].cumsum(axis=1)[:, ::-1] - pos  # positives in higher bins
    wins = (neg * above).sum(1) + 0.5 * (neg * pos).sum(1)
    den = pos.sum(1) * neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, wins / np.where(den > 0, den, 1.0), np.nan)


def _spread(draws: np.ndarray) -> np.ndarray:
    """Standard deviation over the bootstrap maps (R x G) per group; 0 where undefined."""
    finite = np.isfinite(draws)
    count = finite.sum(axis=0)
    safe = np.where(finite, draws, 0.0)
    mean = safe.sum(axis=0) / np.maximum(count, 1)
    var = (np.where(finite, draws - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count, 1)
    return np.where(count > 1, np.sqrt(var), 0.0)
