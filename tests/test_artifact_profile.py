"""benchmarks/artifact_profile.py on the shipped bundle: structure only, no timing claims."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from benchmarks.artifact_profile import (
    Profile,
    one_op_models,
    onnx_table,
    profile_onnx,
    profile_tflite,
    stage_table,
    tflite_table,
)
from benchmarks.timing import interleaved

BUNDLE = Path(__file__).resolve().parent.parent / "runtime" / "default_model"


def _window(shape=(600, 40)) -> np.ndarray:
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


def test_one_op_models_cut_every_op_out_and_each_runs():
    content = (BUNDLE / "model_int8.tflite").read_bytes()
    whole = Interpreter(model_content=content)
    whole.allocate_tensors()
    names = [o["op_name"] for o in whole._get_ops_details() if o["op_name"] != "DELEGATE"]
    models = one_op_models(content)
    assert [name for _, name, _, _ in models] == names
    _, name, single, inputs = models[1]
    assert name == "CONV_2D" and len(inputs) == 1  # filter and bias are constants
    interpreter = Interpreter(model_content=single)
    interpreter.allocate_tensors()
    interpreter.invoke()
    lstm = next(m for m in models if m[1] == "UNIDIRECTIONAL_SEQUENCE_LSTM")
    assert len(lstm[3]) == 1  # the state tensors are variables, not inputs


def test_profile_tflite_times_each_op_and_marks_what_xnnpack_takes():
    profile, contenders = profile_tflite(BUNDLE / "model_int8.tflite", _window(), rounds=1)
    times = interleaved(contenders, rounds=1, warmup=0)
    for row in profile.rows:
        row.seconds = float(times[f"{profile.file}|{row.index}"][0])
    profile.whole = float(times[f"{profile.file}|whole"][0])
    by_op = {r.op: r for r in profile.rows}
    assert not by_op["UNIDIRECTIONAL_SEQUENCE_LSTM"].delegated
    assert by_op["CONV_2D"].delegated and by_op["CONV_2D"].weights == "int8 per-channel"
    assert by_op["UNIDIRECTIONAL_SEQUENCE_LSTM"].weights == "int8 per-tensor"
    assert all(math.isfinite(r.seconds) and r.seconds > 0 for r in profile.rows)
    table = tflite_table([profile])
    assert "sum of ops" in table and "UNIDIRECTIONAL_SEQUENCE_LSTM" in table
    stages = stage_table([profile])
    assert "| model_int8.tflite |" in stages and "LSTM 2" in stages


def test_profile_onnx_reads_onnxruntime_node_times():
    profile = profile_onnx(BUNDLE / "model.onnx", _window(), runs=2)
    assert {"LSTM", "Conv"} <= {r.op for r in profile.rows}
    assert profile.op_sum > 0 and profile.whole > 0
    assert "| LSTM | 2 |" in onnx_table(profile)
    assert isinstance(profile, Profile)
