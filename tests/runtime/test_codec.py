"""The one dict ⇄ dataclass codec: nested dataclasses, optionals, tuples, strict rules."""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from sentio.runtime.codec import Bounds, FieldError, Rules, decode, encode


@dataclass(frozen=True)
class Inner:
    count: int = 1
    share: float = 0.5

    def __post_init__(self) -> None:
        if self.count > 100:
            raise ValueError(f"count must be at most 100, got {self.count}")


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner = Inner()
    other: Inner | None = None
    sizes: tuple[int, ...] = ()
    pair: tuple[float, float] = (0.0, 1.0)
    where: Path | None = None
    table: dict[str, float] = field(default_factory=dict)
    empty: tuple[str, ...] = field(default=(), metadata={"omit_empty": True})


STRICT = Rules(strict=True, ranges={"inner.share": Bounds(0, 1), "sizes": Bounds(1, 10)})


def test_nested_dataclasses_round_trip():
    value = Outer("a", Inner(3, 0.25), Inner(), (1, 2), (0.5, 2.0), Path("x"), {"k": 1.5})
    plain = encode(value)
    assert plain["inner"] == {"count": 3, "share": 0.25} and plain["where"] == "x"
    assert "empty" not in plain and plain["sizes"] == [1, 2]
    assert decode(Outer, plain) == value


def test_unset_optionals_are_left_out_and_numpy_scalars_are_plain():
    assert "other" not in encode(Outer("a"))
    assert encode({"x": np.float32(0.5), "y": None}) == {"x": 0.5, "y": None}


@pytest.mark.parametrize(
    ("data", "path", "problem"),
    [
        ({"name": 1}, "name", "expected a string"),
        ({"name": "a", "inner": {"count": "3"}}, "inner.count", "expected an integer"),
        ({"name": "a", "inner": {"count": True}}, "inner.count", "expected an integer"),
        ({"name": "a", "sizes": [1, "x"]}, "sizes[1]", "expected an integer"),
        ({"name": "a", "pair": [1.0]}, "pair", "expected 2 values"),
        ({"name": "a", "inner": {"count": 500}}, "inner.count", "at most 100"),
        ({}, "name", "missing"),
    ],
)
def test_a_wrong_field_is_named(data, path, problem):
    with pytest.raises(FieldError) as err:
        decode(Outer, data)
    assert err.value.path == path and problem in err.value.problem


def test_lenient_rules_ignore_unknown_fields_and_keep_nan():
    value = decode(Outer, {"name": "a", "newer": 1, "inner": {"share": math.nan}})
    assert math.isnan(value.inner.share)


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"name": "a", "inner": {"share": math.nan}}, "inner.share", "nan is not a finite"),
        ({"name": "a", "inner": {"share": 2}}, "inner.share", "2 is out of range"),
        ({"name": "a", "inner": {"count": 1.5}}, "inner.count", "expected a whole number"),
        ({"name": "a", "sizes": [1, 0]}, "sizes", "0 is out of range: it must be in [1, 10]"),
        ({"name": "a", "inner": {"cuont": 1}}, "inner.cuont", "unknown setting inner.cuont"),
    ],
)
def test_strict_rules_check_every_number_and_refuse_unknown_fields(data, key, problem):
    with pytest.raises(FieldError) as err:
        decode(Outer, data, rules=STRICT)
    assert err.value.key == key and problem in err.value.problem


def test_strict_rules_read_typed_values_too_and_readers_apply():
    with pytest.raises(FieldError, match="out of range"):
        decode(Outer, {"name": "a", "inner": Inner(1, 3.0)}, rules=STRICT)
    rules = Rules(
        strict=True, readers={Inner: lambda v: Inner(int(v)) if isinstance(v, str) else v}
    )
    assert decode(Outer, {"name": "a", "inner": "7"}, rules=rules).inner == Inner(7)
    none = Rules(strict=True, none=True)
    assert decode(Outer, {"name": "a", "where": False}, rules=none).where is None
    assert decode(Outer, {"name": "a", "where": "~/x"}, rules=none).where == Path.home() / "x"
