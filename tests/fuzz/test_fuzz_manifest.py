"""Fuzzing the manifest loader: any mutation of the shipped sentio.json gives a Manifest or a
SentioError (a message naming the field), never another exception."""

from __future__ import annotations

import contextlib
import copy
import json
import math

from hypothesis import given
from hypothesis import strategies as st
from sentio.runtime.errors import SentioError
from sentio.runtime.manifest import MANIFEST_NAME, Manifest
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
