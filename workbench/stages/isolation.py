"""Phase 2, layer isolation: a verdict per layer (serving, model, feature pipeline, input data,
external) with the numbers behind it, from the same aggregates the hypotheses use."""

from __future__ import annotations

from workbench.results import (
    ChangeEvent,
    Evidence,
    LayerVerdict,
    MultivariateDrift,
    QualityFault,
)
from workbench.stages.context import Rollout, ServingSignal
from workbench.stages.features import FeatureReport
from workbench.stages.multivariate import AUC_SHIFT
from workbench.stages.quality import OUT_OF_RANGE_FLOOR
from workbench.stages.skew import SkewReport
from workbench.stages.triage import Triage
from workbench.stats.drift import PSI_MAJOR, PSI_MODERATE
from workbench.timeutil import iso

ALIGNED = 0.5  # alignment above which a change coincides with the onset (within ~1.4 buckets)
NEAR = 0.2  # change-log proximity above which an event is "near the onset"
# Data-quality faults of the pipeline layer (the others belong to the input data).
PIPELINE_FAULTS = ("null_rate", "duplicate_ids", "stale_values", "volume_drop",
                   "future_timestamps")


def isolate(triage: Triage, report: FeatureReport, changes: tuple[ChangeEvent, ...],
            versions: tuple[Rollout, ...], serving: tuple[ServingSignal, ...],
            has_versions: bool, has_serving_columns: bool, has_changes: bool,
            skew: SkewReport | None = None,
            missing_columns: tuple[str, ...] = (),
            quality: tuple[QualityFault, ...] = (),
            multivariate: MultivariateDrift | None = None) -> tuple[LayerVerdict, ...]:
    """One verdict per layer, in the order an on-call engineer checks them.

    missing_columns: reference (training) columns the production log does not carry.
    """
    return (
        _serving(serving, has_serving_columns),
        _model(triage, versions, has_versions),
        _pipeline(report, skew, [f for f in quality if f.kind in PIPELINE_FAULTS]),
        _input(report, missing_columns, [f for f in quality if f.kind not in PIPELINE_FAULTS],
               multivariate),
        _external(changes, has_changes),
    )


def _serving(signals: tuple[ServingSignal, ...], has_columns: bool) -> LayerVerdict:
    ev = tuple(Evidence(s.name, s.after, s.before, f"change at {iso(s.change_time)}",
                        detail=f"alignment with the onset {s.alignment:.2f}") for s in signals)
    aligned = [s for s in signals if s.alignment >= ALIGNED]
    if aligned:
        s = max(aligned, key=lambda x: x.alignment)
        return LayerVerdict("serving", "failing",
                            f"{s.name} {s.before:.4g} -> {s.after:.4g} at the onset", ev)
    if signals:
        s = signals[0]
        return LayerVerdict("serving", "suspect",
                            f"{s.name} shifted at {iso(s.change_time)}, not at the onset", ev)
    note = "" if has_columns else " (only null/out-of-range scores checked: no latency/status)"
    return LayerVerdict("serving", "healthy", "latency, errors and scores steady" + note, ev)


def _model(triage: Triage, versions: tuple[Rollout, ...], has_versions: bool) -> LayerVerdict:
    if not has_versions:
        return LayerVerdict("model", "unknown", "no model_version column in the log")
    ev = tuple(Evidence("rollout_alignment", v.alignment, None, v.version,
                        detail=f"first seen {iso(v.first_seen)}") for v in versions)
    for v in sorted(versions, key=lambda x: -x.alignment):
        if v.alignment < ALIGNED:
            continue
        diff = _relative(v.metric_previous, v.metric_version)
        if diff is None or abs(diff) >= 0.2:
            return LayerVerdict(
                "model", "failing",
                f"version {v.version} rolled out at the onset"
                + (f"; {triage.metric.name} {diff:+.0%} vs {v.previous}" if diff is not None
                   else ""), ev)
        return LayerVerdict("model", "suspect",
                            f"version {v.version} rolled out at the onset, metric unchanged", ev)
    if versions:
        latest = versions[-1]
        return LayerVerdict("model", "healthy",
                            f"last rollout {latest.version} at {iso(latest.first_seen)}, "
                            f"away from the onset", ev)
    return LayerVerdict("model", "healthy", "one model version throughout", ev)


def _fault_evidence(faults: list[QualityFault]) -> list[Evidence]:
    return [Evidence(f"{f.kind}_rate", f.current, f.baseline, "current vs baseline", None,
                     f.feature or f.detail) for f in faults]


def _fault_headline(f: QualityFault) -> str:
    what = {"null_rate": "missing rate", "duplicate_ids": "repeated ids",
            "unseen_categories": "categories unseen in training",
            "type_drift": "values that are not numbers",
            "out_of_range": "values outside training's range",
            "stale_values": "rows at one frozen value",
            "volume_drop": "buckets with a volume drop",
            "future_timestamps": "rows timestamped after the log's horizon"}[f.kind]
    name = f"{f.feature} " if f.feature else ""
    return f"{name}{what} {f.baseline:.1%} -> {f.current:.1%} since the onset"


