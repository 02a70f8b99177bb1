"""Fuzzing the manifest loader: any mutation of the shipped sentio.json gives a Manifest or a
SentioError (a message naming the field), never another exception. The text-level targets
write the file itself (deep nesting, integer literals of thousands of digits, NaN/Infinity,
out-of-range numbers where the runtime reads them: issue 22 #5) and read it as a bundle."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sentio.runtime.errors import SentioError
from sentio.runtime.manifest import MANIFEST_NAME, Manifest, read
from sentio.runtime.model import default_bundle

SHIPPED = json.loads((default_bundle() / MANIFEST_NAME).read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["tflite", "onnx", "keras", "int8", "float32", "tanh", "", "..", "/x"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def _paths(node, prefix=()):
    """Every (path) to a value in the JSON tree."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):  # long arrays (normalization): a few suffice
            yield from _paths(value, (*prefix, i))


PATHS = list(_paths(SHIPPED))[1:]


def _apply(data, path, action, value):
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    if action == "delete":
        if isinstance(node, dict):
            node.pop(last, None)
        else:
            del node[last]
    elif action == "set":
        node[last] = value
    elif action == "wrap":
        node[last] = [node[last]]
    elif action == "stringify":
        node[last] = json.dumps(node[last])
    elif action == "scale" and isinstance(node[last], int | float):
        node[last] = node[last] * value if isinstance(value, int | float) else -node[last]


mutation = st.tuples(
    st.sampled_from(PATHS),
    st.sampled_from(["delete", "set", "wrap", "stringify", "scale"]),
    json_values,
)


def _check(data) -> None:
    try:
        manifest = Manifest.from_dict(data)
    except SentioError as err:
        assert err.message
        return
    assert isinstance(manifest, Manifest)
    # what loaded must save: to_dict and its JSON must not raise either
    text = json.dumps(manifest.to_dict())
    assert isinstance(text, str)


@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_shipped_manifest_loads_or_is_a_sentio_error(mutations):
    data = copy.deepcopy(SHIPPED)
    for path, action, value in mutations:
        # an earlier mutation may have removed or replaced the parent
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _apply(data, path, action, value)
    _check(data)


@given(json_values)
def test_any_json_value_loads_or_is_a_sentio_error(value):
    _check(value)


@given(st.dictionaries(st.sampled_from(sorted(SHIPPED)), json_values, max_size=6))
def test_top_level_fields_of_any_type(overrides):
    _check({**copy.deepcopy(SHIPPED), **overrides})


def test_nan_and_inf_normalization_is_refused_or_loaded():
    data = copy.deepcopy(SHIPPED)
    for key in data.get("normalization", {}):
        if isinstance(data["normalization"][key], list):
            data["normalization"][key][0] = math.nan
    _check(data)


# ----------------------------------------------------------------------------- the file's text

HOLE = "__sentio_fuzz_hole__"

#: raw JSON text for a value: what Python's json cannot produce or would refuse to parse
raw_literals = st.one_of(
    st.integers(min_value=1, max_value=3000).map(lambda d: "[" * d + "]" * d),
    st.integers(min_value=1, max_value=3000).map(lambda d: '{"a": ' * d + "1" + "}" * d),
    st.integers(min_value=15, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=15, max_value=6000).map(lambda n: "-" + "1" * n),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "0", "-0.0"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)

#: where the runtime reads numbers, and any field at all
number_paths = st.sampled_from(
    [
        ("window", "frames"),
        ("window", "seconds"),
        ("window", "default_hop_s"),
        ("window", "train_stride_frames"),
        ("normalization", "std", 0),
        ("normalization", "mean", 7),
        ("feature_spec", "n_mels"),
        ("feature_spec", "nfft"),
        ("feature_spec", "sample_rate"),
        ("labels", "range", 1),
        ("models", 0, "io", "input", "scale"),
        ("format_version",),
    ]
)


def _read_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / MANIFEST_NAME).write_text(text)
        try:
            manifest = read(Path(folder))
        except SentioError as err:
            assert err.message
            return
        assert isinstance(manifest, Manifest)
        json.dumps(manifest.to_dict())


def _text_with(path, literal: str) -> str:
    data = copy.deepcopy(SHIPPED)
    with contextlib.suppress(KeyError, IndexError, TypeError):
        _apply(data, path, "set", HOLE)
    return json.dumps(data).replace(json.dumps(HOLE), literal)


@given(st.one_of(number_paths, st.sampled_from(PATHS)), raw_literals)
def test_a_raw_literal_anywhere_in_the_file_loads_or_is_a_sentio_error(path, literal):
    _read_text(_text_with(path, literal))


@given(raw_literals)
def test_a_file_that_is_one_raw_literal_is_a_sentio_error(literal):
    _read_text(literal)


@given(
    number_paths,
    st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
    ),
)
def test_any_number_where_the_runtime_reads_one_loads_or_is_a_sentio_error(path, value):
    data = copy.deepcopy(SHIPPED)
    with contextlib.suppress(KeyError, IndexError, TypeError):
        _apply(data, path, "set", value)
    _check(data)


def test_the_issue_22_cases_are_each_refused_naming_the_field():
    """The cases that gave tracebacks (or ran silently wrong) before issue 22 #5."""
    cases = {
        "nested 2,000 deep": ("[" * 2000 + "]" * 2000, "nested more than"),
        "a 5,000-digit integer": (_text_with(("window", "frames"), "9" * 5000), "window.frames"),
        "default_hop_s Infinity": (
            _text_with(("window", "default_hop_s"), "Infinity"),
            "window.default_hop_s",
        ),
        "window.frames 10**12": (_text_with(("window", "frames"), str(10**12)), "window.frames"),
        "std Infinity": (
            _text_with(("normalization", "std", 0), "Infinity"),
            "normalization.std[0]",
        ),
    }
    for case, (text, field) in cases.items():
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / MANIFEST_NAME).write_text(text)
            try:
                read(Path(folder))
            except SentioError as err:
                assert field in err.message, (case, err.message)
            else:
                raise AssertionError(f"{case}: loaded")
