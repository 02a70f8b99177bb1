"""The CRNN, exactly as the reference design describes it, with every hyperparameter exposed;
one builder for training (Keras 3) and for conversion (tf-keras, batch 1, no dropout).

    input (600 frames x 40 features)
    Conv1D 64 -> Conv1D 64 -> BatchNorm -> MaxPool 2 -> Dropout
    Conv1D 128 -> Conv1D 128 -> BatchNorm -> MaxPool 2 -> Dropout
    LSTM 128 (sequence) [-> multi-head self-attention, residual + LayerNorm]  -> LSTM 64
    Dense 64 -> Dropout -> Dense 32 -> Dense 2 (tanh: valence, arousal in [-1, 1])

The default configuration has 282,146 parameters. Either LSTM can be made bidirectional.
The configuration travels in the bundle manifest (``architecture``); the converter rebuilds
the inference graph from it with :func:`build_crnn` (``inference=True``) and copies the
trained weights over, as microWakeWord derives its streaming model from the training one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentio.runtime.codec import Rules, decode
from sentio.runtime.errors import ConfigError
from sentio.runtime.manifest import Manifest


@dataclass(frozen=True)
class CRNNConfig:
    """Architecture hyperparameters.

    Attributes:
        window_frames: frames per input window.
        n_features: features per frame.
        conv_filters: filters of each Conv1D; consecutive pairs form a block ending in a pool.
        kernel_size: Conv1D kernel width.
        pool_size: MaxPool1D size after each block.
        lstm_units: units of each stacked LSTM; all but the last return sequences.
        dense_units: hidden Dense layers before the 2-unit output.
        dropout: dropout after each conv block and after the first dense layer.
        recurrent_dropout: LSTM recurrent dropout (slows CPU training: no fused kernel).
        l2: L2 weight penalty on conv and dense kernels.
        bn_momentum: BatchNormalization momentum.
        bidirectional: wrap the LSTMs in Bidirectional.
        attention_heads: >0 adds multi-head self-attention after the first LSTM.
        attention_key_dim: key size per attention head.
    """

    window_frames: int = 600
    n_features: int = 40
    conv_filters: tuple[int, ...] = (64, 64, 128, 128)
    kernel_size: int = 3
    pool_size: int = 2
    lstm_units: tuple[int, ...] = (128, 64)
    dense_units: tuple[int, ...] = (64, 32)
    dropout: float = 0.3
    recurrent_dropout: float = 0.0
    l2: float = 1e-4
    bn_momentum: float = 0.99
    bidirectional: bool = False
    attention_heads: int = 0
    attention_key_dim: int = 32

    def __post_init__(self) -> None:
        positive = ("window_frames", "n_features", "kernel_size", "pool_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"architecture: {name} must be at least 1, got {getattr(self, name)}"
                )
        for name in ("conv_filters", "lstm_units", "dense_units"):
            if any(units < 1 for units in getattr(self, name)):
                raise ConfigError(
                    f"architecture: every {name} value must be at least 1, got "
                    f"{getattr(self, name)}"
                )
        if not self.lstm_units:
            raise ConfigError("architecture: lstm_units needs at least one LSTM")
        for name in ("dropout", "recurrent_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(
                    f"architecture: {name} must be in [0, 1), got {getattr(self, name)}"
                )
        if self.attention_heads < 0 or self.attention_key_dim < 1:
            raise ConfigError("architecture: attention_heads must be >= 0, attention_key_dim >= 1")


def build_crnn(config: CRNNConfig = CRNNConfig(), keras_module=None, inference: bool = False):
    """The CRNN of ``config``, uncompiled.

    Args:
        config: the architecture.
        keras_module: the Keras to build with: ``keras`` (Keras 3, the default; training) or
            ``tf_keras`` (conversion: the TFLite converter fuses its LSTMs into builtin ops).
        inference: the graph the runtimes run: batch size 1, no dropout or recurrent dropout
            (the identity at inference; recurrent dropout keeps the LSTM from being fused) and
            no weight penalty. Its weights are the training model's, in the same order.

    Returns:
        A ``keras_module.Model`` named ``sentio_crnn`` (``sentio_crnn_inference``).
    """
    if keras_module is None:
        import keras as keras_module
    layers = keras_module.layers
    reg = keras_module.regularizers.L2(config.l2) if config.l2 > 0 and not inference else None
    shape = (config.window_frames, config.n_features)
    if inference:
        inputs = keras_module.Input(shape, batch_size=1, name="features")
    else:
        inputs = keras_module.Input(shape, name="features")
    x = inputs
    for i, filters in enumerate(config.conv_filters):
        x = layers.Conv1D(
            filters,
            config.kernel_size,
            padding="same",
            activation="relu",
            kernel_regularizer=reg,
            name=f"conv{i + 1}",
        )(x)
        if i % 2 == 1 or i == len(config.conv_filters) - 1:
            block = i // 2 + 1
            x = layers.BatchNormalization(momentum=config.bn_momentum, name=f"bn{block}")(x)
            x = layers.MaxPooling1D(config.pool_size, name=f"pool{block}")(x)
            if not inference:
                x = layers.Dropout(config.dropout, name=f"drop{block}")(x)
    for i, units in enumerate(config.lstm_units):
        last = i == len(config.lstm_units) - 1
        lstm = layers.LSTM(
            units,
            return_sequences=not last,
            recurrent_dropout=0.0 if inference else config.recurrent_dropout,
            name=f"lstm{i + 1}",
        )
        x = (
            layers.Bidirectional(lstm, name=f"bi_lstm{i + 1}")(x)
            if config.bidirectional
            else lstm(x)
        )
        if i == 0 and config.attention_heads > 0 and not last:
            attended = layers.MultiHeadAttention(
                config.attention_heads, config.attention_key_dim, name="attention"
            )(x, x)
            x = layers.LayerNormalization(name="attention_norm")(layers.Add()([x, attended]))
    for i, units in enumerate(config.dense_units):
        x = layers.Dense(units, activation="relu", kernel_regularizer=reg, name=f"dense{i + 1}")(x)
        if i == 0 and not inference:
            x = layers.Dropout(config.dropout, name="dense_drop")(x)
    outputs = layers.Dense(2, activation="tanh", name="valence_arousal")(x)
    name = "sentio_crnn_inference" if inference else "sentio_crnn"
    return keras_module.Model(inputs, outputs, name=name)


def architecture_of(manifest: Manifest) -> CRNNConfig:
    """The CRNN a bundle's manifest records in ``architecture``, read strictly (an unknown
    or out-of-range field raises :class:`~sentio.runtime.codec.FieldError`)."""
    return decode(CRNNConfig, manifest.architecture, "architecture", Rules(strict=True))
