"""Losses and metrics: weighted MSE, CCC, emotion accuracy."""

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.model.losses import CCCLoss, EmotionAccuracy, WeightedMSE  # noqa: E402


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


def test_ccc_loss_rewards_spread_not_just_closeness():
    loss = CCCLoss()
    y = np.array([[-0.8, 0.5], [0.0, -0.5], [0.8, 0.1], [0.4, -0.9]], np.float32)
    perfect = float(keras.ops.convert_to_numpy(loss(y, y)))
    assert perfect == pytest.approx(0.0, abs=1e-5)
    mean_only = float(
        keras.ops.convert_to_numpy(loss(y, np.repeat(y.mean(0, keepdims=True), 4, 0)))
    )
    assert mean_only > 1.0  # CCC 0 whatever the MSE
