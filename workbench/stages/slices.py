"""Slice discovery: the segments (one or two conditions on segment columns and binned features)
whose error metric rose most, weighted by size, computed in one SQL scan.

Score of a slice = its excess bad outcomes (its current rate minus its own baseline rate, times
its current denominator) as a share of the whole window's excess. Two-condition slices are kept
only when their current rate exceeds both parents' by 10 %, so a pair never just repeats a
single condition (SliceLine's pruning idea, simplified).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from workbench.data import ColumnKind, FeatureSpec, LogStore
from workbench.data.queries import LOW_BIN, NULL_BIN, BinSpec
from workbench.results import FeatureDrift, Slice
from workbench.stages import metrics
from workbench.stages.triage import Triage

MAX_COLUMNS = 7
MIN_SHARE = 0.01  # a slice must hold at least 1 % of the current window's metric denominator
COARSE_BINS = 5
# Above this many rows in the two windows, slices are counted on a deterministic hash sample
# of about this size: rates of slices holding >= 1 % of the rows stay within a few percent.
SAMPLE_ROWS = 1_000_000


def discover_slices(store: LogStore, triage: Triage, drift: tuple[FeatureDrift, ...],
                    limit: int = 10) -> tuple[Slice, ...]:
    """Worst slices by excess errors; empty without labelled metrics or condition columns."""
    m = metrics.METRICS[triage.metric.name]
    specs = _condition_specs(store, drift)
    if not specs or not m.needs_labels:
        return ()
    pairs = list(combinations(range(len(specs)), 2))
    rows = int(triage.counts["n"].sum())
    modulus = max(1, rows // SAMPLE_ROWS)
    df = store.slice_counts(specs, [triage.baseline, triage.current], pairs, modulus)
    base = df[df["w"] == "baseline"]
    cur = df[df["w"] == "current"]
    total = _excess(cur, base, m.name, m.higher_is_worse)
    denom_total = float(sum(cur[c].fillna(0).sum() for c in m.denominator)) / (
        len(specs) + len(pairs)) or 1.0
    overall_rate = metrics.total(cur[_set_mask(cur, [0], len(specs))], m.name) or 0.0
    found: dict[tuple, Slice] = {}
    sign = -1.0 if m.higher_is_worse is False else 1.0
    for key in [(i,) for i in range(len(specs))] + pairs:
        cols = [f"c{i}" for i in key]
        c = _rates(cur[_set_mask(cur, list(key), len(specs))], cols, m)
        b = _rates(base[_set_mask(base, list(key), len(specs))], cols, m)
        merged = c.join(b[["rate"]].rename(columns={"rate": "rate_b"}), how="inner")
        merged = merged[(merged["den"] >= max(30.0, MIN_SHARE * denom_total))
                        & merged["rate"].notna() & merged["rate_b"].notna()]
        merged["excess"] = (sign * (merged["rate"] - merged["rate_b"])).clip(lower=0.0) * \
            merged["den"]
        for values, row in merged[merged["excess"] > 0].iterrows():
            values = values if isinstance(values, tuple) else (values,)
            conds = tuple(_label(specs[i], int(v)) for i, v in zip(key, values, strict=True))
            excess = float(row["excess"])
            found[conds] = Slice(conds, int(row["n"]) * modulus, float(row["rate_b"]),
                                 float(row["rate"]),
                                 float(row["rate"]) / overall_rate if overall_rate
                                 else float("nan"),
                                 excess, excess / total if total > 0 else 0.0)
    kept = [s for s in found.values() if len(s.conditions) == 1 or _adds(s, found)]
    return tuple(sorted(kept, key=lambda s: -s.score)[:limit])


def _rates(df: pd.DataFrame, cols: list[str], m: metrics.MetricDef) -> pd.DataFrame:
    """Rows n, den and rate of the metric per slice value, indexed by the condition columns."""
    num = sum(df[c].astype(float).fillna(0) for c in m.numerator)
    den = sum(df[c].astype(float).fillna(0) for c in m.denominator)
    out = pd.DataFrame({"n": df["n"].astype(float), "den": den,
                        "rate": (num / den.where(den > 0))})
    out.index = pd.MultiIndex.from_frame(df[cols].astype(int)) if len(cols) > 1 else \
        pd.Index(df[cols[0]].astype(int), name=cols[0])
    return out


def _adds(s: Slice, found: dict[tuple, Slice]) -> bool:
    """A pair is kept only if its rate clearly exceeds both single-condition parents."""
    for parent in ((s.conditions[0],), (s.conditions[1],)):
        p = found.get(parent)
        if p is not None and (s.metric_current or 0) < 1.1 * (p.metric_current or 0):
            return False
    return True


def _set_mask(df: pd.DataFrame, key: list[int], n: int) -> pd.Series:
    """Rows of the grouping set that groups by exactly the columns in key."""
    mask = pd.Series(True, index=df.index)
    for i in range(n):
        mask &= df[f"c{i}"].notna() if i in key else df[f"c{i}"].isna()
    return mask


def _excess(cur: pd.DataFrame, base: pd.DataFrame, name: str,
             higher_is_worse: bool | None) -> float:
    """Excess bad outcomes of the whole window (from the first single-column set)."""
    n = len([c for c in cur.columns if c.startswith("c") and c[1:].isdigit()])
    c_rows = cur[_set_mask(cur, [0], n)]
    b_rows = base[_set_mask(base, [0], n)]
    rate_c, rate_b = metrics.total(c_rows, name), metrics.total(b_rows, name)
    if rate_c is None or rate_b is None:
        return 0.0
    m = metrics.METRICS[name]
    denom = float(sum(c_rows[c].fillna(0).sum() for c in m.denominator))
    sign = -1.0 if higher_is_worse is False else 1.0
    return max(sign * (rate_c - rate_b), 0.0) * denom


def _condition_specs(store: LogStore, drift: tuple[FeatureDrift, ...]) -> list[BinSpec]:
    """Segment columns, then the features the score depends on most or that drifted most."""
    schema = store.production_schema
    specs: list[BinSpec] = []
    for seg in store.roles.segments:
        feature = next((f for f in store.roles.features if f.name == seg), None)
        if feature is None:
            feature = FeatureSpec(seg, ColumnKind.CATEGORICAL, schema[seg],
                                  store.reference_schema.get(seg))
        specs.append(_coarse(store, feature))
    ranked = sorted(drift, key=lambda d: -(d.dependence + min(d.psi_onset, 1.0)))
    for d in ranked:
        if len(specs) >= MAX_COLUMNS:
            break
        if d.feature in store.roles.segments:
            continue
        specs.append(_coarse(store, store.roles.feature(d.feature)))
    return specs


def _coarse(store: LogStore, feature: FeatureSpec) -> BinSpec:
    """Quintile bins (numeric) or the top levels (categorical) chosen on the reference."""
    if not feature.in_reference:
        return BinSpec(feature)
    spec = store.bin_specs([feature])[0]
    if feature.kind is ColumnKind.NUMERIC and len(spec.edges) > COARSE_BINS + 1:
        idx = np.linspace(0, len(spec.edges) - 1, COARSE_BINS + 1).round().astype(int)
        return BinSpec(feature, edges=tuple(spec.edges[i] for i in idx))
    return spec


def _label(spec: BinSpec, bin_id: int) -> str:
    """Readable condition for a bin id."""
    name = spec.feature.name
    if bin_id == NULL_BIN:
        return f"{name} is null"
    if spec.feature.kind is ColumnKind.CATEGORICAL:
        if bin_id == LOW_BIN:
            return f"{name} not in training's common values"
        return f"{name}={spec.levels[bin_id - 2]}"
    e = spec.edges
    if len(e) < 2:
        return f"{name} bin {bin_id}"
    if bin_id == LOW_BIN:
        return f"{name} < {e[0]:.4g} (below training)"
    if bin_id == len(e) + 1:
        return f"{name} > {e[-1]:.4g} (above training)"
    return f"{name} in [{e[bin_id - 2]:.4g}, {e[bin_id - 1]:.4g})"
