"""The CRNN, exactly as the seed describes it, with every hyperparameter exposed.

    input (600 frames x 40 features)
    Conv1D 64 -> Conv1D 64 -> BatchNorm -> MaxPool 2 -> Dropout
    Conv1D 128 -> Conv1D 128 -> BatchNorm -> MaxPool 2 -> Dropout
    LSTM 128 (sequence) [-> multi-head self-attention, residual + LayerNorm]  -> LSTM 64
    Dense 64 -> Dropout -> Dense 32 -> Dense 2 (tanh: valence, arousal in [-1, 1])

The default configuration has 282,146 parameters. Either LSTM can be made bidirectional.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CRNNConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        clean = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**clean)


def build_crnn(config: CRNNConfig = CRNNConfig()):
    """A compiled-free Keras 3 model for ``config`` (``keras.Model``)."""
    import keras
    from keras import layers, regularizers

    reg = regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input((config.window_frames, config.n_features), name="features")
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
            x = layers.Dropout(config.dropout, name=f"drop{block}")(x)
    for i, units in enumerate(config.lstm_units):
        last = i == len(config.lstm_units) - 1
        lstm = layers.LSTM(
            units,
            return_sequences=not last,
            recurrent_dropout=config.recurrent_dropout,
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
        if i == 0:
            x = layers.Dropout(config.dropout, name="dense_drop")(x)
    outputs = layers.Dense(2, activation="tanh", name="valence_arousal")(x)
    return keras.Model(inputs, outputs, name="sentio_crnn")
