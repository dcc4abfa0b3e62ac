"""How a fixed metric is judged: against the baseline's interval, and for side effects.

- vs baseline: "overlaps" when the intervals share a value, "better"/"worse" when the fixed
  interval lies entirely on one side (by the metric's direction), "unknown" without rows.
- verdict: "restores" when overlapping or better, else "insufficient".
- side effect: worse than both the logged value and the baseline, beyond both intervals, so a
  metric returning to normal (e.g. recall falling back after an inflated incident) is not one.
"""

from __future__ import annotations

from workbench.verify.results import MetricComparison, MetricEstimate


def relation(after: MetricEstimate, base: MetricEstimate, higher_is_worse: bool | None) -> str:
    """Where the fixed interval sits against the baseline interval."""
    if not (after.known and base.known):
        return "unknown"
    if after.overlaps(base):
        return "overlaps"
    above = after.lower > base.upper  # type: ignore[operator]
    if higher_is_worse is None:
        return "worse"
    return "worse" if above == higher_is_worse else "better"


def worse_than_both(after: MetricEstimate, before: MetricEstimate, base: MetricEstimate,
                     higher_is_worse: bool | None) -> bool:
    """Worse than the logged value and the baseline, beyond both intervals."""
    if higher_is_worse is None or not (after.known and before.known):
        return False
    refs = [e for e in (before, base) if e.known]
    if higher_is_worse:
        return all(after.lower > e.upper for e in refs)  # type: ignore[operator]
    return all(after.upper < e.lower for e in refs)  # type: ignore[operator]


def verdict(primary: MetricComparison, labelled: int) -> tuple[str, str]:
    """'restores' or 'insufficient', with the sentence saying why."""
    p = primary
    name = p.name.replace("_", " ")
    if not p.after.known or not p.baseline.known:
        why = ("no labelled rows in the replayed window" if labelled == 0 and
               p.after.method == "wilson" else "no rows to estimate it on")
        return "insufficient", f"The {name} cannot be estimated: {why}."
    after = f"{_fmt(p.after.value)} [{_fmt(p.after.lower)}, {_fmt(p.after.upper)}]"
    base = f"{_fmt(p.baseline.value)} [{_fmt(p.baseline.lower)}, {_fmt(p.baseline.upper)}]"
    if p.vs_baseline == "overlaps":
        return "restores", (f"After the fix the {name} is {after}, overlapping the baseline's "
                            f"{base}.")
    if p.vs_baseline == "better":
        return "restores", (f"After the fix the {name} is {after}, better than the baseline's "
                            f"{base}.")
    return "insufficient", (f"After the fix the {name} is {after}, still outside the baseline's "
                            f"{base} (as logged: {_fmt(p.before.value)}).")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
