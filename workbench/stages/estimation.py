"""When labels lag: the labelled metric estimated where they have not arrived, for the triage.

Calibrated on the log's own most recent labelled window (else on the reference, when it carries
the log's scores and labels): CBPE for classifiers, DLE for regressors (`workbench.estimate`).
The estimate stands in for the realised metric in the buckets whose labels are not in yet, so
the onset search and the trend run on one series; every bucket says which it used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.data import LogStore, Window
from workbench.estimate import INTERVAL_Z, cbpe, dle, labels
from workbench.estimate.results import (
    BucketEstimate,
    Calibration,
    Estimation,
    MetricEstimate,
    Support,
)
from workbench.results import FeatureDrift, MultivariateDrift
from workbench.stages import metrics
from workbench.stats import calibration
from workbench.timeutil import iso

if TYPE_CHECKING:
    from workbench.stages.triage import Triage

# The labelled window: the most recent labelled buckets holding this many labelled rows and
# spanning this many buckets (a daily cycle at hourly buckets); below MIN_CALIBRATION_ROWS
# labelled rows, or MIN_CLASS_ROWS of either class, the log cannot calibrate itself.
CALIBRATION_ROWS = 20_000
CALIBRATION_BUCKETS = 24
MIN_CALIBRATION_ROWS = 500
MIN_CLASS_ROWS = 30
# Metrics the estimate stands in for, per task.
ESTIMABLE = {
    "classification": ("false_positive_rate", "false_negative_rate", "error_rate", "precision",
                       "recall"),
    "regression": ("mae",),
}
# Support: a share of estimated rows scored outside the labelled scores' range, or of current
# values of an input outside training's range (beyond the baseline's), from which the estimate's
# assumption that the labelled rows describe the estimated ones is in doubt.
SUPPORT_SHARE = 0.05
SEED = 0


@dataclass(frozen=True)
class Estimate:
    """Estimated labelled metrics per bucket of a counts frame, and what they rest on.

    values/errors: estimate and standard error per bucket for each estimable metric; expected:
    per bucket the outcome counts the estimate implies (the count columns the metrics read);
    window: the labelled buckets fitted on (indexes, inclusive), None for the reference;
    exp: CBPE's expected counts (None for DLE), for window-level figures; cells: its score
    cells, kept so the map can be refitted without reading the log again; cmap/maps or
    loss_model: the fitted estimator, for any other window (`over_window`).
    """

    method: str
    calibration: Calibration
    window: tuple[int, int] | None
    values: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    expected: pd.DataFrame
    scores_outside: float
    exp: cbpe.Expected | None = None
    cells: cbpe.ScoreCells | None = None
    cmap: calibration.CalibrationMap | None = None
    maps: np.ndarray | None = None  # the bootstrap maps' edge probabilities
    loss_model: dle.LossModel | None = None

    def composite(self, counts: pd.DataFrame, use: np.ndarray) -> pd.DataFrame:
        """The counts frame with the expected outcome counts in the buckets `use` selects."""
        out = counts.copy()
        for col in self.expected.columns:
            realised = out[col].astype(float) if col in out else pd.Series(np.nan, out.index)
            out[col] = np.where(use, self.expected[col].to_numpy(float), realised.to_numpy())
        return out


def needed(store: LogStore, cov: labels.Coverage | None) -> bool:
    """Whether some bucket lacks labels that an estimate could stand in for."""
    if store.roles.task not in ESTIMABLE:
        return False
    if cov is None:
        return store.roles.reference_label is not None
    return not bool(cov.complete.all())


def estimate(store: LogStore, counts: pd.DataFrame, cov: labels.Coverage | None,
             bucket_seconds: int, start: datetime | None, end: datetime | None,
             after: int = 0) -> Estimate | None:
    """The estimate for every bucket of `counts`, fitted on the most recent labelled window
    from bucket index `after` on (else the reference); None when nothing can calibrate it."""
    window = None
    if cov is not None:
        min_class = MIN_CLASS_ROWS if store.roles.task == "classification" else None
        window = labels.recent_window(cov, len(cov.rows), CALIBRATION_ROWS,
                                      CALIBRATION_BUCKETS, MIN_CALIBRATION_ROWS, min_class,
                                      start=after)
    if store.roles.task == "classification":
        return _cbpe(store, counts, cov, window, bucket_seconds, start, end)
    return _dle(store, counts, cov, window, bucket_seconds, start, end)


def refit_after(store: LogStore, est: Estimate, counts: pd.DataFrame,
                cov: labels.Coverage | None, onset: int, bucket_seconds: int,
                start: datetime | None, end: datetime | None) -> Estimate:
    """The estimate fitted on labelled buckets from the onset on, when the labelled window
    straddles the onset and enough of it follows it (the unlabelled buckets come after the
    change, so that part describes them); else the estimate as it was."""
    if est.window is None or cov is None or not est.window[0] < onset <= est.window[1]:
        return est
    if est.cells is not None:  # CBPE: the score cells are in hand, only the fit changes
        window = labels.recent_window(cov, len(cov.rows), CALIBRATION_ROWS, CALIBRATION_BUCKETS,
                                      MIN_CALIBRATION_ROWS, MIN_CLASS_ROWS, start=onset)
        if window is None:
            return est
        return _cbpe_fit(est.cells, cov, window, None, bucket_seconds) or est
    return estimate(store, counts, cov, bucket_seconds, start, end, after=onset) or est


def _window_of(cov: labels.Coverage, window: tuple[int, int], bucket_seconds: int) -> Window:
    first, last = window
    return Window("labelled", cov.buckets.iloc[first].to_pydatetime(),
                  cov.buckets.iloc[last].to_pydatetime() + timedelta(seconds=bucket_seconds))


def _cbpe(store: LogStore, counts: pd.DataFrame, cov: labels.Coverage | None,
          window: tuple[int, int] | None, bucket_seconds: int, start: datetime | None,
          end: datetime | None) -> Estimate | None:
    edges = cbpe.score_edges(store, start, end)
    if len(edges) < 2:
        return None
    cells = cbpe.load(store, edges, counts["bucket"], bucket_seconds, start, end)
    reference = None
    if window is None:
        reference = cbpe.reference_bins(store, edges, cells.probability)
        if reference is None or reference.rows < MIN_CALIBRATION_ROWS or min(
                reference.positives, reference.rows - reference.positives) < MIN_CLASS_ROWS:
            return None
    return _cbpe_fit(cells, cov, window, reference, bucket_seconds)


def _cbpe_fit(cells: cbpe.ScoreCells, cov: labels.Coverage | None,
              window: tuple[int, int] | None, reference: calibration.LabelledBins | None,
              bucket_seconds: int) -> Estimate | None:
    """Fit the map on the window's labelled cells (or the reference) and estimate every bucket."""
    if window is not None and cov is not None:
        keep = np.zeros(len(cells.buckets), bool)
        keep[window[0]: window[1] + 1] = True
        keep &= cov.complete
        bins = cells.labelled(keep)
        where = _window_of(cov, window, bucket_seconds)
        source = "production"
    elif reference is not None:
        bins, where, source = reference, Window("labelled", None, None), "reference"
    else:
        return None
    choice = calibration.choose(bins)
    maps = calibration.bootstrap(choice, bins, cbpe.BOOTSTRAP_MAPS, np.random.default_rng(SEED))
    exp = cbpe.expected(cells, choice.cmap, maps)
    values, errors = {}, {}
    for name in ESTIMABLE["classification"]:
        m = metrics.METRICS[name]
        values[name], errors[name] = cbpe.metric(exp, m.numerator, m.denominator)
    scored = cells.n.sum(axis=(1, 2))
    expected = pd.DataFrame({"tp": exp.tp, "fp": exp.fp, "fn": exp.fn, "tn": exp.tn,
                             "n_labeled": scored, "label_pos": exp.tp + exp.fn})
    m_all = bins.pooled()[0]
    seen = np.flatnonzero(m_all > 0)
    pending = ~cov.complete if cov is not None else np.ones(len(scored), bool)
    rows = cells.n.sum(axis=1)[pending].sum(0)  # per bin, estimated rows
    outside = rows[: seen[0]].sum() + rows[seen[-1] + 1:].sum() if len(seen) else rows.sum()
    report = Calibration(source, choice.cmap.method, bins.rows, where.start, where.end,
                         bins.positives,
                         choice.cv_error.get(choice.cmap.method), choice.raw_error,
                         dict(choice.cv_error))
    return Estimate("cbpe", report, window, values, errors, expected,
                    float(outside / max(rows.sum(), 1.0)), exp, cells, choice.cmap, maps)


