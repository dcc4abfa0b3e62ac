"""Data-quality faults since the onset, each with its numbers: missing-rate jumps, categories
never seen in training, numbers arriving as text, repeated ids, values outside training's
range, features frozen at one value, volume drops.

Rates are compared between the baseline and current windows with a two-proportion z test and
an effect-size floor, so a real jump (10 % -> 22 % missing) fires while the noise of millions of
rows does not. A volume drop is judged against a seasonal expectation (the same phase of the
week, or of the day, in the baseline window), so a quiet night or weekend is not a drop.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

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
# Values outside training's range count from this absolute rise of their share: a few per cent
# in the tails is what a larger log or a warm week brings beyond a training sample's extremes.
OUT_OF_RANGE_FLOOR = 0.05
# A bucket has a volume drop when its rows fall below VOLUME_RATIO of the seasonal expectation
# with a z statistic (log ratio over the baseline's own bucket-to-bucket noise and the Poisson
# noise of the expectation) of at most -Z_MIN; the expectation is the median of up to
# VOLUME_REFERENCES buckets at the same phase of the week (or, without a week of baseline, of
# the day). Without a week of baseline the weekly rhythm is unknown (a weekend may bring a
# third of a weekday's rows), so a bucket judged on the day's rhythm only counts from
# VOLUME_RATIO_DAILY.
VOLUME_RATIO = 0.5
VOLUME_RATIO_DAILY = 0.25
VOLUME_REFERENCES = 4
VOLUME_MAX_BUCKETS = 200_000
# A feature is frozen when the current window, spanning at least STALE_MIN_BUCKETS buckets and
# STALE_MIN_ROWS values, holds one value while stretches of the baseline as long as the current
# window held at least STALE_VARIED distinct values (the median stretch) and at most
# STALE_BASELINE_SHARE of them were frozen too.
STALE_MIN_BUCKETS = 6
STALE_MIN_ROWS = 30
STALE_VARIED = 5
STALE_BASELINE_SHARE = 0.1
STALE_ROUNDING = 1e-6  # a spread this small relative to the mean is one value
# Rows timestamped after the log's horizon: fewer than FUTURE_SHARE of the rows, separated
# from the rest of the log by an empty stretch of at least FUTURE_GAP_BUCKETS buckets and
# FUTURE_GAP (a clock set ahead, a default date far in the future). The log carries no ingestion
# time, so rows that merely arrive late cannot be told from the timestamps alone.
FUTURE_SHARE = 0.01
FUTURE_GAP_BUCKETS = 24
FUTURE_GAP = timedelta(days=2)


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
              *_type_drift(store, triage), *_duplicates(store, triage),
              *_out_of_range(store, triage, drift), *_stale(store, triage, drift),
              *_volume_drop(triage), *_future_timestamps(triage)]
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


def _out_of_range(store: LogStore, triage: Triage,
                  drift: tuple[FeatureDrift, ...]) -> list[QualityFault]:
    """Numeric features whose share of values outside training's range jumped, with both
    ranges."""
    fired = []
    for d in drift:
        if d.kind != "numeric":
            continue
        jumped, z = is_jump(d.outside_range_baseline, d.rows_baseline, d.outside_range_current,
                            d.rows_current)
        if jumped and d.outside_range_current - d.outside_range_baseline >= OUT_OF_RANGE_FLOOR:
            fired.append((d, z))
    if not fired:
        return []
    specs = {s.feature.name: s for s in
             store.bin_specs([store.roles.feature(d.feature) for d, _ in fired])}
    seen = store.value_range([s.feature for s in specs.values()],
                             triage.current).set_index("feature")
    out = []
    for d, z in fired:
        edges = specs[d.feature].edges
        detail = ""
        if edges and d.feature in seen.index:
            lo, hi = seen.loc[d.feature, "lo"], seen.loc[d.feature, "hi"]
            if not (pd.isna(lo) or pd.isna(hi)):
                detail = (f"training {edges[0]:.4g} .. {edges[-1]:.4g}, since the onset "
                          f"{float(lo):.4g} .. {float(hi):.4g}")
        out.append(QualityFault("out_of_range", d.feature, d.outside_range_baseline,
                                d.outside_range_current, z, d.rows_current, detail))
    return out


def _stale(store: LogStore, triage: Triage,
           drift: tuple[FeatureDrift, ...]) -> list[QualityFault]:
    """Features frozen at one value over the current window while they varied before.

    Numeric features are only looked at when the drift table gives them no spread since the
    onset, so a wide log pays for the few candidates, not for every column."""
    current, baseline = triage.current, triage.baseline
    if current.start is None or current.end is None or baseline.start is None:
        return []
    length = current.end - current.start
    if length < STALE_MIN_BUCKETS * triage.bucket_delta:
        return []
    flat = {d.feature for d in drift if d.kind != "numeric" or _no_spread(d)}
    features = [f for f in store.roles.features if f.name in flat]
    if not features:
        return []
    chunk_us = length // timedelta(microseconds=1)
    df = store.chunk_distinct(features, current.start, chunk_us, baseline.start, current.end)
    now, before = df[df["chunk"] == 0], df[df["chunk"] < 0]
    if now.empty or before.empty:
        return []
    out = []
    for i, f in enumerate(features):
        nn, distinct = int(now[f"nn{i}"].iloc[0]), int(now[f"d{i}"].iloc[0])
        stretches = before[before[f"nn{i}"] >= STALE_MIN_ROWS]
        if nn < STALE_MIN_ROWS or distinct > 1 or stretches.empty:
            continue
        varied = float(np.median(stretches[f"d{i}"]))
        frozen_before = float((stretches[f"d{i}"] <= 1).mean())
        if varied < STALE_VARIED or frozen_before > STALE_BASELINE_SHARE:
            continue
        value = store.sample_values(f, current, 1)
        if value.empty:
            continue
        frozen = str(value["value"].iloc[0])
        shares = store.value_share(f, [frozen], [baseline, current]).set_index("w")
        rate = {w: (float(r["n_in"]) / r["n"] if r["n"] else 0.0, int(r["n"]))
                for w, r in shares.iterrows()}
        (pb, nb), (pc, nc) = rate.get("baseline", (0.0, 0)), rate.get("current", (0.0, 0))
        fired, z = is_jump(pb, nb, pc, nc)
        if fired:
            out.append(QualityFault(
                "stale_values", f.name, pb, pc, z, nc,
                f"frozen at {frozen!r}; {varied:.0f} distinct values in a stretch as long "
                f"before the onset", start=current.start))
    return out


def _no_spread(d: FeatureDrift) -> bool:
    """No spread since the onset, up to the rounding of a spread computed from sums."""
    if d.std_current is None:
        return False
    return d.std_current <= STALE_ROUNDING * max(abs(d.mean_current or 0.0), 1e-12)


def seasonal_expectation(n: np.ndarray, period: int, usable: np.ndarray,
                         references: int = VOLUME_REFERENCES) -> tuple[np.ndarray, np.ndarray]:
    """(expected rows per bucket, number of reference buckets) from the median of the usable
    buckets one to `references` periods before (and, for usable buckets themselves, after: a
    baseline bucket is judged on its neighbours in the season, never on itself)."""
    size = len(n)
    refs = np.full((size, 2 * references), np.nan)
    for k in range(1, references + 1):
        for col, shift in ((2 * k - 2, k * period), (2 * k - 1, -k * period)):
            src = np.arange(size) - shift
            ok = (src >= 0) & (src < size)
            ok[ok] &= usable[src[ok]]
            if shift < 0:
                ok &= usable  # later buckets only inform the baseline's own buckets
            refs[ok, col] = n[src[ok]]
    count = np.sum(~np.isnan(refs), axis=1)
    with np.errstate(all="ignore"):
        expected = np.where(count > 0, np.nanmedian(np.where(count[:, None] > 0, refs, 0.0),
                                                    axis=1), np.nan)
    return expected, count


def _volume_drop(triage: Triage) -> list[QualityFault]:
    """Buckets since the onset with far fewer rows than the same phase of the week (or day)
    in the baseline window, compared with how often that happened before."""
    seconds = triage.bucket_seconds
    counts = triage.counts
    if counts.empty or seconds <= 0 or triage.current.start is None:
        return []
    first, last = counts["bucket"].min(), counts["bucket"].max()
    size = int((last - first).total_seconds() // seconds) + 1
    if size > VOLUME_MAX_BUCKETS or size < 4:
        return []
    grid = pd.date_range(first, periods=size, freq=pd.Timedelta(seconds=seconds))
    n = (counts.groupby("bucket")["n"].sum().reindex(grid, fill_value=0)
         .to_numpy(dtype=float))
    inner = np.zeros(size, dtype=bool)
    inner[1:-1] = True  # the log's first and last buckets may be partial
    after = np.asarray(grid >= pd.Timestamp(triage.current.start))
    base = inner & ~after
    week, day = 7 * 86_400, 86_400
    expected, refs = np.full(size, np.nan), np.zeros(size, dtype=int)
    floor = np.full(size, VOLUME_RATIO)
    for period_s, ratio in ((week, VOLUME_RATIO), (day, VOLUME_RATIO_DAILY)):
        if period_s % seconds or period_s <= seconds:
            continue
        e, k = seasonal_expectation(n, period_s // seconds, base)
        todo = np.isnan(expected) & (k > 0)
        expected[todo], refs[todo], floor[todo] = e[todo], k[todo], ratio
    judged = inner & ~np.isnan(expected)
    if not (judged & base).any() or not (judged & after).any():
        return []
    log_ratio = np.log((n + 0.5) / (np.nan_to_num(expected) + 0.5))
    poisson = 1.0 / (np.nan_to_num(expected) + 0.5)
    b = judged & base
    spread = 1.4826 * float(np.median(np.abs(log_ratio[b] - np.median(log_ratio[b]))))
    noise = max(spread ** 2 - float(np.median(poisson[b])), 0.0)
    var = noise * (1 + 1 / np.maximum(refs, 1)) + poisson
    z = log_ratio / np.sqrt(var)
    low = judged & (np.exp(log_ratio) < floor) & (z <= -Z_MIN)
    nb, nc = int(b.sum()), int((judged & after).sum())
    pb, pc = float(low[b].sum()) / nb, float(low[judged & after].sum()) / nc
    fired, zj = is_jump(pb, nb, pc, nc)
    if not fired:
        return []
    hit = low & after
    ratio = float(n[hit].sum() / max(float(expected[hit].sum()), 1.0))
    began = grid[np.flatnonzero(hit)[0]].to_pydatetime()
    return [QualityFault("volume_drop", None, pb, pc, zj, nc,
                         f"{int(hit.sum())} of {nc} buckets at {ratio:.0%} of the rows the same "
                         f"hours usually bring", start=began)]


def _future_timestamps(triage: Triage) -> list[QualityFault]:
    """A few rows far beyond the end of the log's body, after an empty stretch."""
    counts = triage.counts[["bucket", "n"]].sort_values("bucket")
    if len(counts) < 3:
        return []
    buckets = pd.to_datetime(counts["bucket"]).reset_index(drop=True)
    n = counts["n"].to_numpy(dtype=float)
    total = float(n.sum())
    gap = max(FUTURE_GAP, FUTURE_GAP_BUCKETS * triage.bucket_delta)
    after = np.cumsum(n[::-1])[::-1]  # rows from each bucket to the end
    for i in range(len(buckets) - 1, 0, -1):
        if buckets[i] - buckets[i - 1] >= gap and after[i] < FUTURE_SHARE * total:
            tail = float(after[i])
            z = rate_jump_z(0.0, int(total - tail), tail / total, int(total))
            return [QualityFault(
                "future_timestamps", None, 0.0, tail / total, z, int(total),
                f"{int(tail)} rows timestamped {buckets[i].isoformat()} .. "
                f"{buckets.iloc[-1].isoformat()}, {buckets[i] - buckets[i - 1]} after the "
                f"rest of the log", start=buckets[i].to_pydatetime())]
    return []
