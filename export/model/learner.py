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
from sentio.export.model.predict import predict_windows
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
            per_window = predict_windows(
                lambda x: trained.model(x, training=False).numpy(),
                songs,
                model_config.window_frames,
            )
            return np.stack([w.mean(axis=0) if len(w) else np.zeros(2) for w in per_window])

        return predict

    return learn
