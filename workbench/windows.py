"""`Window`: a half-open time window of the production log, as queries and results carry it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from workbench.serial import Serialisable, json_time, parse_json_time


@dataclass(frozen=True)
class Window(Serialisable):
    """A half-open time window [start, end) of the production log; None means unbounded.

    Its JSON form is {"start", "end"}: the name is the role the holder gives it (see
    `window_field`).
    """

    name: str
    start: datetime | None
    end: datetime | None

    def as_tuple(self) -> tuple[str, datetime | None, datetime | None]:
        """(name, start, end) as the query builders take it."""
        return (self.name, self.start, self.end)

    def to_dict(self) -> dict[str, Any]:
        """{"start", "end"} as ISO-8601 (None when unbounded)."""
        return {"start": _time(self.start), "end": _time(self.end)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "window") -> Window:
        """The window `to_dict()` wrote, under the name its holder gives it."""
        return cls(name, *(parse_json_time(data[k]) if data.get(k) is not None else None
                           for k in ("start", "end")))


def window_field(name: str, *, required: bool = False) -> Any:
    """A dataclass field holding a `Window` called `name`, read back from {"start", "end"}."""
    metadata = {"decode": partial(Window.from_dict, name=name)}
    if required:
        return field(metadata=metadata)
    return field(default=Window(name, None, None), metadata=metadata)


def _time(value: datetime | None) -> str | None:
    return None if value is None else json_time(value)
