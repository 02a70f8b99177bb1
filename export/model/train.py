"""Training as the reference design describes it: Adam, (weighted) MSE, Huber or CCC, early
stopping, learning-rate reduction on plateau, best-model checkpoint, reproducible from a seed.

Losses and metrics live in :mod:`losses`, the batches in :mod:`batches`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from sentio.export.data.labels import center_valued
from sentio.export.data.windows import PreparedData, SongWindows
from sentio.export.model.batches import Teacher, WindowBatches, training_batches
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig, build_crnn
from sentio.export.model.losses import make_loss, make_metrics
from sentio.export.model.predict import Evaluation, evaluate_model
from sentio.runtime.errors import ConfigError

log = logging.getLogger("sentio.train")


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
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2  # a progress bar in a pipe is just noise
    if len(train.index) == 0 or len(val.index) == 0:
        raise ConfigError(
            f"nothing to train on: {len(train.index)} training and "
            f"{len(val.index)} validation windows",
            hint="use a shorter data.window or data.stride, set data.short to pad, or more songs",
        )
    model.compile(
        optimizer=keras.optimizers.Adam(
            config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon
        ),
        loss=make_loss(config, train.sign_labels, train.extended),
        metrics=make_metrics(config.emotion_threshold, train.sign_labels or train.extended),
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
            verbose=1 if verbose else 0,
        ),
    ]
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(checkpoint), monitor="val_loss", save_best_only=True
            )
        )
    start = time.perf_counter()
    history = model.fit(
        train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=verbose
    ).history
    val_loss = history.get("val_loss", [math.nan])
    result = TrainResult(
        model=model,
        history={k: [float(v) for v in vs] for k, vs in history.items()},
        epochs_run=len(val_loss),
        best_epoch=int(np.nanargmin(val_loss)) + 1,
        seconds=time.perf_counter() - start,
    )
    log.info(
        "trained %d epochs (best %d) in %.0f s",
        result.epochs_run,
        result.best_epoch,
        result.seconds,
    )
    return result


@dataclass
class FitOutcome:
    result: TrainResult
    metrics: Evaluation


def fit(
    prepared: PreparedData,
    model_config: CRNNConfig,
    train_config: TrainConfig,
    checkpoint: Path | None = None,
    verbose: int | None = None,
    teacher: Teacher | None = None,
) -> FitOutcome:
    """Build, train and evaluate one CRNN on prepared data (``teacher``: distil from it, its
    share of the loss ``train_config.distill_weight``)."""
    keras.utils.set_random_seed(train_config.seed)
    model = build_crnn(model_config)
    sign_labels = any(s.song.sign_only for songs in prepared.splits.values() for s in songs)
    if sign_labels and train_config.mixup > 0:
        raise ConfigError(
            "mixup blends labels, which sign-only labels (4Q) do not allow",
            hint="set train.mixup to 0 when 4Q is in the data",
        )
    splits = dict(prepared.splits)
    if train_config.center_labels:  # training only: evaluation keeps the labels as given
        splits["train"] = _centred(splits["train"])
    batches = {
        name: training_batches(
            songs, prepared.window, train_config, name == "train", sign_labels, teacher
        )
        for name, songs in splits.items()
    }
    result = train_model(model, batches["train"], batches["val"], train_config, checkpoint, verbose)
    return FitOutcome(
        result, evaluate_model(result.model, prepared, train_config.emotion_threshold)
    )


def _centred(songs: list[SongWindows]) -> list[SongWindows]:
    """The training songs' windows with :func:`center_valued` labels."""
    centred = center_valued([s.song for s in songs])
    return [dataclasses.replace(w, song=song) for w, song in zip(songs, centred, strict=True)]
