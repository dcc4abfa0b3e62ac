"""Grading a diagnosis against a scenario's truth.json.

Works on the `--json` document of `workbench diagnose` (`Diagnosis.to_dict()`), so any engine
speaking that contract can be graded. A hypothesis names the culprit when its signature matches
and every culprit field the truth sets (feature, segment, change_id, model_version) is equal.
A healthy control passes when no onset is reported and no hypothesis scores QUIET_SCORE or more.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

CULPRIT_FIELDS = ("feature", "segment", "change_id", "model_version")
QUIET_SCORE = 0.3
_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Grade:
    """How one diagnosis fared on one scenario."""

    scenario: str
    signature: str | None  # the true signature (None: healthy control)
    top1_signature: bool
    top1_culprit: bool
    top3: bool
    onset_found: str | None
    onset_true: str | None
    onset_error_buckets: float | None
    onset_ok: bool
    max_score: float
    quiet: bool  # healthy controls: no onset and nothing scored >= QUIET_SCORE
    top: tuple[dict[str, Any], ...]  # the first three hypotheses, abridged
    culprit_share: float | None = None  # the explained share of the first culprit hypothesis

    @property
    def healthy(self) -> bool:
        """True for a healthy control."""
        return self.signature is None

    @property
    def passed(self) -> bool:
        """Everything the scenario asks for."""
        if self.healthy:
            return self.quiet
        return self.top1_signature and self.top1_culprit and self.onset_ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "top": list(self.top), "passed": self.passed}

    def describe(self) -> str:
        """One readable line of what the diagnosis said."""
        ranked = "; ".join(
            f"#{h['rank']} {h['signature']} {_culprit_text(h)} score {h['score']:.3f}"
            for h in self.top) or "no hypotheses"
        return f"onset {self.onset_found} (true {self.onset_true}); top-3: {ranked}"


def bucket_seconds(bucket: str) -> int:
    """Seconds of a bucket size such as '15min', '1h' or '1d'."""
    match = re.fullmatch(r"(\d+)(s|min|h|d|w)", bucket.strip())
    if not match:
        raise ValueError(f"not a bucket size: {bucket!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def names_culprit(hypothesis: dict[str, Any], truth: dict[str, Any]) -> bool:
    """Whether a hypothesis has the true signature and every culprit field the truth sets."""
    if hypothesis.get("signature") != truth["signature"]:
        return False
    return all(hypothesis.get(k) == truth[k] for k in CULPRIT_FIELDS if truth.get(k) is not None)


def grade(diagnosis: dict[str, Any], truth: dict[str, Any]) -> Grade:
    """Grade a diagnosis document against a truth document."""
    hyps = sorted(diagnosis.get("hypotheses") or [], key=lambda h: h["rank"])
    top1 = hyps[0] if hyps else None
    onset = diagnosis.get("onset")
    error = None
    if onset is not None and truth["onset"] is not None:
        seconds = abs((_time(onset) - _time(truth["onset"])).total_seconds())
        error = seconds / bucket_seconds(truth["bucket"])
    tolerance = truth.get("onset_tolerance_buckets", 1)
    max_score = max((float(h["score"]) for h in hyps), default=0.0)
    healthy = truth["signature"] is None
    return Grade(
        scenario=truth.get("scenario", ""), signature=truth["signature"],
        top1_signature=bool(top1) and not healthy and top1["signature"] == truth["signature"],
        top1_culprit=bool(top1) and not healthy and names_culprit(top1, truth),
        top3=not healthy and any(names_culprit(h, truth) for h in hyps[:3]),
        onset_found=onset, onset_true=truth["onset"], onset_error_buckets=error,
        onset_ok=error is not None and error <= tolerance,
        max_score=max_score, quiet=healthy and onset is None and max_score < QUIET_SCORE,
        top=tuple(_abridged(h) for h in hyps[:3]),
        culprit_share=None if healthy else _culprit_share(hyps, truth),
    )


def _culprit_share(hyps: list[dict[str, Any]], truth: dict[str, Any]) -> float | None:
    """The share of the metric's change the first hypothesis naming the culprit explains."""
    named = next((h for h in hyps if names_culprit(h, truth)), None)
    explained = (named or {}).get("explained")
    return float(explained["share"]) if explained else None


def _abridged(h: dict[str, Any]) -> dict[str, Any]:
    return {"rank": h["rank"], "signature": h["signature"], "score": float(h["score"]),
            **{k: h.get(k) for k in CULPRIT_FIELDS}}


def _culprit_text(h: dict[str, Any]) -> str:
    named = [f"{k}={h[k]}" for k in CULPRIT_FIELDS if h.get(k) is not None]
    return "(" + ", ".join(named) + ")" if named else "(no culprit)"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
