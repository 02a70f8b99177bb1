"""Arithmetic of one window through the CRNN, counted layer by layer from its architecture.

FLOPs are multiply-adds x 2 of the layers that carry the weights:

- Conv1D (``same`` padding, stride 1): ``2 * k * c_in * c_out * t``
- LSTM, per time step: ``2 * 4u * (d_in + u)`` (input and recurrent kernels of 4 gates),
  times the steps ``t``
- Dense: ``2 * d_in * d_out``

Biases, batch normalization, ReLU, pooling and the LSTM's gate nonlinearities are counted
separately as ``elementwise`` (one FLOP per element and operation, about 10 per LSTM unit and
step); they are well under 1 % of the total.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentio.export.model.crnn import CRNNConfig


@dataclass(frozen=True)
class LayerFlops:
    name: str
    kind: str
    flops: int
    formula: str
    profiled: int = 0  # what TF's profiler should count (LSTM: one step of the input kernel)


def crnn_flops(config: CRNNConfig) -> list[LayerFlops]:
    """Per-layer FLOPs of the reference design's CRNN with ``config`` (a manifest's
    ``architecture``: ``sentio.export.model.crnn.architecture_of(manifest)``)."""
    if config.bidirectional or config.attention_heads:
        raise ValueError("FLOP count covers the reference CRNN only (no bidirectional/attention)")
    t, d = config.window_frames, config.n_features
    k, pool = config.kernel_size, config.pool_size
    filters = list(config.conv_filters)
    layers: list[LayerFlops] = []
    elementwise = 0
    for i, c_out in enumerate(filters):
        flops = 2 * k * d * c_out * t
        layers.append(LayerFlops(f"conv{i + 1}", "Conv1D", flops, f"2·{k}·{d}·{c_out}·{t}", flops))
        elementwise += 2 * t * c_out  # bias + ReLU
        d = c_out
        if i % 2 == 1 or i == len(filters) - 1:  # BN + max-pool after every second conv
            elementwise += 3 * t * c_out
            t //= pool
    for i, units in enumerate(config.lstm_units):
        flops = t * 2 * 4 * units * (d + units)
        formula = f"{t}·2·4·{units}·({d}+{units})"
        layers.append(LayerFlops(f"lstm{i + 1}", "LSTM", flops, formula, 2 * d * 4 * units))
        elementwise += t * 10 * units
        d = units
    for i, units in enumerate([*config.dense_units, 2]):
        name = f"dense{i + 1}" if i < len(config.dense_units) else "valence_arousal"
        layers.append(LayerFlops(name, "Dense", 2 * d * units, f"2·{d}·{units}", 2 * d * units))
        elementwise += 2 * units
        d = units
    layers.append(LayerFlops("elementwise", "other", elementwise, "bias, BN, ReLU, pool, gates"))
    return layers


def total_flops(layers: list[LayerFlops]) -> int:
    return sum(layer.flops for layer in layers)


def profiler_cross_check(keras_model, layers: list[LayerFlops]) -> list[str]:
    """Compare the formula with TensorFlow's profiler on the frozen inference graph.

    The profiler counts each op of the graph once; an LSTM's ``while`` loop body is one op
    per kernel, so for LSTMs it sees one time step of the input kernel only. The check is
    therefore exact for Conv1D and Dense, and per step for the LSTM's input kernel.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    shape = [1, *keras_model.input_shape[1:]]
    function = tf.function(lambda x: keras_model(x, training=False))
    frozen = convert_variables_to_constants_v2(
        function.get_concrete_function(tf.TensorSpec(shape, tf.float32))
    )
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    by_op = {child.name: child.total_float_ops for child in profile.children}
    lines = []
    for layer in layers:
        matches = {
            "Conv1D": lambda op, n=layer.name: f"/{n}_" in op and op.endswith("/convolution"),
            "Dense": lambda op, n=layer.name: f"/{n}_" in op and op.endswith("/MatMul"),
            "LSTM": lambda op, n=layer.name: f"/{n}_" in op and op.endswith("lstm_cell_1/MatMul"),
        }.get(layer.kind)
        if matches is None:
            continue
        counted = sum(v for op, v in by_op.items() if matches(op))
        expected = layer.profiled
        verdict = "equal" if counted == expected else f"differs ({counted:,} vs {expected:,})"
        lines.append(f"{layer.name}: profiler {counted:,} FLOP, formula {expected:,}: {verdict}")
    lines.append(f"profiler total (LSTM loops counted once): {profile.total_float_ops:,} FLOP")
    return lines
