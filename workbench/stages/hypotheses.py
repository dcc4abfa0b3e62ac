"""Rank hypotheses: combine timing, drift, score dependence, change-log proximity and layer checks.

Every candidate's score is a product of evidence strengths in [0, 1], so scores are comparable
across signatures (0.5+ is a strong lead, below 0.2 a weak one):

- magnitude   m = 1 - exp(-effect / scale)   (PSI / 0.25 for features, relative change / 0.5 for
                                              serving signals and version metrics)
- timing      t = exp(-|shift time - onset| / 2 buckets); 0.5 when a shift has no sharp time
- dependence  d = 0.3 + 0.7 min(1, eta / 0.5)  with eta the correlation ratio of the score on the
                                              feature's bins in the current window
- change      c = exp(-buckets before onset / 3) for a change-log event of a matching kind

upstream_data_change = m t d (0.6 + 0.4 c) when c >= 0.2, otherwise distribution_shift = 0.8 m t d;
model_rollout = alignment x version metric difference; serving_infrastructure = alignment x m;
silent_pipeline_failure = 0.9 x share of current buckets affected; segment_regression from the
excess-error concentration; concept_drift = 0.6 (1 - max feature m) when labelled metrics moved
and nothing else did; change events with no other evidence keep 0.15 c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from workbench.estimate.labels import REALISED_SHARE
from workbench.results import (
    ChangeEvent,
    Decomposition,
    Evidence,
    Explained,
    FeatureDrift,
    Histogram,
    Hypothesis,
    QualityFault,
)
from workbench.stages.context import Rollout, SegmentShift, ServingSignal, concentration
from workbench.stages.decomposition import explained_share
from workbench.stages.features import FeatureReport
from workbench.stages.isolation import ALIGNED, NEAR
from workbench.stages.quality import RATE_FLOOR as QUALITY_FLOOR
from workbench.stages.skew import SkewReport
from workbench.stages.triage import Triage
from workbench.stats.drift import PSI_MAJOR, PSI_MODERATE
from workbench.timeutil import iso

# Weight of a feature's explained share as evidence (noisy-OR) and the top score of concept
# drift when the whole change is residual.
EXPLAINED_WEIGHT = 0.5
CONCEPT_WEIGHT = 0.6
# Concept drift needs labels after the onset: with fewer in the current window than
# `labels.REALISED_SHARE` of the usual share it is only an "unknown until labels arrive"
# candidate of this score.
CONCEPT_UNKNOWN_SCORE = 0.05
# How a shift is described: a location move from this many standard deviations, a scale
# change beyond this ratio of spreads, a rate (missing, out of range, a category's share) from
# this absolute change; relative changes only when |mean| is this many SDs from zero.
# Data-quality faults: the top score, and the rate jump giving 63 % of it.
QUALITY_WEIGHT = 0.8
QUALITY_SCALE = 0.1
LOCATION_SHIFT = 0.1
SCALE_SHIFT = 1.25
RATE_SHIFT = 0.02
RELATIVE_BASE = 0.5

KINDS_FOR_LAYER = {
    "input_data": ("upstream", "data", "schema"),
    "feature_pipeline": ("code", "config", "data"),
    "model": ("model",),
    "serving": ("infra", "config"),
}
SIGNATURE_OF_KIND = {
    "upstream": ("upstream_data_change", "input_data"), "data": ("upstream_data_change",
                                                                 "input_data"),
    "schema": ("upstream_data_change", "input_data"), "model": ("model_rollout", "model"),
    "infra": ("serving_infrastructure", "serving"), "config": ("silent_pipeline_failure",
                                                               "feature_pipeline"),
    "code": ("silent_pipeline_failure", "feature_pipeline"),
}


@dataclass
class Candidate:
    """A hypothesis before ranking."""

    signature: str
    layer: str
    score: float
    summary: str
    feature: str | None = None
    segment: str | None = None
    change_id: str | None = None
    model_version: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    when: datetime | None = None  # the cause's own change time, when sharp
    explained: Explained | None = None


def rank(triage: Triage, report: FeatureReport, changes: tuple[ChangeEvent, ...],
         versions: tuple[Rollout, ...], serving: tuple[ServingSignal, ...],
         segments: tuple[SegmentShift, ...],
         skew: SkewReport | None = None,
         attributed: tuple[str | None, tuple[Evidence, ...]] | None = None,
         decomposition: Decomposition | None = None,
         quality: tuple[QualityFault, ...] = (),
         repairs: dict[str, float] | None = None,
         ) -> tuple[Hypothesis, ...]:
    """All candidates, scored and ranked (best first); empty when there is no onset."""
    if triage.onset is None:
        return ()
    cands: list[Candidate] = []
    cands += _feature_candidates(triage, report, changes)
    cands += _quality_candidates(quality, changes)
    _weigh_explained(cands, decomposition, repairs or {})
    cands += _pipeline_candidates(triage, report, changes)
    cands += _skew_candidates(skew, changes)
    cands += _rollout_candidates(triage, versions, changes)
    cands += _serving_candidates(triage, serving, changes)
    cands += _segment_candidates(triage, segments, repairs or {})
    cands += _change_candidates(changes, cands)
    cands += _concept_candidates(triage, report, max((c.score for c in cands), default=0.0),
                                 decomposition)
    if attributed is not None and attributed[0] is not None:
        _strengthen(cands, *attributed)
    cands.sort(key=lambda c: -c.score)
    return tuple(
        Hypothesis(rank=i + 1, signature=c.signature, layer=c.layer, score=round(c.score, 4),
                   summary=c.summary, feature=c.feature, segment=c.segment,
                   change_id=c.change_id, model_version=c.model_version,
                   evidence=tuple(c.evidence), time=c.when, explained=c.explained)
        for i, c in enumerate(cands)
    )


def _weigh_explained(cands: list[Candidate], decomposition: Decomposition | None,
                     repairs: dict[str, float]) -> None:
    """Feature hypotheses gain their measured share of the metric's change: independent
    evidence (noisy-OR, weight EXPLAINED_WEIGHT) that grows with the share they explain. The
    repair test's recovered share (the model's own answer) is preferred to the decomposition's
    (a model-free split) where both exist; both stay in the evidence."""
    for c in cands:
        if c.feature is None:
            continue
        explained = explained_share(decomposition, c.feature)
        if explained is not None:
            c.evidence.append(Evidence(
                "explained_share", explained.share, None, "current vs baseline", None,
                f"share of the {decomposition.metric} change explained by this input's shift "
                f"({explained.method}"
                + (f", 95% interval {explained.interval[0]:.2f}..{explained.interval[1]:.2f})"
                   if explained.interval else ")")))
        if c.feature in repairs:
            explained = Explained(repairs[c.feature], None, "repair")
            c.evidence.append(Evidence(
                "repair_recovered_share", repairs[c.feature], None, "current", None,
                "share of the change recovered when the model re-scores the current rows with "
                "this input mapped back onto its baseline distribution"))
        if explained is None:
            continue
        c.explained = explained
        share = min(1.0, max(0.0, explained.share))
        c.score = 1 - (1 - c.score) * (1 - EXPLAINED_WEIGHT * share)


def _strengthen(cands: list[Candidate], feature: str, evidence: tuple[Evidence, ...]) -> None:
    """The model now leans harder on `feature`: independent evidence (noisy-OR with 0.4) for
    every hypothesis naming it."""
    for c in cands:
        if c.feature == feature:
            c.score = 1 - (1 - c.score) * 0.6
            c.evidence.extend(evidence)


def _timing(when: datetime | None, triage: Triage) -> float:
    """Alignment of a feature's shift with the onset; 0.5 when the shift has no sharp time."""
    if when is None or triage.onset is None:
        return 0.5
    return triage.alignment(when)