def _dle(store: LogStore, counts: pd.DataFrame, cov: labels.Coverage | None,
         window: tuple[int, int] | None, bucket_seconds: int, start: datetime | None,
         end: datetime | None) -> Estimate | None:
    roles = store.roles
    inputs = dle.inputs(roles.features)
    names = [f.name for f in inputs]
    if window is not None and cov is not None:
        where = _window_of(cov, window, bucket_seconds)
        train = store.loss_sample(names, bucket_seconds, dle.TRAIN_ROWS, SEED, start=where.start,
                                  end=where.end, labelled=True)
        source = "production"
    else:
        schema = store.reference_schema
        if roles.reference_label is None or roles.prediction not in schema or any(
                n not in schema for n in names):
            return None
        train = store.seeded_sample([*names, roles.prediction, roles.reference_label],
                                    dle.TRAIN_ROWS, SEED, reference=True)
        train = train.rename(columns={roles.prediction: "_wb_score",
                                      roles.reference_label: "_wb_label"})
        where, source = Window("labelled", None, None), "reference"
    model = dle.train(train, inputs, SEED)
    if model is None:
        return None
    sample = store.loss_sample(names, bucket_seconds, dle.SCORE_ROWS, SEED, start=start, end=end)
    scored = counts["n_scored"].astype(float).to_numpy()
    mae, err, _ = dle.per_bucket(model, sample, counts["bucket"], scored)
    expected = pd.DataFrame({"abs_err_sum": mae * scored, "n_labeled": scored,
                             "err_sum": np.nan, "sq_err_sum": np.nan})
    lo, hi = train["_wb_score"].min(), train["_wb_score"].max()
    pending = ~cov.complete if cov is not None else np.ones(len(scored), bool)
    at = pd.Index(counts["bucket"]).get_indexer(sample["_wb_bucket"])
    in_pending = (at >= 0) & pending[np.clip(at, 0, None)]
    scores = sample["_wb_score"].to_numpy(float)[in_pending]
    outside = float(((scores < lo) | (scores > hi)).mean()) if len(scores) else 0.0
    report = Calibration(source, "loss_model", model.rows, where.start, where.end, None,
                         model.bias)
    return Estimate("dle", report, window, {"mae": mae}, {"mae": err}, expected, outside,
                    loss_model=model)


