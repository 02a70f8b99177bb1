"""Why the float TFLite model differed from Keras, measured on real data.

    python benchmarks/lstm_cell_clip.py --model RUN_DIR --emotify DIR [--cache DIR]

Prints, over the run's test-split windows: the largest |cell state| of each LSTM in Keras, and
the max/mean |TFLite float32 - Keras| for the converter's output as is (cell_clip = 10), with the
clip removed, and with the LSTM state not reset between windows.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def lstm_cell_states(layer, inputs: np.ndarray) -> tuple[np.ndarray, float]:
    """Replays a Keras LSTM in numpy: (hidden sequence, largest |c|)."""
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
    units = recurrent.shape[0]
    h = np.zeros((inputs.shape[0], units))
    c = np.zeros_like(h)
    peak, hs = 0.0, []
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(inputs.shape[1]):
        i, f, g, o = np.split(inputs[:, t] @ kernel + h @ recurrent + bias, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        peak = max(peak, float(np.abs(c).max()))
        hs.append(h)
    return np.stack(hs, axis=1), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--emotify", type=Path, required=True)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--max-windows", type=int, default=400)
    args = parser.parse_args()

    import keras
    from ai_edge_litert.interpreter import Interpreter
    from sentio.export.conversion.exporter import load_source
    from sentio.export.conversion.tflite import tf_keras_inference_model
    from sentio.export.data.sources import DataOptions, prepare_for_model

    source = load_source(args.model)
    options = DataOptions("emotify", args.emotify, cache_dir=args.cache, workers=1, progress=False)
    prepared, _ = prepare_for_model(source.manifest, options)
    test = prepared.splits["test"]
    window = source.manifest.window.frames
    windows = np.stack([s.frames[t : t + window] for s in test for t in s.starts])
    windows = windows[
        np.linspace(0, len(windows) - 1, min(len(windows), args.max_windows)).astype(int)
    ]
    reference = np.concatenate(
        [
            keras.ops.convert_to_numpy(source.model(windows[i : i + 64], training=False))
            for i in range(0, len(windows), 64)
        ]
    )
    x = keras.Model(source.model.input, source.model.get_layer("lstm1").input)(windows)
    x = keras.ops.convert_to_numpy(x)
    for name in ("lstm1", "lstm2"):
        hidden, peak = lstm_cell_states(source.model.get_layer(name), x)
        print(f"{name}: largest |cell state| over {len(windows)} test windows: {peak:.1f}")
        x = hidden

    import tensorflow as tf
    from sentio.export.conversion.tflite import remove_cell_clip

    inference = tf_keras_inference_model(source.model, source.config)
    raw = tf.lite.TFLiteConverter.from_keras_model(inference).convert()

    def run(flatbuffer: bytes, reset: bool) -> np.ndarray:
        interpreter = Interpreter(model_content=flatbuffer, num_threads=1)
        interpreter.allocate_tensors()
        inp = interpreter.get_input_details()[0]["index"]
        out = interpreter.get_output_details()[0]["index"]
        predictions = []
        for window in windows:
            if reset:
                interpreter.reset_all_variables()
            interpreter.set_tensor(inp, window[None])
            interpreter.invoke()
            predictions.append(interpreter.get_tensor(out)[0].copy())
        return np.array(predictions)

    for label, flatbuffer, reset in (
        ("converter output (cell_clip 10), state reset per window", raw, True),
        (
            "cell_clip removed, state reset per window (what Sentio ships)",
            remove_cell_clip(raw),
            True,
        ),
        ("cell_clip removed, state NOT reset between windows", remove_cell_clip(raw), False),
    ):
        diff = np.abs(run(flatbuffer, reset) - reference)
        print(f"{label}: max |TFLite - Keras| {diff.max():.2e}, mean {diff.mean():.2e}")


if __name__ == "__main__":
    main()