def _best_change(changes: tuple[ChangeEvent, ...], layer: str) -> ChangeEvent | None:
    kinds = KINDS_FOR_LAYER.get(layer, ())
    matching = [c for c in changes if c.kind in kinds and c.proximity > 0]
    return max(matching, key=lambda c: c.proximity, default=None)


def _change_near(changes: tuple[ChangeEvent, ...], kinds: tuple[str, ...], when: datetime,
                 bucket_seconds: int) -> ChangeEvent | None:
    """The change of one of `kinds` closest to `when`, within two buckets."""
    near = [c for c in changes if c.kind in kinds
            and abs((c.time - when).total_seconds()) <= 2 * bucket_seconds]
    return min(near, key=lambda c: abs((c.time - when).total_seconds()), default=None)


def _change_phrase(change: ChangeEvent) -> str:
    hours = change.hours_before_onset or 0.0
    when = (f"{abs(hours) * 60:.0f} min" if abs(hours) < 2 else f"{abs(hours):.1f} h")
    side = "before" if hours >= 0 else "after"
    return f"{change.kind} change {change.id} ({change.description!r}) {when} {side} the onset"


def _shift_phrase(d: FeatureDrift, hist: Histogram | None = None) -> str:
    """What moved, in the terms that fit the shift: location in baseline standard deviations,
    scale as a ratio of spreads, missing values, values outside training's range and, for
    categories, the levels whose share moved most. Relative changes only where the base is
    well away from zero."""
    parts = []
    if d.mean_baseline is not None and d.mean_current is not None:
        sd = d.std_baseline or d.std_reference
        if sd:
            location = (d.mean_current - d.mean_baseline) / sd
            if abs(location) >= LOCATION_SHIFT:
                text = (f"its mean moved {location:+.2f} SD ({d.mean_baseline:.4g} -> "
                        f"{d.mean_current:.4g}")
                if abs(d.mean_baseline) >= RELATIVE_BASE * sd:
                    text += f", {(d.mean_current / d.mean_baseline - 1) * 100:+.0f}%"
                parts.append(text + ")")
        if d.std_baseline and d.std_current:
            ratio = d.std_current / d.std_baseline
            if not 1 / SCALE_SHIFT < ratio < SCALE_SHIFT:
                parts.append(f"its spread {'grew' if ratio > 1 else 'shrank'} x{ratio:.2f} (SD "
                             f"{d.std_baseline:.4g} -> {d.std_current:.4g})")
    if d.null_rate_current - d.null_rate_baseline >= RATE_SHIFT:
        parts.append(f"its missing rate rose from {d.null_rate_baseline:.1%} to "
                     f"{d.null_rate_current:.1%}")
    if d.outside_range_current - d.outside_range_baseline >= RATE_SHIFT:
        what = "values outside training's range" if d.kind == "numeric" else \
            "categories outside training's"
        parts.append(f"{d.outside_range_current:.1%} {what} (vs "
                     f"{d.outside_range_baseline:.1%} before)")
    if d.kind != "numeric" and hist is not None:
        moved = _moved_levels(hist)
        if moved:
            parts.append("category mix: " + ", ".join(moved))
    if not parts:
        return "its distribution changed shape" if d.kind == "numeric" else \
            "its category mix changed"
    return "; ".join(parts)


