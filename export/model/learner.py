"""The CRNN as a cross-validation learner: fit on a fold's songs, predict songs by the mean of
their windows (as evaluation and the catalogue do)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
from sentio.export.data.windows import SongWindows
from sentio.export.model.augment import NONE
from sentio.export.model.batches import WindowBatches
from sentio.export.model.config import TrainConfig
from sentio.export.model.crnn import CRNNConfig, build_crnn
from sentio.export.model.train import train_model
from sentio.runtime.errors import ConfigError

SongPredictor = Callable[[list[SongWindows]], np.ndarray]


def crnn_learner(
    model_config: CRNNConfig, train_config: TrainConfig, verbose: int = 0
) -> Callable[[list[SongWindows], np.ndarray, list[SongWindows], int], SongPredictor]:
    """A learner (``sentio.export.evaluation.cv.Learner``) that trains ``model_config`` with
    ``train_config`` (its seed replaced by the fold's) and early-stops on the validation songs.

    Per-song loss weights other than 1 are not supported by the CRNN's losses: such a label
    choice is screened with the probe instead."""

    def learn(
        train: list[SongWindows], weights: np.ndarray, val: list[SongWindows], seed: int
    ) -> SongPredictor:
        if not np.allclose(weights, 1.0):
            raise ConfigError(
                "the CRNN learner trains every song's labels at weight 1",
                hint="screen per-dataset label weights with the ridge probe",
            )
        config = dataclasses.replace(train_config, seed=seed)
        keras.utils.set_random_seed(seed)
        model = build_crnn(model_config)
        sign = any(s.song.sign_only for s in train + val)

        def batches(songs: list[SongWindows], training: bool) -> WindowBatches:
            return WindowBatches(
                songs,
                model_config.window_frames,
                config.batch_size,
                training,
                seed,
                0.0,
                config.augmentation if training else NONE,
                sign,
                config.device.clean_share,
            )

        trained = train_model(
            model, batches(train, True), batches(val, False), config, None, verbose
        )

        def predict(songs: list[SongWindows]) -> np.ndarray:
            return song_means(trained.model, songs, model_config.window_frames)

        return predict

    return learn


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
