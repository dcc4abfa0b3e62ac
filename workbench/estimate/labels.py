"""Label arrival per bucket: which buckets' labels are in, and the most recent labelled window.

A null label means "not known yet", never a negative. Some rows never get a label (a few per
cent in most logs), so a bucket's labels count as arrived relative to the usual share of
labelled rows, not to all rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from workbench.estimate.results import LabelArrival

# A bucket counts as labelled when at least this share of the usual share of its rows carry a
# label; the usual share is the labelled share at this quantile of the rows (weighted).
LABELLED_SHARE = 0.9
USUAL_QUANTILE = 0.9
# A window's realised metric stands for it (and concept drift can be judged on it) when at least
# this share of the usual share of its rows carry labels; below, the estimate stands in.
REALISED_SHARE = 0.5


@dataclass(frozen=True)
class Coverage:
    """Rows and labelled rows per bucket (in time order) and the usual labelled share."""

    buckets: pd.Series
    rows: np.ndarray
    labelled: np.ndarray
    positives: np.ndarray
    usual: float

    @property
    def share(self) -> np.ndarray:
        """Share of each bucket's rows labelled."""
        return self.labelled / np.maximum(self.rows, 1)

    @property
    def complete(self) -> np.ndarray:
        """Whether each bucket's labels have arrived."""
        return (self.usual > 0) & (self.share >= LABELLED_SHARE * self.usual)

    @property
    def pending_start(self) -> int | None:
        """Index of the first bucket of the trailing run not labelled yet (None: the last
        bucket is labelled)."""
        done = np.flatnonzero(self.complete)
        first = int(done[-1]) + 1 if len(done) else 0
        return first if first < len(self.rows) else None

    def shares(self, mask: np.ndarray) -> float | None:
        """Share of the rows `mask` selects that are labelled."""
        rows = float(self.rows[mask].sum())
        return float(self.labelled[mask].sum()) / rows if rows > 0 else None

    def arrival(self, split: datetime, bucket_seconds: int) -> LabelArrival:
        """The label arrival summary with the baseline/current split at `split`."""
        after = (self.buckets >= pd.Timestamp(split)).to_numpy()
        pending = ~self.complete
        start = self.pending_start
        done = np.flatnonzero(self.complete)
        until = (self.buckets.iloc[int(done[-1])].to_pydatetime()
                 + timedelta(seconds=bucket_seconds)) if len(done) else None
        return LabelArrival(
            rows=int(self.rows.sum()), labelled=int(self.labelled.sum()),
            usual=float(self.usual), baseline=self.shares(~after), current=self.shares(after),
            pending_rows=int((self.rows - self.labelled)[pending].sum()),
            pending_buckets=int(pending.sum()),
            pending_since=None if start is None else self.buckets.iloc[start].to_pydatetime(),
            labelled_until=until)


def coverage(counts: pd.DataFrame) -> Coverage | None:
    """The label coverage of a bucket counts frame (None when the log has no label column)."""
    if "n_labeled" not in counts.columns:
        return None
    rows = counts["n"].astype(float).to_numpy()
    labelled = counts["n_labeled"].astype(float).fillna(0).to_numpy()
    positives = counts["label_pos"].astype(float).fillna(0).to_numpy()
    share = labelled / np.maximum(rows, 1)
    order = np.argsort(share)
    mass = np.cumsum(rows[order])
    usual = float(share[order][np.searchsorted(mass, USUAL_QUANTILE * mass[-1])]) if len(
        rows) and mass[-1] > 0 else 0.0
    return Coverage(counts["bucket"].reset_index(drop=True), rows, labelled, positives, usual)


def recent_window(cov: Coverage, end: int, target_rows: int, min_buckets: int, min_rows: int,
                  min_class: int | None = None, start: int = 0) -> tuple[int, int] | None:
    """The most recent labelled buckets in [start, end) (indexes), walking back over
    labelled buckets until they hold `target_rows` labelled rows and span `min_buckets` buckets
    (with `min_class`: and that many labels of each class). When the history falls short, all
    of it, if it holds at least `min_rows` (and `min_class` of each class). (first, last)
    indexes, inclusive, or None."""
    complete = cov.complete
    rows = pos = 0.0
    first = last = None
    for i in range(min(end, len(complete)) - 1, max(start, 0) - 1, -1):
        if not complete[i]:
            continue
        first, last = i, (i if last is None else last)
        rows += cov.labelled[i]
        pos += cov.positives[i]
        classes = min_class is None or min(pos, rows - pos) >= min_class
        if rows >= target_rows and last - i + 1 >= min_buckets and classes:
            return i, last
    if first is None or last is None or rows < min_rows or (
            min_class is not None and min(pos, rows - pos) < min_class):
        return None
    return first, last