def _moved_levels(hist: Histogram, top: int = 2) -> list[str]:
    """The categories whose share moved most between baseline and current."""
    base, cur = np.asarray(hist.baseline, float), np.asarray(hist.current, float)
    if base.sum() == 0 or cur.sum() == 0:
        return []
    pb, pc = base / base.sum(), cur / cur.sum()
    order = np.argsort(-np.abs(pc - pb))[:top]
    return [f"{hist.labels[i]!r} {pb[i]:.0%} -> {pc[i]:.0%}" for i in order
            if abs(pc[i] - pb[i]) >= RATE_SHIFT]


def _feature_evidence(d: FeatureDrift, triage: Triage) -> list[Evidence]:
    ev = [
        Evidence("psi", d.psi_onset, 0.0, "current vs baseline", PSI_MODERATE,
                 "population stability index against the pre-onset window"),
        Evidence("psi", d.psi, d.psi_baseline, "current vs reference", PSI_MODERATE,
                 "baseline value: the pre-onset window against the reference"),
        Evidence("score_dependence_eta", d.dependence, None, "current", None,
                 "correlation ratio of the prediction on the feature's bins"),
        Evidence("outside_training_range", d.outside_range_current, None, "current", None,
                 "share of values outside the reference's range or categories"),
    ]
    if d.ks is not None:
        ev.append(Evidence("ks", d.ks, None, "current vs reference", None,
                           f"p-value {d.ks_pvalue:.3g}" if d.ks_pvalue is not None else None))
    if d.chi2 is not None:
        ev.append(Evidence("chi2", d.chi2, None, "current vs reference", None,
                           f"p-value {d.chi2_pvalue:.3g}, Cramér's V {d.cramers_v:.3f}"))
    if d.mean_baseline is not None:
        ev.append(Evidence("mean", d.mean_current, d.mean_baseline, "current vs baseline"))
    if d.shift_time is not None:
        ev.append(Evidence("shift_time", iso(d.shift_time), iso(triage.onset), "series",
                           detail="when the feature's per-bucket mean shifted vs the onset"))
    return ev


