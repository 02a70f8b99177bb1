"""export/conversion/speed.py on the shipped bundle's files: one time per file, positive."""

import math

import pytest
from sentio.export.conversion.speed import ms_per_window
from sentio.runtime.model import default_bundle


def test_ms_per_window_times_every_file_side_by_side():
    bundle = default_bundle()
    if bundle is None:
        pytest.skip("no default model in this checkout")
    files = {f: bundle / f for f in ("model_dynamic.tflite", "model_int8.tflite", "model.onnx")}
    times = ms_per_window(files, rounds=2)
    assert set(times) == set(files)
    assert all(math.isfinite(ms) and ms > 0 for ms in times.values())
    assert ms_per_window({}) == {}
