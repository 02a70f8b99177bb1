"""Losses and metrics of training: weighted MSE, CCC (+ half MSE), per-dimension MAE and
emotion accuracy, registered with Keras so a saved model names them."""

from __future__ import annotations

import keras
from sentio.export.model.config import TrainConfig


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


def make_loss(config: TrainConfig):
    if config.loss == "mse":
        return keras.losses.MeanSquaredError()
    if config.loss == "huber":
        return keras.losses.Huber(delta=config.huber_delta)
    if config.loss == "ccc":
        return CCCLoss((config.valence_weight, config.arousal_weight))
    return WeightedMSE((config.valence_weight, config.arousal_weight))


def make_metrics(threshold: float) -> list:
    return [
        keras.metrics.RootMeanSquaredError(name="rmse"),
        keras.metrics.MeanAbsoluteError(name="mae"),
        valence_mae,
        arousal_mae,
        EmotionAccuracy(threshold),
    ]
