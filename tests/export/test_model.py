import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.model.crnn import CRNNConfig, build_crnn  # noqa: E402
from sentio.export.model.train import EmotionAccuracy, WeightedMSE  # noqa: E402


def test_default_crnn_is_the_seed_design():
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


def test_config_round_trips():
    config = CRNNConfig(lstm_units=(32, 16), bidirectional=True)
    assert CRNNConfig.from_dict(config.to_dict()) == config


def test_weighted_mse_weights_arousal_more():
    y = np.zeros((1, 2), "float32")
    loss = WeightedMSE((1.0, 1.2))
    v_err = float(loss(y, np.array([[0.5, 0.0]], "float32")))
    a_err = float(loss(y, np.array([[0.0, 0.5]], "float32")))
    assert a_err == pytest.approx(1.2 * v_err)


def test_emotion_accuracy_needs_both_dimensions_close():
    metric = EmotionAccuracy(0.5)
    metric.update_state(
        np.zeros((3, 2), "float32"), np.array([[0.1, 0.1], [0.6, 0.0], [0.0, -0.7]], "float32")
    )
    assert float(metric.result()) == pytest.approx(1 / 3)
