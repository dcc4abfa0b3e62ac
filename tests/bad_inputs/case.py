"""A bad-input case: one mutation of the valid base incident and what the CLI must answer.

Cases are functions registered with `@case(...)`; the function's name is the case id and its
docstring says what is wrong with the input. A case expects either exit 2 with one stderr line
holding every `error` fragment, or exit 0 with the `json` facts (dotted paths) and `notes`
fragments in the `--json` output. `pending` names the layer whose fix is still to come: the
runner marks such cases xfail(strict=True), so they fail the moment they start passing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.bad_inputs.base import Builder

DIAGNOSE = ("diagnose", "incident.toml", "--json")


@dataclass(frozen=True)
class Case:
    """One bad input and the answer expected for it."""

    id: str
    why: str
    build: Callable[[Builder], None]
    argv: tuple[str, ...] = DIAGNOSE
    exit: int = 2
    error: tuple[str, ...] = ()  # fragments of the stderr line, matched case-insensitively
    absent: tuple[str, ...] = ()  # fragments the stderr line must not hold
    json: Mapping[str, Any] = field(default_factory=dict)  # dotted path -> expected value
    notes: tuple[str, ...] = ()  # fragments one entry of the JSON "notes" list must hold
    check: Callable[[dict[str, Any]], None] | None = None  # further checks of the JSON output
    pending: str | None = None  # the layer still to fix it, e.g. "data layer"


CASES: list[Case] = []


def case(**expected: Any) -> Callable[[Callable[[Builder], None]], Callable[[Builder], None]]:
    """Register the decorated mutation as a case named after the function."""

    def register(build: Callable[[Builder], None]) -> Callable[[Builder], None]:
        why = " ".join((build.__doc__ or "").split())
        if not why:
            raise ValueError(f"case {build.__name__} needs a docstring saying what is wrong")
        if any(c.id == build.__name__ for c in CASES):
            raise ValueError(f"two cases are named {build.__name__}")
        if "argv" in expected:
            expected["argv"] = tuple(expected["argv"])
        CASES.append(Case(id=build.__name__, why=why, build=build, **expected))
        return build

    return register
