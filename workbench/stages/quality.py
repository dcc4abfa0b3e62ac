"""Data-quality faults since the onset, each with its numbers: missing-rate jumps, categories
never seen in training, numbers arriving as text, repeated ids.

Rates are compared between the baseline and current windows with a two-proportion z test and
an effect-size floor, so a real jump (10 % -> 22 % missing) fires while the noise of millions of
rows does not.
"""

from __future__ import annotations

import math
from datetime import datetime

from workbench.data import LogStore
from workbench.data.schema import is_numeric, is_text
from workbench.results import FeatureDrift, QualityFault
from workbench.stages.triage import Triage

# A rate jump counts when its z statistic reaches Z_MIN and it grows by at least RATE_FLOOR
# (absolute) and RELATIVE_FLOOR (times the baseline rate).
Z_MIN = 4.0
RATE_FLOOR = 0.02
RELATIVE_FLOOR = 1.25
UNSEEN_LIMIT = 5
# Ids checked for repeats: about this many rows, picked by a hash of the id.
DUPLICATE_ROWS = 1_000_000
# Share of current rows in categories outside training's top levels from which the categories
# training never saw are looked up and named.
UNSEEN_FLOOR = 0.005


def rate_jump_z(p_base: float, n_base: int, p_cur: float, n_cur: int) -> float:
    """Two-proportion z statistic of a rate rising from baseline to current."""
    if n_base <= 0 or n_cur <= 0:
        return 0.0
    pooled = (p_base * n_base + p_cur * n_cur) / (n_base + n_cur)
    var = pooled * (1 - pooled) * (1 / n_base + 1 / n_cur)
    return (p_cur - p_base) / math.sqrt(var) if var > 0 else 0.0


def is_jump(p_base: float, n_base: int, p_cur: float, n_cur: int) -> tuple[bool, float]:
    """(whether the rate jumped by the test and the effect floors, its z statistic)."""
    z = rate_jump_z(p_base, n_base, p_cur, n_cur)
    big = p_cur - p_base >= RATE_FLOOR and p_cur >= RELATIVE_FLOOR * p_base
    return z >= Z_MIN and big, z


def find_faults(store: LogStore, triage: Triage, drift: tuple[FeatureDrift, ...],
                null_times: dict[str, datetime] | None = None) -> tuple[QualityFault, ...]:
    """Every data-quality fault of the current window (empty without an onset).

    null_times: when each feature's missing rate changed (see `FeatureReport`).
    """
    if triage.onset is None:
        return ()
    faults = [*_null_jumps(drift, null_times or {}), *_unseen(store, triage, drift),
              *_type_drift(store, triage), *_duplicates(store, triage)]
    return tuple(sorted(faults, key=lambda f: -(f.current - f.baseline)))


def _null_jumps(drift: tuple[FeatureDrift, ...],
                times: dict[str, datetime]) -> list[QualityFault]:
    out = []
    for d in drift:
        fired, z = is_jump(d.null_rate_baseline, d.rows_baseline, d.null_rate_current,
                           d.rows_current)
        if fired:
            out.append(QualityFault("null_rate", d.feature, d.null_rate_baseline,
                                    d.null_rate_current, z, d.rows_current,
                                    start=times.get(d.feature)))
    return out


def _unseen(store: LogStore, triage: Triage,
            drift: tuple[FeatureDrift, ...]) -> list[QualityFault]:
    """Categorical features carrying categories training never saw, named with their shares."""
    out = []
    for d in drift:
        if d.kind == "numeric":
            continue
        fired, z = is_jump(d.outside_range_baseline, d.rows_baseline, d.outside_range_current,
                           d.rows_current)
        # Unseen means unseen in training: named whenever present, jump or not (its score
        # grows with the jump only).
        if not fired and d.outside_range_current < UNSEEN_FLOOR:
            continue
        values = store.unseen_values(store.roles.feature(d.feature), triage.current,
                                     UNSEEN_LIMIT)
        if values.empty:  # outside the top levels, but all seen in training
            continue
        total = max(d.rows_current, 1)
        unseen = float(values["n"].sum()) / total
        named = ", ".join(f"{v!r} {n / total:.1%}" for v, n in zip(values["value"], values["n"],
                                                                    strict=True))
        out.append(QualityFault("unseen_categories", d.feature, d.outside_range_baseline,
                                max(unseen, d.outside_range_current), z, d.rows_current, named))
    return out


def _type_drift(store: LogStore, triage: Triage) -> list[QualityFault]:
    """Features numeric in training that arrive as text with values that are not numbers."""
    out = []
    for f in store.roles.features:
        if not (f.reference_type and is_numeric(f.reference_type)
                and is_text(f.production_type)):
            continue
        df = store.non_numeric_values(f.name, [triage.baseline, triage.current]).set_index("w")
        rate = {w: (float(r["n_bad"]) / r["n"] if r["n"] else 0.0, int(r["n"]))
                for w, r in df.iterrows()}
        (pb, nb), (pc, nc) = rate.get("baseline", (0.0, 0)), rate.get("current", (0.0, 0))
        fired, z = is_jump(pb, nb, pc, nc)
        if fired or (pc >= RATE_FLOOR and pb == 0):
            example = df.loc["current", "example"] if "current" in df.index else None
            out.append(QualityFault("type_drift", f.name, pb, pc, z, nc,
                                    f"e.g. {example!r}" if example is not None else ""))
    return out


def _duplicates(store: LogStore, triage: Triage) -> list[QualityFault]:
    if store.roles.id is None:
        return []
    modulus = max(1, math.ceil(triage.span.rows / DUPLICATE_ROWS))
    df = store.duplicate_ids([triage.baseline, triage.current], modulus).set_index("w")
    rate = {w: ((r["n"] - r["n_distinct"]) / r["n"] if r["n"] else 0.0, int(r["n"]))
            for w, r in df.iterrows()}
    (pb, nb), (pc, nc) = rate.get("baseline", (0.0, 0)), rate.get("current", (0.0, 0))
    fired, z = is_jump(pb, nb, pc, nc)
    return [QualityFault("duplicate_ids", None, pb, pc, z, nc, store.roles.id)] if fired else []
