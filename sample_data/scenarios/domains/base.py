"""What a domain is: how its world is simulated, what its model sees and how outcomes arise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..traffic import Traffic

Simulate = Callable[[np.random.Generator, np.ndarray], pd.DataFrame]
Signal = Callable[[pd.DataFrame], np.ndarray]
Draw = Callable[[np.random.Generator, np.ndarray, pd.DataFrame], np.ndarray]
Derive = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Columns:
    """Names of the prediction log's role columns."""

    timestamp: str
    id: str
    prediction: str
    label: str
    decision: str | None = None
    version: str = "model_version"
    latency: str = "latency_ms"
    status: str = "status"


@dataclass(frozen=True)
class Service:
    """The healthy serving path: latency (log-normal) and the rare failed request.

    status_style "text" logs ok/error/timeout, "http" logs 200/500/504. A failed request has no
    prediction (null), as a real service returns an error instead of a score.
    """

    latency_ms: float
    latency_sigma: float = 0.3
    error_share: float = 0.0008
    status_style: str = "text"
    timeout_ms: float = 1000.0

    def status(self, kind: np.ndarray) -> np.ndarray:
        """Status values for kinds 'ok', 'error', 'timeout' in this service's style."""
        if self.status_style == "http":
            return np.select([kind == "ok", kind == "error"], [200, 500], 504).astype(np.int32)
        return kind.astype(object)


@dataclass(frozen=True)
class Domain:
    """A production model's world: inputs, outcome, features, model family and serving.

    simulate(rng, t_us) -> the true raw inputs of each request (segments and raw columns
    included); derive(raw) -> the model features computed the training way; signal(raw) -> the
    expected outcome (a logit for classification, a mean for regression); draw(rng, signal, raw)
    -> the observed outcome.
    """

    name: str
    task: str
    columns: Columns
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    segments: tuple[str, ...]
    traffic: Traffic
    service: Service
    simulate: Simulate
    signal: Signal
    draw: Draw
    derive: Derive | None = None
    raw_columns: tuple[str, ...] = ()  # logged next to the features, absent from training data
    threshold: float | None = None  # decision threshold (classification)
    loss: str = "squared_error"  # gradient boosting loss (regression)
    family: str = "hist"  # "hist" (HistGradientBoosting) or "gbm" (GradientBoosting)
    label_dtype: str = "float64"
    int_features: tuple[str, ...] = field(default_factory=tuple)

    def model_features(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The features the model takes, computed the training way."""
        derived = self.derive(raw) if self.derive is not None else pd.DataFrame(index=raw.index)
        columns = {name: (derived[name] if name in derived else raw[name])
                   for name in self.features}
        return pd.DataFrame(columns, index=raw.index)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


def logit(p: np.ndarray) -> np.ndarray:
    """Inverse of the logistic function (p clipped away from 0 and 1)."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def bernoulli(rng: np.random.Generator, signal: np.ndarray, _raw: pd.DataFrame) -> np.ndarray:
    """A 0/1 outcome with probability sigmoid(signal)."""
    return (rng.random(len(signal)) < sigmoid(signal)).astype(np.int8)


def choice(rng: np.random.Generator, levels: dict[str, float], n: int) -> np.ndarray:
    """Draw n category levels with the given shares."""
    names = np.array(list(levels), dtype=object)
    p = np.array(list(levels.values()), dtype=float)
    return names[rng.choice(len(names), n, p=p / p.sum())]


def effect(values: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Map category levels to additive effects (0 for levels not in the table)."""
    out = np.zeros(len(values))
    for level, value in table.items():
        out[values == level] = value
    return out


def ar_process(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """An AR(1) series: slow, autocorrelated variation (weather, market mood)."""
    shocks = rng.normal(0.0, sigma, n)
    out = np.empty(n)
    level = shocks[0] / np.sqrt(max(1 - phi * phi, 1e-9))
    for i in range(n):
        level = phi * level + shocks[i]
        out[i] = level
    return out
