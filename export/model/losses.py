"""Losses and metrics of training: weighted MSE, CCC (+ half MSE), per-dimension MAE and
emotion accuracy, registered with Keras so a saved model names them."""

from __future__ import annotations

import keras
import tensorflow as tf
from sentio.export.model.config import TrainConfig
from sentio.runtime.errors import ConfigError


@keras.saving.register_keras_serializable(package="sentio")
class WeightedMSE(keras.losses.Loss):
    """Mean squared error with one weight per output (valence, arousal)."""

    def __init__(self, weights=(1.0, 1.2), name="weighted_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = tuple(float(w) for w in weights)

    def call(self, y_true, y_pred):
        w = keras.ops.convert_to_tensor(self.weights, dtype=y_pred.dtype)
        return keras.ops.sum(w * keras.ops.square(y_true - y_pred), axis=-1) / keras.ops.sum(w)

    def get_config(self):
        return {**super().get_config(), "weights": list(self.weights)}


@keras.saving.register_keras_serializable(package="sentio")
class CCCLoss(keras.losses.Loss):
    """1 - concordance correlation over the batch, per output, weighted, plus half the weighted
    MSE. MSE alone rewards predicting every song near the mean (valence on Emotify collapsed
    to a narrow band); CCC also scores the spread and the bias of the predictions."""

    def __init__(self, weights=(1.0, 1.0), name="ccc", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = tuple(float(w) for w in weights)

    def call(self, y_true, y_pred):
        ops = keras.ops
        w = ops.convert_to_tensor(self.weights, dtype=y_pred.dtype)
        mean_t, mean_p = ops.mean(y_true, axis=0), ops.mean(y_pred, axis=0)
        cov = ops.mean((y_true - mean_t) * (y_pred - mean_p), axis=0)
        denom = ops.var(y_true, axis=0) + ops.var(y_pred, axis=0) + ops.square(mean_t - mean_p)
        concordance = 2.0 * cov / (denom + 1e-6)
        batch = ops.sum(w * (1.0 - concordance)) / ops.sum(w)
        mse = ops.sum(w * ops.square(y_true - y_pred), axis=-1) / ops.sum(w)
        return batch + 0.5 * mse  # per sample: the batch term is shared by every sample

    def get_config(self):
        return {**super().get_config(), "weights": list(self.weights)}


@keras.saving.register_keras_serializable(package="sentio")
class SignAwareLoss(keras.losses.Loss):
    """For data that mixes songs with values (Emotify) and songs with only signs (4Q's
    quadrants). ``y_true`` is (n, 3): valence, arousal, and 1 where the labels are only signs.

    Songs with values: the CCC loss over those rows of the batch (``ccc``) plus half their
    weighted MSE, or the weighted MSE alone. Songs with signs: ``sign_weight`` times a hinge,
    ``max(0, margin - label * prediction)`` per dimension: right side of zero by ``margin``
    costs nothing, so a quadrant label never pulls a prediction to +-1."""

    def __init__(
        self, weights=(1.0, 1.0), ccc=True, sign_weight=1.0, margin=0.3, name="sign_aware", **kw
    ):
        super().__init__(name=name, **kw)
        self.weights = tuple(float(w) for w in weights)
        self.ccc, self.sign_weight, self.margin = bool(ccc), float(sign_weight), float(margin)

    def call(self, y_true, y_pred):
        ops = keras.ops
        w = ops.convert_to_tensor(self.weights, dtype=y_pred.dtype)
        labels, sign_only = y_true[:, :2], y_true[:, 2:3]
        valued = 1.0 - sign_only
        mse = ops.sum(w * ops.square(labels - y_pred), axis=-1) / ops.sum(w)
        hinge = ops.sum(w * ops.relu(self.margin - labels * y_pred), axis=-1) / ops.sum(w)
        per_row = valued[:, 0] * mse * (0.5 if self.ccc else 1.0)
        per_row = per_row + self.sign_weight * sign_only[:, 0] * hinge
        if not self.ccc:
            return per_row
        return per_row + _masked_ccc_loss(labels, y_pred, valued, w)

    def get_config(self):
        return {
            **super().get_config(),
            "weights": list(self.weights),
            "ccc": self.ccc,
            "sign_weight": self.sign_weight,
            "margin": self.margin,
        }


@keras.saving.register_keras_serializable(package="sentio")
class ConsistencyLoss(keras.losses.Loss):
    """The loss of consistency training and distillation, on labels in the extended layout
    (:data:`~sentio.export.model.batches.EXTENDED_COLUMNS`): a batch's clean windows come
    first, then one view of each of the first ones (flag ``view``).

    - Clean windows: :class:`SignAwareLoss` on their labels; where teachers are given
      (``taught``), ``distill_weight`` of it is replaced by the weighted squared distance to
      the teachers' mean prediction.
    - Views: ``weight`` times the weighted squared distance to the target of their clean
      window: the teachers' prediction where given, else the clean prediction itself with its
      gradient stopped (the model is taught to agree with itself, not the clean window to
      move towards the view).

    The sum is divided by the number of clean windows, so the label term weighs what it
    weighs without views."""

    def __init__(
        self,
        weights=(1.0, 1.0),
        ccc=True,
        sign_weight=1.0,
        margin=0.3,
        weight=1.0,
        distill_weight=0.5,
        name="consistency",
        **kw,
    ):
        super().__init__(name=name, **kw)
        self.labels = SignAwareLoss(weights, ccc, sign_weight, margin)
        self.weight, self.distill_weight = float(weight), float(distill_weight)

    def call(self, y_true, y_pred):
        w = tf.convert_to_tensor(self.labels.weights, dtype=y_pred.dtype)
        n = tf.shape(y_pred)[0]
        n_views = tf.cast(tf.reduce_sum(y_true[:, 3]), tf.int32)
        n_clean = n - n_views
        true_clean, pred_clean = y_true[:n_clean], y_pred[:n_clean]
        label_rows = self.labels.call(true_clean[:, :3], pred_clean)
        taught = true_clean[:, 6]
        to_teacher = _weighted_square(true_clean[:, 4:6], pred_clean, w)
        label_rows = label_rows + taught * self.distill_weight * (to_teacher - label_rows)
        true_views = y_true[n_clean:]
        target = tf.where(
            true_views[:, 6:7] > 0,
            true_views[:, 4:6],
            tf.stop_gradient(pred_clean[:n_views]),
        )
        view_rows = self.weight * _weighted_square(target, y_pred[n_clean:], w)
        rows = tf.concat([label_rows, view_rows], axis=0)
        return rows * tf.cast(n, rows.dtype) / tf.cast(tf.maximum(n_clean, 1), rows.dtype)

    def get_config(self):
        config = self.labels.get_config()
        for key in ("name", "reduction"):
            config.pop(key, None)
        return {
            **super().get_config(),
            **config,
            "weight": self.weight,
            "distill_weight": self.distill_weight,
        }


def _weighted_square(a, b, w):
    ops = keras.ops
    return ops.sum(w * ops.square(a - b), axis=-1) / ops.sum(w)


def _masked_ccc_loss(labels, y_pred, mask, w):
    """1 - CCC over the rows where ``mask`` is 1 (0 when the batch has none), weighted."""
    ops = keras.ops
    count = ops.sum(mask)
    n = ops.maximum(count, 1.0)
    mean_t = ops.sum(mask * labels, axis=0) / n
    mean_p = ops.sum(mask * y_pred, axis=0) / n
    cov = ops.sum(mask * (labels - mean_t) * (y_pred - mean_p), axis=0) / n
    var_t = ops.sum(mask * ops.square(labels - mean_t), axis=0) / n
    var_p = ops.sum(mask * ops.square(y_pred - mean_p), axis=0) / n
    concordance = 2.0 * cov / (var_t + var_p + ops.square(mean_t - mean_p) + 1e-6)
    batch = ops.sum(w * (1.0 - concordance)) / ops.sum(w)
    return ops.where(count > 1.0, batch, 0.0)


@keras.saving.register_keras_serializable(package="sentio")
def sign_agreement(y_true, y_pred):
    """Share of valence and arousal predictions on the label's side of zero."""
    same = keras.ops.sign(y_true[:, :2]) == keras.ops.sign(y_pred)
    return keras.ops.mean(keras.ops.cast(same, "float32"), axis=-1)


@keras.saving.register_keras_serializable(package="sentio")
def valence_mae(y_true, y_pred):
    return keras.ops.abs(y_true[:, 0] - y_pred[:, 0])


@keras.saving.register_keras_serializable(package="sentio")
def arousal_mae(y_true, y_pred):
    return keras.ops.abs(y_true[:, 1] - y_pred[:, 1])


@keras.saving.register_keras_serializable(package="sentio")
class EmotionAccuracy(keras.metrics.MeanMetricWrapper):
    """Share of windows whose valence AND arousal are both within ``threshold``."""

    def __init__(self, threshold=0.5, name="emotion_accuracy", **kwargs):
        super().__init__(fn=self._hit, name=name, threshold=threshold, **kwargs)
        self.threshold = threshold

    @staticmethod
    def _hit(y_true, y_pred, threshold):
        close = keras.ops.abs(y_true - y_pred) <= threshold
        return keras.ops.cast(keras.ops.all(close, axis=-1), "float32")

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


def make_loss(config: TrainConfig, sign_labels: bool = False, extended: bool = False):
    """The configured loss; ``sign_labels``: the batches carry a sign-only column (4Q);
    ``extended``: labels in the extended layout (consistency training or teachers)."""
    if extended:
        if config.loss not in ("ccc", "weighted_mse"):
            raise ConfigError(
                f"loss {config.loss!r} cannot train with consistency or teachers",
                hint="set train.loss to ccc or weighted_mse",
            )
        return ConsistencyLoss(
            (config.valence_weight, config.arousal_weight),
            config.loss == "ccc",
            config.sign_weight,
            config.sign_margin,
            config.consistency.weight,
            config.distill_weight,
        )
    if sign_labels:
        if config.loss not in ("ccc", "weighted_mse"):
            raise ConfigError(
                f"loss {config.loss!r} cannot train on sign-only labels (4Q)",
                hint="set train.loss to ccc or weighted_mse",
            )
        weights = (config.valence_weight, config.arousal_weight)
        return SignAwareLoss(weights, config.loss == "ccc", config.sign_weight, config.sign_margin)
    if config.loss == "mse":
        return keras.losses.MeanSquaredError()
    if config.loss == "huber":
        return keras.losses.Huber(delta=config.huber_delta)
    if config.loss == "ccc":
        return CCCLoss((config.valence_weight, config.arousal_weight))
    return WeightedMSE((config.valence_weight, config.arousal_weight))


def make_metrics(threshold: float, sign_labels: bool = False) -> list:
    if sign_labels:  # labels (n, 3): metrics that read only valence and arousal
        return [valence_mae, arousal_mae, sign_agreement]
    return [
        keras.metrics.RootMeanSquaredError(name="rmse"),
        keras.metrics.MeanAbsoluteError(name="mae"),
        valence_mae,
        arousal_mae,
        EmotionAccuracy(threshold),
    ]