def _feature_candidates(triage: Triage, report: FeatureReport,
                        changes: tuple[ChangeEvent, ...]) -> list[Candidate]:
    out = []
    change = _best_change(changes, "input_data")
    c = change.proximity if change else 0.0
    hists = {h.feature: h for h in report.histograms}
    for d in report.drift:
        if d.psi_onset < PSI_MODERATE / 2:
            continue
        phrase = _shift_phrase(d, hists.get(d.feature))
        m = 1 - math.exp(-d.psi_onset / PSI_MAJOR)
        t = _timing(d.shift_time, triage)
        dep = 0.3 + 0.7 * min(1.0, d.dependence / 0.5)
        ev = _feature_evidence(d, triage)
        if change is not None and c >= NEAR:
            summary = (f"Feature {d.feature!r} shifted at the onset ({phrase}; PSI "
                       f"{d.psi_onset:.2f}) right after {_change_phrase(change)}: check that "
                       f"change's effect on {d.feature!r} and revert or correct it.")
            ev.append(Evidence("change_proximity", c, None, "change log", NEAR, change.id))
            out.append(Candidate("upstream_data_change", "input_data",
                                 m * t * dep * (0.6 + 0.4 * c), summary, feature=d.feature,
                                 change_id=change.id, evidence=ev, when=d.shift_time))
        else:
            summary = (f"Feature {d.feature!r} shifted ({phrase}; PSI "
                       f"{d.psi_onset:.2f} vs before the onset) with no logged change: find "
                       f"which source feeds it and what changed there.")
            out.append(Candidate("distribution_shift", "input_data", 0.8 * m * t * dep, summary,
                                 feature=d.feature, evidence=ev, when=d.shift_time))
    return out


QUALITY_SIGNATURES = {  # fault kind -> (signature, layer, what it says)
    "null_rate": ("silent_pipeline_failure", "feature_pipeline"),
    "duplicate_ids": ("silent_pipeline_failure", "feature_pipeline"),
    "unseen_categories": ("upstream_data_change", "input_data"),
    "type_drift": ("upstream_data_change", "input_data"),
    "out_of_range": ("upstream_data_change", "input_data"),
    "stale_values": ("silent_pipeline_failure", "feature_pipeline"),
    "volume_drop": ("silent_pipeline_failure", "feature_pipeline"),
    "future_timestamps": ("silent_pipeline_failure", "feature_pipeline"),
}


