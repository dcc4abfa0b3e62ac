"""What changes in a scenario, as hooks applied while the log is generated.

Each fault takes effect from `at` (ISO-8601 UTC, until `until` if set) and acts on one stage:
the world (true inputs), the outcome (how inputs turn into labels), the served features, or the
serving path. Healthy controls use the same hooks for benign events (a heat spell, a harmless
upstream change). Model rollouts are `Release`s in the scenario, not faults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .traffic import HOUR_US
from .util import utc_us

WorldFn = Callable[[pd.DataFrame, np.ndarray, np.random.Generator], None]
OutcomeFn = Callable[[pd.DataFrame, np.ndarray, np.ndarray], np.ndarray]
ServedFn = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Fault:
    """Base: no effect. `active(t)` is True for requests in [at, until)."""

    at: str
    until: str | None = None

    def active(self, t_us: np.ndarray) -> np.ndarray:
        """Mask of the requests the fault affects."""
        t_us = np.asarray(t_us)
        on = t_us >= utc_us(self.at)
        return on if self.until is None else on & (t_us < utc_us(self.until))

    def world(self, raw: pd.DataFrame, t_us: np.ndarray, rng: np.random.Generator) -> None:
        """Change the true inputs in place."""

    def outcome(self, raw: pd.DataFrame, signal: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        """Change the expected outcome of given inputs."""
        return signal

    def served(self, served: pd.DataFrame, raw: pd.DataFrame, t_us: np.ndarray) -> None:
        """Change the features the model receives, in place."""

    def serving(self, log: dict[str, np.ndarray], t_us: np.ndarray,
                rng: np.random.Generator) -> None:
        """Change prediction, latency and status (arrays in `log`) in place."""


@dataclass(frozen=True)
class WorldChange(Fault):
    """The world changes: `change(raw, weight, rng)` with weight ramping 0 -> 1 over ramp_days."""

    change: WorldFn | None = None
    ramp_days: float = 0.0

    def world(self, raw: pd.DataFrame, t_us: np.ndarray, rng: np.random.Generator) -> None:
        assert self.change is not None
        elapsed = (np.asarray(t_us) - utc_us(self.at)) / (24 * HOUR_US)
        if self.ramp_days > 0:
            weight = np.clip(elapsed / self.ramp_days, 0.0, 1.0)
        else:
            weight = (elapsed >= 0).astype(float)
        self.change(raw, np.where(self.active(t_us), weight, 0.0), rng)


@dataclass(frozen=True)
class OutcomeChange(Fault):
    """The relation between inputs and outcome changes: `change(raw, signal, active)`."""

    change: OutcomeFn | None = None

    def outcome(self, raw: pd.DataFrame, signal: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        assert self.change is not None
        return self.change(raw, signal, self.active(t_us))


@dataclass(frozen=True)
class ScaleServed(Fault):
    """An upstream source changes a field's definition: the served value is multiplied."""

    column: str = ""
    factor: float = 1.0
    decimals: int = 4

    def served(self, served: pd.DataFrame, raw: pd.DataFrame, t_us: np.ndarray) -> None:
        on = self.active(t_us)
        values = served[self.column].to_numpy(dtype=float).copy()
        values[on] = np.round(values[on] * self.factor, self.decimals)
        served[self.column] = values.astype(served[self.column].dtype)


@dataclass(frozen=True)
class ServedAs(Fault):
    """The serving path computes a feature another way than training: `compute(raw)`."""

    column: str = ""
    compute: ServedFn | None = None

    def served(self, served: pd.DataFrame, raw: pd.DataFrame, t_us: np.ndarray) -> None:
        assert self.compute is not None
        on = self.active(t_us)
        categorical = not pd.api.types.is_numeric_dtype(served[self.column])
        values = served[self.column].to_numpy(dtype=object if categorical else float).copy()
        values[on] = self.compute(raw)[on]
        served[self.column] = values


@dataclass(frozen=True)
class Stuck(Fault):
    """A feature job fails silently: the served value is 0, null, or frozen per `by` group."""

    column: str = ""
    mode: str = "zero"  # "zero", "null" or "stale"
    by: str | None = None

    def served(self, served: pd.DataFrame, raw: pd.DataFrame, t_us: np.ndarray) -> None:
        on = self.active(t_us)
        values = served[self.column].to_numpy(dtype=float).copy()
        if self.mode == "zero":
            values[on] = 0.0
        elif self.mode == "null":
            values[on] = np.nan
        elif self.mode == "stale":
            groups = raw[self.by].to_numpy() if self.by else np.zeros(len(raw), dtype=int)
            for group in np.unique(groups):
                rows = groups == group
                before = np.flatnonzero(rows & ~on)
                if len(before):
                    values[rows & on] = values[before[-1]]
        else:
            raise ValueError(f"unknown mode {self.mode!r}")
        if self.mode == "null" or served[self.column].dtype.kind == "f":
            served[self.column] = values
        else:
            served[self.column] = values.astype(served[self.column].dtype)


@dataclass(frozen=True)
class PartlyMissing(Fault):
    """A feed fills a feature less often: a share of served values is null, `before` of them
    already before `at` (a feature that always had gaps) and `after` from then on. Rows are
    picked by a hash of their position, so the generator's random stream is untouched."""

    column: str = ""
    before: float = 0.0
    after: float = 0.0

    def active(self, t_us: np.ndarray) -> np.ndarray:
        return np.ones(len(np.asarray(t_us)), dtype=bool)

    def served(self, served: pd.DataFrame, raw: pd.DataFrame, t_us: np.ndarray) -> None:
        after = np.asarray(t_us) >= utc_us(self.at)
        draw = (np.arange(len(served), dtype=np.uint64) * np.uint64(2654435761)
                % np.uint64(10_000)).astype(float) / 10_000
        share = np.where(after, self.after, self.before)
        values = served[self.column].to_numpy(dtype=float).copy()
        values[draw < share] = np.nan
        served[self.column] = values


@dataclass(frozen=True)
class ServingOutage(Fault):
    """The serving path degrades: slower, and a share of requests fail or get a fallback.

    Failed requests (`timeout_share`) are logged as timeouts with `failed_prediction` (None:
    null); degraded ones (`fallback_share`) succeed with the constant `fallback_prediction`.
    """

    timeout_share: float = 0.1
    latency_factor: float = 2.0
    failed_prediction: float | None = None
    fallback_share: float = 0.0
    fallback_prediction: float = 0.0
    timeout_ms: float = 1000.0

    def serving(self, log: dict[str, np.ndarray], t_us: np.ndarray,
                rng: np.random.Generator) -> None:
        on = self.active(t_us)
        u = rng.random(len(t_us))
        failed = on & (u < self.timeout_share)
        fallback = (on & ~failed & (u < self.timeout_share + self.fallback_share)
                    & (log["kind"] == "ok"))
        log["latency"] = np.where(on, log["latency"] * self.latency_factor, log["latency"])
        log["latency"] = np.where(failed, self.timeout_ms + rng.exponential(5.0, len(t_us)),
                                  log["latency"])
        log["kind"] = np.where(failed, "timeout", log["kind"])
        failed_value = np.nan if self.failed_prediction is None else self.failed_prediction
        log["prediction"] = np.where(failed, failed_value, log["prediction"])
        log["prediction"] = np.where(fallback, self.fallback_prediction, log["prediction"])
