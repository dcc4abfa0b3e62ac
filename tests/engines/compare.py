"""Walk two `Diagnosis.to_dict()` documents side by side and list where they differ."""

from __future__ import annotations

import math
from typing import Any

REL = 1e-9
ABS = 1e-12  # figures that should be 0 but carry a sum's last-bit rounding


def differences(a: Any, b: Any, path: str = "$", skip: frozenset[str] = frozenset()
                ) -> list[str]:
    """Every path where `a` and `b` differ: numbers beyond 1e-9 relative, anything else
    unequal. Keys in `skip` (e.g. elapsed_seconds) are not compared."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key in skip:
                continue
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'first' if key in a else 'second'}")
                continue
            out += differences(a[key], b[key], f"{path}.{key}", skip)
        return out
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += differences(x, y, f"{path}[{i}]", skip)
        return out
    if _number(a) and _number(b):
        x, y = float(a), float(b)
        if math.isnan(x) and math.isnan(y):
            return []
        if x == y or abs(x - y) <= max(REL * max(abs(x), abs(y)), ABS):
            return []
        return [f"{path}: {a!r} vs {b!r}"]
    if a != b:
        return [f"{path}: {str(a)[:120]!r} vs {str(b)[:120]!r}"]
    return []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