def _quality_candidates(faults: tuple[QualityFault, ...],
                        changes: tuple[ChangeEvent, ...]) -> list[Candidate]:
    """One hypothesis per data-quality fault, scored by the size of the jump."""
    out = []
    for f in faults:
        signature, layer = QUALITY_SIGNATURES[f.kind]
        change = _best_change(changes, layer)
        c = change.proximity if change else 0.0
        if signature == "upstream_data_change" and c < NEAR:
            signature = "distribution_shift"
        jump = f.current - f.baseline
        score = QUALITY_WEIGHT * (1 - math.exp(-jump / QUALITY_SCALE)) * (0.7 + 0.3 * c)
        rates = f"{f.baseline:.1%} -> {f.current:.1%}"
        summary = {
            "null_rate": f"The missing rate of {f.feature!r} rose from {rates} since the onset "
                         f"(z = {f.z:.1f} over {f.rows:,} rows): a source or join that fills it "
                         f"drops values; find which feed stopped delivering it.",
            "duplicate_ids": f"{f.current:.1%} of the {f.detail!r} ids repeat since the onset "
                             f"(vs {f.baseline:.1%} before): rows are logged or served twice; "
                             f"check retries and the logging pipeline.",
            "unseen_categories": f"{f.feature!r} carries categories never seen in training "
                                 f"since the onset: {f.detail} ({rates} of rows outside "
                                 f"training's categories): an upstream source added or "
                                 f"renamed values; map them or retrain.",
            "type_drift": f"{f.feature!r} is numeric in training but {f.current:.1%} of its "
                          f"values since the onset are not numbers ({f.detail}; vs "
                          f"{f.baseline:.1%} before): an upstream format changed.",
            "out_of_range": f"{f.current:.1%} of {f.feature!r} values since the onset lie "
                            f"outside training's range (vs {f.baseline:.1%} before; "
                            f"{f.detail}): a unit or definition changed upstream, or the "
                            f"world moved where the model never learned.",
            "stale_values": f"{f.feature!r} is frozen since the onset: {f.detail} "
                            f"({rates} of rows at that value): the job that computes it "
                            f"stopped updating; check its freshness.",
            "volume_drop": f"Rows are missing from the log since the onset: {f.detail} "
                           f"({rates} of buckets): requests are lost before scoring or "
                           f"logging; check the producers and the log pipeline.",
            "future_timestamps": f"{f.current:.2%} of the log's rows lie far after the rest "
                                 f"({f.detail}): a producer's clock or a default date is "
                                 f"wrong; those rows stretch the current window.",
        }[f.kind]
        ev = [Evidence(f"{f.kind}_rate", f.current, f.baseline, "current vs baseline",
                       QUALITY_FLOOR, f"two-proportion z = {f.z:.1f}")]
        if change is not None and c >= NEAR:
            summary += f" It follows {_change_phrase(change)}."
            ev.append(Evidence("change_proximity", c, None, "change log", NEAR, change.id))
        out.append(Candidate(signature, layer, score, summary, feature=f.feature,
                             change_id=change.id if change and c >= NEAR else None,
                             evidence=ev, when=f.start))
    return out


def _pipeline_candidates(triage: Triage, report: FeatureReport,
                         changes: tuple[ChangeEvent, ...]) -> list[Candidate]:
    out = []
    change = _best_change(changes, "feature_pipeline")
    for s in report.symptoms:
        text = {"all_null": "is entirely null", "constant": "is stuck at one value",
                "all_zero": "is all zeros",
                "stale": "repeats a few stale values (its distinct values collapsed)"}[s.kind]
        summary = (f"Feature {s.feature!r} {text} in {s.share_current:.0%} of buckets since the "
                   f"onset (vs {s.share_baseline:.0%} before): the feature pipeline is failing "
                   f"silently; check its job and its inputs' freshness.")
        out.append(Candidate(
            "silent_pipeline_failure", "feature_pipeline", 0.9 * s.share_current, summary,
            feature=s.feature, when=s.start,
            change_id=change.id if change and change.proximity >= NEAR else None,
            evidence=[Evidence(f"share_buckets_{s.kind}", s.share_current, s.share_baseline,
                               "current vs baseline", 0.5)]))
    for d in report.drift:
        if d.psi_baseline >= PSI_MAJOR and d.psi_onset < PSI_MODERATE:
            m = 1 - math.exp(-d.psi_baseline / PSI_MAJOR)
            dep = 0.3 + 0.7 * min(1.0, d.dependence / 0.5)
            summary = (f"Feature {d.feature!r} differs from training in production both before "
                       f"and after the onset (PSI {d.psi_baseline:.2f}): possible training-"
                       f"serving skew; recompute it with the training code for logged rows.")
            out.append(Candidate("training_serving_skew", "feature_pipeline", 0.35 * m * dep,
                                 summary, feature=d.feature,
                                 evidence=_feature_evidence(d, triage)))
    return out


def _skew_candidates(skew: SkewReport | None,
                     changes: tuple[ChangeEvent, ...]) -> list[Candidate]:
    """Features whose served values differ from the training computation of the same rows."""
    if skew is None:
        return []
    change = _best_change(changes, "feature_pipeline") or _best_change(changes, "model")
    out = []
    for f in skew.features:
        if f.share_current < 0.01:
            continue
        new = f.share_baseline < 0.5 * f.share_current
        score = 0.95 * (1 - math.exp(-f.share_current / 0.1)) * (1.0 if new else 0.6)
        since = "since the onset" if new else "before and after the onset"
        summary = (f"Feature {f.feature!r} as served differs from the training computation in "
                   f"{f.share_current:.0%} of recomputed rows {since} (vs "
                   f"{f.share_baseline:.0%} before): training-serving skew; align the serving "
                   f"code with training and replay.")
        out.append(Candidate(
            "training_serving_skew", "feature_pipeline", score, summary, feature=f.feature,
            change_id=change.id if change and change.proximity >= NEAR and new else None,
            evidence=[Evidence("skew_share_rows", f.share_current, f.share_baseline,
                               "current vs baseline", skew.tolerance,
                               f"{f.rows_current} recomputed rows; mean |diff| "
                               f"{f.mean_abs_diff_current}")]))
    return out


