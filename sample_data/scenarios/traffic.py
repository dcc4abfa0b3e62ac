"""Request volume over time: a daily and weekly rhythm in local time, noisy from hour to hour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .util import utc_us

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


@dataclass(frozen=True)
class Traffic:
    """Relative volume by local hour (24 values) and weekday (7 values, Monday first).

    `noise` is the sigma of a log-normal factor drawn per hour, so neighbouring hours differ the
    way real traffic does; `utc_offset` places the local day on the UTC axis.
    """

    daily: tuple[float, ...]
    weekly: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    utc_offset: int = 0
    noise: float = 0.08

    def __post_init__(self) -> None:
        if len(self.daily) != 24 or len(self.weekly) != 7:
            raise ValueError("Traffic needs 24 daily and 7 weekly weights.")


@dataclass(frozen=True)
class Burst:
    """A stretch of unusual volume (a campaign, a match night, a holiday): weight x factor."""

    start: str
    end: str
    factor: float

    @property
    def start_us(self) -> int:
        """Start in UTC microseconds."""
        return utc_us(self.start)

    @property
    def end_us(self) -> int:
        """End in UTC microseconds."""
        return utc_us(self.end)


def local_hour(t_us: np.ndarray, utc_offset: int) -> np.ndarray:
    """Local hour of day (0-23) of UTC microsecond timestamps."""
    return ((np.asarray(t_us) // HOUR_US + utc_offset) % 24).astype(np.int64)


def local_weekday(t_us: np.ndarray, utc_offset: int) -> np.ndarray:
    """Local weekday (0 = Monday) of UTC microsecond timestamps."""
    days = (np.asarray(t_us) // HOUR_US + utc_offset) // 24
    return ((days + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday


def hour_index(t_us: np.ndarray, origin_us: int) -> np.ndarray:
    """Whole hours since origin (for per-hour processes such as the weather)."""
    return ((np.asarray(t_us) - origin_us) // HOUR_US).astype(np.int64)


def event_times(rng: np.random.Generator, start_us: int, end_us: int, rows: int,
                traffic: Traffic, bursts: tuple[Burst, ...] = ()) -> np.ndarray:
    """`rows` sorted event times (UTC microseconds) in [start, end) following the rhythm."""
    hours = int(-(-(end_us - start_us) // HOUR_US))
    starts = start_us + np.arange(hours, dtype=np.int64) * HOUR_US
    weight = (np.asarray(traffic.daily)[local_hour(starts, traffic.utc_offset)]
              * np.asarray(traffic.weekly)[local_weekday(starts, traffic.utc_offset)]
              * rng.lognormal(0.0, traffic.noise, hours))
    for burst in bursts:
        inside = (starts >= burst.start_us) & (starts < burst.end_us)
        weight = np.where(inside, weight * burst.factor, weight)
    counts = rng.multinomial(rows, weight / weight.sum())
    times = np.repeat(starts, counts) + rng.integers(0, HOUR_US, rows)
    times = np.minimum(times, end_us - 1)
    return np.sort(times)
