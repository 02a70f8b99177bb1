"""Keras CRNN -> TFLite (float32, float16, dynamic-range, int8) and ONNX (float, int8).

The path that works for every mode with TF 2.21 (see ``BENCHMARKS.md`` and the toolchain
notes): rebuild the trained Keras 3 model as a **tf-keras** model with batch size 1 and no
dropout, copy the weights, and convert that. The converter then emits two fused
``UNIDIRECTIONAL_SEQUENCE_LSTM`` builtins (Keras 3 models give WHILE loops whose int8
calibration segfaults) and tf2onnx emits native ONNX ``LSTM`` ops.

The fused TFLite LSTM is written with ``cell_clip = 10``; Keras never clips. On Emotify test
windows the first LSTM's cell state reaches |c| = 100, and the clip moved outputs by up to 0.18.
:func:`remove_cell_clip` sets it to 0 (the kernel's "no clip") in the converted flatbuffer.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentio.export.model.crnn import CRNNConfig
from sentio.runtime.errors import SentioError

FLOAT_TFLITE_KINDS = ("float32", "float16", "dynamic")
TFLITE_KINDS = (*FLOAT_TFLITE_KINDS, "int8")
ONNX_INT8_MODES = ("dynamic", "static")


class ConversionError(SentioError):
    """A model could not be converted, or converted to something the runtimes cannot run."""


@dataclass(frozen=True)
class Artifact:
    """One converted model file.

    Attributes:
        file: file name inside the bundle.
        format: ``tflite`` or ``onnx``.
        kind: ``float32``, ``float16``, ``dynamic`` or ``int8``.
        ops: operator types, in graph order without repeats.
        note: how it was made (quantization mode and I/O types).
    """

    file: str
    format: str
    kind: str
    ops: tuple[str, ...]
    note: str = ""


def tf_keras_inference_model(model, config: CRNNConfig):
    """The trained Keras 3 model rebuilt in tf-keras for conversion: batch 1, no dropout.

    Dropout is the identity at inference and recurrent dropout would keep the LSTM from being
    fused, so both are left out; every weight is copied and checked to match.
    """
    import tf_keras
    from tf_keras import layers

    if config.bidirectional or config.attention_heads:
        raise ConversionError(
            "only the seed architecture (unidirectional LSTMs, no attention) converts to "
            "builtin-only TFLite",
            hint="train without --bidirectional / --attention-heads for an exportable model",
        )
    inputs = tf_keras.Input(
        (config.window_frames, config.n_features), batch_size=1, name="features"
    )
    x = inputs
    for i, filters in enumerate(config.conv_filters):
        x = layers.Conv1D(
            filters, config.kernel_size, padding="same", activation="relu", name=f"conv{i + 1}"
        )(x)
        if i % 2 == 1 or i == len(config.conv_filters) - 1:
            block = i // 2 + 1
            x = layers.BatchNormalization(momentum=config.bn_momentum, name=f"bn{block}")(x)
            x = layers.MaxPooling1D(config.pool_size, name=f"pool{block}")(x)
    for i, units in enumerate(config.lstm_units):
        last = i == len(config.lstm_units) - 1
        x = layers.LSTM(units, return_sequences=not last, name=f"lstm{i + 1}")(x)
    for i, units in enumerate(config.dense_units):
        x = layers.Dense(units, activation="relu", name=f"dense{i + 1}")(x)
    outputs = layers.Dense(2, activation="tanh", name="valence_arousal")(x)
    rebuilt = tf_keras.Model(inputs, outputs, name="sentio_crnn_inference")
    weights = model.get_weights()
    expected = [w.shape for w in rebuilt.get_weights()]
    if [w.shape for w in weights] != expected:
        raise ConversionError(
            "the model's weights do not match its recorded architecture",
            hint="the bundle's sentio.json and model.keras come from different runs; re-train",
        )
    rebuilt.set_weights(weights)
    return rebuilt


# ----------------------------------------------------------------------------- TFLite


def convert_tflite(
    inference_model,
    kind: str,
    representative: np.ndarray | None = None,
    int8_io: bool = True,
) -> bytes:
    """Convert to one TFLite variant with builtin ops only.

    Args:
        inference_model: from :func:`tf_keras_inference_model`.
        kind: ``float32``, ``float16`` (weights), ``dynamic`` (int8 weights, float activations)
            or ``int8`` (full integer; needs ``representative``).
        representative: normalized calibration windows, (n, frames, features).
        int8_io: for ``int8``, take and return int8 tensors (else float I/O around an int8 body).
    """
    import tensorflow as tf

    if kind not in TFLITE_KINDS:
        raise ConversionError(f"unknown TFLite kind {kind!r}", hint=f"use one of {TFLITE_KINDS}")
    converter = tf.lite.TFLiteConverter.from_keras_model(inference_model)
    # Builtins only: Flex ops run in none of the light interpreters nor on microcontrollers.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if kind != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if kind == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if kind == "int8":
        if representative is None or not len(representative):
            raise ConversionError(
                "full-integer conversion needs a calibration set", hint="pass calibration windows"
            )
        converter.representative_dataset = _representative(representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    try:
        flatbuffer = converter.convert()
    except Exception as err:  # the converter raises many untyped errors
        raise ConversionError(
            f"TFLite {kind} conversion failed: {err}",
            hint="check the toolchain versions against BENCHMARKS.md",
        ) from err
    return remove_cell_clip(flatbuffer)


def _representative(windows: np.ndarray) -> Callable[[], Iterable[list[np.ndarray]]]:
    def generate():
        for window in windows:
            yield [window[None].astype(np.float32)]

    return generate


_LSTM_CELL_CLIP_SLOT = 6  # vtable slot of UnidirectionalSequenceLSTMOptions.cell_clip


def remove_cell_clip(flatbuffer: bytes) -> bytes:
    """Set ``cell_clip`` of every fused LSTM to 0 (no clip), in place in the flatbuffer.

    The converter writes 10.0 although Keras never clips; the field is a scalar stored in the
    buffer (10.0 is not the schema default), so it can be overwritten without re-serializing.
    """
    from tensorflow.lite.python import schema_py_generated as schema

    buf = bytearray(flatbuffer)
    model = schema.Model.GetRootAs(buf, 0)
    for graph_index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(graph_index)
        for op_index in range(graph.OperatorsLength()):
            op = graph.Operators(op_index)
            if _builtin_code(model, op) != schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
                continue
            table = op.BuiltinOptions()
            options = schema.UnidirectionalSequenceLSTMOptions()
            options.Init(table.Bytes, table.Pos)
            offset = options._tab.Offset(_LSTM_CELL_CLIP_SLOT)
            if offset:  # absent means the schema default, 0: already no clip
                struct.pack_into("<f", buf, options._tab.Pos + offset, 0.0)
    return bytes(buf)


def _builtin_code(model, op) -> int:
    code = model.OperatorCodes(op.OpcodeIndex())
    return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())


def tflite_lstm_cell_clips(flatbuffer: bytes) -> list[float]:
    """``cell_clip`` of each fused LSTM op (for tests and the report)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    clips = []
    for graph_index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(graph_index)
        for op_index in range(graph.OperatorsLength()):
            op = graph.Operators(op_index)
            if _builtin_code(model, op) == schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
                options = schema.UnidirectionalSequenceLSTMOptions()
                table = op.BuiltinOptions()
                options.Init(table.Bytes, table.Pos)
                clips.append(options.CellClip())
    return clips