def _pipeline(report: FeatureReport, skew: SkewReport | None,
              faults: list[QualityFault] | None = None) -> LayerVerdict:
    faults = faults or []
    ev = [Evidence(f"share_buckets_{s.kind}", s.share_current, s.share_baseline,
                   "current vs baseline", 0.5, s.feature) for s in report.symptoms]
    ev += _fault_evidence(faults)
    if skew is not None:
        ev += [Evidence("skew_share_rows", f.share_current, f.share_baseline,
                        "current vs baseline", skew.tolerance, f.feature) for f in skew.features]
    if report.symptoms:
        s = report.symptoms[0]
        return LayerVerdict("feature_pipeline", "failing",
                            f"{s.feature} {s.kind.replace('_', ' ')} in {s.share_current:.0%} "
                            f"of buckets since the onset", tuple(ev))
    if faults:
        return LayerVerdict("feature_pipeline", "failing", _fault_headline(faults[0]),
                            tuple(ev))
    if skew is not None and skew.worst is not None and skew.worst.share_current >= 0.05:
        w = skew.worst
        return LayerVerdict("feature_pipeline", "failing" if w.share_current >= 0.2 else "suspect",
                            f"{w.feature} differs from its training computation in "
                            f"{w.share_current:.0%} of recomputed rows", tuple(ev))
    note = "" if skew is not None else " (no [pipeline] to recompute features)"
    return LayerVerdict("feature_pipeline", "healthy",
                        "no feature null, constant or zero since the onset, no missing-rate "
                        "jump" + note, tuple(ev))


def _input(report: FeatureReport, missing: tuple[str, ...],
           faults: list[QualityFault] | None = None,
           multivariate: MultivariateDrift | None = None) -> LayerVerdict:
    if missing:
        names = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        ev = (Evidence("missing_in_production", len(missing), 0, "schema",
                       detail=f"training columns absent from the log: {names}"),)
        return LayerVerdict("input_data", "failing",
                            f"{len(missing)} training column(s) missing from the log: {names}",
                            ev)
    if not report.drift:
        return LayerVerdict("input_data", "unknown", "no features to compare with training")
    worst = max(report.drift, key=lambda d: d.psi_onset)
    ev = tuple(Evidence("psi", d.psi_onset, 0.0, "current vs baseline", PSI_MODERATE, d.feature)
               for d in sorted(report.drift, key=lambda d: -d.psi_onset)[:5])
    ev += tuple(_fault_evidence(faults or []))
    if multivariate is not None:
        top = ", ".join(list(multivariate.top_features)[:3]) or "none"
        ev += (Evidence("domain_classifier_auc", multivariate.auc, 0.5, "current vs baseline",
                        AUC_SHIFT, f"inputs that tell the windows apart: {top}"),)
    if faults:
        return LayerVerdict("input_data", "failing", _fault_headline(faults[0]), ev)
    outside = max(report.drift, key=lambda d: d.outside_range_current)
    if worst.psi_onset >= PSI_MAJOR or outside.outside_range_current >= OUT_OF_RANGE_FLOOR:
        verdict = "failing"
    elif worst.psi_onset >= PSI_MODERATE:
        verdict = "suspect"
    else:
        verdict = "healthy"
    if verdict == "healthy" and multivariate is not None and multivariate.shifted:
        verdict = "suspect"  # no input moved alone, but together they did
    headline = f"largest shift at the onset: {worst.feature} (PSI {worst.psi_onset:.2f})"
    if multivariate is not None and multivariate.shifted:
        headline += f"; the windows' inputs differ jointly (classifier AUC {multivariate.auc:.2f})"
    if outside.outside_range_current >= 0.01:
        headline += (f"; {outside.outside_range_current:.0%} of {outside.feature} outside "
                     f"training's range")
    return LayerVerdict("input_data", verdict, headline, ev)


def _external(changes: tuple[ChangeEvent, ...], has_changes: bool) -> LayerVerdict:
    if not has_changes:
        return LayerVerdict("external", "unknown", "no change log configured")
    near = [c for c in changes if c.proximity >= NEAR]
    ev = tuple(Evidence("change_proximity", c.proximity, None, "change log",
                        NEAR, f"{c.id} ({c.kind})") for c in near)
    outside = [c for c in near if c.kind in ("upstream", "data", "schema", "infra")]
    if outside:
        c = max(outside, key=lambda x: x.proximity)
        return LayerVerdict("external", "suspect",
                            f"{c.kind} change {c.id} {c.hours_before_onset:.1f} h before the "
                            f"onset", ev)
    return LayerVerdict("external", "healthy", "no upstream, data or infra change near the "
                        "onset", ev)


def _relative(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return after / before - 1
