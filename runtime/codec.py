"""The one dict ⇄ dataclass codec: ``sentio.json`` (the manifest) and the recipes
(``export/recipes/``) are both read and written through it.

:func:`decode` turns parsed JSON / TOML (or option values) into a typed value, field by field,
from the type hints: dataclasses (nested to any depth), ``X | None``, tuples (fixed or
``tuple[T, ...]``), ``dict[str, T]``, ``int``/``float``/``str``/``bool``, ``Path`` and ``Any``.
A wrong value is a :class:`FieldError` naming the field (``window.frames``,
``train.augmentation.noise``). :class:`Rules` says how strict to be: a manifest ignores fields
it does not know (a newer writer's); a recipe refuses them, and checks every number for its
type, for being finite and against its :class:`Bounds`.

:func:`encode` is the way back: plain JSON values, unset optionals left out.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class FieldError(ValueError):
    """A value that does not fit its field.

    Attributes:
        path: where, with list indices (``data.splits[3]``).
        key: the field, without indices (``model.conv_filters``): what a table of ranges or
            option names is keyed by.
        problem: what is wrong.
        hint: how to fix it, where the codec knows.
    """

    def __init__(self, path: str, problem: str, hint: str = "", key: str | None = None) -> None:
        super().__init__(f"{path.lstrip('.')}: {problem}")
        self.path = path.lstrip(".")
        self.key = (path if key is None else key).lstrip(".")
        self.problem, self.hint = problem, hint


@dataclass(frozen=True)
class Bounds:
    """The values a numeric field may take: ``low``/``high``, each included unless its
    ``open_`` flag says otherwise."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def __str__(self) -> str:
        low = "(" if self.open_low else "["
        high = ")" if self.open_high else "]"
        return f"{low}{_number(self.low)}, {_number(self.high)}{high}"


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Rules:
    """How :func:`decode` reads.

    Attributes:
        strict: refuse unknown fields; every number must be finite and within ``ranges``;
            errors say how to write the value.
        ranges: field key (``train.epochs``) -> its bounds; a tuple's bounds hold for each
            item.
        readers: type -> a function reading a value that is not the type's plain form (a
            ``--max-drop`` text as ``DropLimits``, ``[1, 9]`` as a two-field dataclass); it
            returns the value unchanged where it does not apply.
        none: an optional field set to ``false`` is unset (a recipe's ``cache_dir = false``).
    """

    strict: bool = False
    ranges: Mapping[str, Bounds] = field(default_factory=dict)
    readers: Mapping[type, Callable[[Any], Any]] = field(default_factory=dict)
    none: bool = False


#: The manifest's rules: unknown fields ignored, numbers as written (NaN is a measurement).
LENIENT = Rules()

_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_STRICT_NAMES = {int: "a whole number", float: "a number"}


def decode(kind: Any, value: Any, path: str = "", rules: Rules = LENIENT) -> Any:
    """``value`` (parsed JSON/TOML, or option values) as ``kind``; raises :class:`FieldError`
    naming the field."""
    return _Decoder(rules).to(kind, value, path, path)


