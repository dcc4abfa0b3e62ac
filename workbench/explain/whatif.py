"""What-if: re-score records with some feature values replaced and see whether decisions flip.

A replacement is a constant or a function of the record frame, e.g. the ratio recomputed with
the pre-change average: `{"ratio": lambda f: f["amount"] / (f["avg_amount"] / 0.70)}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.exceptions import InvalidInputError
from workbench.explain.adapters import ModelAdapter
from workbench.explain.results import WhatIf, WhatIfRecord

Replacement = Any | Callable[[pd.DataFrame], Any]


def what_if(adapter: ModelAdapter, records: pd.DataFrame, changes: Mapping[str, Replacement], *,
            threshold: float | None = None, ids: Sequence[Any] | None = None,
            labels: Mapping[str, str] | None = None) -> WhatIf:
    """Score records as they are and with `changes` applied; report per-record flips.

    threshold: decision threshold on the score (classification); without it no decision is
    reported. labels: how to describe each change in the result (default: the value, or the
    function's name).
    """
    if not changes:
        raise InvalidInputError("A what-if needs at least one feature to change.")
    unknown = [f for f in changes if f not in adapter.feature_names]
    if unknown:
        raise InvalidInputError(
            f"What-if features {unknown} are not inputs of the model {adapter.name}; "
            f"choose from {list(adapter.feature_names)}.")
    if ids is not None and len(ids) != len(records):
        raise InvalidInputError(f"Got {len(ids)} ids for {len(records)} records.")
    before = adapter.inputs(records, "the what-if records").reset_index(drop=True)
    after = before.copy()
    for feature, change in changes.items():
        value = change(before) if callable(change) else change
        after[feature] = (np.asarray(value) if np.ndim(value) else value)
    score_before = adapter.predict_score(before) if len(before) else np.zeros(0)
    score_after = adapter.predict_score(after) if len(after) else np.zeros(0)
    ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(before))]
    results = []
    for i in range(len(before)):
        d0 = d1 = None
        if threshold is not None and adapter.task == "classification":
            d0, d1 = int(score_before[i] >= threshold), int(score_after[i] >= threshold)
        results.append(WhatIfRecord(
            record_id=ids[i], score_before=float(score_before[i]),
            score_after=float(score_after[i]), decision_before=d0, decision_after=d1,
            flipped=d0 is not None and d0 != d1,
            changed={f: (_plain(before.at[i, f]), _plain(after.at[i, f])) for f in changes}))
    described = {f: (labels or {}).get(f) or _describe(c) for f, c in changes.items()}
    return WhatIf(changes=described, threshold=threshold, records=tuple(results))


def _describe(change: Replacement) -> str:
    if callable(change):
        name = getattr(change, "__name__", type(change).__name__)
        return f"computed by {name}"
    return f"set to {change!r}"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
