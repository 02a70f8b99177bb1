"""Training as the seed describes it: Adam, (weighted) MSE or Huber, early stopping,
learning-rate reduction on plateau, best-model checkpoint, reproducible from a seed."""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from sentio.export.data.windows import PreparedData, SongWindows
from sentio.export.evaluation.predict import evaluate_model
from sentio.export.model.augment import NONE, Augmentation
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig, build_crnn
from sentio.runtime.errors import ConfigError

log = logging.getLogger("sentio.train")


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


class WindowBatches(keras.utils.PyDataset):
    """Batches of windows cut on the fly from each song's frames (no window is stored twice).

    Args:
        songs: songs with normalized frames and window starts.
        window: frames per window.
        batch_size: windows per batch.
        shuffle: reshuffle window order every epoch (seeded); otherwise the windows are
            mixed once, in a fixed order, so that each batch holds several songs (in song
            order a batch is one or two songs sharing one label, and a batch-level loss such
            as CCC would measure nothing on validation).
        seed: shuffle seed.
        mixup: Beta parameter of mixup (0: off); see ``TrainConfig.mixup``.
        augmentation: changes to each window, drawn anew every time a batch is made.
    """

    def __init__(
        self,
        songs: list[SongWindows],
        window: int,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        mixup: float = 0.0,
        augmentation: Augmentation = NONE,
    ):
        super().__init__()
        self.songs = songs
        self.batch_size = batch_size
        self.index = np.array(
            [(i, int(start)) for i, s in enumerate(songs) for start in s.starts], dtype=np.int64
        ).reshape(-1, 2)
        self.window = window
        self.lengths = np.array([len(s.frames) for s in songs], dtype=np.int64)
        self.augmentation = augmentation
        self.augment_rng = np.random.default_rng(seed + 2)
        self.rng = np.random.default_rng(seed) if shuffle else None
        self.order = np.random.default_rng(seed).permutation(len(self.index))
        self.mixup = mixup
        self.mix_rng = np.random.default_rng(seed + 1)

    def __len__(self) -> int:
        return math.ceil(len(self.index) / self.batch_size)

    def __getitem__(self, batch: int):
        rows = self.index[self.order[batch * self.batch_size : (batch + 1) * self.batch_size]]
        songs, starts = rows[:, 0], rows[:, 1]
        starts = self.augmentation.jitter_starts(
            starts, self.lengths[songs], self.window, self.augment_rng
        )
        pairs = zip(songs, starts, strict=True)
        x = np.stack([self.songs[i].frames[s : s + self.window] for i, s in pairs])
        x = self.augmentation.apply(x, self.augment_rng)
        y = np.stack([self.songs[i].label for i in songs])
        if self.mixup > 0 and len(rows) > 1:
            weight = self.mix_rng.beta(self.mixup, self.mixup, (len(rows), 1)).astype(np.float32)
            partner = self.mix_rng.permutation(len(rows))
            x = weight[:, :, None] * x + (1 - weight[:, :, None]) * x[partner]
            y = weight * y + (1 - weight) * y[partner]
        return x, y

    def on_epoch_end(self) -> None:
        if self.rng is not None:
            self.rng.shuffle(self.order)


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    seconds: float


def train_model(
    model: keras.Model,
    train: WindowBatches,
    val: WindowBatches,
    config: TrainConfig,
    checkpoint: Path | None = None,
    verbose: int | None = None,
) -> TrainResult:
    """Compile and fit ``model``; the returned model holds the best validation weights.

    Seed (``keras.utils.set_random_seed``) before building the model for a repeatable run.
    """
    if len(train.index) == 0 or len(val.index) == 0:
        raise ConfigError(
            f"nothing to train on: {len(train.index)} training and "
            f"{len(val.index)} validation windows",
            hint="use shorter --window or --stride, --short pad, or more songs",
        )
    model.compile(
        optimizer=keras.optimizers.Adam(
            config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon
        ),
        loss=make_loss(config),
        metrics=make_metrics(config.emotion_threshold),
    )
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=config.lr_factor,
            patience=config.lr_patience,
            min_lr=config.min_lr,
            verbose=1,
        ),
    ]
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(checkpoint), monitor="val_loss", save_best_only=True
            )
        )
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2  # a progress bar in a pipe is just noise
    start = time.perf_counter()
    history = model.fit(
        train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=verbose
    ).history
    val_loss = history.get("val_loss", [math.nan])
    return TrainResult(
        model=model,
        history={k: [float(v) for v in vs] for k, vs in history.items()},
        epochs_run=len(val_loss),
        best_epoch=int(np.nanargmin(val_loss)) + 1,
        seconds=time.perf_counter() - start,
    )


@dataclass
class FitOutcome:
    result: TrainResult
    metrics: dict[str, dict]


def fit(
    prepared: PreparedData,
    model_config: CRNNConfig,
    train_config: TrainConfig,
    checkpoint: Path | None = None,
    verbose: int | None = None,
) -> FitOutcome:
    """Build, train and evaluate one CRNN on prepared data."""
    keras.utils.set_random_seed(train_config.seed)
    model = build_crnn(model_config)
    batches = {
        name: WindowBatches(
            songs,
            prepared.window,
            train_config.batch_size,
            name == "train",
            train_config.seed,
            train_config.mixup if name == "train" else 0.0,
            train_config.augmentation if name == "train" else NONE,
        )
        for name, songs in prepared.splits.items()
    }
    result = train_model(model, batches["train"], batches["val"], train_config, checkpoint, verbose)
    return FitOutcome(
        result, evaluate_model(result.model, prepared, train_config.emotion_threshold)
    )
