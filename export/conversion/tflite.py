"""Keras CRNN -> TFLite (float32, float16, dynamic-range, int8), builtin ops only; the
flatbuffer edits and op listing that go with it. ONNX is in :mod:`onnx`.

The path that works for every mode with TF 2.21 (see ``BENCHMARKS.md`` and the toolchain
notes): rebuild the trained Keras 3 model as a **tf-keras** model with batch size 1 and no
dropout (:func:`tf_keras_inference_model`, the same builder as training), copy the weights,
and convert that. The converter then emits two fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``
builtins (Keras 3 models give WHILE loops whose int8 calibration segfaults) and tf2onnx
emits native ONNX ``LSTM`` ops.

The fused TFLite LSTM is written with ``cell_clip = 10``; Keras never clips. On Emotify test
windows the first LSTM's cell state reaches |c| = 100, and the clip moved outputs by up to 0.18.
:func:`remove_cell_clip` sets it to 0 (the kernel's "no clip") in the converted flatbuffer.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

import numpy as np
from sentio.export.model.crnn import CRNNConfig, build_crnn
from sentio.export.quiet import native_stderr_quiet
from sentio.runtime.errors import ConversionError

FLOAT_TFLITE_KINDS = ("float32", "float16", "dynamic")
#: Kinds that need a calibration set. ``int8``: full integer (what a microcontroller or an NPU
#: runs). ``int8_hybrid``: the same int8 convolutions and dense layers, the LSTMs with int8
#: weights and float activations (LiteRT's hybrid LSTM kernel, as in ``dynamic``): on a CPU
#: the integer LSTM kernel is ~14x slower than the hybrid one (BENCHMARKS.md, issue 26).
CALIBRATED_TFLITE_KINDS = ("int8", "int8_hybrid")
TFLITE_KINDS = (*FLOAT_TFLITE_KINDS, *CALIBRATED_TFLITE_KINDS)


def tf_keras_inference_model(model, config: CRNNConfig):
    """The trained Keras 3 model rebuilt in tf-keras for conversion (batch 1, no dropout; see
    :func:`~sentio.export.model.crnn.build_crnn`), with every weight copied and its shape
    checked against the recorded architecture."""
    import tf_keras

    if config.bidirectional or config.attention_heads:
        raise ConversionError(
            "only the reference architecture (unidirectional LSTMs, no attention) converts to "
            "builtin-only TFLite",
            hint="train with model.bidirectional off and model.attention_heads 0 for an exportable "
            "model",
        )
    rebuilt = build_crnn(config, keras_module=tf_keras, inference=True)
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
        kind: ``float32``, ``float16`` (weights), ``dynamic`` (int8 weights, float activations),
            ``int8`` (full integer; needs ``representative``) or ``int8_hybrid`` (full-integer
            convolutions and dense layers, hybrid LSTMs; needs ``representative``).
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
    if kind in CALIBRATED_TFLITE_KINDS:
        if representative is None or not len(representative):
            raise ConversionError(
                "full-integer conversion needs a calibration set", hint="pass calibration windows"
            )
        converter.representative_dataset = _representative(representative)
    if kind == "int8_hybrid":
        return _int8_hybrid(converter, int8_io)
    if kind == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    try:
        with native_stderr_quiet():  # the int8 quantizer's "fully_quantize: 0, ..." line
            flatbuffer = converter.convert()
    except Exception as err:  # the converter raises many untyped errors
        raise ConversionError(
            f"TFLite {kind} conversion failed: {err}",
            hint="check the toolchain versions against BENCHMARKS.md",
        ) from err
    return remove_cell_clip(flatbuffer)


_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def _int8_hybrid(converter, int8_io: bool) -> bytes:
    """Full integer with the LSTMs left out (the calibrate-only pass, then the MLIR quantizer
    with the LSTM denylisted: what the quantization debugger's ``denylisted_ops`` does), then
    the float LSTMs given int8 weights (:func:`hybrid_lstm_weights`)."""
    import tensorflow as tf
    from tensorflow.lite.python import convert

    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    io_type = tf.int8 if int8_io else tf.float32
    try:
        with native_stderr_quiet():
            calibrated = converter.convert()
            flatbuffer = convert.mlir_quantize(
                calibrated,
                fully_quantize=True,
                input_data_type=io_type,
                output_data_type=io_type,
                denylisted_ops=[_LSTM],
            )
    except Exception as err:  # the converter raises many untyped errors
        raise ConversionError(
            f"TFLite int8_hybrid conversion failed: {err}",
            hint="check the toolchain versions against BENCHMARKS.md",
        ) from err
    return hybrid_lstm_weights(remove_cell_clip(flatbuffer))


_LSTM_WEIGHT_INPUTS = (1, 2, 3, 4, 5, 6, 7, 8, 16)  # input and recurrent weights, projection


def hybrid_lstm_weights(flatbuffer: bytes) -> bytes:
    """Every float fused LSTM's weight matrices to int8 (per tensor, symmetric: what the
    dynamic-range converter writes) and its inputs quantized on the fly (asymmetric): LiteRT's
    hybrid LSTM kernel, the one ``model_dynamic.tflite`` runs. Biases stay float; an LSTM
    whose weights are already int8 is left as it is."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(flatbuffer, 0))
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) != getattr(
                schema.BuiltinOperator, _LSTM
            ):
                continue
            if graph.tensors[op.inputs[0]].type != schema.TensorType.FLOAT32:
                continue  # an integer LSTM
            op.builtinOptions.asymmetricQuantizeInputs = True
            for slot in _LSTM_WEIGHT_INPUTS:
                if slot >= len(op.inputs) or op.inputs[slot] < 0:
                    continue
                tensor = graph.tensors[op.inputs[slot]]
                if tensor.type != schema.TensorType.FLOAT32:
                    continue
                buffer = model.buffers[tensor.buffer]
                weights = np.frombuffer(bytes(bytearray(buffer.data)), np.float32)
                scale = float(np.abs(weights).max()) / 127.0 or 1.0
                buffer.data = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
                tensor.type = schema.TensorType.INT8
                tensor.quantization = schema.QuantizationParametersT()
                tensor.quantization.scale = [scale]
                tensor.quantization.zeroPoint = [0]
    builder = flatbuffers.Builder(len(flatbuffer))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


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
