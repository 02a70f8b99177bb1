"""The full-size CRNN (600 x 40) converted to every TFLite variant: builtin ops only, loaded
back in LiteRT, and compared with Keras within stated tolerances; the cell-clip edit.

Tolerances (max |runtime - Keras| over the test windows, outputs in [-1, 1]):
float32 1e-4 (same math, different kernels); float16 weights 2e-2; dynamic-range 0.1; full
int8 0.2 (int8 activations through 300 LSTM steps); ONNX in ``test_onnx.py``. The model is
randomly initialised, so these bound the conversion, not accuracy.
"""

import numpy as np
import pytest

pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.conversion.tflite import (
    TFLITE_KINDS,
    convert_tflite,
    hybrid_lstm_weights,
    remove_cell_clip,
    tflite_lstm_cell_clips,
    tflite_ops,
)
from sentio.runtime.model import open_runner, predict_many

from tests.helpers import scramble_int8_scales

TFLITE_BUILTINS = {
    "RESHAPE",
    "CONV_2D",
    "MUL",
    "ADD",
    "MAX_POOL_2D",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE",
    "FULLY_CONNECTED",
    "TANH",
    "DEQUANTIZE",  # float16: weights stored half, dequantized once
    "QUANTIZE",  # int8_hybrid: the float LSTMs' outputs back to int8
}


TOLERANCE = {
    "float32": 1e-4,
    "float16": 2e-2,
    "dynamic": 0.1,
    "int8": 0.2,
    "int8_hybrid": 0.2,
}


@pytest.fixture(scope="module")
def tflite_models(full_size, tmp_path_factory):
    _, inference, calibration, _, _ = full_size
    out = tmp_path_factory.mktemp("tflite")
    paths = {}
    for kind in TFLITE_KINDS:
        paths[kind] = out / f"model_{kind}.tflite"
        paths[kind].write_bytes(convert_tflite(inference, kind, calibration))
    return paths


@pytest.mark.parametrize("kind", TFLITE_KINDS)
def test_tflite_is_builtin_only_and_matches_keras(full_size, tflite_models, kind):
    *_, test, reference = full_size
    flatbuffer = tflite_models[kind].read_bytes()
    ops = tflite_ops(flatbuffer)
    assert set(ops) <= TFLITE_BUILTINS, ops
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 1  # fused, not a WHILE loop
    assert tflite_lstm_cell_clips(flatbuffer) == [0.0, 0.0]
    runner = open_runner(tflite_models[kind])
    assert runner.input_shape == (1, 600, 40)
    predictions = predict_many(runner, test)
    assert np.abs(predictions - reference).max() <= TOLERANCE[kind]


def test_int8_model_has_int8_io_by_default_and_float_io_on_request(full_size, tflite_models):
    _, inference, calibration, *_ = full_size
    runner = open_runner(tflite_models["int8"])
    assert runner.input_quantization.dtype == "int8"
    assert runner.input_quantization.scale > 0
    assert runner.output_quantization.dtype == "int8"
    float_io = convert_tflite(inference, "int8", calibration, int8_io=False)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=float_io)
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert interpreter.get_output_details()[0]["dtype"] == np.float32


def test_lstm_state_does_not_leak_between_windows(full_size, tflite_models):
    """TFLite keeps LSTM state in variable tensors; the runner resets them per window."""
    *_, test, reference = full_size
    runner = open_runner(tflite_models["float32"])
    first = runner.predict(test[0])
    runner.predict(test[1])
    again = runner.predict(test[0])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, reference[0], atol=TOLERANCE["float32"])


def _saturating_lstm():
    """One LSTM(1) whose cell state climbs by ~1 per step while the input is +1 and falls while
    it is -1: after 40 steps up and 25 down, Keras has c ~ 15 (h > 0); a cell clipped at 10
    would have crossed zero (h < 0)."""
    import tf_keras

    inputs = tf_keras.Input((65, 1), batch_size=1)
    lstm = tf_keras.layers.LSTM(1, return_sequences=True)
    model = tf_keras.Model(inputs, lstm(inputs))
    kernel = np.array([[0.0, 0.0, 20.0, 0.0]], np.float32)  # gates i, f, c, o
    recurrent = np.zeros((1, 4), np.float32)
    bias = np.array([20.0, 20.0, 0.0, 20.0], np.float32)  # i, f, o saturated open
    lstm.set_weights([kernel, recurrent, bias])
    x = np.concatenate([np.ones(40), -np.ones(25)]).astype(np.float32)[None, :, None]
    return model, x


def test_cell_clip_is_what_breaks_the_fused_lstm_and_removing_it_fixes_it():
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    model, x = _saturating_lstm()
    expected = model(x).numpy()[0, :, 0]
    assert expected[-1] > 0.5  # Keras: the cell state never fell below zero
    raw = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    assert tflite_lstm_cell_clips(raw) == [10.0]

    def run(flatbuffer):
        interpreter = Interpreter(model_content=flatbuffer)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0, :, 0]

    assert run(raw)[-1] < -0.5  # clipped at 10, the state crossed zero
    fixed = remove_cell_clip(raw)
    assert tflite_lstm_cell_clips(fixed) == [0.0]
    np.testing.assert_allclose(run(fixed), expected, atol=1e-5)
    assert len(fixed) == len(raw)  # patched in place, nothing else rewritten


def test_scrambled_int8_scales_change_the_outputs(full_size, tflite_models, tmp_path):
    *_, test, reference = full_size
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(scramble_int8_scales(tflite_models["int8"].read_bytes()))
    predictions = predict_many(open_runner(broken), test)
    assert np.abs(predictions - reference).mean() > 0.05


def test_hybrid_lstm_weights_gives_the_float_lstms_int8_weights_and_keeps_the_outputs():
    """On the shipped float32 model (no conversion: fast): both LSTMs get int8 weights, the
    file shrinks, the outputs stay close, and a second pass changes nothing."""
    from pathlib import Path

    from ai_edge_litert.interpreter import Interpreter

    float32 = (
        Path(__file__).parents[3] / "runtime/default_model/model_float32.tflite"
    ).read_bytes()
    window = np.random.default_rng(0).normal(size=(1, 600, 40)).astype(np.float32)

    def run(content):
        interpreter = Interpreter(model_content=content, num_threads=1)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], window)
        interpreter.invoke()
        details = {t["index"]: t for t in interpreter.get_tensor_details()}
        weights = [
            np.dtype(details[op["inputs"][1]]["dtype"]).name
            for op in interpreter._get_ops_details()
            if op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"
        ]
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), weights

    hybrid = hybrid_lstm_weights(float32)
    (reference, before), (out, after) = run(float32), run(hybrid)
    assert before == ["float32", "float32"] and after == ["int8", "int8"]
    assert len(hybrid) < 0.6 * len(float32)
    assert np.abs(out - reference).max() < 0.05
    assert np.array_equal(run(hybrid_lstm_weights(hybrid))[0], out)
