"""The CRNN builder and its config: the reference design's size, the variants, the config's
JSON round trip and validation, and the inference graph built from the same code."""

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.model.crnn import CRNNConfig, build_crnn  # noqa: E402
from sentio.runtime.codec import Rules, decode, encode  # noqa: E402


def test_default_crnn_is_the_reference_design():
    model = build_crnn()
    assert model.count_params() == 282_146
    assert model.input_shape == (None, 600, 40) and model.output_shape == (None, 2)
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds.count("Conv1D") == 4 and kinds.count("LSTM") == 2 and kinds.count("Dense") == 3
    assert [layer.units for layer in model.layers if layer.__class__.__name__ == "LSTM"] == [
        128,
        64,
    ]


@pytest.mark.parametrize(
    "config",
    [
        CRNNConfig(window_frames=64, bidirectional=True),
        CRNNConfig(window_frames=64, attention_heads=2, attention_key_dim=8),
        CRNNConfig(window_frames=64, conv_filters=(8, 8, 16, 16, 32, 32), kernel_size=5),
    ],
)
def test_variants_build_and_output_in_range(config):
    model = build_crnn(config)
    out = keras.ops.convert_to_numpy(
        model(np.random.default_rng(0).normal(size=(3, 64, 40)).astype("float32"))
    )
    assert out.shape == (3, 2) and np.all(np.abs(out) <= 1)
    names = [layer.name for layer in model.layers]
    if config.bidirectional:
        assert "bi_lstm1" in names
    if config.attention_heads:
        assert "attention" in names


STRICT = Rules(strict=True)


def test_config_round_trips_through_the_codec():
    config = CRNNConfig(lstm_units=(32, 16), bidirectional=True)
    assert decode(CRNNConfig, encode(config), rules=STRICT) == config


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lstm_unit": [64]}, "lstm_unit"),
        ({"lstm_units": "128,64"}, "lstm_units"),
        ({"window_frames": 600.5}, "window_frames"),
        ({"bidirectional": 1}, "bidirectional"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_a_bad_architecture_names_the_field(change, field):
    from sentio.runtime.codec import FieldError
    from sentio.runtime.errors import ConfigError

    with pytest.raises((ConfigError, FieldError), match=field):
        decode(CRNNConfig, {**encode(CRNNConfig()), **change}, rules=STRICT)


def test_an_architecture_reads_json_lists_and_integer_floats():
    config = decode(CRNNConfig, {"lstm_units": [32, 16], "l2": 0, "window_frames": 64})
    assert config.lstm_units == (32, 16) and config.l2 == 0.0 and isinstance(config.l2, float)


def test_inference_build_is_the_training_graph_without_dropout_at_batch_one():
    import tf_keras

    config = CRNNConfig(window_frames=64, conv_filters=(8, 8, 16), lstm_units=(16, 8))
    training = build_crnn(config)
    inference = build_crnn(config, keras_module=tf_keras, inference=True)
    assert isinstance(inference, tf_keras.Model)
    assert inference.input_shape == (1, 64, 40)
    assert not [layer for layer in inference.layers if "drop" in layer.name]
    assert [w.shape for w in inference.get_weights()] == [
        tuple(w.shape) for w in training.get_weights()
    ]
    kept = [layer.name for layer in training.layers if "drop" not in layer.name]
    assert [layer.name for layer in inference.layers] == kept
