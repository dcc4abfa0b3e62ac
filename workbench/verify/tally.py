"""Accumulating outcome counts, score histograms and feature bins over replayed batches.

Everything here adds up per batch, so a replay holds only counts, never the rows. Count columns
are those of `queries.outcome_aggregates` (see `intervals.COUNT_KEYS`), computed per row the way
the SQL computes them, so "before the fix" figures equal the triage's on the same window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.data.queries import LOW_BIN, NULL_BIN, BinSpec
from workbench.data.schema import ColumnKind
from workbench.verify.intervals import COUNT_KEYS

KEY_INDEX = {k: i for i, k in enumerate(COUNT_KEYS)}
# Segment values kept per segment column (the busiest ones), so a high-cardinality column
# cannot blow up the result.
MAX_SEGMENT_VALUES = 30


def row_counts(score: np.ndarray, decision: np.ndarray, label: np.ndarray,
               task: str) -> np.ndarray:
    """Per-row contributions (rows x COUNT_KEYS) of one side (as logged or after the fix)."""
    n = len(score)
    out = np.zeros((n, len(COUNT_KEYS)))
    scored = np.isfinite(score)
    s = np.where(scored, score, 0.0)
    labelled = np.isfinite(label)
    y = np.where(labelled, label, 0.0)
    dec = decision.astype(float)
    k = KEY_INDEX
    out[:, k["n"]] = 1.0
    out[:, k["n_scored"]] = scored
    out[:, k["score_sum"]] = s
    out[:, k["score_sumsq"]] = s * s
    out[:, k["decision_pos"]] = dec
    out[:, k["n_labeled"]] = labelled
    out[:, k["label_pos"]] = y
    if task == "classification":
        pos = labelled & (y == 1)
        neg = labelled & (y == 0)
        out[:, k["tp"]] = pos & (dec == 1)
        out[:, k["fp"]] = neg & (dec == 1)
        out[:, k["fn"]] = pos & (dec == 0)
        out[:, k["tn"]] = neg & (dec == 0)
    else:
        both = labelled & scored
        err = np.where(both, s - y, 0.0)
        out[:, k["abs_err_sum"]] = np.abs(err)
        out[:, k["sq_err_sum"]] = err * err
        out[:, k["err_sum"]] = err
    return out


def bin_ids(spec: BinSpec, values: pd.Series) -> np.ndarray:
    """Bin id of each value, exactly as `queries.bin_expr` assigns them in SQL."""
    if spec.feature.kind is ColumnKind.NUMERIC:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ids = np.full(len(x), NULL_BIN, dtype=np.int64)
        ok = np.isfinite(x) | np.isinf(x)
        e = np.asarray(spec.edges, dtype=float)
        if len(e) < 2:
            pivot = e[0] if len(e) else 0.0
            ids[ok] = np.where(x[ok] < pivot, 1, np.where(x[ok] == pivot, 2, 3))
            return ids
        inner = np.searchsorted(e[1:-1], x[ok], side="right") + 2
        ids[ok] = np.where(x[ok] < e[0], LOW_BIN, np.where(x[ok] > e[-1], len(e) + 1, inner))
        return ids
    text = values.astype("string")
    codes = pd.Categorical(text, categories=list(spec.levels)).codes.astype(np.int64)
    return np.where(text.isna().to_numpy(), NULL_BIN, np.where(codes < 0, LOW_BIN, codes + 2))


@dataclass
class Tally:
    """Running totals of a replay: overall and per segment value, before and after the fix."""

    task: str
    segments: tuple[str, ...]
    score_edges: np.ndarray
    specs: list[BinSpec] = field(default_factory=list)
    before: np.ndarray = field(init=False)
    after: np.ndarray = field(init=False)
    by_segment: list[dict[str, np.ndarray]] = field(init=False)
    hist_before: np.ndarray = field(init=False)
    hist_after: np.ndarray = field(init=False)
    bins_before: list[np.ndarray] = field(init=False)
    bins_after: list[np.ndarray] = field(init=False)
    changed: np.ndarray = field(init=False)
    flips: dict[str, int] = field(init=False)
    rows: int = 0

    def __post_init__(self) -> None:
        width = len(COUNT_KEYS)
        self.before = np.zeros(width)
        self.after = np.zeros(width)
        self.by_segment = [{} for _ in self.segments]
        self.hist_before = np.zeros(len(self.score_edges) - 1)
        self.hist_after = np.zeros(len(self.score_edges) - 1)
        self.bins_before = [np.zeros(s.n_bins) for s in self.specs]
        self.bins_after = [np.zeros(s.n_bins) for s in self.specs]
        self.changed = np.zeros(len(self.specs), dtype=np.int64)
        self.flips = {"decisions_changed": 0, "now_correct": 0, "now_wrong": 0}

    def add(self, batch: pd.DataFrame, scores_after: np.ndarray, decisions_after: np.ndarray,
            corrected: pd.DataFrame | None) -> None:
        """Add one replayed batch."""
        score = batch["_wb_score"].to_numpy(dtype=float, na_value=np.nan)
        decision = batch["_wb_decision"].to_numpy(dtype=float, na_value=0.0)
        label = batch["_wb_label"].to_numpy(dtype=float, na_value=np.nan)
        before = row_counts(score, decision, label, self.task)
        after = row_counts(scores_after, decisions_after, label, self.task)
        self.before += before.sum(axis=0)
        self.after += after.sum(axis=0)
        self.rows += len(batch)
        for i in range(len(self.segments)):
            codes, values = pd.factorize(batch[f"_wb_s{i}"], use_na_sentinel=True)
            ok = codes >= 0
            if not ok.any():
                continue
            sums_b = _group_sum(before[ok], codes[ok], len(values))
            sums_a = _group_sum(after[ok], codes[ok], len(values))
            table = self.by_segment[i]
            for j, value in enumerate(values):
                key = str(value)
                if key not in table:
                    table[key] = np.zeros((2, len(COUNT_KEYS)))
                table[key][0] += sums_b[j]
                table[key][1] += sums_a[j]
        self.hist_before += _histogram(score, self.score_edges)
        self.hist_after += _histogram(scores_after, self.score_edges)
        changed = decision.astype(np.int8) != decisions_after
        labelled = np.isfinite(label)
        if self.task == "classification":
            correct_after = labelled & (decisions_after == np.where(labelled, label, -1))
            self.flips["decisions_changed"] += int(changed.sum())
            self.flips["now_correct"] += int((changed & correct_after).sum())
            self.flips["now_wrong"] += int((changed & labelled & ~correct_after).sum())
        if corrected is not None:
            for k, spec in enumerate(self.specs):
                name = spec.feature.name
                old, new = batch[name].reset_index(drop=True), corrected[name]
                self.bins_before[k] += np.bincount(bin_ids(spec, old), minlength=spec.n_bins)
                self.bins_after[k] += np.bincount(bin_ids(spec, new), minlength=spec.n_bins)
                self.changed[k] += _changed(old, new)

    def segment_table(self, i: int) -> dict[str, np.ndarray]:
        """The busiest segment values of segment column i: value -> (2, COUNT_KEYS) counts."""
        table = self.by_segment[i]
        ranked = sorted(table, key=lambda v: -table[v][0][KEY_INDEX["n"]])
        return {v: table[v] for v in ranked[:MAX_SEGMENT_VALUES]}


def as_counts(vector: np.ndarray) -> dict[str, float]:
    """A count vector as a mapping of count-column names."""
    return {k: float(vector[i]) for i, k in enumerate(COUNT_KEYS)}


def _group_sum(values: np.ndarray, codes: np.ndarray, groups: int) -> np.ndarray:
    out = np.zeros((groups, values.shape[1]))
    np.add.at(out, codes, values)
    return out


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin between edges; values beyond the edges go to the end bins."""
    x = values[np.isfinite(values)]
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    return np.bincount(idx, minlength=len(edges) - 1).astype(float)


def _changed(old: pd.Series, new: pd.Series) -> int:
    """Rows whose value differs (two missing values count as equal)."""
    a = old.astype(object).to_numpy()
    b = new.astype(object).to_numpy()
    a_missing = pd.isna(a)
    b_missing = pd.isna(b)
    numeric = pd.api.types.is_numeric_dtype(old) and pd.api.types.is_numeric_dtype(new)
    if numeric:
        x = pd.to_numeric(old).to_numpy(dtype=float, na_value=np.nan)
        y = pd.to_numeric(new).to_numpy(dtype=float, na_value=np.nan)
        same = np.isclose(x, y, rtol=1e-12, atol=0.0) | (a_missing & b_missing)
    else:
        same = (a == b) | (a_missing & b_missing)
    return int((~same).sum())
