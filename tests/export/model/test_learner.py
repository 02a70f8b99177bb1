"""The CRNN as a CV learner: it saves each fold's model, and a student of a later run learns
from that fold's saved teachers only."""

import numpy as np
import pytest

pytest.importorskip("keras", reason="the export extra (TensorFlow) is not installed")

from sentio.export.data.datasets import Song
from sentio.export.data.windows import SongWindows
from sentio.export.model.config import Consistency, TrainConfig
from sentio.export.model.crnn import CRNNConfig
from sentio.export.model.learner import crnn_learner, fold_model_path, fold_teacher
from sentio.runtime.errors import ConfigError

MODEL = CRNNConfig(
    window_frames=32, n_features=3, conv_filters=(4, 4), lstm_units=(4,), dense_units=(4,)
)
TRAIN = TrainConfig(epochs=1, batch_size=4, loss="ccc")


def _songs(n=8):
    rng = np.random.default_rng(0)
    return [
        SongWindows(
            Song(f"s{i}", None, float(v), float(-v)),
            (rng.normal(0, 1, (64, 3)) + v).astype(np.float32),
            np.array([0, 16, 32]),
        )
        for i, v in enumerate(np.linspace(-0.8, 0.8, n))
    ]


def test_a_student_learns_from_the_teachers_its_fold_saved(tmp_path):
    songs = _songs()
    weights = np.ones((len(songs), 2))
    teacher_run = crnn_learner(MODEL, TRAIN, save_to=tmp_path)
    predict = teacher_run(songs, weights, songs[:3], seed=0, fold=1)
    assert fold_model_path(tmp_path, 1, 0).is_file()
    teach = fold_teacher([tmp_path], 1)
    x = np.stack([s.frames[:32] for s in songs])
    np.testing.assert_allclose(
        teach(x).mean(axis=0), predict(songs).mean(axis=0), atol=0.05
    )  # the saved model predicts what the trained one did (inference mode vs song means)
    student = crnn_learner(
        MODEL,
        TRAIN.__class__(**{**TRAIN.__dict__, "consistency": Consistency(weight=1.0)}),
        teachers=[tmp_path],
    )
    assert student(songs, weights, songs[:3], seed=1, fold=1)(songs).shape == (len(songs), 2)
    with pytest.raises(ConfigError, match="no teacher model for fold 0"):
        student(songs, weights, songs[:3], seed=1, fold=0)