def _rollout_candidates(triage: Triage, versions: tuple[Rollout, ...],
                        changes: tuple[ChangeEvent, ...]) -> list[Candidate]:
    out = []
    for v in versions:
        change = _change_near(changes, ("model",), v.first_seen, triage.bucket_seconds)
        diff = None
        if v.metric_previous is not None and v.metric_version is not None:
            base = max(abs(v.metric_previous), 1e-9)
            diff = abs(v.metric_version - v.metric_previous) / base
        material = 0.6 if diff is None else 1 - math.exp(-diff / 0.5)
        score = v.alignment * material
        summary = (f"Model version {v.version} started serving at {iso(v.first_seen)} "
                   f"({'at' if v.alignment > ALIGNED else 'away from'} the onset); "
                   + (f"{triage.metric.name} {v.metric_previous:.4g} under {v.previous} vs "
                      f"{v.metric_version:.4g} under {v.version}" if diff is not None else
                      "no metric to compare")
                   + (": roll back to confirm." if score >= 0.3 else "."))
        out.append(Candidate(
            "model_rollout", "model", score, summary, model_version=v.version,
            change_id=change.id if change else None, when=v.first_seen,
            evidence=[Evidence("rollout_alignment", v.alignment, None, "series", ALIGNED),
                      Evidence(triage.metric.name, v.metric_version, v.metric_previous,
                               f"{v.version} vs {v.previous}")]))
    return out


def _serving_candidates(triage: Triage, serving: tuple[ServingSignal, ...],
                        changes: tuple[ChangeEvent, ...]) -> list[Candidate]:
    out = []
    change = _best_change(changes, "serving")
    for s in serving:
        rel = (s.after - s.before) / max(abs(s.before), 1e-9)
        score = s.alignment * (1 - math.exp(-rel / 0.5))
        summary = (f"Serving signal {s.name} rose from {s.before:.4g} to {s.after:.4g} at "
                   f"{iso(s.change_time)}: check the serving infrastructure and its dependencies.")
        out.append(Candidate(
            "serving_infrastructure", "serving", score, summary, when=s.change_time,
            change_id=change.id if change and change.proximity >= NEAR else None,
            evidence=[Evidence(s.name, s.after, s.before, "after vs before change point")]))
    return out


def _segment_candidates(triage: Triage, segments: tuple[SegmentShift, ...],
                        repairs: dict[str, float] | None = None) -> list[Candidate]:
    """Segments holding the extra bad outcomes; the repair test's share (the segment excluded
    from both windows) is their explained share where it ran."""
    out = []
    repairs = repairs or {}
    for s in segments[:10]:
        lift = concentration(s)
        if s.excess_share < 0.3 or lift < 1.5 or s.specificity < 0.3:
            continue
        score = min(1.0, s.excess_share) * s.specificity * (1 - math.exp(-(lift - 1) / 2))
        summary = (f"Segment {s.column}={s.value} holds {s.excess_share:.0%} of the extra "
                   f"{triage.metric.name.replace('_', ' ')} with {s.traffic_share:.0%} of "
                   f"traffic ({_num(s.metric_baseline)} -> {_num(s.metric_current)}) while the "
                   f"rest barely moved: look at what changed for that segment.")
        segment = f"{s.column}={s.value}"
        ev = [Evidence("excess_share", s.excess_share, s.traffic_share, "current",
                       detail="share of excess bad outcomes vs share of traffic"),
              Evidence("segment_specificity", s.specificity, None, "current vs baseline",
                       detail="1 - (rest's relative change / segment's relative change)"),
              Evidence(triage.metric.name, s.metric_current, s.metric_baseline,
                       "current vs baseline")]
        explained = None
        if segment in repairs:
            explained = Explained(repairs[segment], None, "repair")
            ev.append(Evidence("repair_recovered_share", repairs[segment], None,
                               "current vs baseline", None,
                               "share of the change that disappears when this segment is left "
                               "out of both windows"))
        out.append(Candidate("segment_regression", "input_data", score, summary,
                             segment=segment, evidence=ev, explained=explained))
    return out


