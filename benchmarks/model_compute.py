"""Multiply-accumulates per window of a TFLite model, per op, from the tensor shapes.

    python benchmarks/model_compute.py [runtime/default_model/model_int8.tflite]

Counts what dominates on a microcontroller: CONV_2D (output elements x kernel x input
channels), UNIDIRECTIONAL_SEQUENCE_LSTM (steps x 4 gates x units x (input + units)) and
FULLY_CONNECTED (outputs x inputs). Elementwise ops (batch-norm MUL/ADD, pooling, the LSTM's
gate activations) are listed with their element counts but not added to the MACs.
Uses LiteRT only (no TensorFlow); ``_get_ops_details`` is LiteRT's op listing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def op_macs(name: str, inputs: list[tuple[int, ...]], output: tuple[int, ...]) -> int:
    """MACs of one op, given its input shapes (data first, then weights) and output shape."""
    if name == "CONV_2D":
        _, kh, kw, cin = inputs[1]
        return int(np.prod(output)) * kh * kw * cin
    if name == "FULLY_CONNECTED":
        units, features = inputs[1]
        return int(np.prod(output[:-1])) * units * features
    if name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        _, steps, features = inputs[0]
        units = output[-1]
        return steps * 4 * units * (features + units)
    return 0


def model_macs(path: Path) -> list[tuple[str, int, int]]:
    """(op name, MACs, output elements) for every op of the model, in graph order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path))
    shapes = {t["index"]: tuple(t["shape"].tolist()) for t in interpreter.get_tensor_details()}
    rows = []
    for op in interpreter._get_ops_details():
        inputs = [shapes[i] for i in op["inputs"] if i >= 0]
        output = shapes[op["outputs"][0]]
        rows.append((op["op_name"], op_macs(op["op_name"], inputs, output), int(np.prod(output))))
    return rows


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parent.parent / "runtime/default_model/model_int8.tflite"
    path = Path(argv[0]) if argv else default
    rows = model_macs(path)
    for name, macs, elements in rows:
        print(f"{name:30s} {macs:>12,} MACs  {elements:>8,} output elements")
    total = sum(macs for _, macs, _ in rows)
    print(f"{'total':30s} {total:>12,} MACs = {2 * total / 1e6:.1f} MFLOP per window")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