def tflite_ops(flatbuffer: bytes) -> tuple[str, ...]:
    """Operator names in graph order without repeats; custom/Flex ops raise."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(flatbuffer, 0)
    ops: list[str] = []
    for graph_index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(graph_index)
        for op_index in range(graph.OperatorsLength()):
            op = graph.Operators(op_index)
            code = _builtin_code(model, op)
            if code == schema.BuiltinOperator.CUSTOM:
                custom = model.OperatorCodes(op.OpcodeIndex()).CustomCode()
                raise ConversionError(
                    f"the model contains custom op {custom!r}",
                    hint="LiteRT, tflite-runtime and microcontrollers run builtin ops only",
                )
            if names[code] not in ops:
                ops.append(names[code])
    return tuple(ops)


# ----------------------------------------------------------------------------- ONNX


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
    dense run in int8, onnxruntime keeps the LSTMs float. See BENCHMARKS.md for the measured
    choice between them.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
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
        else:
            if calibration is None or not len(calibration):
                raise ConversionError("static ONNX quantization needs a calibration set")

            class Reader(CalibrationDataReader):
                def __init__(self) -> None:
                    self._windows = iter(calibration)

                def get_next(self):
                    window = next(self._windows, None)
                    return None if window is None else {"features": window[None]}

            quantize_static(
                str(prepared),
                str(out_path),
                Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
    return onnx_ops(out_path)


def onnx_ops(path: Path) -> tuple[str, ...]:
    import onnx

    ops: list[str] = []
    for node in onnx.load(str(path)).graph.node:
        name = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if name not in ops:
            ops.append(name)
    return tuple(ops)