def _concept_candidates(triage: Triage, report: FeatureReport, explained: float,
                        decomposition: Decomposition | None = None) -> list[Candidate]:
    """Concept drift is the measured residual: the labelled metric's change that the input
    shifts do not explain (decomposition), shrunk by what other layers explain; without a
    decomposition, what no other hypothesis explains."""
    from workbench.stages.metrics import METRICS

    if not METRICS[triage.metric.name].needs_labels:
        return []
    name = triage.metric.name
    moved = f"{name} moved from {_num(triage.metric.baseline)} to {_num(triage.metric.current)}"
    labelled = triage.labelled_share_current
    if labelled < REALISED_SHARE:
        since = (f" (no labels since {iso(triage.labels.pending_since)})"
                 if triage.labels is not None and triage.labels.pending_since else "")
        how = (" (estimated from the scores, which assumes that relation held)"
               if triage.metric.estimated else "")
        return [Candidate(
            "concept_drift", "model", CONCEPT_UNKNOWN_SCORE,
            f"Unknown until labels arrive: only {labelled:.0%} of the usual share of rows since "
            f"the onset carry labels{since}, so whether the relation between inputs and outcome "
            f"changed cannot be judged yet; {moved}{how}. Check again once labels arrive.",
            evidence=[Evidence("labelled_share_current", labelled, None, "current",
                               REALISED_SHARE,
                               "share of the current window's rows labelled, relative to the "
                               "usual share")])]
    max_psi = max((d.psi_onset for d in report.drift), default=0.0)
    evidence = [Evidence("max_feature_psi_onset", max_psi, None, "current vs baseline",
                         PSI_MODERATE),
                Evidence("best_other_hypothesis", explained, None, "ranking")]
    if decomposition is not None and decomposition.metric == name:
        residual = decomposition.residual
        score = CONCEPT_WEIGHT * min(1.0, max(0.0, residual)) * (1 - explained)
        shifted = [f"{f} {decomposition.by_feature[f]:.0%}" for f in decomposition.features]
        inputs = (f"the shifts of {', '.join(shifted)} explain {decomposition.covariate:.0%} of "
                  f"it" if shifted else "no input shifted between the windows")
        summary = (f"{moved}; {inputs}, and {residual:.0%} is a change of the outcome for the "
                   f"same inputs: the relation between inputs and outcome may have changed "
                   f"(concept drift); check recent labels and retrain on fresh data.")
        evidence.append(Evidence("residual_share", residual, None, "current vs baseline", None,
                                 "share of the change not explained by the input shifts"))
    else:
        score = CONCEPT_WEIGHT * (1 - explained)
        inputs = ("the inputs stayed close to their pre-onset distribution"
                  if max_psi < PSI_MODERATE else
                  f"some inputs shifted (largest PSI {max_psi:.2f}) without explaining it")
        summary = (f"{moved} while {inputs} and no other layer changed: the relation between "
                   f"inputs and outcome may have changed (concept drift); check recent labels "
                   f"and retrain on fresh data.")
    return [Candidate("concept_drift", "model", score, summary, evidence=evidence)]


def _change_candidates(changes: tuple[ChangeEvent, ...],
                       cands: list[Candidate]) -> list[Candidate]:
    """Change events no evidence points at, so the reader sees them weighed and set aside."""
    used = {c.change_id for c in cands if c.change_id}
    versions = {c.model_version for c in cands if c.model_version}
    out = []
    for ch in changes:
        if ch.id in used or ch.proximity == 0:
            continue
        if ch.kind == "model" and any(v and v in ch.description for v in versions):
            continue
        signature, layer = SIGNATURE_OF_KIND[ch.kind]
        summary = (f"{ch.kind.capitalize()} change {ch.id} ({ch.description!r}) happened "
                   f"{ch.hours_before_onset:.1f} h before the onset, but no metric of its layer "
                   f"moved with it.")
        out.append(Candidate(signature, layer, 0.15 * ch.proximity, summary, change_id=ch.id,
                             evidence=[Evidence("change_proximity", ch.proximity, None,
                                                "change log", NEAR)]))
    return out


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
