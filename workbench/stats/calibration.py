"""Score calibration fitted on binned labelled counts: none, isotonic or Platt, whichever has the
lowest cross-validated calibration error.

A calibration map is its probability at the score-bin edges, linear in the score between them:
the sum of calibrated probabilities over any rows of a bin is then `alpha n + beta sum(score)`,
so per-bucket expected counts follow from per-bin counts and score sums computed in SQL, and no
row of the log has to leave the database. Everything here works on those per-bin arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("none", "isotonic", "platt")
# Calibration error: |observed - expected| positives summed over this many groups of bins of
# about equal labelled mass, over the labelled rows (expected calibration error, ECE).
ECE_GROUPS = 10
# Scores are clipped this far inside (0, 1) before the logit of Platt scaling.
LOGIT_EPS = 1e-6
# A whisper of ridge keeps Platt's Newton steps finite when the labels separate perfectly.
PLATT_RIDGE = 1e-6


@dataclass(frozen=True)
class LabelledBins:
    """Labelled rows per fold (rows) and score bin (columns): rows m, positives y, score sums s.

    edges: the K + 1 score-bin edges; probability: whether every score lies in [0, 1].
    """

    edges: np.ndarray
    m: np.ndarray
    y: np.ndarray
    s: np.ndarray
    probability: bool

    @property
    def rows(self) -> int:
        """Labelled rows over every fold."""
        return int(self.m.sum())

    @property
    def positives(self) -> int:
        """Positive labels over every fold."""
        return int(round(float(self.y.sum())))

    def pooled(self, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(m, y, s) summed over the folds `keep` selects (all by default)."""
        sel = slice(None) if keep is None else keep
        return self.m[sel].sum(axis=0), self.y[sel].sum(axis=0), self.s[sel].sum(axis=0)


