"""Repair test: put a suspect input back the way it was and see how much of the change goes away.

For each top suspect feature, a seeded sample of the current window has that feature mapped
back onto the baseline window's distribution (numbers by quantile mapping, categories by
drawing from the baseline's shares), the model re-scores the sample, and the metric is
recomputed on the same rows. The share of the gap the repair recovers is causal evidence the
decomposition (a model-free split of correlations) cannot give: it is the model's own answer to
"what if this input had not moved?". Needs the [model]; bounded rows keep it to a second or so.

Segments are repaired by taking out their own change: the suspect segment value's rows of the
current window keep their traffic but get the segment's baseline rate of the metric, and the
share of the gap that disappears is the segment's recovered share (exact, from the logged
outcome counts: one grouped scan, no sampling). Leaving the segment out altogether would also
move the mix of the others, so a large bystander would show a large negative share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import ColumnKind, FeatureSpec, LogStore
from workbench.results import FeatureDrift
from workbench.stages import metrics
from workbench.stages.metrics import METRICS
from workbench.stages.samples import window_sample
from workbench.stages.triage import Triage
from workbench.stats.drift import PSI_MODERATE

SUSPECTS = 3  # the top shifted features repaired one by one


def repair_shares(store: LogStore, triage: Triage, drift: tuple[FeatureDrift, ...],
                  seed: int = 0) -> dict[str, float]:
    """The recovered share of each suspect, keyed as its hypothesis names it: per top shifted
    feature (by name), the share of the metric's change (model re-scored baseline vs current
    sample) that mapping the feature back onto the baseline recovers; per segment value (as
    `column=value`), the share that taking out its own change removes. Without a [model] only
    the segments (their repair needs the logged outcomes alone)."""
    if triage.onset is None:
        return {}
    features = _feature_shares(store, triage, drift, seed) if store.incident.model else {}
    return {**features, **segment_shares(store, triage)}


def segment_shares(store: LogStore, triage: Triage) -> dict[str, float]:
    """Per segment value (`column=value`): the share of the metric's gap between the windows
    that disappears when the value's current rows are given its baseline rate (values the
    baseline never had are left out), from the logged outcome counts."""
    segments = list(store.roles.segments)
    if triage.onset is None or not segments:
        return {}
    definition = METRICS[triage.metric.name]
    df = store.segment_counts(segments, [triage.baseline, triage.current])
    out = {}
    for i, column in enumerate(segments):
        part = df[df[f"s{i}"].notna()]
        base = _terms(part[part["w"] == triage.baseline.name], f"s{i}", definition)
        cur = _terms(part[part["w"] == triage.current.name], f"s{i}", definition)
        num_b, den_b = base.sum()
        num_c, den_c = cur.sum()
        if den_b <= 0 or den_c <= 0 or num_c / den_c == num_b / den_b:
            continue
        m_base, m_cur = num_b / den_b, num_c / den_c
        for value, (num_s, den_s) in cur.iterrows():
            if value not in base.index or base.loc[value, "den"] <= 0:
                continue
            rate = base.loc[value, "num"] / base.loc[value, "den"]
            repaired = (num_c - num_s + den_s * rate) / den_c
            out[f"{column}={value}"] = float((m_cur - repaired) / (m_cur - m_base))
    return out


def _terms(rows: pd.DataFrame, key: str, definition: metrics.MetricDef) -> pd.DataFrame:
    """The metric's numerator and denominator counts per segment value."""
    def total(cols: tuple[str, ...]) -> pd.Series:
        return sum((rows[c].astype(float).fillna(0.0) for c in cols),
                   start=pd.Series(0.0, index=rows.index))
    frame = pd.DataFrame({"value": rows[key].astype(str), "num": total(definition.numerator),
                          "den": total(definition.denominator)})
    return frame.groupby("value")[["num", "den"]].sum()


def _feature_shares(store: LogStore, triage: Triage, drift: tuple[FeatureDrift, ...],
                    seed: int) -> dict[str, float]:
    from workbench.explain.adapters import adapter_for

    suspects = [d.feature for d in sorted(drift, key=lambda d: -d.psi_onset)
                if d.psi_onset >= PSI_MODERATE / 2][:SUSPECTS]
    if not suspects:
        return {}
    adapter = adapter_for(store)
    base = window_sample(store, triage.baseline, seed)
    cur = window_sample(store, triage.current, seed)
    if base.empty or cur.empty:
        return {}
    metric = triage.metric.name
    m_base = _metric(store, metric, base, adapter.predict_score(base))
    m_cur = _metric(store, metric, cur, adapter.predict_score(cur))
    if m_base is None or m_cur is None or m_cur == m_base:
        return {}
    rng = np.random.default_rng(seed)
    out = {}
    for name in suspects:
        if name not in adapter.feature_names:
            continue
        repaired = cur.copy()
        repaired[name] = _map_back(store.roles.feature(name), cur[name], base[name], rng)
        m_rep = _metric(store, metric, repaired, adapter.predict_score(repaired))
        if m_rep is not None:
            out[name] = (m_cur - m_rep) / (m_cur - m_base)
    return out


def _map_back(feature: FeatureSpec, current: pd.Series, baseline: pd.Series,
              rng: np.random.Generator) -> pd.Series:
    """The current values carried onto the baseline distribution: each number to the baseline
    quantile of its rank among the current values; categories drawn by the baseline's shares;
    missing values where the baseline has them at its rate."""
    out = current.copy()
    known = baseline.dropna()
    if known.empty:
        return out
    if feature.kind is ColumnKind.NUMERIC:
        values = pd.to_numeric(current, errors="coerce")
        ranks = values.rank(pct=True, method="average")
        mapped = np.quantile(pd.to_numeric(known, errors="coerce").dropna(),
                             ranks.fillna(0.5).clip(0, 1))
        out = pd.Series(mapped, index=current.index)
    else:
        shares = known.astype(str).value_counts(normalize=True)
        out = pd.Series(rng.choice(shares.index.to_numpy(), len(current), p=shares.to_numpy()),
                        index=current.index)
    null_rate = float(baseline.isna().mean())
    if null_rate > 0:
        out[rng.random(len(out)) < null_rate] = np.nan
    return out


def _metric(store: LogStore, name: str, rows: pd.DataFrame, score: np.ndarray) -> float | None:
    """The metric on sampled rows from model scores (decisions at the incident's threshold)."""
    definition = METRICS[name]
    decision = (score >= store.incident.threshold).astype(float)
    counts = {"n": float(len(rows)), "n_scored": float(np.isfinite(score).sum()),
              "score_sum": float(np.nansum(score)), "decision_pos": float(decision.sum())}
    label_col = store.roles.label
    if label_col is not None:
        label = pd.to_numeric(rows[label_col], errors="coerce").to_numpy(dtype=float)
        known = np.isfinite(label)
        counts["n_labeled"] = float(known.sum())
        if store.roles.task == "classification":
            y = label > 0.5
            for key, (want_y, want_d) in {"tp": (True, 1), "fp": (False, 1), "fn": (True, 0),
                                          "tn": (False, 0)}.items():
                counts[key] = float((known & (y == want_y) & (decision == want_d)).sum())
        else:
            err = score - label
            counts["abs_err_sum"] = float(np.nansum(np.abs(err[known])))
            counts["err_sum"] = float(np.nansum(err[known]))
    if not all(c in counts for c in (*definition.numerator, *definition.denominator)):
        return None
    den = sum(counts[c] for c in definition.denominator)
    return sum(counts[c] for c in definition.numerator) / den if den > 0 else None
