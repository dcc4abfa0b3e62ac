"""Small shared helpers: time conversion and seeded random streams."""

from __future__ import annotations

import numpy as np


def utc_us(iso: str) -> int:
    """Microseconds since the Unix epoch of an ISO-8601 UTC time ('2026-03-02T10:00:00Z')."""
    return int(np.datetime64(iso.removesuffix("Z"), "us").astype(np.int64))


def stream(seed: int, *keys: int) -> np.random.Generator:
    """An independent random stream of one seed (training data, traffic, log, ...)."""
    return np.random.default_rng([seed, *keys])