@dataclass(frozen=True)
class CalibrationMap:
    """Calibrated probability at each score-bin edge, linear in the score in between."""

    method: str
    edges: np.ndarray
    probs: np.ndarray

    def coefficients(self, probs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per bin (alpha, beta) with p(s) = alpha + beta s; `probs` may hold draws (R x K+1)."""
        p = self.probs if probs is None else probs
        width = np.diff(self.edges)
        safe = np.where(width > 0, width, 1.0)
        beta = np.where(width > 0, np.diff(p, axis=-1) / safe, 0.0)
        alpha = p[..., :-1] - beta * self.edges[:-1]
        return alpha, beta

    def at(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of individual scores."""
        return np.interp(scores, self.edges, self.probs)


def fit(method: str, bins: LabelledBins, m: np.ndarray, y: np.ndarray,
        s: np.ndarray) -> CalibrationMap:
    """The calibration map of one method fitted on per-bin labelled counts (m, y, s)."""
    edges = bins.edges
    used = m > 0
    x = s[used] / m[used]
    rate = y[used] / m[used]
    if method == "none":
        probs = np.clip(edges, 0.0, 1.0)
    elif method == "isotonic":
        if not used.any():
            probs = np.full(len(edges), 0.5)
        else:
            from sklearn.isotonic import isotonic_regression  # loaded when labels lag

            fitted = isotonic_regression(rate, sample_weight=m[used], y_min=0.0, y_max=1.0,
                                         increasing=True)
            probs = np.interp(edges, x, fitted)
    elif method == "platt":
        a, b = _platt(_platt_input(x, bins.probability), y[used], m[used])
        probs = _sigmoid(a * _platt_input(edges, bins.probability) + b)
    else:
        raise ValueError(f"unknown calibration method {method!r}; one of {METHODS}")
    return CalibrationMap(method, edges, np.clip(probs, 0.0, 1.0))


def expected_positives(cmap: CalibrationMap, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Sum of calibrated probabilities per bin over rows with counts m and score sums s."""
    alpha, beta = cmap.coefficients()
    return alpha * m + beta * s


def calibration_error(cmap: CalibrationMap, m: np.ndarray, y: np.ndarray,
                      s: np.ndarray) -> float | None:
    """Expected calibration error of a map on labelled rows (None without rows)."""
    total = float(m.sum())
    if total <= 0:
        return None
    expected = expected_positives(cmap, m, s)
    group = _groups(m)
    gap = np.bincount(group, weights=y - expected, minlength=ECE_GROUPS)
    return float(np.abs(gap).sum() / total)


def _groups(m: np.ndarray) -> np.ndarray:
    """Each bin's group: ECE_GROUPS runs of consecutive bins of about equal labelled mass."""
    mass = np.cumsum(m) - m / 2
    total = max(float(m.sum()), 1.0)
    return np.minimum((mass / total * ECE_GROUPS).astype(int), ECE_GROUPS - 1)


@dataclass(frozen=True)
class Choice:
    """The chosen map and what the choice rested on."""

    cmap: CalibrationMap
    cv_error: dict[str, float]  # method -> cross-validated calibration error
    raw_error: float | None  # calibration error of the scores taken as probabilities


def choose(bins: LabelledBins) -> Choice:
    """The method with the lowest cross-validated calibration error, fitted on every fold."""
    methods = METHODS if bins.probability else METHODS[1:]
    folds = bins.m.shape[0]
    errors: dict[str, float] = {}
    for method in methods:
        gaps, mass = 0.0, 0.0
        for f in range(folds):
            held = bins.m[f].sum()
            if held <= 0:
                continue
            keep = np.arange(folds) != f
            cmap = fit(method, bins, *bins.pooled(keep))
            err = calibration_error(cmap, bins.m[f], bins.y[f], bins.s[f])
            if err is not None:
                gaps += err * held
                mass += held
        if mass > 0:
            errors[method] = float(gaps / mass)
    best = min(errors, key=errors.__getitem__) if errors else methods[0]
    m, y, s = bins.pooled()
    raw = (calibration_error(fit("none", bins, m, y, s), m, y, s) if bins.probability
           else None)
    return Choice(fit(best, bins, m, y, s), errors, raw)


def bootstrap(choice: Choice, bins: LabelledBins, draws: int,
              rng: np.random.Generator) -> np.ndarray:
    """Maps refitted on labels redrawn from the fitted probabilities (draws x K+1 edge probs).

    The spread of a bucket's estimate over these maps is the calibration's own uncertainty,
    shared by every bucket; without a fitted map ("none") there is none.
    """
    cmap = choice.cmap
    if cmap.method == "none":
        return np.repeat(cmap.probs[None, :], draws, axis=0)
    m, _, s = bins.pooled()
    used = m > 0
    p_bin = np.zeros_like(m, dtype=float)
    p_bin[used] = np.clip(cmap.at(s[used] / m[used]), 0.0, 1.0)
    out = np.empty((draws, len(cmap.edges)))
    counts = m.astype(np.int64)
    for r in range(draws):
        y = rng.binomial(counts, p_bin).astype(float)
        out[r] = fit(cmap.method, bins, m, y, s).probs
    return out


def _platt_input(x: np.ndarray, probability: bool) -> np.ndarray:
    """Logit of probability scores, raw scores otherwise."""
    if not probability:
        return np.asarray(x, float)
    p = np.clip(np.asarray(x, float), LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def _platt(z: np.ndarray, y: np.ndarray, m: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """Weighted binomial logistic fit of p = sigmoid(a z + b) by Newton's method."""
    if len(z) == 0 or m.sum() <= 0:
        return 1.0, 0.0
    centre = float(np.average(z, weights=m))
    spread = float(np.sqrt(np.average((z - centre) ** 2, weights=m))) or 1.0
    u = (z - centre) / spread
    theta = np.zeros(2)
    design = np.column_stack([u, np.ones_like(u)])
    for _ in range(steps):
        p = _sigmoid(design @ theta)
        grad = design.T @ (y - m * p) - PLATT_RIDGE * theta
        w = m * p * (1 - p)
        hess = design.T @ (design * w[:, None]) + PLATT_RIDGE * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta += step
        if np.abs(step).max() < 1e-10:
            break
    a = theta[0] / spread
    return float(a), float(theta[1] - a * centre)
