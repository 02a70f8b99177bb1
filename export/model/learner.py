"""The CRNN as a cross-validation learner: fit on a fold's songs, predict songs by the mean of
their windows (as evaluation and the catalogue do).

Teachers (distillation): each fold's student is taught by that fold's teacher models, saved
by earlier CV runs of the same folds (``save_to``), so a teacher never saw the fold it helps
to score."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sentio.export.data.windows import SongWindows
from sentio.export.model.batches import Teacher, training_batches
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig, build_crnn
from sentio.export.model.train import train_model
from sentio.runtime.errors import ConfigError

SongPredictor = Callable[[list[SongWindows]], np.ndarray]


def fold_model_path(folder: Path, fold: int, seed: int) -> Path:
    """Where a CV run saves (``save_to``) the model of one fold and seed."""
    return folder / f"fold{fold}-seed{seed}.keras"


def crnn_learner(
    model_config: CRNNConfig,
    train_config: TrainConfig,
    verbose: int = 0,
    save_to: Path | None = None,
    teachers: Sequence[Path] = (),
) -> Callable[..., SongPredictor]:
    """A learner (``sentio.export.evaluation.cv.Learner``) that trains ``model_config`` with
    ``train_config`` (its seed replaced by the fold's) and early-stops on the validation songs.

    Args:
        save_to: a folder each fold's trained model is saved in (:func:`fold_model_path`).
        teachers: folders of earlier runs' saved models; fold k is distilled from every
            ``fold{k}-seed*.keras`` in them (``train_config.distill_weight``).

    Per-song loss weights other than 1 are not supported by the CRNN's losses: such a label
    choice is screened with the probe instead."""

    def learn(
        train: list[SongWindows],
        weights: np.ndarray,
        val: list[SongWindows],
        seed: int,
        fold: int = 0,
    ) -> SongPredictor:
        if not np.allclose(weights, 1.0):
            raise ConfigError(
                "the CRNN learner trains every song's labels at weight 1",
                hint="screen per-dataset label weights with the ridge probe",
            )
        config = dataclasses.replace(train_config, seed=seed)
        teacher = fold_teacher(teachers, fold) if teachers else None
        keras.utils.set_random_seed(seed)
        model = build_crnn(model_config)
        sign = any(s.song.sign_only for s in train + val)
        window = model_config.window_frames
        trained = train_model(
            model,
            training_batches(train, window, config, True, sign, teacher),
            training_batches(val, window, config, False, sign, teacher),
            config,
            None,
            verbose,
        )
        if save_to is not None:
            save_to.mkdir(parents=True, exist_ok=True)
            trained.model.save(fold_model_path(save_to, fold, seed))

        def predict(songs: list[SongWindows]) -> np.ndarray:
            return song_means(trained.model, songs, window)

        return predict

    return learn


def fold_teacher(folders: Sequence[Path], fold: int) -> Teacher:
    """The mean prediction of every model saved for ``fold`` in ``folders``."""
    paths = sorted(p for folder in folders for p in Path(folder).glob(f"fold{fold}-seed*.keras"))
    if not paths:
        raise ConfigError(
            f"no teacher model for fold {fold} in {', '.join(str(f) for f in folders)}",
            hint="train the teachers first: a CV run of the same folds that saves its models",
        )
    return mean_teacher(paths)


def mean_teacher(paths: Sequence[Path]) -> Teacher:
    """The mean prediction of the Keras models saved at ``paths`` (same input as the
    student's: window, features, normalization)."""
    models = [keras.models.load_model(p, compile=False) for p in paths]

    @tf.function(reduce_retracing=True)
    def mean_prediction(x):
        return tf.add_n([m(x, training=False) for m in models]) / len(models)

    def teach(x: np.ndarray) -> np.ndarray:
        return mean_prediction(tf.convert_to_tensor(x)).numpy()

    teach.paths = paths  # type: ignore[attr-defined]
    return teach


def song_means(
    model: keras.Model, songs: list[SongWindows], window: int, batch_size: int = 256
) -> np.ndarray:
    """(n_songs, 2): each song's mean prediction over its windows (zeros for a song with none).

    All songs' windows go through ``model.predict`` in large batches: its compiled function
    runs the LSTMs as one graph, where calling the model eagerly steps them in Python."""
    counts = [s.starts.size for s in songs]
    if not sum(counts):
        return np.zeros((len(songs), 2), dtype=np.float32)
    windows = np.concatenate(
        [np.stack([s.frames[t : t + window] for t in s.starts]) for s in songs if s.starts.size]
    )
    outputs = model.predict(windows, batch_size=batch_size, verbose=0)
    means, at = [], 0
    for n in counts:
        means.append(outputs[at : at + n].mean(axis=0) if n else np.zeros(2, dtype=np.float32))
        at += n
    return np.stack(means)
