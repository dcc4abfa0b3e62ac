"""Training-serving skew: recompute features the training way for a sample of logged rows and
compare them with the values that were served (needs a `[pipeline]` callable in the config)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data import LogStore, Window
from workbench.exceptions import ConfigError
from workbench.plugins import load_callable

SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class SkewFeature:
    """Share of sampled rows whose served value differs from the recomputed one."""

    feature: str
    share_current: float
    share_baseline: float
    rows_current: int
    rows_baseline: int
    mean_abs_diff_current: float | None


@dataclass(frozen=True)
class SkewReport:
    """Skew of every feature the pipeline recomputes, worst first."""

    tolerance: float
    features: tuple[SkewFeature, ...]

    @property
    def worst(self) -> SkewFeature | None:
        """The feature differing in most current-window rows."""
        return self.features[0] if self.features else None


def check_skew(store: LogStore, baseline: Window, current: Window,
               rows: int = SAMPLE_ROWS, seed: int = 0) -> SkewReport | None:
    """Compare served features with the pipeline's recomputation in both windows."""
    spec = store.incident.pipeline
    if spec is None:
        return None
    func = load_callable(spec.callable, store.incident.base_dir)
    features = [f.name for f in store.roles.features]
    raw = list(spec.columns) or list(store.production_schema)
    columns = list(dict.fromkeys(raw + [f for f in features if f in store.production_schema]))
    samples = {w.name: store.seeded_sample(columns, rows, seed, start=w.start, end=w.end)
               for w in (baseline, current)}
    recomputed = {name: _recompute(func, df[raw].copy(), spec.callable)
                  for name, df in samples.items()}
    out = []
    for feature in features:
        if feature not in recomputed[current.name].columns:
            continue
        cur = _differs(samples[current.name][feature], recomputed[current.name][feature],
                       spec.tolerance)
        base = _differs(samples[baseline.name][feature], recomputed[baseline.name][feature],
                        spec.tolerance)
        out.append(SkewFeature(feature, cur[0], base[0], len(samples[current.name]),
                               len(samples[baseline.name]), cur[1]))
    if not out:
        raise ConfigError(
            f"The [pipeline] callable {spec.callable!r} returned none of the incident's "
            f"features ({', '.join(features[:10])}); it must return a DataFrame whose columns "
            f"are feature names.")
    return SkewReport(spec.tolerance, tuple(sorted(out, key=lambda f: -f.share_current)))


def _recompute(func, raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """Run the user's feature computation, turning its failures into a readable error."""
    try:
        result = func(raw)
    except Exception as exc:  # noqa: BLE001 - user code: report, don't crash the diagnosis
        raise ConfigError(f"The [pipeline] callable {name!r} failed on logged rows: "
                          f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(result, pd.DataFrame):
        raise ConfigError(f"The [pipeline] callable {name!r} must return a pandas DataFrame, "
                          f"not {type(result).__name__}.")
    return result.reset_index(drop=True)


def _differs(served: pd.Series, recomputed: pd.Series, tol: float) -> tuple[float, float | None]:
    """(share of rows differing beyond the relative tolerance, mean absolute difference)."""
    served = served.reset_index(drop=True)
    recomputed = recomputed.reset_index(drop=True)
    if len(served) == 0:
        return 0.0, None
    if pd.api.types.is_numeric_dtype(served) and pd.api.types.is_numeric_dtype(recomputed):
        a = served.to_numpy(dtype=float)
        b = recomputed.to_numpy(dtype=float)
        both_nan = np.isnan(a) & np.isnan(b)
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
        with np.errstate(invalid="ignore"):
            diff = ~both_nan & ~(np.abs(a - b) <= tol * scale)
        finite = np.isfinite(a) & np.isfinite(b)
        mad = float(np.mean(np.abs(a - b)[finite])) if finite.any() else None
        return float(diff.mean()), mad
    diff = served.astype(str) != recomputed.astype(str)
    return float(diff.mean()), None
