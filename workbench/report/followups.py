"""Follow-ups derived from what the incident showed: which alert would have caught it.

- A PSI alert per drifted feature (PSI against training at least 0.1 in the incident window
  while the pre-onset window stayed below 0.1), the root-cause feature first. The threshold
  lies between the two values: the conventional 0.1 ("moderate shift") when it separates them,
  else their geometric mean.
- An alert on the monitored metric at the midpoint between its baseline and incident values.
- After a fix verified as restoring the metric: re-verify on fresh labelled rows after the
  rollout, expecting the metric within the baseline's interval.
"""

from __future__ import annotations

import math

from workbench.report.model import FollowUp
from workbench.results import Diagnosis, FeatureDrift
from workbench.stats.drift import PSI_MODERATE
from workbench.verify.results import Verification

MAX_FEATURE_ALERTS = 3
PSI_WINDOW = "24h rolling, against the training reference"
METRIC_WINDOW = "24h rolling, on labelled rows"


def psi_threshold(baseline: float, incident: float) -> float:
    """A PSI alert level between the pre-onset and the incident values."""
    if baseline < PSI_MODERATE <= incident:
        return PSI_MODERATE
    return math.sqrt(max(baseline, 1e-4) * max(incident, 1e-4))


def follow_ups(diagnosis: Diagnosis, culprit: str | None,
               verification: Verification | None) -> tuple[FollowUp, ...]:
    """The monitoring (and checks) to add after this incident."""
    out = [_feature_alert(d, d.feature == culprit) for d in _drifted(diagnosis, culprit)]
    m = diagnosis.metric
    if m.baseline is not None and m.current is not None and m.current != m.baseline:
        threshold = (m.baseline + m.current) / 2
        name = m.name.replace("_", " ")
        direction = "above" if m.current > m.baseline else "below"
        out.append(FollowUp(
            kind="monitor", target=m.name, statistic=m.name, threshold=threshold,
            baseline_value=m.baseline, incident_value=m.current, window=METRIC_WINDOW,
            rationale=(f"Alert when the {name} goes {direction} {threshold:.4g}, halfway between "
                       f"its baseline {m.baseline:.4g} and the incident's {m.current:.4g}. "
                       f"Labels can arrive late: the feature alerts above fire first.")))
    if verification is not None and verification.restores:
        p = verification.primary
        out.append(FollowUp(
            kind="verify", target=verification.fix.name, statistic=p.name,
            threshold=p.baseline.upper if p.higher_is_worse else p.baseline.lower,
            baseline_value=p.baseline.value, incident_value=p.before.value,
            window="the first labelled day after the rollout",
            rationale=(f"After rolling out {verification.fix.name!r}, re-run the verification "
                       f"on fresh labelled rows (workbench verify ... --window <rollout>..); "
                       f"expect the {p.name.replace('_', ' ')} within the baseline's "
                       f"[{p.baseline.lower:.4g}, {p.baseline.upper:.4g}].")))
    return tuple(out)


def _drifted(diagnosis: Diagnosis, culprit: str | None) -> list[FeatureDrift]:
    found = [d for d in diagnosis.drift if d.psi >= PSI_MODERATE and d.psi_baseline < d.psi]
    found.sort(key=lambda d: (d.feature != culprit, -d.psi))
    return found[:MAX_FEATURE_ALERTS]


def _feature_alert(d: FeatureDrift, is_culprit: bool) -> FollowUp:
    threshold = psi_threshold(d.psi_baseline, d.psi)
    shift = ""
    if d.mean_baseline and d.mean_current is not None:
        shift = (f" Its mean moved {d.mean_current / d.mean_baseline - 1:+.0%} "
                 f"({d.mean_baseline:.4g} -> {d.mean_current:.4g}).")
    role = "the root-cause feature" if is_culprit else "a feature that shifted with it"
    return FollowUp(
        kind="monitor", target=d.feature, feature=d.feature, statistic="psi",
        threshold=threshold, baseline_value=d.psi_baseline, incident_value=d.psi,
        window=PSI_WINDOW,
        rationale=(f"PSI of '{d.feature}' ({role}) against training was {d.psi_baseline:.3g} "
                   f"before the onset and {d.psi:.3g} during the incident; alert at "
                   f"{threshold:.3g}.{shift}"))
