"""The time budget of SHAP attribution inside `diagnose`: measure, then sample to fit, or skip.

An explanation must never cost the on-call engineer the whole diagnosis. The attribution step
gets a budget in seconds; it measures what one explained row costs on a small probe (and, for
the model-agnostic explainer, what the model costs per scored row before running SHAP at all),
goes on explaining sampled rows of every window in growing chunks while they fit in what is
left, and is skipped when even the minimum does not fit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.exceptions import InvalidInputError

if TYPE_CHECKING:  # the budget is checked before SHAP is loaded
    from workbench.explain.shap_values import FeatureExplainer, Score

DEFAULT_BUDGET_SECONDS = 10.0
# Fewer explained rows per window than this cannot rank features by attribution change.
MIN_ROWS_PER_WINDOW = 30
# Rows per window of the first chunk, the probe whose cost decides how many rows fit.
PROBE_ROWS = 10
# Each further chunk is up to this many times the previous one (bigger chunks amortise each
# call's fixed cost; the budget is checked between chunks).
CHUNK_GROWTH = 4
# Model rows scored to time the model before a model-agnostic explainer runs.
SCORE_PROBE_ROWS = 1_000
# Share of the remaining budget planned for: a probe's cost per row is an estimate.
PLANNING_SHARE = 0.8
_CLOCK_RESOLUTION = 1e-9  # seconds; a measured cost is never taken as zero


def check_budget(seconds: float | None) -> float:
    """The budget in seconds (DEFAULT_BUDGET_SECONDS for None); raises for a bad value."""
    if seconds is None:
        return DEFAULT_BUDGET_SECONDS
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
            math.isfinite(seconds) and seconds > 0):
        raise InvalidInputError(
            f"The attribution budget must be a positive number of seconds. Got {seconds!r}.")
    return float(seconds)


@dataclass
class Clock:
    """Seconds spent since the step began, against its budget."""

    budget: float
    began: float = field(default_factory=time.perf_counter)

    @property
    def elapsed(self) -> float:
        """Seconds since the step began."""
        return time.perf_counter() - self.began

    @property
    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.budget - self.elapsed)


@dataclass(frozen=True)
class BudgetedValues:
    """Mean |SHAP| per feature of each window's rows explained within the budget.

    rows: rows explained per window; gap: the largest additivity gap over them; seconds_per_row:
    the measured cost; reason: why nothing was explained (None when something was).
    """

    means: tuple[np.ndarray, ...]
    rows: tuple[int, ...]
    gap: float | None
    seconds_per_row: float
    reason: str | None = None


def explain_within(explainer: FeatureExplainer, score: Score, samples: Sequence[pd.DataFrame],
                   background: pd.DataFrame, clock: Clock) -> BudgetedValues:
    """Explain the samples (one per window) in growing chunks while the budget lasts.

    The first chunk is the probe: when it shows that MIN_ROWS_PER_WINDOW rows per window cannot
    fit, the step is skipped. Each later chunk is sized from the cost measured so far (which
    still includes each call's fixed overhead, so the estimate errs on the safe side). The
    model-agnostic explainer scores `model_rows_per_row` rows per explained row: the model is
    timed on background rows first, so a slow model is skipped before SHAP runs at all.
    """
    windows = len(samples)
    wanted = max(len(s) for s in samples)
    floor = min(MIN_ROWS_PER_WINDOW, wanted)
    chunk = PROBE_ROWS
    if explainer.model_rows_per_row:
        per_row = _score_seconds(score, background) * explainer.model_rows_per_row
        if not _fits(per_row, floor * windows, clock):
            return _skip(per_row, floor * windows, clock, "timing the model on background rows")
        chunk = int(np.clip(0.1 * clock.remaining / max(per_row, _CLOCK_RESOLUTION), 1,
                            PROBE_ROWS))
    sums = [np.zeros(len(explainer.feature_names)) for _ in samples]
    done, spent, gap = 0, 0.0, 0.0
    while done < wanted:
        size = min(chunk, wanted - done)
        if done:
            per_row = max(spent / (done * windows), _CLOCK_RESOLUTION)
            if done < floor and not _fits(per_row, (floor - done) * windows, clock):
                return _skip(per_row, floor * windows, clock,
                             f"a probe of {done} row(s) per window")
            size = min(size, int(PLANNING_SHARE * clock.remaining / (per_row * windows)))
            if size < 1:
                break
        began = time.perf_counter()
        for sample, total in zip(samples, sums, strict=True):
            part = sample.iloc[done:done + size]
            if len(part):
                values = explainer.explain(part)
                total += np.abs(values.values).sum(axis=0)
                gap = max(gap, values.additivity_error)
        spent += time.perf_counter() - began
        done += size
        chunk = size * CHUNK_GROWTH
    per_row = spent / max(done * windows, 1)
    if done < floor:
        return _skip(per_row, floor * windows, clock, f"{done} row(s) per window")
    rows = tuple(min(done, len(s)) for s in samples)
    return BudgetedValues(tuple(t / max(n, 1) for t, n in zip(sums, rows, strict=True)), rows,
                          gap, per_row)


def _score_seconds(score: Score, background: pd.DataFrame) -> float:
    """Seconds the model takes per scored row, on background rows repeated to a batch."""
    repeats = max(1, SCORE_PROBE_ROWS // max(len(background), 1))
    batch = pd.concat([background] * repeats, ignore_index=True)
    began = time.perf_counter()
    score(batch)
    return (time.perf_counter() - began) / len(batch)


def _fits(per_row: float, rows: int, clock: Clock) -> bool:
    """Whether explaining `rows` more rows fits in the planned share of what is left."""
    return per_row * rows <= PLANNING_SHARE * clock.remaining


def _skip(per_row: float, rows: int, clock: Clock, measured: str) -> BudgetedValues:
    return BudgetedValues((), (), None, per_row, (
        f"explaining the minimum of {MIN_ROWS_PER_WINDOW} rows per window would take about "
        f"{per_row * rows:.1f} s ({per_row * 1000:.1f} ms per row, measured on {measured}), "
        f"more than the {clock.remaining:.1f} s left of the {clock.budget:g} s attribution "
        f"budget"))