def over_window(store: LogStore, est: Estimate, start: datetime | None,
                end: datetime | None) -> tuple[MetricEstimate, ...]:
    """Every estimable metric over the rows of [start, end) under the fitted estimator: one
    more aggregate (CBPE) or a seeded sample of the window (DLE)."""
    span = max(int(((end or datetime.max) - (start or datetime.min)).total_seconds()), 1)
    bucket = min(span + 1, 2 ** 40)  # the window falls in at most two buckets: pooled
    if est.cmap is not None and est.maps is not None and est.cells is not None:
        frame = store.score_bins(list(est.cells.edges), bucket, start, end)
        cells = cbpe.load_frame(frame, est.cells.edges)
        exp = cbpe.expected(cells, est.cmap, est.maps)
        out = []
        for name in ESTIMABLE["classification"]:
            m = metrics.METRICS[name]
            value, sd = cbpe.metric(exp, m.numerator, m.denominator)
            out.append(_metric(name, value[0], sd[0], None, 0))
        auc, sd = cbpe.roc_auc(exp)
        return (*out, _metric("roc_auc", auc[0], sd[0], None, 0))
    if est.loss_model is None:
        return ()
    names = [f.name for f in est.loss_model.features]
    sample = store.loss_sample(names, bucket, dle.SCORE_ROWS, SEED, start=start, end=end)
    value, sd = dle.window(est.loss_model, sample, store.prediction_range(start, end)[2])
    return (_metric("mae", value, sd, None, 0),)


# ---- the result the diagnosis carries ---------------------------------------------------------

def report(est: Estimate, name: str, counts: pd.DataFrame, used: np.ndarray,
           cov: labels.Coverage | None, split: datetime) -> Estimation:
    """The estimation result for the monitored metric `name`, per bucket and for the current
    window."""
    m = metrics.METRICS[name]
    realised = (metrics.series(counts, name)[0]
                if all(c in counts for c in (*m.numerator, *m.denominator))
                else np.full(len(counts), np.nan))
    coverage = cov.share if cov is not None else np.zeros(len(counts))
    value = est.values.get(name)
    error = est.errors.get(name)
    rows = counts["n"].astype(int).to_numpy()
    buckets = []
    for i, b in enumerate(counts["bucket"]):
        v = _num(value[i]) if value is not None else None
        half = INTERVAL_Z * float(error[i]) if error is not None and np.isfinite(error[i]) \
            else None
        r = _num(realised[i]) if coverage[i] > 0 else None
        buckets.append(BucketEstimate(
            b.to_pydatetime(), int(rows[i]), float(coverage[i]),
            "estimated" if used[i] else "realised", v if used[i] else r, v,
            None if v is None or half is None else v - half,
            None if v is None or half is None else v + half, r))
    after = (counts["bucket"] >= pd.Timestamp(split)).to_numpy()
    return Estimation(est.method, name, est.calibration, tuple(buckets),
                      _current(est, counts, after), None, ())


