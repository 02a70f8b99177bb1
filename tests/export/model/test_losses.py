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


def _extended(labels, view=0.0, teacher=None):
    """Labels in the extended layout (export/model/batches.EXTENDED_COLUMNS)."""
    n = len(labels)
    y = np.zeros((n, 7), np.float32)
    y[:, :2] = labels
    y[:, 3] = view
    if teacher is not None:
        y[:, 4:6] = teacher
        y[:, 6] = 1.0
    return y


def _value(loss, y, p):
    return float(keras.ops.convert_to_numpy(loss(y, p)))


LABELS = np.array([[-0.8, 0.5], [0.0, -0.5], [0.8, 0.1], [0.4, -0.9]], np.float32)
PRED = np.array([[-0.5, 0.2], [0.1, -0.3], [0.6, 0.3], [0.1, -0.4]], np.float32)


def test_consistency_loss_is_the_label_loss_when_views_agree_and_grows_when_they_do_not():
    from sentio.export.model.losses import ConsistencyLoss, SignAwareLoss

    loss = ConsistencyLoss(weight=2.0)
    label_only = _value(SignAwareLoss(), _extended(LABELS)[:, :3], PRED)
    assert _value(loss, _extended(LABELS), PRED) == pytest.approx(label_only, rel=1e-5)
    y = np.concatenate([_extended(LABELS), _extended(LABELS, view=1.0)])
    agreeing = _value(loss, y, np.concatenate([PRED, PRED]))
    assert agreeing == pytest.approx(label_only, rel=1e-5)
    moved = np.concatenate([PRED, PRED + np.float32(0.2)])
    expected = label_only + 2.0 * 0.04  # 4 views, squared gap 0.04 each, over 4 clean windows
    assert _value(loss, y, moved) == pytest.approx(expected, rel=1e-4)


def test_consistency_pulls_the_view_not_the_clean_window():
    import tensorflow as tf
    from sentio.export.model.losses import ConsistencyLoss

    y = np.concatenate([_extended(LABELS), _extended(LABELS, view=1.0)])
    p = tf.Variable(np.concatenate([LABELS, LABELS + np.float32(0.3)]))
    with tf.GradientTape() as tape:  # clean predictions on their labels: only views pull
        value = ConsistencyLoss(ccc=False, weight=1.0)(y, p)
    grad = tape.gradient(value, p).numpy()
    np.testing.assert_allclose(grad[:4], 0.0, atol=1e-6)
    assert (grad[4:] > 0).all()


def test_teachers_replace_their_share_of_the_label_loss_and_become_the_views_target():
    from sentio.export.model.losses import ConsistencyLoss

    teacher = LABELS * np.float32(0.5)
    y = _extended(LABELS, teacher=teacher)
    only_teacher = ConsistencyLoss(ccc=False, distill_weight=1.0)
    weights = np.array([1.0, 1.0])
    to_teacher = float(np.mean(((PRED - teacher) ** 2 * weights).sum(1) / weights.sum()))
    assert _value(only_teacher, y, PRED) == pytest.approx(to_teacher, rel=1e-5)
    y_views = np.concatenate([y, _extended(LABELS, view=1.0, teacher=teacher)])
    with_views = ConsistencyLoss(ccc=False, distill_weight=1.0, weight=1.0)
    value = _value(with_views, y_views, np.concatenate([PRED, teacher]))
    assert value == pytest.approx(to_teacher, rel=1e-5)  # views on the teacher cost nothing
