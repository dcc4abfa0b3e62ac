"""The JSON form of the core's result dataclasses, both ways.

`jsonable` writes plain JSON types: datetimes as ISO-8601 with 'Z' (microseconds only when there
are any), NaN/inf as None, tuples as lists, nested results through their `to_dict()`.
`decode` reads such a value back by the type hints of the dataclass it belongs to, so
`Cls.from_dict(x.to_dict()) == x` for every result type without a reader per class: new fields
need nothing but their type hint. A null read into a plain `float` is NaN; results compare a
missing number (None or NaN) equal to another missing number, as JSON cannot tell them apart.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import math
import sys
import types
import typing
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Union

import numpy as np

from workbench.exceptions import InvalidInputError


def json_time(value: datetime) -> str:
    """ISO-8601 in UTC with a 'Z'; fractional seconds only when the time has them."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def parse_json_time(text: str) -> datetime:
    """The naive-UTC datetime of an ISO-8601 text written by `json_time`."""
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def jsonable(value: Any) -> Any:
    """Convert a value to plain JSON types."""
    if hasattr(value, "to_dict") and not isinstance(value, dict | type):
        return value.to_dict()
    if isinstance(value, datetime):
        return json_time(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def round_floats(value: Any, digits: int = 10) -> Any:
    """A JSON-ready structure with floats to `digits` significant digits.

    Parallel float sums differ in the last bits between runs; ten significant digits keep every
    figure meaningful and make the printed JSON of two runs identical.
    """
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [round_floats(v, digits) for v in value]
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value


class Serialisable:
    """Mixin of result dataclasses: `to_dict()` over the fields, `from_dict()` back, and
    equality that takes a missing number (None or NaN) as equal to another."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__eq__" not in cls.__dict__:  # set before @dataclass runs, which then keeps them
            cls.__eq__ = _equal  # type: ignore[method-assign]
            cls.__hash__ = _hash  # type: ignore[method-assign]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of the fields."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """The result whose `to_dict()` gave `data` (keys it does not know are ignored)."""
        return from_fields(cls, data)


def from_fields(cls: type, data: Any) -> Any:
    """A dataclass built from a JSON mapping, each field read by its type hint.

    A field may name its own reader in its metadata (`field(metadata={"decode": f})`).
    """
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"A {cls.__name__} must be read from a JSON object. Got {type(data).__name__}.")
    hints = type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InvalidInputError(
                    f"The JSON of a {cls.__name__} lacks its {f.name!r} field; it was written "
                    f"by another version of the workbench. Compute it again.")
            continue
        reader = f.metadata.get("decode")
        kwargs[f.name] = reader(data[f.name]) if reader else decode(hints[f.name], data[f.name])
    return cls(**kwargs)


def decode(hint: Any, value: Any) -> Any:
    """A JSON value read back as the type `hint` describes."""
    if hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return _decode_union(typing.get_args(hint), value)
    if value is None:
        return math.nan if hint is float else None
    if origin is tuple or hint is tuple:
        args = typing.get_args(hint)
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in value)
        return tuple(decode(a, v) for a, v in zip(args, value, strict=True))
    if origin is list or hint is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [decode(item, v) for v in value]
    if origin is dict or hint is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return {decode(key, k): decode(item, v) for k, v in value.items()}
    if hint is datetime:
        return parse_json_time(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        reader = getattr(hint, "from_dict", None)
        return reader(value) if reader is not None else from_fields(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum | Path):
        return hint(value)
    if hint in (int, float) and isinstance(value, str):  # a key of a dict[int, ...]
        return hint(value)
    return value


def _decode_union(members: tuple[Any, ...], value: Any) -> Any:
    """A value of one of the union's members: the first whose JSON type matches."""
    if value is None:
        return None if type(None) in members else decode(members[0], None)
    for member in members:
        if member is not type(None) and _matches(member, value):
            return decode(member, value)
    raise InvalidInputError(
        f"The JSON value {value!r} fits none of {', '.join(map(str, members))}; it was written "
        f"by another version of the workbench. Compute it again.")


def _matches(hint: Any, value: Any) -> bool:
    """Whether a JSON value can be read as `hint`."""
    base = typing.get_origin(hint) or hint
    if base is Any or base is object:
        return True
    if isinstance(value, bool):
        return base is bool
    if isinstance(value, int | float):
        return base in (int, float)
    if isinstance(value, str):
        return base in (str, datetime) or (isinstance(base, type) and issubclass(
            base, enum.Enum | Path))
    if isinstance(value, list):
        return base in (tuple, list)
    if isinstance(value, dict):
        return base is dict or dataclasses.is_dataclass(base)
    return False


@cache
def type_hints(cls: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass, names imported only for type checkers included."""
    try:
        return typing.get_type_hints(cls)
    except NameError:
        names: dict[str, Any] = {}
        for base in reversed(cls.__mro__):
            names.update(_checking_imports(base.__module__))
        return typing.get_type_hints(cls, localns=names)


@cache
def _checking_imports(module_name: str) -> dict[str, Any]:
    """Names a module imports inside `if TYPE_CHECKING:` (to break an import cycle), imported
    now: a type hint may name them."""
    module = sys.modules.get(module_name)
    try:
        tree = ast.parse(inspect.getsource(module)) if module is not None else None
    except (OSError, TypeError):
        tree = None
    found: dict[str, Any] = {}
    for node in tree.body if tree is not None else ():
        test = node.test if isinstance(node, ast.If) else None
        if not (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
                or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module:
                source = importlib.import_module(
                    "." * stmt.level + stmt.module, module.__package__ if stmt.level else None)
                for alias in stmt.names:
                    found[alias.asname or alias.name] = getattr(source, alias.name)
    return found


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def same(a: Any, b: Any) -> bool:
    """Equality of result values, a missing number (None or NaN) equal to another."""
    if a is b or (_missing(a) and _missing(b)):
        return True
    if isinstance(a, list | tuple) and type(a) is type(b):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    return bool(a == b)


def _equal(self: Any, other: Any) -> bool:
    if other.__class__ is not self.__class__ or not dataclasses.is_dataclass(self):
        return NotImplemented
    return all(same(getattr(self, f.name), getattr(other, f.name))
               for f in dataclasses.fields(self) if f.compare)


def _hash(self: Any) -> int:
    params = getattr(self, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"unhashable type: {type(self).__name__!r}")
    return hash(tuple(_hash_key(getattr(self, f.name))
                      for f in dataclasses.fields(self) if f.compare))


def _hash_key(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, list | tuple):
        return tuple(_hash_key(v) for v in value)
    return value
