"""The inference model -> float ONNX (native ``LSTM`` ops, through tf2onnx) and int8 ONNX
(onnxruntime's dynamic or static quantization)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from sentio.runtime.errors import ConversionError

ONNX_INT8_MODES = ("dynamic", "static", "hybrid")


def convert_onnx(inference_model, path: Path, opset: int = 17) -> tuple[str, ...]:
    """Float ONNX with native LSTM ops; returns its op types."""
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec(inference_model.input_shape, tf.float32, name="features")]
    try:
        tf2onnx.convert.from_keras(
            inference_model, input_signature=spec, opset=opset, output_path=str(path)
        )
    except Exception as err:
        raise ConversionError(f"ONNX conversion failed: {err}", hint="check tf2onnx") from err
    return onnx_ops(path)


def quantize_onnx(
    float_path: Path, out_path: Path, mode: str, calibration: np.ndarray | None = None
) -> tuple[str, ...]:
    """Int8 ONNX from the float model.

    ``dynamic``: int8 weights everywhere, the LSTMs become ``DynamicQuantizeLSTM`` (activations
    quantized on the fly). ``static``: QDQ with activation ranges from ``calibration``; conv and
    dense run in int8, onnxruntime keeps the LSTMs float. ``hybrid``: ``static``, then its float
    LSTMs made ``DynamicQuantizeLSTM``: int8 convolutions (``dynamic``'s ``ConvInteger`` is
    its slowest part) and int8 LSTM weights. See BENCHMARKS.md (issue 26) for the measured
    choice between them.
    """
    from onnxruntime.quantization import (
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_dynamic,
        quantize_static,
    )

    if mode not in ONNX_INT8_MODES:
        raise ConversionError(f"unknown ONNX int8 mode {mode!r}", hint=f"use {ONNX_INT8_MODES}")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        if mode == "dynamic":
            quantize_dynamic(str(prepared), str(out_path), weight_type=QuantType.QInt8)
            return onnx_ops(out_path)
        static_path = Path(tmp) / "static.onnx" if mode == "hybrid" else out_path
        if calibration is None or not len(calibration):
            raise ConversionError("static ONNX quantization needs a calibration set")

        quantize_static(
            str(prepared),
            str(static_path),
            calibration_reader(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
        if mode == "hybrid":
            quantize_dynamic(
                str(static_path),
                str(out_path),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["LSTM"],
            )
    return onnx_ops(out_path)


def calibration_reader(calibration: np.ndarray):
    """An onnxruntime ``CalibrationDataReader`` feeding ``calibration``'s windows one by one
    as the model's ``features`` input."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._windows = iter(calibration)

        def get_next(self):
            window = next(self._windows, None)
            return None if window is None else {"features": window[None]}

    return Reader()


def onnx_ops(path: Path) -> tuple[str, ...]:
    import onnx

    ops: list[str] = []
    for node in onnx.load(str(path)).graph.node:
        name = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if name not in ops:
            ops.append(name)
    return tuple(ops)