class _Decoder:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def to(self, kind: Any, value: Any, path: str, key: str) -> Any:
        if kind is Any:
            return value
        reader = self.rules.readers.get(kind)
        if reader is not None:
            try:
                value = reader(value)
            except (ValueError, TypeError) as err:
                raise FieldError(path, str(err), getattr(err, "hint", ""), key) from None
        origin = typing.get_origin(kind)
        if origin in (typing.Union, types.UnionType):
            options = typing.get_args(kind)
            if type(None) in options and (value is None or (self.rules.none and value is False)):
                return None
            (inner,) = [o for o in options if o is not type(None)]
            return self.to(inner, value, path, key)
        if kind in (int, float, str, bool):
            return self.scalar(kind, value, path, key)
        if kind is Path:
            if isinstance(value, Path):
                return value
            if not isinstance(value, str):
                raise FieldError(path, f"expected a path, got {value!r:.60}", key=key)
            return Path(value).expanduser() if self.rules.strict else Path(value)
        if origin is tuple:
            return self.tuple(kind, value, path, key)
        if origin is dict or origin is Mapping:
            if not isinstance(value, Mapping):
                raise FieldError(path, f"expected an object, got {value!r:.60}", key=key)
            _, inner = typing.get_args(kind)
            return {
                str(k): self.to(inner, v, f"{path}.{k}", _join(key, k)) for k, v in value.items()
            }
        if origin is list:
            if not isinstance(value, list | tuple):
                raise FieldError(path, f"expected a list, got {value!r:.60}", key=key)
            (inner,) = typing.get_args(kind) or (Any,)
            return [self.to(inner, v, f"{path}[{i}]", key) for i, v in enumerate(value)]
        if dataclasses.is_dataclass(kind):
            return self.dataclass(kind, value, path, key)
        raise TypeError(f"no conversion for {kind!r}")  # a programming error, not user input

    def tuple(self, kind: Any, value: Any, path: str, key: str) -> tuple:
        if not isinstance(value, list | tuple):
            raise FieldError(path, f"expected a list, got {value!r:.60}", key=key)
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(value) != len(args):
            raise FieldError(path, f"expected {len(args)} values, got {len(value)}", key=key)
        return tuple(
            self.to(a, v, f"{path}[{i}]", key)
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )

    def scalar(self, kind: type, value: Any, path: str, key: str) -> Any:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not self.rules.strict or kind not in (int, float):
            if kind is float and number and isinstance(value, int):
                return float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise FieldError(path, f"expected {_NAMES[kind]}, got {value!r:.60}", key=key)
            return value
        bounds = self.rules.ranges.get(key)
        shown = f"{value!r:.40}"
        if not number:
            raise FieldError(
                path,
                f"expected {_STRICT_NAMES[kind]}, got {shown}",
                f"write a number{f' in {bounds}' if bounds else ''} (no quotes in a recipe)",
                key,
            )
        if not math.isfinite(value):
            raise FieldError(
                path, f"{shown} is not a finite number", f"use a number in {bounds or 'range'}", key
            )
        if kind is int and not isinstance(value, int):
            raise FieldError(
                path, f"expected a whole number, got {shown}", "write it without a fraction", key
            )
        if bounds is not None and not bounds.holds(value):
            raise FieldError(
                path, f"{shown} is out of range: it must be in {bounds}", "fix the setting", key
            )
        return float(value) if kind is float else value

    def dataclass(self, kind: type, value: Any, path: str, key: str) -> Any:
        if isinstance(value, kind):  # already typed (an option's parsed value): check its fields
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(kind)}
        if not isinstance(value, Mapping):
            raise FieldError(path, f"expected an object, got {value!r:.60}", key=key)
        fields = {f.name: f for f in dataclasses.fields(kind) if f.init}
        if self.rules.strict:
            unknown = sorted(set(value) - set(fields))
            if unknown:
                where = f"{path}.{unknown[0]}".lstrip(".")
                raise FieldError(
                    where,
                    f"unknown setting {', '.join(f'{path}.{u}'.lstrip('.') for u in unknown)}",
                    f"{kind.__name__} has {', '.join(sorted(fields))}",
                )
        hints = typing.get_type_hints(kind)
        values = {}
        for name, f in fields.items():
            if name in value:
                values[name] = self.to(hints[name], value[name], f"{path}.{name}", _join(key, name))
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise FieldError(f"{path}.{name}", "missing")
        try:
            return kind(**values)
        except (ValueError, TypeError) as err:
            first = str(err).split(" ", 1)[0]  # "frames must be ...": name the field itself
            where = f"{path}.{first}" if first in fields else path
            raise FieldError(
                where, str(err), getattr(err, "hint", "") or "fix the setting"
            ) from None


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else str(name)


def encode(value: Any) -> Any:
    """Dataclasses, tuples, paths and numpy scalars as plain JSON values; unset optionals (and
    fields marked ``omit_empty`` while empty) left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
            # fields newer than a format that never had them (round-trips)
            and not (f.metadata.get("omit_empty") and not getattr(value, f.name))
        }
    if isinstance(value, Mapping):  # a dict's keys are data: a None in one is kept
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
