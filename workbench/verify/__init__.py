"""Fix and verify: replay logged production rows through candidate fixes, judged on the baseline.

Typical use::

    from workbench.verify import verify_fix
    result = verify_fix("incident.toml", "recompute-ratio")
    result.verdict, result.primary.after.value, result.side_effects

Fixes are declared in `[[fixes]]` of the incident config or built in code with
`CandidateFix.feature_correction(...)`, `.other_model(...)`, `.rollback(...)` or
`.new_threshold(...)`. See `workbench.verify.replay` for how the verdict is reached and
`workbench.verify.intervals` for the confidence intervals.
"""

from workbench.verify.fixes import CandidateFix, PreparedFix, prepare
from workbench.verify.intervals import estimate, wilson
from workbench.verify.replay import Replayer, record, verify_fix, verify_fixes
from workbench.verify.results import (
    VERDICTS,
    CorrectedFeature,
    FixInfo,
    MetricComparison,
    MetricEstimate,
    ModelCheck,
    ScoreSummary,
    SegmentEffect,
    Verification,
)

__all__ = [
    "VERDICTS", "CandidateFix", "CorrectedFeature", "FixInfo", "MetricComparison",
    "MetricEstimate", "ModelCheck", "PreparedFix", "Replayer", "ScoreSummary", "SegmentEffect",
    "Verification", "estimate", "prepare", "record", "verify_fix", "verify_fixes", "wilson",
]
