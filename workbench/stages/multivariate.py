"""Multivariate drift: can a classifier tell the current window's inputs from the baseline's?

A classifier two-sample test (Lopez-Paz & Oquab, "Revisiting classifier two-sample tests",
ICLR 2017): a gradient-boosted domain classifier on a bounded seeded sample of both windows,
cross-validated; its ROC AUC is 0.5 when the joint input distribution did not move, whatever
the marginals say, and its permutation importances name the inputs that give the windows away.
Bounded rows keep it to a second or two at any log size.
"""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pandas as pd

from workbench.data import ColumnKind, LogStore
from workbench.results import FeatureDrift, MultivariateDrift
from workbench.stages.samples import window_sample
from workbench.stages.triage import Triage
from workbench.threads import small_fit

SAMPLE_ROWS = 3_000  # per window (the first rows of the shared window sample)
FOLDS = 3
# Wide logs: the classifier reads the inputs that shifted most on their own, up to this many.
MAX_INPUTS = 40
# AUC from which the windows count as distinguishable (a moderate joint shift).
AUC_SHIFT = 0.6
TOP_FEATURES = 5
# What `preload` imports ahead of the classifier.
CLASSIFIER_MODULES = ("sklearn.ensemble", "sklearn.model_selection")


def preload() -> threading.Thread:
    """Import the classifier's libraries in a background thread (about a second, mostly
    scikit-learn pulling in scipy.stats), which overlaps the scans that come first: DuckDB runs
    them outside the GIL. Not a daemon, so an early exit never interrupts an import."""
    def load() -> None:
        for name in CLASSIFIER_MODULES:
            importlib.import_module(name)
    thread = threading.Thread(target=load, name="workbench-preload-classifier")
    thread.start()
    return thread


def multivariate_drift(store: LogStore, triage: Triage, drift: tuple[FeatureDrift, ...] = (),
                       seed: int = 0) -> MultivariateDrift | None:
    """The domain classifier's AUC between the baseline and current windows, with the inputs
    that separate them most (None without an onset or with too few rows)."""
    features = list(store.roles.features)
    if len(features) > MAX_INPUTS:
        psi = {d.feature: d.psi_onset for d in drift}
        features = sorted(features, key=lambda f: -psi.get(f.name, 0.0))[:MAX_INPUTS]
    if triage.onset is None or not features:
        return None
    names = [f.name for f in features]
    base = window_sample(store, triage.baseline, seed)[names].iloc[:SAMPLE_ROWS]
    cur = window_sample(store, triage.current, seed)[names].iloc[:SAMPLE_ROWS]
    if min(len(base), len(cur)) < 50 * FOLDS:
        return None
    x = _encode(pd.concat([base, cur], ignore_index=True), features)
    y = np.r_[np.zeros(len(base)), np.ones(len(cur))]
    aucs, importances = _cross_validated(x, y, seed)
    mean_imp = np.mean(importances, axis=0)
    order = np.argsort(-mean_imp)[:TOP_FEATURES]
    return MultivariateDrift(
        auc=float(np.mean(aucs)), auc_folds=tuple(float(a) for a in aucs),
        rows_baseline=len(base), rows_current=len(cur),
        top_features={names[j]: float(mean_imp[j]) for j in order if mean_imp[j] > 0},
        shifted=bool(np.mean(aucs) >= AUC_SHIFT))


def _encode(frame: pd.DataFrame, features: list) -> np.ndarray:
    """Numbers as they are, categories as integer codes (missing stays missing)."""
    cols = []
    for f in features:
        s = frame[f.name]
        if f.kind is ColumnKind.NUMERIC:
            cols.append(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float))
        else:
            codes = pd.Categorical(s.astype("string")).codes.astype(float)
            cols.append(np.where(codes < 0, np.nan, codes))
    return np.column_stack(cols)


def _cross_validated(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[list[float], list]:
    """Per fold: the held-out ROC AUC and each input's permutation importance (AUC lost)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    aucs, importances = [], []
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    with small_fit():
        for train, test in folds.split(x, y):
            model = HistGradientBoostingClassifier(max_iter=30, learning_rate=0.2,
                                                   random_state=seed)
            model.fit(x[train], y[train])
            held = x[test]
            auc = roc_auc(y[test], model.predict_proba(held)[:, 1])
            aucs.append(auc)
            # Every input's shuffled copy of the held-out rows, scored in one call.
            shuffled = np.repeat(held[None], held.shape[1], axis=0)
            for j in range(held.shape[1]):
                shuffled[j, :, j] = rng.permutation(held[:, j])
            scores = model.predict_proba(shuffled.reshape(-1, held.shape[1]))[:, 1]
            importances.append([auc - roc_auc(y[test], part)
                                for part in scores.reshape(held.shape[1], len(test))])
    return aucs, importances


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of scores for 0/1 labels: the Mann-Whitney U statistic with tied scores given
    their mean rank (what scikit-learn's roc_auc_score computes, without its checks' cost)."""
    order = np.argsort(score, kind="mergesort")
    ranked = score[order]
    # Average rank of each run of equal scores.
    starts = np.r_[0, np.flatnonzero(np.diff(ranked)) + 1]
    ends = np.r_[starts[1:], len(ranked)]
    ranks = np.empty(len(score))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    positive = y == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:  # one class only: no ranking to judge
        return float("nan")
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