def _current(est: Estimate, counts: pd.DataFrame, after: np.ndarray) -> tuple[MetricEstimate, ...]:
    """Every estimable metric over the current window: estimated, with its interval, beside the
    realised value on the labelled rows."""
    labelled = int(counts.loc[after, "n_labeled"].fillna(0).sum()) if "n_labeled" in counts \
        else 0
    out = []
    if est.exp is not None:
        exp = est.exp.pooled(after)
        for name in ESTIMABLE["classification"]:
            m = metrics.METRICS[name]
            value, sd = cbpe.metric(exp, m.numerator, m.denominator)
            out.append(_metric(name, value[0], sd[0], counts[after], labelled))
        auc, sd = cbpe.roc_auc(exp)
        out.append(_metric("roc_auc", auc[0], sd[0], None, labelled))
        return tuple(out)
    scored = counts["n_scored"].astype(float).to_numpy()[after]
    mae, err = est.values["mae"][after], est.errors["mae"][after]
    ok = np.isfinite(mae)
    total = float(scored[ok].sum())
    value = float((mae[ok] * scored[ok]).sum() / total) if total > 0 else np.nan
    sd = float(np.sqrt(((err[ok] * scored[ok]) ** 2).sum()) / total) if total > 0 else np.nan
    return (_metric("mae", value, sd, counts[after], labelled),)


def _metric(name: str, value: float, sd: float, counts: pd.DataFrame | None,
            labelled: int) -> MetricEstimate:
    realised = metrics.total(counts, name) if counts is not None and labelled else None
    v = _num(value)
    half = INTERVAL_Z * float(sd) if np.isfinite(sd) else None
    return MetricEstimate(name, v, None if v is None or half is None else v - half,
                          None if v is None or half is None else v + half, realised, labelled)


def check_support(estimation: Estimation, est_outside: float, current: Window,
                  drift: tuple[FeatureDrift, ...],
                  joint: MultivariateDrift | None) -> Estimation:
    """The estimation with its assumption checked: do the estimated rows look like the labelled
    ones? Scores outside the labelled range, inputs outside training's range and, when the
    labelled window lies before the current one, the domain classifier between the windows."""
    labelled_end = estimation.calibration.end
    before = labelled_end is not None and current.start is not None and \
        labelled_end <= current.start + timedelta(microseconds=1)
    auc = joint.auc if joint is not None and before else None
    outside = {d.feature: float(d.outside_range_current) for d in drift
               if d.outside_range_current - d.outside_range_baseline >= SUPPORT_SHARE}
    shifted = bool(joint is not None and before and joint.shifted)
    holds = est_outside < SUPPORT_SHARE and not outside and not shifted
    note = None
    if not holds:
        parts = []
        if est_outside >= SUPPORT_SHARE:
            parts.append(f"{est_outside:.0%} of the estimated rows are scored outside the "
                         f"labelled rows' range")
        if shifted and joint is not None:
            top = ", ".join(list(joint.top_features)[:3])
            parts.append(f"a classifier tells the current inputs from the labelled ones (AUC "
                         f"{joint.auc:.2f}" + (f"; mostly {top}" if top else "") + ")")
        if outside:
            parts.append("inputs outside training's range since the onset: " + ", ".join(
                f"{k} {v:.0%}" for k, v in sorted(outside.items(), key=lambda kv: -kv[1])[:3]))
        note = (f"The estimated {estimation.metric} assumes the labelled rows describe the "
                f"unlabelled ones, but " + "; ".join(parts) + ": the estimate may be biased "
                "either way; read it as a direction until labels arrive.")
    support = Support(float(est_outside), auc, outside, holds, note)
    return replace(estimation, support=support,
                   notes=estimation.notes + ((note,) if note else ()))


def summary_note(estimation: Estimation, arrival_since: datetime | None,
                 pending_rows: int) -> str:
    """One line for the diagnosis notes: which rows the metric is estimated for, and how."""
    cal = estimation.calibration
    where = ("the reference" if cal.source == "reference" else
             f"the labelled window {iso(cal.start)}..{iso(cal.end)}")
    how = (f"{estimation.method.upper()}, {cal.method} calibration on {cal.rows:,} labelled "
           f"rows of {where}"
           + (f", calibration error {cal.error:.3g}" if cal.error is not None
              and estimation.method == "cbpe" else ""))
    since = f" since {iso(arrival_since)}" if arrival_since is not None else ""
    return (f"{pending_rows:,} rows{since} have no label yet: {estimation.metric} is estimated "
            f"there ({how}).")


def _num(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def checked(triage: Triage, drift: tuple[FeatureDrift, ...], joint: MultivariateDrift | None,
            notes: list[str]) -> Estimation | None:
    """The triage's estimation with its assumption checked, its notes added to `notes`."""
    if triage.estimation is None or triage.estimate is None:
        return None
    result = check_support(triage.estimation, triage.estimate.scores_outside, triage.current,
                           drift, joint)
    arrival = triage.labels
    if triage.metric.estimated_buckets:
        notes.append(summary_note(result, arrival.pending_since if arrival else None,
                                  arrival.pending_rows if arrival else triage.span.rows))
    notes.extend(result.notes)
    return result
