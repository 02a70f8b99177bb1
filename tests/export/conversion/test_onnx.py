"""The full-size CRNN to float ONNX (native LSTM ops) and int8 ONNX (dynamic and static),
loaded back in onnxruntime and compared with Keras: float within 1e-4, int8 within 0.1."""

import numpy as np
import pytest

pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.conversion.onnx import convert_onnx, quantize_onnx
from sentio.runtime.model import open_runner, predict_many

TOLERANCE = {"onnx": 1e-4, "onnx_int8": 0.1}


def test_onnx_float_and_int8(full_size, tmp_path):
    _, inference, calibration, test, reference = full_size
    ops = convert_onnx(inference, tmp_path / "model.onnx")
    assert "LSTM" in ops and "Loop" not in ops
    float_predictions = predict_many(open_runner(tmp_path / "model.onnx"), test)
    assert np.abs(float_predictions - reference).max() <= TOLERANCE["onnx"]
    dynamic_ops = quantize_onnx(tmp_path / "model.onnx", tmp_path / "dyn.onnx", "dynamic")
    assert "com.microsoft.DynamicQuantizeLSTM" in dynamic_ops
    static_ops = quantize_onnx(
        tmp_path / "model.onnx", tmp_path / "static.onnx", "static", calibration
    )
    assert "QuantizeLinear" in static_ops and "LSTM" in static_ops  # LSTM stays float
    for name in ("dyn.onnx", "static.onnx"):
        predictions = predict_many(open_runner(tmp_path / name), test)
        assert np.abs(predictions - reference).max() <= TOLERANCE["onnx_int8"], name


def test_hybrid_int8_onnx_has_int8_convs_and_a_dynamic_lstm(tmp_path):
    """On the shipped float ONNX (no conversion: fast) with a few random calibration windows."""
    from pathlib import Path

    shipped = Path(__file__).parents[3] / "runtime" / "default_model" / "model.onnx"
    calibration = np.random.default_rng(0).normal(size=(4, 600, 40)).astype(np.float32)
    ops = quantize_onnx(shipped, tmp_path / "hybrid.onnx", "hybrid", calibration)
    assert "QuantizeLinear" in ops and "com.microsoft.DynamicQuantizeLSTM" in ops
    assert "LSTM" not in ops and "ConvInteger" not in ops
    runner = open_runner(tmp_path / "hybrid.onnx")
    float_out = open_runner(shipped).predict(calibration[0])
    assert np.abs(runner.predict(calibration[0]) - float_out).max() < 0.2
