"""Durations and timestamps: bucket sizes like '1h', ISO-8601 parsing, and the default bucket."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from workbench.exceptions import InvalidInputError
from workbench.messages import quote

_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}
# At most nine digits: a count of that many weeks is already beyond any log.
_DURATION = re.compile(r"^\s*(\d{1,9})\s*(s|min|h|d|w)\s*$")
DURATION_HINT = "a duration like '1h', '15min' or '1d' (units: s, min, h, d, w)"
# Default bucket sizes, smallest first; the first giving at most ~1000 buckets over the span wins.
_CANDIDATES = ("1min", "5min", "15min", "1h", "6h", "1d", "1w")


def parse_duration(text: str, where: str = "bucket") -> int:
    """Return the number of seconds in a duration such as '1h', '15min' or '1d'."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise InvalidInputError(f"The {where} value must be {DURATION_HINT}. "
                                f"Got {quote(text)} instead.")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """Inverse of parse_duration, choosing the largest exact unit."""
    for unit in ("w", "d", "h", "min"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def default_bucket(span_seconds: float, max_buckets: int = 1000) -> str:
    """Choose a bucket size so the span holds at most max_buckets buckets."""
    for name in _CANDIDATES:
        if span_seconds / parse_duration(name) <= max_buckets:
            return name
    return _CANDIDATES[-1]


def parse_time(text: str, where: str = "time") -> datetime:
    """Parse an ISO-8601 timestamp into a naive UTC datetime (naive values are taken as UTC)."""
    try:
        value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(
            f"The {where} must be an ISO-8601 time like '2026-10-16T18:00:00Z'. "
            f"Got {quote(text)}."
        ) from exc
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def iso(value: datetime | None) -> str | None:
    """Render a naive-UTC datetime as ISO-8601 with a Z suffix (None stays None)."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


def parse_window(text: str) -> tuple[datetime | None, datetime | None]:
    """Parse 'START..END' (either side may be empty) into naive-UTC datetimes."""
    if ".." not in str(text):
        raise InvalidInputError(
            f"A window must look like 'START..END' with ISO-8601 times, either side optional, "
            f"e.g. '2026-10-10T00:00Z..2026-10-19'. Got {quote(text)}."
        )
    start_text, end_text = str(text).split("..", 1)
    start = parse_time(start_text, "window start") if start_text.strip() else None
    end = parse_time(end_text, "window end") if end_text.strip() else None
    if start is not None and end is not None and start >= end:
        raise InvalidInputError(f"The window {quote(text)} starts at {iso(start)}, not before "
                                f"its end {iso(end)}: the start must come first.")
    return start, end
